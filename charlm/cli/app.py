"""The charlm app: the Typer application every command module adds to, the console, and the
pieces the commands share (option types, number checks, reading a text argument)."""

import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from charlm import __version__, files
from charlm.cli import guard
from charlm.errors import CharlmError

app = typer.Typer(
    cls=guard.Group,
    add_completion=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    help="Character-level RNN, LSTM and GRU language models in plain NumPy.",
)
console = Console(highlight=False, soft_wrap=True)  # long lines: the terminal folds them
guard.Group.console = console  # every command runs under guard.handled: one-line errors
guard.Group.order = ("train", "sweep", "runs", "report", "sample", "serve", "eval", "gradcheck",
                     "gradflow", "saliency", "neurons", "gates", "score", "export", "import",
                     "corpus")  # fmt: skip


def at_least(option, value, low):
    if value is not None and value < low:
        raise CharlmError(f"{option} {value}: must be {low} or more")


def finite(option, value):
    """A float option must be a finite number."""
    if not math.isfinite(value):
        raise CharlmError(f"{option} {value}: must be a finite number")


def split(option, text, allowed, convert=str):
    """'rnn,gru' -> ('rnn', 'gru'), every item one of allowed."""
    try:
        values = tuple(convert(item.strip()) for item in text.split(","))
    except ValueError:
        values = ()
    if not values or any(v not in allowed for v in values):
        names = ", ".join(map(str, allowed))
        raise CharlmError(f"{option} {text}: expected a comma-separated list of {names}")
    return values


def emit(text, nl=True):
    """Text to standard output (guard.Output: a failed write stops the command, later)."""
    sys.stdout.write(text + ("\n" if nl else ""))


def read_text(text, file):
    """The text of a TEXT argument or a --file (UTF-8), not both."""
    if text is not None and file is not None:
        raise CharlmError("give the text as an argument or with --file, not both")
    if file is None:
        return text
    raw = files.read_bytes(file, "text file")  # once: a pipe cannot be read twice
    try:
        return raw.decode("utf-8-sig")  # a leading byte-order mark is not text
    except UnicodeDecodeError as e:
        raise CharlmError(f"{file}: not UTF-8 at byte offset {e.start}") from None


def encode(vocab, text, skip_unknown, where):
    try:
        return vocab.encode(text, skip_unknown)
    except CharlmError as e:
        raise CharlmError(f"{where}: {e}; pass --skip-unknown to drop them") from None


CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="A .npz file or a run folder (its latest.npz). "
        "Default: the newest checkpoint under checkpoints/.",
    ),
]


TextArg = Annotated[
    str | None, typer.Argument(metavar="[TEXT]", help="The text to read (or use --file).")
]
FileOpt = Annotated[Path | None, typer.Option("--file", help="Read the text from this file.")]
SkipOpt = Annotated[
    bool, typer.Option("--skip-unknown", help="Drop characters the model does not know.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")]


def _version(value: bool):
    if value:
        typer.echo(f"charlm {__version__}")
        raise typer.Exit()


def help_without_command(ctx: typer.Context):
    """A group given no command prints its help (typer's no_args_is_help raises an error type
    of click's that differs between the versions typer brings). Like --help, it says nothing
    when the reader stops early (| head -1)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
):
    """Character-level RNN, LSTM and GRU language models in plain NumPy."""
    help_without_command(ctx)


def main():
    app()
