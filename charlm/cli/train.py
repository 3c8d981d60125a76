"""charlm train: the live display, Ctrl-C that saves first, and the summary, around
charlm.train (the API), which does the work."""

import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

from charlm import api
from charlm.cli import guard
from charlm.cli.app import app, console
from charlm.cli.display import TrainDisplay
from charlm.errors import CharlmError
from charlm.run import checkpoint
from charlm.run.budget import is_planned


def _download_progress():
    """A progress(done, total) callback that shows a download bar once a download starts."""
    bar = {}

    def progress(done, total):
        if not bar:
            bar["p"] = Progress(
                *Progress.get_default_columns(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=console,
                transient=True,
            )
            bar["p"].start()
            bar["task"] = bar["p"].add_task("downloading corpus", total=total)
        bar["p"].update(bar["task"], completed=done)
        if done >= total:
            bar["p"].stop()

    return progress


@contextmanager
def _stop_on_signals(training):
    """Once training() is true, SIGINT (Ctrl-C) and SIGTERM ask the loop to stop after the
    current step and save; a second Ctrl-C quits at once (the last checkpoint on disk stays
    whole). Before, during set-up, they interrupt at once: there is nothing to save yet."""
    asked = []

    def handler(signum, frame):
        if not training() or (asked and signum == signal.SIGINT):
            raise guard.Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        asked.append(signum)
        console.print(
            f"[yellow]{_name(signum)}: stopping after this step to save a checkpoint "
            "(Ctrl-C again to quit without saving)[/]"
        )

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield asked
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _name(signum):
    return "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"


@app.command()
def train(
    run_folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="[RUN]",
            show_default=False,
            help="With --resume: the run folder (or checkpoint) to continue. "
            "Default: the config's output.dir/output.run.",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (default: the built-in defaults).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Override a key, e.g. train.lr=0.01 (repeatable)."
        ),
    ] = None,
    corpus: Annotated[
        str | None, typer.Option(help="A text file, or a catalog name (tinyshakespeare).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Train to this step (train.max_steps).")] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            help="Train for M minutes of training time (train.minutes), the schedule planned "
            "to end on time."
        ),
    ] = None,
    run: Annotated[
        str | None, typer.Option(help="Run name: checkpoints go to output.dir/RUN.")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue RUN (or the config's run) exactly where it stopped."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Start afresh even if the run folder holds a run (replacing it)."
        ),
    ] = False,
    init_from: Annotated[
        Path | None,
        typer.Option(
            "--init-from",
            metavar="RUN",
            help="Fine-tune: start from this run's (or checkpoint's) weights and model.",
        ),
    ] = None,
    tensorboard: Annotated[
        bool,
        typer.Option(
            "--tensorboard",
            help="Also write TensorBoard events into the run folder (train.tensorboard).",
        ),
    ] = False,
):
    """Train a model, showing progress and saving checkpoints to output.dir/output.run."""
    if run_folder is not None and not resume:
        raise CharlmError(
            f"unexpected argument '{run_folder}'; to continue a run use "
            f"charlm train --resume {run_folder}"
        )
    display = TrainDisplay(console)
    with _stop_on_signals(lambda: display.task is not None) as asked, display:
        stop = lambda: bool(asked) or guard.output_failed() is not None  # noqa: E731
        model = api.train(
            config, corpus=corpus, steps=steps, minutes=minutes, run=run,
            overrides=overrides or (), tensorboard=True if tensorboard else None,
            resume=(run_folder or True) if resume else False, force=force,
            reporter=display, should_stop=stop, progress=_download_progress(),
            init_from=init_from,
        )  # fmt: skip
    ck, run_dir, outcome = model.checkpoint, model.run_dir, model.outcome
    display.summary(ck, outcome, model.total)
    if model.report is not None:
        console.print(f"report: {model.report}")
    resume_hint = f"resume: charlm train --resume {run_dir}"
    failed = guard.output_failed()
    if failed:  # a closed pipe or a full disk on stdout is a stop: saved, then one line
        done = "the run is done" if outcome == "done" else f"stopped at step {ck.step:,}"
        raise CharlmError(
            f"{failed}: {done}, saved in {run_dir}/{checkpoint.LATEST}"
            + ("" if outcome == "done" else f"; {resume_hint}")
        )
    more = f"train further: charlm train --resume {run_dir} --steps N (N > {ck.step:,})"
    if outcome == "time" and not is_planned(model.total):
        console.print(
            f"the time budget ({ck.config.train.minutes:g} minutes of training) ran out at "
            f"step {ck.step:,}, in the warm-up, before its steps were planned; saved in "
            f"{run_dir}; {more}"
        )
    elif outcome == "time":
        console.print(
            f"the time budget ({ck.config.train.minutes:g} minutes of training) ran out at "
            f"step {ck.step:,} of the {model.total:,} planned ({ck.step / model.total:.0%} of "
            f"the schedule); saved in {run_dir}; {more}"
        )
    elif outcome == "stopped":
        by = f" ({_name(asked[0])})" if asked else ""
        console.print(f"stopped at step {ck.step:,}{by}; {resume_hint}")
    else:
        console.print(f'sample from it: charlm sample --checkpoint {run_dir} --prime "..."')
