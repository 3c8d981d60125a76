"""charlm neurons, gates, score: what single units do inside a trained model, how often its
gates saturate, and how surprised it is by each character."""

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from charlm import api, files, memory
from charlm.cli.app import (
    CheckpointOpt,
    FileOpt,
    JsonOpt,
    SkipOpt,
    app,
    console,
    emit,
    encode,
    read_text,
)
from charlm.errors import CharlmError
from charlm.inspect import features, look, units
from charlm.inspect import score as score_mod
from charlm.nn.model import memory as model_memory
from charlm.run import train as training

DEFAULT_CHARS = 10_000  # of the validation split, when no text is given
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


def _read(text, file, checkpoint_path, skip_unknown, outputs, force, usage, factor=1):
    """(checkpoint, ids, chars, inputs) of the text (TEXT, --file, or with neither the first
    DEFAULT_CHARS characters of the run's validation split), every output checked before
    anything is read."""
    source = api.checkpoint_path(checkpoint_path)
    inputs = [source, *([file] if file else [])]
    for out in outputs:
        if out is not None:
            files.check_target(out, "output", force, inputs)
    content = read_text(text, file)
    if content is not None and not content:
        raise CharlmError(f"the text is empty: give the text to read, e.g. {usage}")
    ck = api.load(source).checkpoint
    if content is None:
        ids = _validation(ck)
    else:
        ids = encode(ck.vocab, content, skip_unknown, "the text")
    if len(ids) == 0:
        raise CharlmError("the text is empty once the unknown characters are dropped")
    itemsize = ck.params["head.weight"].dtype.itemsize
    need = factor * model_memory(ck.spec, 1, len(ids), itemsize, backward=False)
    memory.require(need, f"the text: reading {len(ids):,} characters with this model needs")
    return ck, ids, [ck.vocab.symbol(int(i)) for i in ids], inputs


