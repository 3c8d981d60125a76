"""charlm.sweep: many runs of one config, their settings drawn from a space by Optuna, the best
validation loss the objective (docs/sweep.md). Each trial is an ordinary run in
<directory>/<study>/<trial number>/; the study lives in Optuna's storage (charlm.tune.store).

A worker draws a trial, trains it, reports each evaluation to the study's pruner (which may
stop it: the run keeps its folder and a "pruned" record), and records the result; it stops
once the study holds `trials` finished trials (complete or pruned), when `timeout` minutes have
passed, or when should_stop() says so. K workers are K processes, each with cores / K BLAS
threads; another machine joins a study by running the same sweep on the same storage.
"""

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from charlm.api import checks
from charlm.api.training import train
from charlm.errors import ArgumentError, CharlmError
from charlm.run import config as config_mod
from charlm.run import machine, metrics
from charlm.run.rules import check_name
from charlm.tune import results, space, store

PRUNERS = ("median", "hyperband", "none")
MAX_TRIALS = 100_000
TENTHS = 10  # a time-budgeted trial's evaluations are compared by the tenth of the budget
HOLD = 0.4  # the share of its length a trial trains before its pruner hears of it
FAILURES = 5  # failed trials in a row that stop a worker: the settings are not the problem


@dataclass
class Plan:
    """What every worker of one sweep runs (JSON, to hand to worker processes)."""

    space: str  # where the space came from
    text: str  # the space file's text, read once
    study: str
    folder: str
    url: str
    config: str | None = None
    corpus: str | None = None
    minutes: float | None = None
    steps: int | None = None
    trials: int = 20
    timeout: float | None = None
    pruner: str = "median"
    seed: int | None = None
    overrides: list = field(default_factory=list)


class _Trial(metrics.Reporter):
    """Reports a trial's evaluations to its pruner once it has spent HOLD of its length (its
    time budget, or its steps): before, a slower start is no sign of a worse end (a 90-second
    sweep pruning from the first evaluation stopped, at 250 steps, the settings another had
    found best). Keyed by step, or, for a time budget, by the tenth of the budget spent:
    trials of other sizes and speeds evaluate at other steps, and are compared where they have
    spent the same share of their time. Pruned once Optuna's pruner says so."""

    def __init__(self, trial):
        self.trial, self.pruned, self.keys = trial, False, set()

    def evaluated(self, ck, loss, best):
        t = ck.config.train
        if t.minutes is not None:
            spent = ck.elapsed / (t.minutes * 60)
            key = min(TENTHS, int(TENTHS * spent))
        else:
            spent, key = ck.step / (t.max_steps or math.inf), ck.step
        if spent < HOLD or key in self.keys:  # a second evaluation in a tenth: the first counts
            return
        self.keys.add(key)
        self.trial.report(loss, key)
        if not self.pruned and self.trial.should_prune():
            self.pruned = True
            self.trial.set_user_attr("pruned_step", ck.step)


def sweep(space_file, *, config=None, corpus=None, minutes=None, steps=None, trials=20,
          timeout=None, workers=1, storage=None, study=None, pruner="median", seed=None,
          directory="checkpoints", overrides=(), on_trial=None, should_stop=None):  # fmt: skip
    """Run (or continue) the sweep of the space in space_file (YAML: config keys mapped to
    ranges, charlm.tune.space) over runs of config (with overrides, corpus, and each trial's
    minutes or steps); returns the study's rows (charlm.tune.results.rows), the best first.
    trials: finished trials the study should hold; timeout: minutes after which no trial
    starts; workers: processes on this machine; storage: an SQLAlchemy URL (None: SQLite in
    directory/study/); study: its name (None: the space file's); pruner: median, hyperband or
    none; seed: the sampler's. on_trial(row) is called as each trial of this process ends;
    should_stop() is asked between trials and during each."""
    plan = _plan(space_file, config, corpus, minutes, steps, trials, timeout, storage,
                 study, pruner, seed, directory, overrides)  # fmt: skip
    checks.integer("workers", workers, 1, machine.cores())
    checks.function("on_trial", on_trial)
    checks.function("should_stop", should_stop)
    stop = should_stop or (lambda: False)
    if workers == 1:
        work(plan, on_trial or (lambda row: None), stop)
    else:
        _open(plan)  # made once, before its workers open it
        _spawn(plan, workers, stop)
    return sweep_results(plan.study, storage=plan.url, directory=Path(plan.folder).parent)["trials"]


