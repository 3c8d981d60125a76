"""charlm.train: a run as `charlm train` makes it (the same checkpoints, metrics.jsonl and
exact resume), from Python."""

from charlm.api import checks
from charlm.api.model import Model
from charlm.errors import ArgumentError, CharlmError
from charlm.reporting import make as making
from charlm.run import checkpoint, launch, loop, rundir
from charlm.run.metrics import Reporter
from charlm.run.optim import planned_rate


def train(config=None, *, corpus=None, steps=None, minutes=None, run=None, overrides=(),
          resume=False, force=False, tensorboard=None, callback=None, reporter=None,
          should_stop=None, progress=None, clock=None, init_from=None):  # fmt: skip
    """Train a model as `charlm train` does (the same checkpoints, metrics.jsonl and exact resume)
    and return it. config: a YAML file (None: the defaults); corpus (data.corpus), steps
    (train.max_steps), minutes (train.minutes: train for this many minutes of training time, the
    schedule planned to end on time), run (output.run) and tensorboard (train.tensorboard) set
    those keys, each checked by the key's rules; overrides: "section.key=value" strings (one str
    is one override), as --set; resume: True (the config's run) or a run folder / checkpoint to
    continue; force: replace a run folder that holds a run; init_from: a run folder or
    checkpoint whose weights and model the new run starts from (fine-tuning: a fresh optimiser
    and schedule; run/finetune.py). callback(figures) is called after every step with {"step",
    "total", "epoch", "loss", "smooth_loss", "grad_norm", "lr", "chars_per_s"}; reporter (a
    charlm.run.metrics.Reporter) and should_stop() are the hooks the CLI uses for its display
    and Ctrl-C; clock() is the timer the training time is measured with (a time budget reads it;
    None: time.perf_counter). The returned Model has .outcome ("done", "stopped", or "time": the
    budget was spent first), .run_dir, .total and .report (the run's report.html, or None
    without train.report); with train.tensorboard the run folder also gets TensorBoard events."""
    checks.path("config", config, optional=True)
    sets = checks.texts("overrides", overrides)
    _check_hooks(callback, should_stop, progress, clock, reporter)
    if steps is not None and minutes is not None:
        both = "{steps} and {minutes} both say how long to train: give one"
        raise ArgumentError("minutes", ArgumentError.WHOLE, both)
    given = {
        "data.corpus": (corpus, "corpus"),
        "train.max_steps": (steps, "steps"),
        "train.minutes": (minutes, "minutes"),
        "output.run": (run, "run"),
        "train.tensorboard": (tensorboard, "tensorboard"),
    }
    values = {key: (v, param) for key, (v, param) in given.items() if v is not None}
    if "data.corpus" in values:
        values["data.corpus"] = (str(checks.path("corpus", corpus)), "corpus")
    checks.flag("force", force)
    checks.path("init_from", init_from, optional=True)
    if resume is not False and resume is not None:
        if init_from is not None:
            both = "{resume} continues a run and {init_from} starts a new one from it: give one"
            raise ArgumentError("init_from", ArgumentError.WHOLE, both)
        source = None if resume is True else checks.path("resume", resume)
        start = launch.resumed(source, config, sets, force, progress, values)
    else:
        start = launch.fresh(config, sets, force, progress, values, init_from)
    reporter = reporter or Reporter()
    if callback is not None:
        reporter = _Callback(reporter, callback)
    making.check(start.ck.config)  # an extra asked for (report, tensorboard) is installed
    for note in start.notes:
        reporter.note(note)
    with rundir.locked(start.run_dir):  # taken last: a refused call leaves no folder
        start.recheck()
        rundir.prepare(start.run_dir, fresh=start.fresh_folder)
        failed = None
        try:
            sinks = making.sinks(start.ck, start.run_dir)
            outcome, total = loop.run(start, reporter, should_stop or (lambda: False), sinks, clock)
        except CharlmError as e:  # diverged, say: the last page says so too
            failed = e
    page = making.final(start.ck, start.run_dir)  # the lock is free: it says how the run ended
    if failed is not None:
        raise failed
    model = Model(start.ck, start.run_dir / checkpoint.LATEST)
    model.outcome, model.run_dir, model.total, model.report = outcome, start.run_dir, total, page
    return model


def _check_hooks(callback, should_stop, progress, clock, reporter):
    """train's hooks: callables (or None), and a Reporter."""
    for name, hook in (("callback", callback), ("should_stop", should_stop),
                       ("progress", progress), ("clock", clock)):  # fmt: skip
        checks.function(name, hook)
    if reporter is not None and not isinstance(reporter, Reporter):
        kind = type(reporter).__name__
        raise ArgumentError("reporter", ArgumentError.HIDDEN,
                            f"must be a charlm.run.metrics.Reporter, not {kind}")  # fmt: skip


class _Callback(Reporter):
    """A Reporter that passes everything on, and hands each step's figures to a function."""

    def __init__(self, inner, callback):
        self.inner, self.callback = inner, callback

    def started(self, *args):
        self.inner.started(*args)

    def evaluated(self, *args):
        self.inner.evaluated(*args)

    def sampled(self, *args):
        self.inner.sampled(*args)

    def saved(self, *args):
        self.inner.saved(*args)

    def note(self, text):
        self.inner.note(text)

    def stepped(self, ck, total, loss, grad_norm, chars_per_s):
        self.inner.stepped(ck, total, loss, grad_norm, chars_per_s)
        t = ck.config.train
        self.callback(
            {
                "step": ck.step,
                "total": total,
                "epoch": ck.epoch,
                "loss": loss,
                "smooth_loss": ck.smooth_loss,
                "grad_norm": grad_norm,
                "lr": planned_rate(t, ck.step, ck.schedule),
                "chars_per_s": chars_per_s,
            }
        )
