"""The command line: parse, call, print (one module per command group; app.py holds the app,
guard.py how every command ends)."""

from charlm.cli.app import app, main

__all__ = ["app", "main"]
