"""The command line: parse, call, print. One module per command group (train; generate:
sample and eval; inspect: gradcheck, gradflow, saliency; units: neurons, gates, score;
handoff: export, import, corpus make; runs: runs, report; sweep; serve), app.py for the
application they join and guard.py for how every command ends."""

from charlm.cli import (  # noqa: F401  (adds the commands)
    generate,
    handoff,
    inspect,
    runs,
    serve,
    sweep,
    train,
    units,
)
from charlm.cli.app import app, main

__all__ = ["app", "main"]
