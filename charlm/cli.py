"""The command line: parse, call, print. Errors are one line on stderr and exit status 2."""

import json
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

from charlm import __version__, checkpoint, data, handoff, show, synthetic
from charlm import config as config_mod
from charlm import gradcheck as gc
from charlm import gradflow as flow_mod
from charlm import saliency as saliency_mod
from charlm import sample as sampling
from charlm import train as training
from charlm.display import TrainDisplay
from charlm.errors import CharlmError
from charlm.nn import head

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Character-level RNN, LSTM and GRU language models in plain NumPy.",
)
console = Console(highlight=False, soft_wrap=True)  # long lines: the terminal folds them


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
    with user_errors():
        sets = list(overrides or [])
        sets += [f"data.corpus={corpus}"] if corpus is not None else []
        sets += [f"train.max_steps={steps}"] if steps is not None else []
        sets += [f"output.run={run}"] if run is not None else []
        if resume:
            ck, cfg, run_dir, (loaded, stamp) = _resumed(run_folder, config, sets)
            corpus_data = training.load_corpus(cfg, ck.vocab, _download_progress())
        else:
            if run_folder is not None:
                raise CharlmError(
                    f"unexpected argument '{run_folder}'; to continue a run use "
                    f"charlm train --resume {run_folder}"
                )
            cfg = config_mod.load(config, sets)
            run_dir = Path(cfg.output.dir) / cfg.output.run
            if (run_dir / checkpoint.LATEST).exists() and not force:
                raise CharlmError(
                    f"{run_dir} already holds a run; continue it with "
                    f"`charlm train --resume {run_dir}`, start another with --run NAME, "
                    f"or replace it with --force"
                )
            corpus_data = training.load_corpus(cfg, progress=_download_progress())
            ck = training.new_run(cfg, corpus_data.vocab)
        total = training.total_steps(cfg, corpus_data.batches.windows)
        if ck.step >= total:
            raise CharlmError(
                f"{run_dir} is already at step {ck.step:,} of {total:,}; "
                f"train further with --steps N (N > {ck.step:,})"
            )
        with training.locked(run_dir):  # taken last: a refused command leaves no folder
            if resume and _stamp(loaded) != stamp:
                raise CharlmError(
                    f"{loaded} was rewritten while charlm read it; run the command again"
                )
            training.prepare_run_dir(run_dir, fresh=not resume)
            with _stop_on_signals() as should_stop, TrainDisplay(console, run_dir) as display:
                outcome = training.run(ck, corpus_data, run_dir, display, should_stop)
        display.summary(ck, outcome, total)
        if outcome == "stopped":
            console.print(f"stopped at step {ck.step:,}; resume: charlm train --resume {run_dir}")
        else:
            console.print(f'sample from it: charlm sample --checkpoint {run_dir} --prime "..."')


def _stamp(path):
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _resumed(run_folder, config, sets):
    """(checkpoint, config, run folder, (checkpoint path, its stamp before loading)) of a
    --resume; the stamp tells whether another process rewrote it before the lock was taken."""
    base = config_mod.load(config, [s for s in sets if s.startswith("output.")])
    source = run_folder or Path(base.output.dir) / base.output.run
    path = checkpoint.find(source)
    stamp = _stamp(path)
    ck = checkpoint.load(path)
    checkpoint.check_resumable(path, ck)
    run_dir = path.parent
    if any(s.startswith("output.") for s in sets):  # --run NAME: continue into a new folder
        run_dir = Path(base.output.dir) / base.output.run
    where = str(path)
    if config is not None:
        training.check_resume(ck, config_mod.load(config, sets), f"{where} vs {config}")
    cfg = config_mod.apply(ck.config, sets, f"--resume {path}")
    cfg = replace(cfg, output=replace(cfg.output, dir=str(run_dir.parent), run=run_dir.name))
    training.check_resume(ck, cfg, where)
    ck.config = cfg
    return ck, cfg, run_dir, (path, stamp)


CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="A .npz file or a run folder (its latest.npz). "
        "Default: the newest checkpoint under checkpoints/.",
    ),
]


