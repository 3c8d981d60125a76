"""The command line: parse, call, print. Errors are one line on stderr and exit status 2."""

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from charlm import __version__
from charlm import config as config_mod
from charlm import gradcheck as gc
from charlm.errors import CharlmError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Character-level RNN, LSTM and GRU language models in plain NumPy.",
)
console = Console(highlight=False)


@contextmanager
def user_errors():
    """Turn a CharlmError into 'charlm: error: ...' on stderr and exit status 2."""
    try:
        yield
    except CharlmError as e:
        message = " ".join(str(e).split())  # one line, always
        typer.echo(f"charlm: error: {message}", err=True)
        raise typer.Exit(2) from None


def _version(value: bool):
    if value:
        typer.echo(f"charlm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
):
    """Character-level RNN, LSTM and GRU language models in plain NumPy."""


def _split(option, text, allowed, convert=str):
    """'rnn,gru' -> ('rnn', 'gru'), every item one of allowed."""
    try:
        values = tuple(convert(item.strip()) for item in text.split(","))
    except ValueError:
        values = ()
    if not values or any(v not in allowed for v in values):
        names = ", ".join(map(str, allowed))
        raise CharlmError(f"{option} {text}: expected a comma-separated list of {names}")
    return values


@app.command()
def gradcheck(
    config: Annotated[
        Path | None,
        typer.Option(help="Check this config's architecture at its sizes (16-char vocabulary)."),
    ] = None,
    cell_types: Annotated[
        str | None, typer.Option("--type", help="Cells to check, e.g. 'lstm' or 'rnn,gru'.")
    ] = None,
    layers: Annotated[str | None, typer.Option(help="Layer counts, e.g. '1' or '1,2'.")] = None,
    bidirectional: Annotated[
        bool | None,
        typer.Option(
            "--bidirectional/--unidirectional",
            help="Only bidirectional (or only unidirectional) models.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of weights, window and sampled entries.")] = 0,
):
    """Prove every analytic gradient against finite differences (float64)."""
    with user_errors():
        types = _split("--type", cell_types, config_mod.CELL_TYPES) if cell_types else None
        depths = _split("--layers", layers, range(1, 9), int) if layers else None
        if config is not None:
            base = gc.config_spec(config_mod.load(config).model)
            both = base.bidirectional
            specs = [
                replace(
                    base,
                    cell=c,
                    num_layers=L,
                    bidirectional=both if bidirectional is None else bidirectional,
                )
                for c in (types or (base.cell,))
                for L in (depths or (base.num_layers,))
            ]
            max_entries = 30
        else:
            specs = gc.default_specs(
                types or config_mod.CELL_TYPES,
                depths or (1, 2),
                (False, True) if bidirectional is None else (bidirectional,),
            )
            max_entries = None

    table = Table(title="charlm gradcheck: analytic vs finite-difference gradients (float64)")
    table.add_column("architecture")
    table.add_column("parameter", no_wrap=True)
    table.add_column("entries", justify="right", no_wrap=True)
    table.add_column("max rel. error", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)

    def add(rows):
        for i, r in enumerate(rows):
            mark = "[green]pass[/]" if r.passed else "[bold red]FAIL[/]"
            table.add_row(
                r.arch if i == 0 else "",
                r.param,
                f"{r.checked}/{r.total}",
                f"{r.max_error:.1e}",
                mark,
                end_section=i == len(rows) - 1,
            )

    with console.status("checking gradients..."):
        rows, seconds = gc.run(specs, seed=seed, max_entries=max_entries, on_rows=add)
    console.print(table)
    failed = [r for r in rows if not r.passed]
    worst = max(r.max_error for r in rows)
    archs = f"{len(specs)} architecture" + ("s" if len(specs) > 1 else "")
    summary = (
        f"{len(rows)} tensors, {archs}, worst {worst:.1e} "
        f"(tolerance {gc.TOLERANCE:.0e}), {seconds:.1f} s"
    )
    if failed:
        console.print(f"[bold red]FAILED[/] {len(failed)} of {summary}")
        for r in failed:
            console.print(f"  {r.arch} {r.param}: max relative error {r.max_error:.2e}")
        raise typer.Exit(1)
    console.print(f"[green]all pass[/]: {summary}")


def main():
    app()
