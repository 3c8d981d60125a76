"""charlm export, import and corpus make: moving weights to and from torch, and writing the
synthetic corpora."""

from pathlib import Path
from typing import Annotated

import typer

from charlm import api
from charlm.cli.app import ForceOpt, app, console, help_without_command


@app.command("export")
def export_(
    checkpoint_path: Annotated[
        Path, typer.Argument(metavar="CHECKPOINT", help="A .npz file or a run folder.")
    ],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="The .safetensors file to write.")],
    force: ForceOpt = False,
):
    """Write a checkpoint's weights as .safetensors, under torch.nn's names (see docs/usage.md)."""
    model = api.load(checkpoint_path)
    tensors = model.export(out, force)
    ck = model.checkpoint
    size = sum(a.nbytes for a in tensors.values())
    console.print(
        f"wrote {out}: {len(tensors)} tensors ({size:,} bytes) of a {ck.spec.describe()}, "
        f"hidden {ck.spec.hidden_size}, {len(ck.vocab)} symbols; load it into torch as the "
        f"docs/usage.md shows"
    )


@app.command("import")
def import_(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A .safetensors file (charlm's layout).")
    ],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="The .npz checkpoint to write.")],
    force: ForceOpt = False,
):
    """Make a charlm checkpoint of a .safetensors model (from charlm export or torch)."""
    ck = api.import_weights(model_path, out, force).checkpoint  # refuses out = model_path too
    console.print(
        f"wrote {out}: a {ck.spec.describe()}, hidden {ck.spec.hidden_size}, "
        f"{len(ck.vocab)} symbols; sample and eval use it as it is. "
        f"charlm train --resume {out} starts at step 0 with a fresh {ck.config.train.optimizer} "
        f"state (the file holds weights only)"
    )


corpus_app = typer.Typer(
    invoke_without_command=True, help="Synthetic corpora that test memory over a set distance."
)
corpus_app.callback()(help_without_command)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("make")
def corpus_make(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="recall or brackets.")],
    size: Annotated[int, typer.Option(help="About this many characters (whole lines).")] = 10**6,
    gap: Annotated[int, typer.Option(help="recall: filler letters between key and recall.")] = 20,
    keys: Annotated[int, typer.Option(help="recall: how many different keys (A, B, ...).")] = 8,
    depth: Annotated[int, typer.Option(help="brackets: the deepest nesting of each line.")] = 8,
    seed: Annotated[int, typer.Option(help="The same seed gives the same text.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Where to write (default: corpora/KIND-GAP-or-DEPTH.txt).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a different file there.")] = False,
):
    """Write a synthetic corpus that tests memory: recall or brackets.

    recall: a key, GAP filler letters, the key again; brackets: balanced nesting, DEPTH deep."""
    path, body, written = api.make_corpus(kind, size=size, gap=gap, keys=keys, depth=depth,
                                          seed=seed, out=out, force=force)  # fmt: skip
    same = not written
    lines = body.count("\n")
    what = f"{len(body):,} characters in {lines:,} lines (seed {seed})"
    first = body.split("\n", 1)[0]
    console.print(f"{'unchanged' if same else 'wrote'} {path}: {what}; the first line: {first}")
    console.print(f"train on it: charlm train --corpus {path}")
