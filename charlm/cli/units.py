"""charlm neurons, gates, score: what single units do inside a trained model, how often its
gates saturate, and how surprised it is by each character."""

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from charlm import api, files
from charlm.cli.app import (
    CheckpointOpt,
    FileOpt,
    JsonOpt,
    SkipOpt,
    app,
    console,
    emit,
    read_text,
)
from charlm.inspect import features, look
from charlm.nn.head import LN2
from charlm.pages import document

SHOWN = 2000  # characters the terminal shades at most (a page or --json has them all)
LINE = 240  # characters of each top unit's line under --find
UnitsText = Annotated[
    str | None,
    typer.Argument(
        metavar="[TEXT]",
        help="The text to read (or --file). Default: the first 10,000 characters of the run's "
        "validation split.",
    ),
]
HtmlOpt = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML page.")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace the page or plot if it exists.")]


def _model(checkpoint_path, file, outputs, force):
    """(Model, the files read) with every output checked before anything is read."""
    source = api.checkpoint_path(checkpoint_path)
    inputs = [source, *([file] if file else [])]
    for out in outputs:
        if out is not None:
            files.check_target(out, "output", force, inputs)
    return api.load(source), inputs


@app.command()
def neurons(
    text: UnitsText = None,
    checkpoint_path: CheckpointOpt = None,
    file: FileOpt = None,
    unit: Annotated[
        str | None, typer.Option(help="Shade the text by this unit: LAYER:UNIT (e.g. 1:17).")
    ] = None,
    state: Annotated[str, typer.Option(help="h (hidden state) or c (an LSTM's memory).")] = "h",
    find: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Rank the units by |correlation| with a feature: {', '.join(features.NAMES)}"
            " or regex:PATTERN (repeatable)."
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="How many units --find shows.")] = 5,
    html_path: HtmlOpt = None,
    as_json: JsonOpt = False,
    skip_unknown: SkipOpt = False,
    force: ForceOpt = False,
):
    """What single units track: activations, and correlations with features of the text.

    With --find, each unit's correlation with features of the text, beside a fresh model's."""
    model, inputs = _model(checkpoint_path, file, [html_path], force)
    found = model.neurons(read_text(text, file), find=find or (), unit=unit, state=state, top=top,
                          skip_unknown=skip_unknown)  # fmt: skip
    if html_path is not None:
        files.write_bytes(html_path, look.neurons_page(found).encode("utf-8"), "HTML page",
                          force=force, inputs=inputs)  # fmt: skip
    if as_json:
        emit(json.dumps(found.to_dict()))
        return
    chars = found.chars
    if unit is not None:
        console.print(f"unit {unit} ({state}), blue -1 .. white 0 .. red +1:", style="bold")
        console.print(look.shaded(chars, look.scaled(found.values(unit)), limit=SHOWN))
    table = Table(title=f"the units whose {state} follows each feature best")
    for col in ("feature", "best units (r)", "fresh model's best |r|"):
        table.add_column(col)
    for name, (ranked, chance) in found.found.items():
        table.add_row(escape(name), ", ".join(f"{u} {r:+.3f}" for u, r in ranked), f"{chance:.3f}")
    for name in found.constant:
        table.add_row(escape(name), "(the same at every character of this text: no ranking)", "")
    if found.features:
        console.print(table)
    for name in (n for n in find or () if n in found.found):
        for u, r in found.found[name][0]:
            console.print(f"{escape(name)}: unit {u}, r = {r:+.3f}", style="bold")
            console.print(look.shaded(chars, look.scaled(found.values(u)), limit=LINE))
    if html_path is not None:
        console.print(f"wrote {escape(str(html_path))}")


@app.command()
def gates(
    text: UnitsText = None,
    checkpoint_path: CheckpointOpt = None,
    file: FileOpt = None,
    png: Annotated[Path | None, typer.Option(help="Also write the scatter plot as a PNG.")] = None,
    html_path: HtmlOpt = None,
    as_json: JsonOpt = False,
    skip_unknown: SkipOpt = False,
    force: ForceOpt = False,
):
    """How often each gate sits saturated (below 0.1 or above 0.9), per layer and gate.

    Per unit, the fraction of characters its gate is below 0.1 and above 0.9."""
    model, inputs = _model(checkpoint_path, file, [png, html_path], force)
    found = model.gates(read_text(text, file), skip_unknown=skip_unknown)
    sat, n = found.saturation, found.chars
    if png is not None or html_path is not None:
        _write_plot(sat, png, html_path, force, inputs)
    if as_json:
        emit(json.dumps(found.to_dict()))
        return
    table = Table(title=f"gate saturation over {n:,} characters")
    for col in ("layer", "gate", "units", "mean < 0.1", "mean > 0.9", "mostly > 0.9",
                "mostly < 0.1"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("layer", "gate") else "right")
    for layer, gs in sat.items():
        for g, (lf, rt) in gs.items():
            table.add_row(layer, g, str(lf.size), f"{lf.mean():.1%}", f"{rt.mean():.1%}",
                          str(int((rt > 0.5).sum())), str(int((lf > 0.5).sum())))  # fmt: skip
    console.print(table)
    console.print("mostly: the units saturated on more than half of the characters", style="dim")
    for out in (png, html_path):
        if out is not None:
            console.print(f"wrote {escape(str(out))}")


def _write_plot(sat, png, html_path, force, inputs):
    fig = look.gates_figure(sat)
    if png is not None:
        files.write(png, lambda f: fig.savefig(f, format="png", dpi=110), "plot", force=force,
                    inputs=inputs)  # fmt: skip
    if html_path is not None:
        import io

        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        svg = buf.getvalue()
        page = document("charlm gates", svg[svg.find("<svg") :])
        files.write_bytes(html_path, page.encode("utf-8"), "HTML page", force=force,
                          inputs=inputs)  # fmt: skip


@app.command()
def score(
    text: UnitsText = None,
    checkpoint_path: CheckpointOpt = None,
    file: FileOpt = None,
    html_path: HtmlOpt = None,
    as_json: JsonOpt = False,
    skip_unknown: SkipOpt = False,
    force: ForceOpt = False,
):
    """How surprised the model is by each character: -log2 p(x_t | x_<t) in bits."""
    model, inputs = _model(checkpoint_path, file, [html_path], force)
    sc = model.score(read_text(text, file), skip_unknown=skip_unknown)
    if html_path is not None:
        page = look.score_html(sc).encode("utf-8")
        files.write_bytes(html_path, page, "HTML page", force=force, inputs=inputs)
    if as_json:
        emit(json.dumps(sc.to_dict()))
        return
    top = float(np.percentile(sc.scored, 99))
    console.print(look.shaded(sc.chars, sc.bits, look.surprise_colour(top), limit=SHOWN))
    console.print(
        f"{sc.bpc:.4f} bits per character ({sc.bpc * LN2:.4f} nats) over "
        f"{sc.scored.size:,} characters; white 0 .. red {top:.1f} bits or more",
        style="bold",
    )
    console.print("the most surprising words (bits in all):")
    for a, b, bits in sc.spans():
        console.print(f"  {bits:7.1f}  {escape(repr(''.join(sc.chars[a:b])))} at {a}")
    if html_path is not None:
        console.print(f"wrote {escape(str(html_path))}")
