"""Seeing a run: the HTML report (page, charts, history) and the TensorBoard events."""
