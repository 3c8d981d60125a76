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
    wide: Annotated[
        bool, typer.Option("--wide", help="Also the parameters, epochs and when last written.")
    ] = False,
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
    columns = [c for c in COLUMNS if wide or c[0] not in WIDE]
    for name, justify in columns:
        # a figure is never broken across lines; the name and the status wrap at words
        table.add_column(name, justify=justify, no_wrap=name not in ("run", "status"),
                         overflow="fold")  # fmt: skip
    for r in rows:
        cells = _cells(r)
        table.add_row(*(cells[name] for name, _ in columns))
    console.print(table)


# (header, justification) of every column; the WIDE ones only with --wide, so the table
# fits 80 columns
COLUMNS = [("run", "left"), ("model", "left"), ("params", "right"), ("step", "right"),
           ("epochs", "right"), ("best val", "right"), ("bpc", "right"), ("time", "right"),
           ("status", "left"), ("written", "right"), ("from", "left")]  # fmt: skip
WIDE = ("params", "epochs", "bpc", "written", "from")


def _cells(r):
    """A row's cells by column, each from a value charlm.run.runs validated (or empty)."""
    step, total, best = r.get("step"), r.get("total"), r.get("best_val")
    of = f"/{total:,}" if budget.is_planned(total) else ""
    return {
        "run": escape(r["name"]),
        "model": escape(r.get("model") or ""),
        "params": "" if r.get("parameters") is None else f"{r['parameters']:,}",
        "step": "" if step is None else f"{step:,}{of}",
        "epochs": "" if r.get("epochs") is None else f"{r['epochs']:.2f}",
        "best val": "" if best is None else f"{best:.4f}",
        "bpc": "" if best is None else f"{r['best_bpc']:.3f}",
        "time": "" if r.get("time") is None else clock(r["time"]),
        "status": escape(r["status"]),
        "written": time.strftime("%m-%d %H:%M", time.localtime(r.get("written", 0))),
        "from": escape(_origin(r.get("init_from"))),
    }


def _origin(init_from):
    """The run a fine-tuned run started from: its folder's name (a loose file: its name)."""
    if not init_from:
        return ""
    path = Path(init_from["path"])
    return path.parent.name if path.name in ("latest.npz", "best.npz") else path.name


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
