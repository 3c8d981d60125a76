"""charlm sweep: the best settings for a budget, searched by Optuna (charlm.api.sweep)."""

import json
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from charlm.api import sweep as api
from charlm.api.tools import report
from charlm.cli import guard
from charlm.cli.app import app, console, emit
from charlm.errors import CharlmError

Opt = typer.Option


@app.command()
def sweep(
    space_file: Annotated[Path | None, typer.Argument(metavar="SPACE", show_default=False,
                     help="YAML: config keys mapped to ranges (docs/sweep.md).")] = None,
    config: Annotated[Path | None, Opt(help="The base config of every trial.")] = None,
    overrides: Annotated[list[str] | None, Opt("--set", metavar="KEY=VALUE",
                         help="Override a key of every trial (repeatable).")] = None,
    corpus: Annotated[str | None, Opt(help="Every trial's corpus.")] = None,
    minutes: Annotated[float | None, Opt(help="Each trial's time budget.")] = None,
    steps: Annotated[int | None, Opt(help="Each trial's steps.")] = None,
    trials: Annotated[int, Opt(help="Finished trials the study should hold.")] = 20,
    timeout: Annotated[float | None, Opt(help="Start no trial after this many minutes.")] = None,
    workers: Annotated[int, Opt(help="Trials at once on this machine.")] = 1,
    storage: Annotated[str | None, Opt(help="The study's database URL (default: "
                       "SQLite in checkpoints/STUDY/).")] = None,
    study: Annotated[str | None, Opt(help="The study's name (default: SPACE's).")] = None,
    pruner: Annotated[str, Opt(help="median, hyperband or none.")] = "median",
    seed: Annotated[int | None, Opt(help="The sampler's seed.")] = None,
    show: Annotated[bool, Opt("--show", help="Show a study's results; run nothing.")] = False,
    as_json: Annotated[bool, Opt("--json", help="Print the results as JSON.")] = False,
):  # fmt: skip
    """Search settings for the best validation loss: each trial a run, Optuna choosing."""
    if show:
        if study is None:
            raise CharlmError("--show needs --study NAME (and --storage URL if not SQLite)")
        return _results(api.sweep_results(study, storage=storage), as_json)
    if space_file is None:
        raise CharlmError("give the SPACE file (charlm sweep SPACE.yaml), or --show --study")
    asked = []

    def handler(signum, frame):
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
        console.print("[yellow]Ctrl-C: stopping after this trial saves (Ctrl-C again to quit)[/]")

    old = signal.signal(signal.SIGINT, handler)
    try:
        api.sweep(space_file, config=config, corpus=corpus, minutes=minutes, steps=steps,
                  trials=trials, timeout=timeout, workers=workers, storage=storage,
                  study=study, pruner=pruner, seed=seed, overrides=overrides or (),
                  on_trial=lambda row: console.print(api.line(row)),
                  should_stop=lambda: bool(asked) or guard.output_failed() is not None)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, old)
    name = study or space_file.stem
    failed = guard.output_failed()
    if failed:  # a closed pipe or a full disk on stdout: the trials so far are in the study
        raise CharlmError(f"{failed}: the sweep stopped; the same command continues the study "
                          f"'{name}'")  # fmt: skip
    _results(api.sweep_results(name, storage=storage), as_json)
    if asked:
        console.print(f"stopped (Ctrl-C); the same command continues the study '{name}'")


def _results(found, as_json):
    rows = found["trials"]
    best5 = [r["run"] for r in rows if r["state"] == "complete" and r["run"]][:5]
    page = None
    if best5 and all(Path(r).is_dir() for r in best5):
        folder = Path(best5[0]).parent
        page = report(best5, folder / "best.html", force=True)
    if as_json:
        found = {**found, "best_yaml": found["best_yaml"] and str(found["best_yaml"]),
                 "report": page and str(page)}  # fmt: skip
        emit(json.dumps(found, default=str))
        return
    table = Table(title=f"sweep {found['study']} ({found['storage']})")
    keys = list(dict.fromkeys(k for r in rows for k in r["params"]))
    for col in ("trial", "state", "bpc", "steps", "time", *(k.split(".")[-1] for k in keys)):
        table.add_column(col, justify="left" if col == "state" else "right", no_wrap=True)
    for r in rows:
        bpc = "" if r["bpc"] is None else f"{r['bpc']:.3f}"
        secs = "" if r["seconds"] is None else f"{r['seconds']:.0f} s"
        state = f"pruned@{r['note'].split()[-1]}" if r["state"] == "pruned" else r["state"]
        values = [api._short(r["params"][k]) if k in r["params"] else "" for k in keys]
        table.add_row(str(r["number"]), state, bpc, f"{r['steps'] or ''}", secs, *values)
    console.print(table)
    for r in rows:
        if r["state"] == "failed":
            console.print(f"trial {r['number']} failed: {r['note']}")
    if found["importances"]:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in found["importances"].items())
        console.print(f"importance: {shares}")
    if found["best_yaml"]:
        console.print(f"best settings: charlm train --config {found['best_yaml']}")
    if page:
        console.print(f"the best {len(best5)}: {page}")
