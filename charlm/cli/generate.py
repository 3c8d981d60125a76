"""charlm sample and charlm eval: a checkpoint's text and its loss, through charlm.load."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from charlm import api
from charlm.cli import guard
from charlm.cli.app import CheckpointOpt, app, console, emit
from charlm.errors import CharlmError


@app.command()
def sample(
    checkpoint_path: CheckpointOpt = None,
    prime: Annotated[
        str, typer.Option(help="Text to start from; with blanks for a bidirectional model.")
    ] = "",
    length: Annotated[int, typer.Option(help="Characters to generate.")] = 500,
    temperature: Annotated[float, typer.Option(help="Below 1: safer; above 1: wilder.")] = 1.0,
    top_k: Annotated[int | None, typer.Option(help="Sample only from the k likeliest.")] = None,
    top_p: Annotated[
        float, typer.Option(help="Sample only from the likeliest holding this much probability.")
    ] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed for a repeatable sample.")] = None,
    greedy: Annotated[
        bool, typer.Option("--greedy", help="Always take the likeliest character.")
    ] = False,
    blank: Annotated[str, typer.Option(help="The blank character (bidirectional).")] = "_",
    sweeps: Annotated[int, typer.Option(help="Gibbs sweeps over the blanks.")] = 4,
    skip_unknown: Annotated[
        bool, typer.Option("--skip-unknown", help="Drop prime characters the model does not know.")
    ] = False,
):
    """Generate text from a checkpoint (a bidirectional one fills the blanks in --prime)."""
    api.check_sampling(length, temperature, top_k, seed, sweeps, blank, top_p=top_p)
    model = api.load(checkpoint_path)
    options = dict(temperature=temperature, top_k=top_k, seed=seed, greedy=greedy)
    if model.spec.bidirectional or (blank in prime and not _knows(model.vocab, blank)):
        emit(model.fill(prime, blank, sweeps, skip_unknown=skip_unknown, top_p=top_p, **options))
        return
    pieces = model.generate(
        prime, length, skip_unknown=skip_unknown, echo_prime=True, top_p=top_p, **options
    )
    for piece in pieces:
        emit(piece, nl=False)
        sys.stdout.flush()
        if guard.output_failed():  # | head -1 has what it wanted: stop generating
            break
    emit("")


def _knows(vocab, char):
    try:
        vocab.encode(char)
    except CharlmError:
        return False
    return True


@app.command("eval")
def eval_(
    checkpoint_path: CheckpointOpt = None,
    path: Annotated[
        Path | None,
        typer.Option("--text", help="Evaluate on this file (default: the validation split)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: loss, bpc, chars.")] = False,
    corpus: Annotated[
        str | None,
        typer.Option(help="Where the run's corpus is now, if it moved (the same text: checked)."),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            metavar="<name>",
            help="validation, or test: the split data.test_fraction holds out (enwik8's).",
        ),
    ] = "validation",
):
    """Loss in nats and bits per character on the validation or test split, or a file."""
    result = api.load(checkpoint_path).evaluate(path=path, corpus=corpus, split=split)
    if as_json:
        emit(json.dumps({k: result[k] for k in ("loss", "bpc", "chars")}))
    else:
        console.print(
            f"loss {result['loss']:.4f} nats/char, {result['bpc']:.4f} bits/char, "
            f"over {result['chars']:,} character{'s' * (result['chars'] != 1)} of "
            f"{result['source']}"
        )