def _load_checkpoint(path):
    if path is None:
        path = checkpoint.newest(config_mod.OutputConfig().dir)
    return checkpoint.load(path)


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
    with user_errors():
        if length < 0:
            raise CharlmError(f"--length {length}: must be 0 or more")
        if not greedy and temperature <= 0:
            raise CharlmError(f"--temperature {temperature:g}: must be > 0 (or use --greedy)")
        if top_k is not None and top_k < 1:
            raise CharlmError(f"--top-k {top_k}: must be 1 or more")
        if len(blank) != 1:
            raise CharlmError(f"--blank {blank!r}: must be a single character")
        if sweeps < 1:
            raise CharlmError(f"--sweeps {sweeps}: must be 1 or more")
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
            out = sampling.fill(ck.params, spec, ids, blanks, rng, sweeps=sweeps, **options)
            typer.echo(vocab.decode(out))
            return
        if blank in prime and not _knows(vocab, blank):
            raise CharlmError(
                f"--prime has blanks '{blank}', but this model reads left to right: it continues "
                f"text and cannot fill blanks; train a bidirectional one (configs/bilstm.yaml)"
            )
        ids = sampling.encode_prime(vocab, prime, skip_unknown)
        decode = vocab.decoder()
        typer.echo(decode(ids), nl=False)
        if len(ids) == 0:
            ids = sampling.start_ids(vocab)
        for i in sampling.generate(ck.params, spec, ids, length, rng, **options):
            typer.echo(decode([i]), nl=False)
            sys.stdout.flush()
        typer.echo()


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
):
    """Loss in nats and bits per character on the validation split or a file."""
    with user_errors():
        ck = _load_checkpoint(checkpoint_path)
        cfg = ck.config
        if text is None:
            ids = training.load_corpus(cfg, ck.vocab, _download_progress()).val
            where = f"the validation split of {cfg.data.corpus}"
        else:
            ids, _ = data.read(text, cfg.data.encoding, ck.vocab)
            where = str(text)
        if len(ids) < 2:
            raise CharlmError(f"{where}: too short to evaluate (at least 2 characters)")
        t = cfg.train
        loss, n = training.evaluate(ck.params, ck.spec, ids, t.batch_size, t.seq_len)
    if as_json:
        typer.echo(json.dumps({"loss": loss, "bpc": loss / head.LN2, "chars": n}))
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
    with user_errors():
        ck = checkpoint.load(checkpoint_path)
        tensors = handoff.export(ck, out, force)
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
    with user_errors():
        ck = handoff.import_(model_path, out, force)
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
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CharlmError(f"{file}: not UTF-8 at byte offset {e.start}") from None
    except OSError as e:
        raise CharlmError(f"cannot read {file}: {e.strerror or e}") from None


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
):
    """Gradient flow through time: ||dL_T/dh_t|| of the last prediction at every step t."""
    with user_errors():
        window = _read_text(text, file)
        window = flow_mod.TEXT if window is None else window
        if length < 1:
            raise CharlmError(f"--length {length}: must be 1 or more")
        if hidden < 1:
            raise CharlmError(f"--hidden {hidden}: must be 1 or more")
        types = _split("--type", cell_types, config_mod.CELL_TYPES) if cell_types else ()
        if not checkpoints and not types:
            types = config_mod.CELL_TYPES
        models = []
        for path in checkpoints or []:
            ck = checkpoint.load(path)
            ids = _encode(ck.vocab, window, skip_unknown, "the text")
            models.append((ck.params, ck.spec, ids, f"{path} ({ck.spec.describe()})"))
        vocab = flow_mod.text_vocab(window)
        for cell in types:
            params, spec = flow_mod.fresh(cell, hidden, len(vocab), seed, scale_hh)
            models.append((params, spec, vocab.encode(window), f"fresh {cell} {hidden}"))
        flows = []
        for params, spec, ids, name in models:
            if len(ids) < length + 1:
                raise CharlmError(
                    f"--length {length} needs {length + 1} characters and the text has "
                    f"{len(ids)}; give a longer text or a smaller --length"
                )
            flows.append(flow_mod.flow(params, spec, ids[: length + 1], name))
        if png is not None:
            show.flow_png(flows, png)
    if as_json:
        models_json = [f.to_dict() for f in flows]
        typer.echo(json.dumps({"length": length, "models": models_json}))
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
):
    """Which input characters a prediction depended on: ||dL/dv_t|| for each character t."""
    with user_errors():
        content = _read_text(text, file)
        if not content:
            raise CharlmError('give the text to explain, e.g. charlm saliency "To be, or not to b"')
        ck = _load_checkpoint(checkpoint_path)
        ids = _encode(ck.vocab, content, skip_unknown, "the text")
        target_id = None
        if target is not None:
            found = _encode(ck.vocab, target, False, "--target")
            if len(found) != 1:
                raise CharlmError(f"--target {target!r}: must be a single character")
            target_id = int(found[0])
        sal = saliency_mod.saliency(ck.params, ck.spec, ck.vocab, ids, at, target_id)
        if html_path is not None:
            page = show.saliency_html(sal).encode("utf-8")
            checkpoint.atomic_write(html_path, lambda f: f.write(page), "HTML page")
    if as_json:
        typer.echo(json.dumps(sal.to_dict()))
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
    with user_errors():
        body = synthetic.make(kind, size, seed, gap=gap, depth=depth, keys=keys)
        path = out or Path("corpora") / synthetic.default_name(kind, gap, depth)
        data_bytes = body.encode("utf-8")
        same = path.is_file() and path.read_bytes() == data_bytes
        if not same:
            checkpoint.refuse_overwrite(path, force)
            path.parent.mkdir(parents=True, exist_ok=True)
            checkpoint.atomic_write(path, lambda f: f.write(data_bytes), "corpus")
    lines = body.count("\n")
    what = f"{len(body):,} characters in {lines:,} lines (seed {seed})"
    first = body.split("\n", 1)[0]
    console.print(f"{'unchanged' if same else 'wrote'} {path}: {what}; the first line: {first}")
    console.print(f"train on it: charlm train --corpus {path}")


def main():
    app()
