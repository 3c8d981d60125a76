"""charlm runs: every run under checkpoints/ (or DIR) in one table; charlm report: a run's
(or several runs') HTML page."""

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from charlm import api
from charlm.cli.app import JsonOpt, app, console, emit
from charlm.run import budget, rundir
from charlm.run.metrics import clock


@app.command()
def runs(
    directory: Annotated[
        Path, typer.Argument(metavar="[DIR]", help="The folder of run folders.")
    ] = Path("checkpoints"),
    as_json: JsonOpt = False,
    sort: Annotated[
        str, typer.Option(help="Order by best (validation loss), name, step, time or written.")
    ] = "best",
):
    """Every run in a folder: model, progress, best validation loss, time and status."""
    rows = api.runs(directory, sort=sort)
    if as_json:
        emit(json.dumps(rows))
        return
    if not rows:
        hint = "train one with `charlm train`"
        if rundir.run_files(directory):  # DIR is a run folder, not a folder of them
            hint = f"{escape(str(directory))} is a run itself: charlm runs {directory.parent}"
        console.print(f"no runs under {escape(str(directory))}/; {hint}")
        return
    table = Table(title=f"runs in {escape(str(directory))}/, by {sort}")
    for name, width in (
        ("run", 5),
        ("model", 9),
        ("params", 6),
        ("step", 5),
        ("epochs", 4),
        ("best val (bpc)", 8),
        ("time", 7),
        ("status", 9),
        ("written", 5),
    ):
        left = name in ("run", "model", "status")  # fmt: skip
        table.add_column(
            name, justify="left" if left else "right", min_width=width, overflow="fold"
        )
    for r in rows:
        step, total, best = r.get("step"), r.get("total"), r.get("best_val")
        of = f"/{total:,}" if budget.is_planned(total) else ""
        table.add_row(
            escape(r["name"]),
            escape(r.get("model") or ""),
            "" if r.get("parameters") is None else f"{r['parameters']:,}",
            "" if step is None else f"{step:,}{of}",
            "" if r.get("epochs") is None else f"{r['epochs']:.2f}",
            "" if best is None else f"{best:.4f} ({r['best_bpc']:.3f})",
            "" if r.get("time") is None else clock(r["time"]),
            escape(r["status"]),
            time.strftime("%m-%d %H:%M", time.localtime(r.get("written", 0))),
        )
    console.print(table)


@app.command()
def report(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN...",
            show_default=False,
            help="Run folders (or checkpoints, or run names under checkpoints/).",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="The page to write. Default: the run's report.html; for several runs, "
            "report.html in the folder above the first."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing file at --out.")
    ] = False,
):
    """One self-contained HTML page of a run (or several overlaid): charts, samples, config."""
    path = api.report(runs, out, force)
    console.print(f"report: {escape(str(path))}")