def _plan(space_file, config, corpus, minutes, steps, trials, timeout, storage, study,
          pruner, seed, directory, overrides):  # fmt: skip
    checks.path("space_file", space_file)
    if steps is not None and minutes is not None:
        both = "{steps} and {minutes} both say how long each trial trains: give one"
        raise ArgumentError("minutes", ArgumentError.WHOLE, both)
    text = space.read(space_file)
    dims = space.parse(text, str(space_file))
    name = _study_name(checks.text("study", study, optional=True) or Path(space_file).stem)
    checks.integer("trials", trials, 1, MAX_TRIALS)
    checks.number("timeout", timeout, 0, 10**6, optional=True)
    checks.choice("pruner", pruner, PRUNERS)
    checks.integer("seed", seed, 0, checks.SEED, optional=True)
    sets = checks.texts("overrides", overrides)
    folder = Path(checks.path("directory", directory)) / name
    base = None if config is None else str(checks.path("config", config))
    corpus = None if corpus is None else str(checks.path("corpus", corpus))
    plan = Plan(str(space_file), text, name, str(folder), "", base, corpus, minutes, steps,
                trials, timeout, pruner, seed, list(sets))  # fmt: skip
    values = {"data.corpus": (corpus, "corpus"), "train.minutes": (minutes, "minutes"),
              "train.max_steps": (steps, "steps")}  # fmt: skip
    given = {k: v for k, v in values.items() if v[0] is not None}
    config_mod.load(plan.config, sets, given)  # the base config and its overrides, checked
    for d in dims:  # and each end of each range on it
        for v in d.values if d.kind == "choice" else d.values:
            config_mod.load(plan.config, [*sets, *space.overrides({d.key: v})], given)
    plan.url = store.url_of(checks.text("storage", storage, optional=True), folder)
    return plan


def _study_name(name):
    try:
        check_name("study", name, "study")
    except CharlmError:
        rule = ("must be a plain folder name (no '/', not empty, not starting with '.'): the "
                "trials go to checkpoints/STUDY/")  # fmt: skip
        raise ArgumentError("study", name, rule) from None
    return name


def _pruner(optuna, name):
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


def _open(plan):
    """The plan's study, made if missing (its SQLite file's folder too)."""
    optuna = store.optuna()
    if plan.url.startswith("sqlite:///"):
        try:
            Path(plan.folder).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CharlmError(f"{plan.folder}: cannot make the study's folder "
                              f"({e.strerror or e})") from None  # fmt: skip
    sampler = optuna.samplers.TPESampler(seed=plan.seed)
    return store.open_study(plan.url, plan.study, sampler, _pruner(optuna, plan.pruner))


def work(plan, on_trial, should_stop):
    """One worker: trials until the study has plan.trials finished ones (module docstring);
    FAILURES failed trials in a row stop it, with the last one's reason."""
    study = _open(plan)
    dims = space.parse(plan.text, plan.space)
    end = None if plan.timeout is None else time.monotonic() + plan.timeout * 60
    failed = []
    while not should_stop() and (end is None or time.monotonic() < end):
        if _finished(study) >= plan.trials:
            break
        ran = []

        def objective(trial, ran=ran):
            ran.append(trial.number)
            return _objective(trial, plan, dims, should_stop)

        study.optimize(objective, n_trials=1, catch=(CharlmError,))
        for t in study.get_trials(deepcopy=False):
            if ran and t.number == ran[0]:
                row = results.row(t)
                on_trial(row)
                failed = failed + [row["note"]] if row["state"] == "failed" else []
        if len(failed) >= FAILURES and not should_stop():
            raise CharlmError(f"the last {FAILURES} trials failed, the last with: {failed[-1]}")


