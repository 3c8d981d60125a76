"""charlm gradcheck, gradflow and saliency: the inspection tools (charlm.inspect), with the
checkpoint loaded through charlm.load."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from charlm import api, files
from charlm.cli.app import (
    CheckpointOpt,
    FileOpt,
    JsonOpt,
    SkipOpt,
    TextArg,
    app,
    console,
    emit,
    read_text,
    split,
)
from charlm.inspect import gradcheck as gc
from charlm.inspect import show
from charlm.run import config as config_mod


@app.command()
def gradcheck(
    config: Annotated[
        Path | None,
        typer.Option(help="Check this config's architecture at its sizes (16-char vocabulary)."),
    ] = None,
    cells: Annotated[
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
    cells = split("--type", cells, config_mod.CELL_TYPES) if cells else None
    depths = split("--layers", layers, range(1, 9), int) if layers else None
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
        rows, seconds = api.gradcheck(
            config, cells=cells, layers=depths, bidirectional=bidirectional, seed=seed, on_rows=add
        )
    archs = len({r.arch for r in rows})
    console.print(table)
    failed = [r for r in rows if not r.passed]
    worst = max(r.max_error for r in rows)
    archs = f"{archs} architecture" + ("s" if archs > 1 else "")
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
    models: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A .npz or run folder; repeat it to compare models."),
    ] = None,
    cells: Annotated[
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
    sources = [api.checkpoint_path(path) for path in models or []]
    if png is not None:
        files.check_target(png, "plot", force, inputs=[*sources, *([file] if file else [])])
    cells = split("--type", cells, config_mod.CELL_TYPES) if cells else ()
    flows = api.gradflow(
        sources,
        cells=cells,
        text=read_text(text, file),
        length=length,
        hidden=hidden,
        scale_hh=scale_hh,
        seed=seed,
        skip_unknown=skip_unknown,
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
    model = api.load(source)
    sal = model.saliency(content or "", at=at, target=target, skip_unknown=skip_unknown)
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
