"""The NumPy engine: one file per cell, the layer stack and the head beside them."""
