"""The API's calls that are not about one model: gradcheck (every gradient against finite
differences), gradflow (fresh models of each cell, beside trained ones) and report (the
HTML page of runs)."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from charlm import memory
from charlm.api import checks
from charlm.api.inside import enough
from charlm.api.model import Model, load
from charlm.errors import ArgumentError, CharlmError, literal
from charlm.inspect import gradcheck as gc
from charlm.inspect import gradflow as flow_mod
from charlm.nn.model import ModelSpec
from charlm.nn.model import memory as model_memory
from charlm.reporting import make as making
from charlm.run import config as config_mod


def gradcheck(config=None, *, cells=None, layers=None, bidirectional=None, seed=0,
              on_rows=None):  # fmt: skip
    """Prove every analytic gradient against finite differences in float64 (charlm.inspect
    .gradcheck). Without config: tiny models of each cell in `cells` (default all three), of
    each depth in `layers` (default 1 and 2), uni- and bidirectional (or only one, with
    bidirectional=True/False); with config (a YAML file): its architecture at its sizes (a
    16-symbol vocabulary, 30 sampled entries a tensor), varied the same way. on_rows(rows) is
    called as each architecture is checked. Returns (rows, seconds); a row passes when its
    max relative error is under gradcheck.TOLERANCE."""
    cells = tuple(checks.texts("cells", cells)) or None
    for cell in cells or ():
        checks.choice("cells", cell, config_mod.CELL_TYPES)
    depths = [layers] if isinstance(layers, int) or not layers else _list("layers", layers)
    layers = [checks.integer("layers", n, 1, 8) for n in depths if n is not None] or None
    checks.function("on_rows", on_rows)
    if bidirectional is not None:
        checks.flag("bidirectional", bidirectional)
    checks.integer("seed", seed, 0, checks.SEED)
    if config is None:
        both = (False, True) if bidirectional is None else (bidirectional,)
        specs = gc.default_specs(cells or config_mod.CELL_TYPES, layers or (1, 2), both)
        return gc.run(specs, seed=seed, on_rows=on_rows)
    base = gc.config_spec(config_mod.load(checks.path("config", config)).model)
    specs = [
        replace(
            base,
            cell=c,
            num_layers=n,
            bidirectional=base.bidirectional if bidirectional is None else bidirectional,
        )
        for c in (cells or (base.cell,))
        for n in (layers or (base.num_layers,))
    ]
    for spec in specs:  # float64 weights, gradients and the stencil's copies
        need = model_memory(spec, 2, 5, 8, optimizer_slots=1)
        what = f"{config}: checking a {spec.describe()} with hidden {spec.hidden_size:,} needs"
        memory.require(need, what)
    return gc.run(specs, seed=seed, max_entries=30, on_rows=on_rows)


def gradflow(models=(), *, cells=None, text=None, length=100, hidden=64, scale_hh=1.0, seed=0,
             skip_unknown=False):  # fmt: skip
    """[gradflow.Flow]: ||dL_T/dh_t|| of the last prediction through time, for each of models
    (Models, checkpoints or run folders) on text (None: gradflow's own paragraph), then for a
    fresh one-layer model of each cell in `cells` (default, with no models: all three) of
    `hidden` units, its recurrent weights times scale_hh, initialised with seed."""
    cells = tuple(checks.texts("cells", cells))
    for cell in cells:
        checks.choice("cells", cell, config_mod.CELL_TYPES)
    checks.integer("length", length, 1, 10**6)
    checks.integer("hidden", hidden, 1, 65536)
    checks.integer("seed", seed, 0, checks.SEED)
    checks.number("scale_hh", scale_hh, -100.0, 100.0)
    checks.flag("skip_unknown", skip_unknown)
    given = _list("models", models)
    models = [m if isinstance(m, Model) else load(checks.path("models", m)) for m in given]
    flows = [m.gradflow(text, length=length, skip_unknown=skip_unknown) for m in models]
    text = flow_mod.TEXT if text is None else checks.text("text", text)
    vocab = flow_mod.text_vocab(text)
    for cell in cells or (() if models else config_mod.CELL_TYPES):
        ids = enough(vocab.encode(text), length)
        need = model_memory(ModelSpec(cell, len(vocab), hidden), 1, length + 1, 8)
        checks.require("hidden", need, f"{{hidden}} {hidden:,} and {{length}} {length:,} need")
        params, spec = flow_mod.fresh(cell, hidden, len(vocab), seed, scale_hh)
        flows.append(flow_mod.flow(params, spec, ids[: length + 1], f"fresh {cell} {hidden}"))
    for f in flows:
        if not np.isfinite(f.norm).all():
            raise ArgumentError(
                "scale_hh",
                scale_hh,
                f"{literal(f.name)}: the gradient overflows float64 over {length} steps; use a "
                f"smaller {{scale_hh}} or {{length}}",
            )
    return flows


def _list(param, value):
    return checks.several(param, value, (str, Path, Model), "a list")


def report(runs, out=None, force=False):
    """Write the HTML report of one run or several (run folders, checkpoints or run names
    under checkpoints/) as `charlm report` does; returns the page's path."""
    names = _list("runs", runs)
    for name in names:
        checks.path("runs", name)
    if not names:
        raise CharlmError("runs: give at least one run")
    return making.report(names, checks.path("out", out, optional=True), checks.flag("force", force))
