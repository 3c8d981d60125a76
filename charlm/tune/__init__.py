"""What `charlm sweep` (charlm.api.sweep) is made of: the search space, the study's storage and
the results (docs/sweep.md)."""
