"""charlm serve: trained models behind OpenAI's completions API and a writing page
(charlm.api.serve)."""

import signal
from pathlib import Path
from typing import Annotated

import typer

from charlm.api import serve as api
from charlm.cli.app import app, console

Opt = typer.Option


@app.command()
def serve(
    runs: Annotated[list[Path] | None, typer.Argument(metavar="RUN", show_default=False,
                    help="Run folders or .npz files (default: the newest checkpoint).")] = None,
    host: Annotated[str, Opt(help="The address to listen on (other machines: 0.0.0.0).")]
        = "127.0.0.1",
    port: Annotated[int, Opt(help="The port (0: any free one).")] = 8000,
    max_length: Annotated[int, Opt(help="The most characters one completion may ask for.")]
        = 2000,
    max_streams: Annotated[int, Opt(help="Completions at once; more are refused (429).")] = 256,
    api_key: Annotated[str | None, Opt(envvar="CHARLM_API_KEY", show_envvar=False,
                       help="Require 'Authorization: Bearer KEY' (or $CHARLM_API_KEY).")]
        = None,
):  # fmt: skip
    """Serve models over HTTP: OpenAI's /v1/completions, continuous batching, a writing page."""
    stopped = []

    def stop(signum, frame):  # uvicorn takes the signal first, drains, then passes it on
        stopped.append(signal.Signals(signum).name)

    def ready(url, names):
        console.print(f"serving {', '.join(names)} on {url}  (the writing page: {url}/)")
        if not api.is_loopback(host):
            console.print(f"[yellow]listening on {host}: reachable from other machines"
                          f"{'' if api_key else '; anyone who can reach it can use it (--api-key)'}"
                          "[/]")  # fmt: skip
        console.print("Ctrl-C stops it", style="dim")

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        api.serve(runs or (), host=host, port=port, max_length=max_length,
                  max_streams=max_streams, api_key=api_key, on_ready=ready,
                  should_stop=lambda: bool(stopped))  # fmt: skip
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    console.print(f"stopped{f' ({stopped[0]})' if stopped else ''}")
