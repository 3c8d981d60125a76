"""The engine: one module per cell, the model stack, the head and the loss, in plain NumPy."""

from charlm.nn.malloc import keep_freed_memory

KEEPS_FREED_MEMORY = keep_freed_memory()  # see charlm/nn/malloc.py: a fifth of a step's time
