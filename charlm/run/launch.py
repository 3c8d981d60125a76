"""What `charlm train` settles before its first step, in this order, so that a refusal comes
before anything is allocated or written:
    the config -> the run folder (charlm.run.rundir.claim) -> the corpus -> the memory the run
    needs (check_memory) -> the checkpoint to start from or continue -> the schedule.

A fresh run trains into output.dir/output.run. A resumed run (--resume [RUN]) continues from
RUN's latest.npz (its best.npz when that is all the run saved), in RUN's own folder; --run NAME
or --set output.dir=DIR send it to another folder (missing parts taken from RUN's), which must
not hold another run unless --force. A loose checkpoint file (an import) continues into its
config's output.dir/output.run.

Extending a run: resumed with more steps than its plan (--steps N above the planned total),
the plan is kept to its end and the added steps get a warm restart (charlm.run.optim.extend); the
note that says so is printed when the run starts. Resumed to the same total, a run continues
its plan exactly.
"""

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from charlm import memory
from charlm.errors import ArgumentError, CharlmError, literal
from charlm.nn.model import ModelSpec, param_count
from charlm.nn.model import memory as model_memory
from charlm.run import checkpoint, finetune, records, rundir
from charlm.run import config as config_mod
from charlm.run import train as training
from charlm.run.budget import PROVISIONAL, Budget, continued
from charlm.run.optim import SLOTS, extend, plan
from charlm.run.rules import check_run_name


@dataclass
class Launch:
    ck: checkpoint.Checkpoint
    corpus: training.Corpus
    run_dir: Path
    total: int
    force: bool
    source: Path | None = None  # the run folder a resumed run comes from
    loaded: tuple | None = None  # (checkpoint path, its stamp when read)
    notes: list = field(default_factory=list)  # what to tell the user before training
    inputs: list = field(default_factory=list)  # other files the command read (the config)

    @property
    def fresh_folder(self):
        """Whether the run folder starts empty of run files (a new run, or --force)."""
        return self.source is None or (self.force and not rundir.same_folder(*self.folders))

    @property
    def folders(self):
        return self.run_dir, self.source

    @property
    def metrics_from(self):
        """The metrics a resumed run carries into another folder."""
        if self.source is None or rundir.same_folder(*self.folders):
            return None
        return self.source / rundir.METRICS

    def recheck(self):
        """Under the run folder's lock: nobody started a run there or rewrote the checkpoint
        since they were checked."""
        rundir.claim(self.run_dir, self.force, self.source)
        rundir.refuse_inputs(self.run_dir, [self.corpus.path, *self.inputs])
        if self.loaded is not None and _stamp(self.loaded[0]) != self.loaded[1]:
            raise CharlmError(
                f"{self.loaded[0]} was rewritten while charlm read it; run the command again"
            )


def _stamp(path):
    st = Path(path).stat()
    return st.st_mtime_ns, st.st_size


def fresh(config, sets, force, progress=None, values=None, init_from=None):
    """The Launch of a new run (values: typed settings, config.load's); init_from: a run
    folder or checkpoint to fine-tune (run/finetune.py)."""
    cfg = config_mod.load(config, sets, values)
    src = finetune.source(init_from) if init_from is not None else None
    if src is not None:
        cfg = finetune.configure(cfg, sets, src[0], src[1])
    run_dir = Path(cfg.output.dir) / cfg.output.run
    if src is not None:
        finetune.refuse_own_folder(run_dir, src[1])
    rundir.claim(run_dir, force)
    corpus = training.load_corpus(cfg, progress=progress)
    rundir.refuse_inputs(run_dir, [corpus.path, config])
    notes = list(corpus.notes)
    if src is not None:
        corpus, added = finetune.extend(corpus, src[0].vocab)
        notes.append(finetune.note(src[1], added))
    check_memory(cfg, len(corpus.vocab))
    ck = training.new_run(cfg, corpus.vocab)
    if src is not None:
        ck = finetune.start(ck, *src, added)
    # a time budget plans its steps once it knows its pace: until then, the schedule's start
    ck.schedule = Budget(cfg.train, ck).provisional()
    total = _total(ck, cfg, corpus, run_dir)
    ck.schedule = ck.schedule or plan(cfg.train, total)
    inputs = [config] + ([src[1]] if src is not None else [])
    return Launch(ck, corpus, run_dir, total, force, notes=notes, inputs=inputs)


