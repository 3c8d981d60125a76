"""The command line: parse, call, print. One module per command group (train; generate:
sample and eval; inspect: gradcheck, gradflow, saliency; handoff: export, import, corpus make;
runs),
app.py for the application they join and guard.py for how every command ends."""

from charlm.cli import generate, handoff, inspect, runs, train  # noqa: F401  (adds the commands)
from charlm.cli.app import app, main

__all__ = ["app", "main"]
