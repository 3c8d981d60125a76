"""`charlm report` and the files a run being trained keeps beside its metrics: which runs a
report names, where it goes, and the sinks train.report / train.tensorboard add.

Where the page goes: one run's report is its own report.html (the file `train.report` keeps
up to date, so rewriting it loses nothing); several runs' go to report.html in the folder
above the first. --out FILE names another file, which is never replaced without --force.
"""

from pathlib import Path

from charlm import files
from charlm.errors import CharlmError
from charlm.reporting import charts, history, page, tensorboard
from charlm.run import rundir


def run_folder(name, default_dir="checkpoints"):
    """The run folder `name` means: a folder, a checkpoint file's folder, or a run's name
    under checkpoints/."""
    path = Path(name)
    if path.is_file() and path.suffix == ".npz":
        return path.parent
    if not path.exists() and len(path.parts) == 1 and (Path(default_dir) / path).is_dir():
        return Path(default_dir) / path
    if not path.exists():
        raise CharlmError(f"{name}: no such run folder; `charlm runs` lists the runs")
    return path


def report(names, out=None, force=False):
    """Write the report of the runs named (folders, checkpoints or run names); returns its
    path."""
    if not names:
        raise CharlmError("name a run folder to report on, e.g. charlm report checkpoints/lstm")
    charts.require()
    folders = []
    for name in names:
        folder = run_folder(name)
        if not any(rundir.same_folder(folder, f) for f in folders):
            folders.append(folder)
    histories = [history.from_folder(f) for f in folders]
    owned = out is None and len(folders) == 1
    if out is None:
        out = folders[0] / page.REPORT if owned else folders[0].parent / page.REPORT
    inputs = [f / n for f in folders for n in rundir.RUN_FILES]
    return page.write(histories, out, force=force or False, owned=owned, inputs=inputs)


def keeps_page(t):
    """Whether a run keeps report.html: train.report, or (null) matplotlib is installed."""
    return t.report or (t.report is None and charts.available())


def sinks(ck, run_dir):
    """The Metrics sinks a run's config asks for: the live report page (train.report; null:
    on when matplotlib is installed) and the TensorBoard events (train.tensorboard). Refuses
    one that is asked for but not installed."""
    t, out = ck.config.train, []
    if keeps_page(t):
        files.check_target(Path(run_dir) / page.REPORT, "report", owned=True)  # before step 1
        out.append(page.Live(ck, run_dir))
    if t.tensorboard:
        out.append(tensorboard.Events(run_dir))
    return out


def check(cfg):
    """Refuse, before a run starts, a config that asks for an extra that is missing."""
    if cfg.train.report:
        charts.require()
    if cfg.train.tensorboard:
        tensorboard.require()


def final(ck, run_dir):
    """The run's last page, once it has ended (the lock is free, so the status says how)."""
    t = ck.config.train
    if keeps_page(t):
        path = Path(run_dir) / page.REPORT
        page.write([history.from_folder(run_dir)], path, owned=True)
        return path
    return None
