"""The command line: parse, call, print. Errors are one line on stderr and exit status 2."""

import json
import math
import signal
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from charlm import __version__, files, handoff, memory
from charlm import sample as sampling
from charlm.cli import guard
from charlm.cli.display import TrainDisplay
from charlm.errors import CharlmError
from charlm.inspect import gradcheck as gc
from charlm.inspect import gradflow as flow_mod
from charlm.inspect import saliency as saliency_mod
from charlm.inspect import show
from charlm.nn import head
from charlm.nn.model import ModelSpec
from charlm.nn.model import memory as model_memory
from charlm.run import checkpoint, data, launch, rundir, synthetic
from charlm.run import config as config_mod
from charlm.run import train as training

app = typer.Typer(
    cls=guard.Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Character-level RNN, LSTM and GRU language models in plain NumPy.",
)
console = Console(highlight=False, soft_wrap=True)  # long lines: the terminal folds them
guard.Group.console = console  # every command runs under guard.handled: one-line errors


def _at_least(option, value, low):
    if value is not None and value < low:
        raise CharlmError(f"{option} {value}: must be {low} or more")


def _finite(option, value, low=None, high=None):
    """A float option: finite, and within [low, high] where given."""
    if (
        not math.isfinite(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        span = " and ".join(
            f"{op} {bound:g}" for op, bound in ((">=", low), ("<=", high)) if bound is not None
        )
        raise CharlmError(
            f"{option} {value}: must be a finite number" + (f" {span}" if span else "")
        )


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
    _at_least("--seed", seed, 0)
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
def _stop_on_signals():
    """SIGINT (Ctrl-C) and SIGTERM ask the loop to stop after the current step and save;
    a second Ctrl-C quits at once (the last checkpoint on disk stays whole)."""
    asked = []

    def handler(signum, frame):
        if asked and signum == signal.SIGINT:
            raise KeyboardInterrupt
        asked.append(signum)
        console.print(
            "[yellow]stopping after this step to save a checkpoint "
            "(Ctrl-C again to quit without saving)[/]"
        )

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(asked)
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


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
):
    """Train a model, showing progress and saving checkpoints to output.dir/output.run."""
    sets = list(overrides or [])
    sets += [f"data.corpus={corpus}"] if corpus is not None else []
    sets += [f"train.max_steps={steps}"] if steps is not None else []
    sets += [f"output.run={run}"] if run is not None else []
    if resume:
        start = launch.resumed(run_folder, config, sets, force, _download_progress())
    else:
        if run_folder is not None:
            raise CharlmError(
                f"unexpected argument '{run_folder}'; to continue a run use "
                f"charlm train --resume {run_folder}"
            )
        start = launch.fresh(config, sets, force, _download_progress())
    ck, run_dir = start.ck, start.run_dir
    for note in start.notes:
        console.print(note)
    with rundir.locked(run_dir):  # taken last: a refused command leaves no folder
        start.recheck()
        rundir.prepare(run_dir, fresh=start.fresh_folder)
        with _stop_on_signals() as asked, TrainDisplay(console, run_dir) as display:
            stop = lambda: asked() or guard.output_failed() is not None  # noqa: E731
            outcome = training.run(
                ck, start.corpus, run_dir, display, stop, metrics_from=start.metrics_from
            )
    display.summary(ck, outcome, start.total)
    resume_hint = f"resume: charlm train --resume {run_dir}"
    failed = guard.output_failed()
    if failed:  # a closed pipe or a full disk on stdout is a stop: saved, then one line
        done = "the run is done" if outcome == "done" else f"stopped at step {ck.step:,}"
        raise CharlmError(
            f"{failed}: {done}, saved in {run_dir}/{checkpoint.LATEST}"
            + ("" if outcome == "done" else f"; {resume_hint}")
        )
    if outcome == "stopped":
        console.print(f"stopped at step {ck.step:,}; {resume_hint}")
    else:
        console.print(f'sample from it: charlm sample --checkpoint {run_dir} --prime "..."')


CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="A .npz file or a run folder (its latest.npz). "
        "Default: the newest checkpoint under checkpoints/.",
    ),
]


def _checkpoint_path(path):
    """The checkpoint file --checkpoint names (default: the newest under checkpoints/)."""
    if path is None:
        return checkpoint.newest(config_mod.OutputConfig().dir)
    return checkpoint.find(path)


def _load_checkpoint(path):
    return checkpoint.load(_checkpoint_path(path))


