"""charlm gradcheck, gradflow and saliency: the inspection tools (charlm.inspect), with the
checkpoint loaded through charlm.load."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from charlm import api, files, memory
from charlm.cli.app import (
    CheckpointOpt,
    FileOpt,
    JsonOpt,
    SkipOpt,
    TextArg,
    app,
    at_least,
    console,
    emit,
    encode,
    finite,
    read_text,
    split,
)
from charlm.errors import CharlmError
from charlm.inspect import gradcheck as gc
from charlm.inspect import gradflow as flow_mod
from charlm.inspect import saliency as saliency_mod
from charlm.inspect import show
from charlm.nn.model import ModelSpec
from charlm.nn.model import memory as model_memory
from charlm.run import config as config_mod


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
    at_least("--seed", seed, 0)
    types = split("--type", cell_types, config_mod.CELL_TYPES) if cell_types else None
    depths = split("--layers", layers, range(1, 9), int) if layers else None
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
        for spec in specs:  # float64 weights, gradients and the stencil's copies
            need = model_memory(spec, 2, 5, 8, optimizer_slots=1)
            what = f"{config}: checking a {spec.describe()} with hidden {spec.hidden_size:,} needs"
            memory.require(need, what)
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


@app.command()
def gradflow(
    text: TextArg = None,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A .npz or run folder; repeat it to compare models."),
    ] = None,
    cell_types: Annotated[
        str | None,
        typer.Option(
            "--type", help="Fresh models of these cells (default without --checkpoint: all three)."
        ),
    ] = None,
    hidden: Annotated[int, typer.Option(help="Hidden size of the fresh models.")] = 64,
    length: Annotated[int, typer.Option(help="Steps T: reads the first T+1 characters.")] = 100,
    scale_hh: Annotated[
        float, typer.Option(help="Multiply the fresh models' recurrent weights by this.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the fresh models' weights.")] = 0,
    file: FileOpt = None,
    every: Annotated[bool, typer.Option("--all", help="Every step in the table.")] = False,
    png: Annotated[Path | None, typer.Option(help="Also draw the plot to this PNG file.")] = None,
    as_json: JsonOpt = False,
    skip_unknown: SkipOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the PNG if it exists.")] = False,
):
    """Gradient flow through time: ||dL_T/dh_t|| of the last prediction at every step t."""
    at_least("--length", length, 1)
    at_least("--hidden", hidden, 1)
    at_least("--seed", seed, 0)
    finite("--scale-hh", scale_hh)
    sources = [api.checkpoint_path(path) for path in checkpoints or []]
    if png is not None:
        files.check_target(png, "plot", force, inputs=[*sources, *([file] if file else [])])
    window = read_text(text, file)
    window = flow_mod.TEXT if window is None else window
    types = split("--type", cell_types, config_mod.CELL_TYPES) if cell_types else ()
    if not checkpoints and not types:
        types = config_mod.CELL_TYPES
    models = []
    for path, source in zip(checkpoints or [], sources, strict=True):
        ck = api.load(source).checkpoint
        ids = _enough(encode(ck.vocab, window, skip_unknown, "the text"), length)
        need = model_memory(ck.spec, 1, length + 1, 8)
        memory.require(need, f"--length {length:,} with {path} needs")
        models.append((ck.params, ck.spec, ids, f"{path} ({ck.spec.describe()})"))
    vocab = flow_mod.text_vocab(window)
    for cell in types:
        ids = _enough(vocab.encode(window), length)
        need = model_memory(ModelSpec(cell, len(vocab), hidden), 1, length + 1, 8)
        memory.require(need, f"--hidden {hidden:,} and --length {length:,} need")
        params, spec = flow_mod.fresh(cell, hidden, len(vocab), seed, scale_hh)
        models.append((params, spec, ids, f"fresh {cell} {hidden}"))
    flows = []
    for params, spec, ids, name in models:
        flows.append(flow_mod.flow(params, spec, ids[: length + 1], name))
        if not np.isfinite(flows[-1].norm).all():
            raise CharlmError(
                f"{name}: the gradient overflows float64 over {length} steps; "
                f"use a smaller --scale-hh or --length"
            )
    if png is not None:
        show.flow_png(flows, png, force=force)
    if as_json:
        models_json = [f.to_dict() for f in flows]
        emit(json.dumps({"length": length, "models": models_json}))
        return
    for table in show.flow_tables(flows, every):
        console.print(table)
    label = max(len(f.name) for f in flows)
    console.print(show.flow_chart(flows, width=max(16, min(100, console.width - label - 24))))
    if png is not None:
        console.print(f"wrote {png}")


def _enough(ids, length):
    if len(ids) < length + 1:
        raise CharlmError(
            f"--length {length} needs {length + 1} characters and the text has "
            f"{len(ids)}; give a longer text or a smaller --length"
        )
    return ids


@app.command()
def saliency(
    text: TextArg = None,
    checkpoint_path: CheckpointOpt = None,
    file: FileOpt = None,
    at: Annotated[
        int | None,
        typer.Option(
            help="Explain character N of the text (0 = the first). Default: the one after the "
            "text (a bidirectional model: the middle one)."
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Explain this character's loss instead.")
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML page.")
    ] = None,
    as_json: JsonOpt = False,
    skip_unknown: SkipOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the page if it exists.")] = False,
):
    """Which input characters a prediction depended on: ||dL/dv_t|| for each character t."""
    source = api.checkpoint_path(checkpoint_path)
    inputs = [source, *([file] if file else [])]
    if html_path is not None:
        files.check_target(html_path, "HTML page", force, inputs)
    content = read_text(text, file)
    if not content:
        raise CharlmError('give the text to explain, e.g. charlm saliency "To be, or not to b"')
    ck = api.load(source).checkpoint
    ids = encode(ck.vocab, content, skip_unknown, "the text")
    one_hot = 0 if ck.spec.embedding_size else 2 * len(ids) * len(ck.vocab) * 8
    need = model_memory(ck.spec, 1, len(ids), 8) + one_hot
    memory.require(need, f"the text: explaining a prediction from {len(ids):,} characters needs")
    target_id = None
    if target is not None:
        found = encode(ck.vocab, target, False, "--target")
        if len(found) != 1:
            raise CharlmError(f"--target {target!r}: must be a single character")
        target_id = int(found[0])
    sal = saliency_mod.saliency(ck.params, ck.spec, ck.vocab, ids, at, target_id)
    if html_path is not None:
        page = show.saliency_html(sal).encode("utf-8")
        files.write_bytes(html_path, page, "HTML page", force=force, inputs=inputs)
    if as_json:
        emit(json.dumps(sal.to_dict()))
        return
    console.print(show.saliency_text(sal))
    console.print(show.saliency_summary(sal))
    if html_path is not None:
        console.print(f"wrote {html_path}")
