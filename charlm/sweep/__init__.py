"""charlm sweep: many runs of one config, their settings chosen by Optuna (docs/sweep.md)."""