def resumed(run_folder, config, sets, force, progress=None, values=None):
    """The Launch of a resumed run (module docstring)."""
    values = values or {}
    outs = [s for s in sets if s.startswith("output.")]
    out_values = {k: v for k, v in values.items() if k.startswith("output.")}
    named = {s.partition("=")[0].strip() for s in outs} | set(out_values)
    # the config file and the command line, once: it says where the run is, and what a
    # resume may not change is checked against it
    asked = config_mod.load(config, sets, values) if config is not None else None
    base = asked or config_mod.load(None, outs, out_values)
    source = Path(run_folder) if run_folder is not None else Path(base.output.dir, base.output.run)
    path = checkpoint.find(source)
    notes = []
    if source.is_dir() and path.name == checkpoint.BEST:
        notes.append(f"{source} has no {checkpoint.LATEST} (the run stopped before its first "
                     f"one): continuing from its {checkpoint.BEST}")  # fmt: skip
    stamp = _stamp(path)
    ck = checkpoint.load(path)
    checkpoint.check_resumable(path, ck)
    saved_cfg = ck.config
    own = path.parent if path.name in (checkpoint.LATEST, checkpoint.BEST) else None
    # a loose checkpoint file (charlm import) has no run folder: its config says where it goes
    home = own or Path(saved_cfg.output.dir, saved_cfg.output.run)
    if run_folder is None:  # the config's run folder, continued where it is
        run_dir = source
    else:
        run_dir = Path(
            base.output.dir if "output.dir" in named else home.parent,
            base.output.run if "output.run" in named else home.name,
        )
    check_run_name(run_dir.name, f"the run folder {run_dir}")
    cfg = config_mod.apply(saved_cfg, sets, f"--resume {path}", values)
    cfg = replace(cfg, output=replace(cfg.output, dir=str(run_dir.parent), run=run_dir.name))
    check_resume(ck, asked or cfg, f"{path} vs {config}" if asked else str(path))
    rundir.claim(run_dir, force, source=own)
    try:  # the metrics the run continues are read only if they are a file
        records.check((own or run_dir) / rundir.METRICS)
    except records.Damaged as e:
        raise CharlmError(f"{own or run_dir}: cannot continue the run's metrics: {e}") from None
    check_memory(cfg, len(ck.vocab))
    corpus = training.load_corpus(cfg, ck.vocab, progress, identity=ck.corpus)
    rundir.refuse_inputs(run_dir, [corpus.path, config])
    notes += corpus.notes
    ck.config = cfg
    total = _replan(ck, saved_cfg, corpus, run_dir, notes)
    return Launch(ck, corpus, run_dir, total, force, own, (path, stamp), notes, [config])


def _replan(ck, saved_cfg, corpus, run_dir, notes):
    """The resumed run's total steps; ck.schedule continued or extended to it, a note if it
    grew. A run from an earlier version has no schedule; a time budget's is provisional."""
    cfg = ck.config
    if ck.schedule is None and saved_cfg.train.minutes is None:  # an earlier version's
        ck.schedule = plan(saved_cfg.train, training.total_steps(saved_cfg, corpus.batches.windows))
    ck.schedule = ck.schedule or Budget(cfg.train, ck).provisional()
    check_length(ck, saved_cfg.train, cfg.train, run_dir)
    total = _total(ck, cfg, corpus, run_dir)
    planned = ck.schedule[-1][1]
    if planned == PROVISIONAL and cfg.train.minutes is None:  # a budget's warm-up, now steps
        ck.schedule, planned = continued(cfg.train, ck.step, total), total
    if cfg.train.minutes is None:
        ck.schedule = extend(ck.schedule, cfg.train, total)
    if total > planned:
        notes.append(_extension_note(cfg.train, planned, total, ck.schedule[-1][2]))
    return total


def of(ck, corpus, run_dir):
    """The Launch of a run made in code (training.new_run, or a loaded checkpoint) into
    run_dir, planned as fresh() plans one when it has no schedule (benchmarks, tests)."""
    if ck.schedule is None:
        ck.schedule = Budget(ck.config.train, ck).provisional() or plan(
            ck.config.train, training.total_steps(ck.config, corpus.batches.windows)
        )
    total = training.total_steps(ck.config, corpus.batches.windows, ck.schedule)
    return Launch(ck, corpus, Path(run_dir), total, force=False)