@app.command()
def sample(
    checkpoint_path: CheckpointOpt = None,
    prime: Annotated[
        str, typer.Option(help="Text to start from; with blanks for a bidirectional model.")
    ] = "",
    length: Annotated[int, typer.Option(help="Characters to generate.")] = 500,
    temperature: Annotated[float, typer.Option(help="Below 1: safer; above 1: wilder.")] = 1.0,
    top_k: Annotated[int | None, typer.Option(help="Sample only from the k likeliest.")] = None,
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
    _at_least("--length", length, 0)
    if not (math.isfinite(temperature) and temperature >= 1e-3):  # lower overflows: --greedy
        raise CharlmError(
            f"--temperature {temperature:g}: must be > 0 (or use --greedy), finite and at least "
            f"0.001 (lower is --greedy, the likeliest character every time)"
        )
    _at_least("--top-k", top_k, 1)
    _at_least("--seed", seed, 0)
    _at_least("--sweeps", sweeps, 1)
    if len(blank) != 1:
        raise CharlmError(f"--blank {blank!r}: must be a single character")
    ck = _load_checkpoint(checkpoint_path)
    spec, vocab = ck.spec, ck.vocab
    rng = np.random.default_rng(seed)
    options = dict(temperature=temperature, top_k=top_k, greedy=greedy)
    if spec.bidirectional:
        if blank not in prime:
            raise CharlmError(
                f"this is a bidirectional (fill-in-the-blank) model and --prime has no "
                f"blank '{blank}'; e.g. --prime \"I am _____ hungry\""
            )
        ids, blanks = sampling.parse_blanks(vocab, prime, blank, skip_unknown)
        _check_reading(ck, len(ids), "--prime")
        out = sampling.fill(ck.params, spec, ids, blanks, rng, sweeps=sweeps, **options)
        _emit(vocab.decode(out))
        return
    if blank in prime and not _knows(vocab, blank):
        raise CharlmError(
            f"--prime has blanks '{blank}', but this model reads left to right: it continues "
            f"text and cannot fill blanks; train a bidirectional one (configs/bilstm.yaml)"
        )
    ids = sampling.encode_prime(vocab, prime, skip_unknown)
    _check_reading(ck, len(ids), "--prime")
    decode = vocab.decoder()
    _emit(decode(ids), nl=False)
    if len(ids) == 0:
        ids = sampling.start_ids(vocab)
    for i in sampling.generate(ck.params, spec, ids, length, rng, **options):
        _emit(decode([i]), nl=False)
        sys.stdout.flush()
        if guard.output_failed():  # | head -1 has what it wanted: stop generating
            break
    _emit("")


def _emit(text, nl=True):
    """Text to standard output (guard.Output: a failed write stops the command, later)."""
    sys.stdout.write(text + ("\n" if nl else ""))


def _check_reading(ck, n, what, backward=False, itemsize=None):
    """Refuse, before the forward pass, a text whose activations would not fit in memory."""
    itemsize = itemsize or ck.params["head.weight"].dtype.itemsize
    need = model_memory(ck.spec, 1, n, itemsize, backward=backward)
    memory.require(need, f"{what}: reading its {n:,} characters with this model needs")


def _knows(vocab, char):
    try:
        vocab.encode(char)
    except CharlmError:
        return False
    return True


@app.command("eval")
def eval_(
    checkpoint_path: CheckpointOpt = None,
    text: Annotated[
        Path | None, typer.Option(help="Evaluate on this file (default: the validation split).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: loss, bpc, chars.")] = False,
    corpus: Annotated[
        str | None,
        typer.Option(help="Where the run's corpus is now, if it moved (the same text: checked)."),
    ] = None,
):
    """Loss in nats and bits per character on the validation split or a file."""
    if text is not None and corpus is not None:
        raise CharlmError("--text evaluates a file, --corpus the run's validation split: not both")
    ck = _load_checkpoint(checkpoint_path)
    cfg = ck.config
    if text is None:
        if corpus is not None:
            cfg = config_mod.apply(cfg, [f"data.corpus={corpus}"], "--corpus")
        found = training.load_corpus(cfg, ck.vocab, _download_progress(), identity=ck.corpus)
        ids, where = found.val, f"the validation split of {found.path}"
    else:
        ids, _ = data.read(text, cfg.data.encoding, ck.vocab)
        where = str(text)
    if len(ids) < 2:
        raise CharlmError(f"{where}: too short to evaluate (at least 2 characters)")
    t = cfg.train
    loss, n = training.evaluate(ck.params, ck.spec, ids, t.batch_size, t.seq_len)
    if as_json:
        _emit(json.dumps({"loss": loss, "bpc": loss / head.LN2, "chars": n}))
    else:
        console.print(
            f"loss {loss:.4f} nats/char, {loss / head.LN2:.4f} bits/char, "
            f"over {n:,} characters of {where}"
        )


ForceOpt = Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")]


@app.command("export")
def export_(
    checkpoint_path: Annotated[
        Path, typer.Argument(metavar="CHECKPOINT", help="A .npz file or a run folder.")
    ],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="The .safetensors file to write.")],
    force: ForceOpt = False,
):
    """Write a checkpoint's weights as .safetensors, under torch.nn's names (see README)."""
    source = checkpoint.find(checkpoint_path)
    files.check_target(out, "file", force, inputs=[source])  # before any work
    ck = checkpoint.load(source)
    tensors = handoff.export(ck, out, force, inputs=[source])
    size = sum(a.nbytes for a in tensors.values())
    console.print(
        f"wrote {out}: {len(tensors)} tensors ({size:,} bytes) of a {ck.spec.describe()}, "
        f"hidden {ck.spec.hidden_size}, {len(ck.vocab)} symbols; load it into torch as the "
        f"README shows"
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
    ck = handoff.import_(model_path, out, force)  # refuses out = model_path, too
    console.print(
        f"wrote {out}: a {ck.spec.describe()}, hidden {ck.spec.hidden_size}, "
        f"{len(ck.vocab)} symbols; sample and eval use it as it is. "
        f"charlm train --resume {out} starts at step 0 with a fresh {ck.config.train.optimizer} "
        f"state (the file holds weights only)"
    )


def _read_text(text, file):
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


def _encode(vocab, text, skip_unknown, where):
    try:
        return vocab.encode(text, skip_unknown)
    except CharlmError as e:
        raise CharlmError(f"{where}: {e}; pass --skip-unknown to drop them") from None


TextArg = Annotated[
    str | None, typer.Argument(metavar="[TEXT]", help="The text to read (or use --file).")
]
FileOpt = Annotated[Path | None, typer.Option("--file", help="Read the text from this file.")]
SkipOpt = Annotated[
    bool, typer.Option("--skip-unknown", help="Drop characters the model does not know.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")]


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
    _at_least("--length", length, 1)
    _at_least("--hidden", hidden, 1)
    _at_least("--seed", seed, 0)
    _finite("--scale-hh", scale_hh)
    sources = [checkpoint.find(path) for path in checkpoints or []]
    if png is not None:
        files.check_target(png, "plot", force, inputs=[*sources, *([file] if file else [])])
    window = _read_text(text, file)
    window = flow_mod.TEXT if window is None else window
    types = _split("--type", cell_types, config_mod.CELL_TYPES) if cell_types else ()
    if not checkpoints and not types:
        types = config_mod.CELL_TYPES
    models = []
    for path, source in zip(checkpoints or [], sources, strict=True):
        ck = checkpoint.load(source)
        ids = _enough(_encode(ck.vocab, window, skip_unknown, "the text"), length)
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
        _emit(json.dumps({"length": length, "models": models_json}))
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
    source = _checkpoint_path(checkpoint_path)
    inputs = [source, *([file] if file else [])]
    if html_path is not None:
        files.check_target(html_path, "HTML page", force, inputs)
    content = _read_text(text, file)
    if not content:
        raise CharlmError('give the text to explain, e.g. charlm saliency "To be, or not to b"')
    ck = checkpoint.load(source)
    ids = _encode(ck.vocab, content, skip_unknown, "the text")
    one_hot = 0 if ck.spec.embedding_size else 2 * len(ids) * len(ck.vocab) * 8
    need = model_memory(ck.spec, 1, len(ids), 8) + one_hot
    memory.require(need, f"the text: explaining a prediction from {len(ids):,} characters needs")
    target_id = None
    if target is not None:
        found = _encode(ck.vocab, target, False, "--target")
        if len(found) != 1:
            raise CharlmError(f"--target {target!r}: must be a single character")
        target_id = int(found[0])
    sal = saliency_mod.saliency(ck.params, ck.spec, ck.vocab, ids, at, target_id)
    if html_path is not None:
        page = show.saliency_html(sal).encode("utf-8")
        files.write_bytes(html_path, page, "HTML page", force=force, inputs=inputs)
    if as_json:
        _emit(json.dumps(sal.to_dict()))
        return
    console.print(show.saliency_text(sal))
    console.print(show.saliency_summary(sal))
    if html_path is not None:
        console.print(f"wrote {html_path}")


corpus_app = typer.Typer(
    no_args_is_help=True, help="Synthetic corpora that test memory over a set distance."
)
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
    """Write a synthetic corpus: recall (a key, GAP filler letters, the key again) or
    brackets (balanced nesting, DEPTH deep)."""
    _at_least("--seed", seed, 0)
    path = out or Path("corpora") / synthetic.default_name(kind, gap, depth)
    body = synthetic.make(kind, size, seed, gap=gap, depth=depth, keys=keys)
    data_bytes = body.encode("utf-8")
    same = files.is_regular(path) and path.stat().st_size == len(data_bytes)
    same = same and not path.is_symlink() and path.read_bytes() == data_bytes
    if not same:
        files.write_bytes(path, data_bytes, "corpus", force=force)
    lines = body.count("\n")
    what = f"{len(body):,} characters in {lines:,} lines (seed {seed})"
    first = body.split("\n", 1)[0]
    console.print(f"{'unchanged' if same else 'wrote'} {path}: {what}; the first line: {first}")
    console.print(f"train on it: charlm train --corpus {path}")


def main():
    app()