def _finished(study):
    return sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.get_trials(deepcopy=False))


def _objective(trial, plan, dims, should_stop):
    optuna = store.optuna()
    values = space.suggest(trial, dims)
    run = f"{trial.number:03d}"
    trial.set_user_attr("run", str(Path(plan.folder) / run))
    reporter = _Trial(trial)
    sets = [*plan.overrides, f"output.dir={plan.folder}", *space.overrides(values)]
    try:
        model = train(plan.config, corpus=plan.corpus, steps=plan.steps, minutes=plan.minutes,
                      run=run, overrides=sets, reporter=reporter,
                      should_stop=lambda: reporter.pruned or should_stop())  # fmt: skip
    except CharlmError as e:
        trial.set_user_attr("error", str(e))
        raise
    trial.set_user_attr("steps", model.step)
    trial.set_user_attr("config", config_mod.to_dict(model.checkpoint.config))  # for best.yaml
    if reporter.pruned:
        m = metrics.Metrics(Path(plan.folder) / run / "metrics.jsonl")
        m.write(kind="pruned", step=model.step, study=plan.study, trial=trial.number)
        m.close()
        raise optuna.TrialPruned()
    if model.outcome == "stopped":
        trial.set_user_attr("error", f"interrupted at step {model.step:,}")
        raise CharlmError(f"trial {trial.number} interrupted at step {model.step:,}")
    return model.checkpoint.best_val


def _spawn(plan, workers, should_stop):
    """plan's workers as processes, each with cores / workers BLAS threads; waits for all."""
    threads = str(max(1, machine.cores() // workers))
    env = {**os.environ, **dict.fromkeys(
        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), threads)}  # fmt: skip
    code = "import sys, charlm.api.sweep as s; s.worker(sys.argv[1], int(sys.argv[2]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, json.dumps(asdict(plan)), str(k)],
                              env=env) for k in range(workers)]  # fmt: skip
    try:
        for p in procs:
            p.wait()
    except KeyboardInterrupt:  # the workers got the same Ctrl-C: let them save and stop
        for p in procs:
            p.wait()
        raise


def worker(plan_json, number):
    """A worker process's main: work() on the plan, a line per trial on stdout."""
    import signal

    plan = Plan(**json.loads(plan_json))
    asked = []
    signal.signal(signal.SIGINT, lambda *a: asked.append(1))
    try:
        work(plan, lambda row: print(f"worker {number}: {line(row)}", flush=True),
             lambda: bool(asked))  # fmt: skip
    except CharlmError as e:
        print(f"charlm: error: worker {number}: {e}", file=sys.stderr, flush=True)
        sys.exit(2)


def line(row):
    """One trial in a line: its number, state, loss and settings."""
    loss = "" if row["loss"] is None else f" {row['loss']:.4f} ({row['bpc']:.3f} bpc)"
    settings = " ".join(f"{k}={_short(v)}" for k, v in row["params"].items())
    note = f" ({row['note']})" if row["note"] else ""
    return f"trial {row['number']} {row['state']}{loss}{note}: {settings}"


def _short(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def sweep_results(study, *, storage=None, directory="checkpoints"):
    """{"study", "storage" (its URL, any password hidden), "trials": rows best first, "best":
    the best row or None, "best_yaml": the best trial's config written as a file, or None,
    "importances": {key: share}} of an existing study (as `charlm sweep --show`)."""
    name = _study_name(checks.text("study", study))
    folder = Path(checks.path("directory", directory)) / name
    url = store.url_of(checks.text("storage", storage, optional=True), folder)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise CharlmError(f"no sweep '{name}' here ({folder / 'study.db'} not found); start it "
                          f"with charlm sweep SPACE --study {name}")  # fmt: skip
    found = store.open_study(url, name, create=False)
    rows = results.rows(found)
    complete = [r for r in rows if r["state"] == "complete"]
    return {"study": name, "storage": store.redacted(url), "trials": rows,
            "best": complete[0] if complete else None,
            "best_yaml": results.write_best(found, folder),
            "importances": results.importances(found)}  # fmt: skip
