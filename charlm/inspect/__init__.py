"""Looking inside a model: gradient checks, gradient flow through time, saliency, and how
they are drawn (show)."""