def _validation(ck):
    """The first DEFAULT_CHARS characters of the run's validation split."""
    try:
        found = training.load_corpus(ck.config, ck.vocab, identity=ck.corpus)
    except CharlmError as e:
        reason = str(e).split(";")[0]
        raise CharlmError(
            f"no text given, and the run's validation split cannot be read ({reason}); "
            f"give the text as TEXT or with --file F"
        ) from None
    return found.val[:DEFAULT_CHARS]


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
    """What single units track: each unit's activation over the text, its correlation with
    features of the text, against a fresh model of the same shape."""
    if state not in ("h", "c"):
        raise CharlmError(f"--state {state!r}: expected h or c")
    if top < 1:
        raise CharlmError(f"--top {top}: must be 1 or more")
    usage = "charlm neurons --find quote --file play.txt"
    ck, ids, chars, inputs = _read(text, file, checkpoint_path, skip_unknown, [html_path], force,
                                   usage, factor=3)  # fmt: skip
    # one character a position: a byte-level model's byte that is not ASCII shows as \xNN
    content = "".join(c if len(c) == 1 else "\ufffd" for c in chars)
    asked = list(find or [])
    wanted = asked or ([] if unit else list(features.NAMES))
    feats = {name: features.compute(name, content) for name in wanted}
    rec = units.record(ck.params, ck.spec, ids)
    chosen = rec.unit(unit, state) if unit else None
    fresh = units.control(ck.spec, ck.config.train.seed, ids, ck.params["head.weight"].dtype)
    found, constant = {}, [n for n, f in feats.items() if np.ptp(f) == 0]
    for name, f in feats.items():
        if name in constant:
            continue  # every unit's r with it is 0: no ranking to give
        chance = abs(units.rank(fresh, f, state, 1)[0][1])
        found[name] = (units.rank(rec, f, state, top), chance)
    if html_path is not None:
        shown = {u for ranked, _ in found.values() for u, _ in ranked} | ({unit} if unit else set())
        values = {u: look.scaled(rec.unit(u, state)) for u in shown}
        page = look.neurons_html(chars, found, values).encode("utf-8")
        files.write_bytes(html_path, page, "HTML page", force=force, inputs=inputs)
    if as_json:
        acts = rec.states(state)
        stack = np.stack([a for _, a in acts], axis=1)
        rs = {n: units.correlations(stack, f) for n, f in feats.items()}
        emit(json.dumps({
            "state": state, "chars": len(ids),
            "units": [{"unit": u, "mean": float(a.mean()), "std": float(a.std()),
                       "r": {n: float(rs[n][i]) for n in feats}} for i, (u, a) in enumerate(acts)],
            "top": {n: {"units": [[u, r] for u, r in ranked], "fresh_model_best_r": chance}
                    for n, (ranked, chance) in found.items()},
            "constant": constant,
        }))  # fmt: skip
        return
    if chosen is not None:
        console.print(f"unit {unit} ({state}), blue -1 .. white 0 .. red +1:", style="bold")
        console.print(look.shaded(chars, look.scaled(chosen), limit=SHOWN))
    table = Table(title=f"the units whose {state} follows each feature best")
    for col in ("feature", "best units (r)", "fresh model's best |r|"):
        table.add_column(col)
    for name, (ranked, chance) in found.items():
        table.add_row(escape(name), ", ".join(f"{u} {r:+.3f}" for u, r in ranked), f"{chance:.3f}")
    for name in constant:
        table.add_row(escape(name), "(the same at every character of this text: no ranking)", "")
    if feats:
        console.print(table)
    for name in (n for n in asked if n in found):
        for u, r in found[name][0]:
            console.print(f"{escape(name)}: unit {u}, r = {r:+.3f}", style="bold")
            console.print(look.shaded(chars, look.scaled(rec.unit(u, state)), limit=LINE))
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
    """How often each gate sits saturated: per unit, the fraction of characters it is below
    0.1 and above 0.9, per layer and gate."""
    ck, ids, _, inputs = _read(text, file, checkpoint_path, skip_unknown, [png, html_path],
                               force, "charlm gates --file play.txt")  # fmt: skip
    if ck.spec.cell == "rnn":
        raise CharlmError("a vanilla RNN has no gates; charlm gates reads an LSTM or a GRU")
    sat = units.saturation(units.record(ck.params, ck.spec, ids))
    if png is not None or html_path is not None:
        _write_plot(sat, png, html_path, force, inputs)
    if as_json:
        emit(json.dumps({"chars": len(ids), "left": units.LEFT, "right": units.RIGHT,
                         "layers": {layer: {g: {"left": lf.tolist(), "right": rt.tolist()}
                                            for g, (lf, rt) in gs.items()}
                                    for layer, gs in sat.items()}}))  # fmt: skip
        return
    table = Table(title=f"gate saturation over {len(ids):,} characters")
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
        page = look.PAGE.format(title="charlm gates", body=svg[svg.find("<svg") :])
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
    ck, ids, _, inputs = _read(text, file, checkpoint_path, skip_unknown, [html_path], force,
                               'charlm score "To be, or not to be"')  # fmt: skip
    if len(ids) < 2 and not ck.spec.bidirectional:
        raise CharlmError("the text has one character: nothing to predict it from (give two)")
    sc = score_mod.score(ck.params, ck.spec, ck.vocab, ids)
    if html_path is not None:
        page = look.score_html(sc).encode("utf-8")
        files.write_bytes(html_path, page, "HTML page", force=force, inputs=inputs)
    if as_json:
        emit(json.dumps(sc.to_dict()))
        return
    top = float(np.percentile(sc.scored, 99))
    console.print(look.shaded(sc.chars, sc.bits, look.surprise_colour(top), limit=SHOWN))
    console.print(
        f"{sc.bpc:.4f} bits per character ({sc.bpc * 0.6931471805599453:.4f} nats) over "
        f"{sc.scored.size:,} characters; white 0 .. red {top:.1f} bits or more",
        style="bold",
    )
    console.print("the most surprising words (bits in all):")
    for a, b, bits in sc.spans():
        console.print(f"  {bits:7.1f}  {escape(repr(''.join(sc.chars[a:b])))} at {a}")
    if html_path is not None:
        console.print(f"wrote {escape(str(html_path))}")
