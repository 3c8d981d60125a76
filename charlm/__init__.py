"""charlm: character-level language models in plain NumPy, every backward pass by hand."""

__version__ = "0.1.0"