def check_memory(cfg, vocab_size):
    """Refuse, before anything is allocated, a run that needs more memory than there is: the
    parameters with their gradients, optimiser state and update scratch, and one window's
    activations and their gradients (charlm.nn.model.memory), or an evaluation's window."""
    spec, t = ModelSpec.from_config(cfg.model, vocab_size), cfg.train
    slots = len(SLOTS[t.optimizer])
    itemsize = np.dtype(t.dtype).itemsize
    need = model_memory(spec, t.batch_size, t.seq_len, itemsize, True, slots)
    need += 3 * 8 * t.batch_size * t.seq_len  # the window's ids and offsets
    need = max(need, training.eval_memory(spec, itemsize, t.seq_len))  # an evaluation
    n = param_count(spec)
    memory.require(
        need,
        f"a {spec.describe()} with hidden {spec.hidden_size} ({n:,} parameters) at batch "
        f"{t.batch_size} x seq_len {t.seq_len} needs, for parameters, optimiser state and one "
        f"window's activations,",
    )


def _total(ck, cfg, corpus, run_dir):
    total = training.total_steps(cfg, corpus.batches.windows, ck.schedule)
    if ck.step >= total:
        raise ArgumentError(  # {steps}: the caller's name for it (steps=, --steps)
            "steps",
            ArgumentError.WHOLE,
            f"{literal(run_dir)} is already at step {ck.step:,}, and its length is {total:,} "
            f"steps; train further with {{steps}} above {ck.step:,}",
        )
    return total


def _extension_note(t, planned, total, warmup):
    if t.lr_schedule == "constant":
        return f"extending the run from {planned:,} to {total:,} steps at lr {t.lr:g}"
    return (
        f"extending the run from {planned:,} to {total:,} steps: its schedule is kept to step "
        f"{planned:,}, then a warm restart for the {total - planned:,} steps added: lr rises "
        f"from 0 to {t.lr:g} over {warmup:,} step{'s' if warmup != 1 else ''}, then follows "
        f"a cosine to {t.lr_min:g} by step {total:,}"
    )


# What a resumed run cannot change: it would no longer be the same run (None: the whole section)
FIXED_ON_RESUME = {
    "model": None,
    "data": None,
    "train": ("seq_len", "batch_size", "dtype", "optimizer"),
}


def check_length(ck, old, new, run_dir):
    """A resumed run keeps its time budget, or continues in steps (or epochs): a budget
    cannot be changed or added, and a spent one is extended in steps (the warm restart)."""
    more = f"train further with {{steps}} above {ck.step:,}, which replaces the budget"
    if new.minutes is not None and new.minutes != old.minutes:
        raise ArgumentError(
            "minutes",
            ArgumentError.WHOLE,
            f"{literal(run_dir)}: cannot change train.minutes when resuming (the run has "
            + (f"a budget of {old.minutes:g} minutes" if old.minutes else "a length in steps")
            + f", the command asks {new.minutes:g}); "
            + (more if old.minutes else "train further with {steps}"),
        )
    if new.minutes is not None and ck.elapsed >= new.minutes * 60:
        raise ArgumentError(
            "steps",
            ArgumentError.WHOLE,
            f"{literal(run_dir)}: its time budget ({new.minutes:g} minutes of training) is "
            f"spent, at step {ck.step:,}; {more}",
        )


def check_resume(ck, cfg, where):
    """Refuse a resume whose config changes what FIXED_ON_RESUME protects (the checkpoint's
    own training state is checkpoint.check_resumable's)."""
    for section, keys in FIXED_ON_RESUME.items():
        old, new = getattr(ck.config, section), getattr(cfg, section)
        for key in keys or [f.name for f in fields(old)]:
            a, b = getattr(old, key), getattr(new, key)
            if (section, key) == ("data", "corpus") and ck.corpus:
                continue  # any path to the same text: load_corpus checks the content
            if a != b:
                raise ArgumentError(
                    "run",
                    ArgumentError.WHOLE,
                    literal(f"{where}: cannot change {section}.{key} when resuming (the "
                            f"checkpoint has {a!r}, the config asks {b!r}); ")
                    + "start a new run, under another {run}, instead",
                )  # fmt: skip
