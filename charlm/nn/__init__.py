"""The engine: one module per cell, the model stack, the head and the loss, in plain NumPy.

It imports NumPy and itself, nothing else of charlm, and changes nothing in the process."""
