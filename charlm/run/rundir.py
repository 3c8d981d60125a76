"""Run folders: output.dir/output.run, who may write into one, and the lock while training.

One rule says what a run folder holds: a run, if it holds any of latest.npz, best.npz or
metrics.jsonl (a run killed before its first latest.npz still left the other two). Every
command that trains into a folder asks it through claim():
    - a fresh run refuses a folder that holds a run, unless --force (then its run files go);
    - a resumed run continues in its own folder; sent to another one (--run NAME,
      --set output.dir=DIR), it refuses a folder that holds another run unless --force.
The run name is a plain folder name (charlm.run.config checks it: no separators, not '.' or
'..'), so a run folder is always directly under output.dir.
"""

import contextlib
import os
from pathlib import Path

from charlm import files
from charlm.errors import CharlmError
from charlm.run.checkpoint import BEST, LATEST

try:
    import fcntl
except ImportError:  # Windows: no flock, so no lock
    fcntl = None

METRICS = "metrics.jsonl"
RUN_FILES = (LATEST, BEST, METRICS)
REPORT, EVENTS = "report.html", "events.out.tfevents.charlm"  # made from metrics.jsonl
DERIVED = (REPORT, EVENTS)  # a fresh run drops them with its run files
LOCK = ".lock"


def run_files(folder):
    """The run files folder holds (a link or a damaged file counts: it is still there)."""
    return [name for name in RUN_FILES if os.path.lexists(Path(folder) / name)]


def claim(run_dir, force, source=None):
    """Refuse to train into run_dir when it holds a run that is not the one being continued
    (source: the folder a resumed run comes from)."""
    run_dir = Path(run_dir)
    if source is not None and same_folder(run_dir, source):
        return
    held = run_files(run_dir)
    if held and not force:
        verb = "continue it" if source is None else "continue that run"
        raise CharlmError(
            f"{run_dir} already holds a run; {verb} with `charlm train --resume {run_dir}`, "
            f"train into another folder with --run NAME, or replace it with --force "
            f"(it holds {', '.join(held)})"
        )


def refuse_inputs(run_dir, inputs):
    """A run rewrites its own files: none of them may be a file the command reads (a corpus
    called metrics.jsonl in the run folder, say)."""
    for name in RUN_FILES:
        if any(files.same_file(Path(run_dir) / name, p) for p in inputs if p is not None):
            raise CharlmError(
                f"{Path(run_dir) / name} is a file this command reads; a run rewrites it: "
                f"move that input out of the run folder, or train into another with --run NAME"
            )


def same_folder(a, b):
    """Whether two paths name the same folder."""
    if a is None or b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def holder(folder):
    """'pid N' of the process training folder now, or None."""
    lock = Path(folder) / LOCK
    if fcntl is None or not lock.is_file():
        return None
    with open(lock, encoding="utf-8") as f:  # only looks: never creates or writes
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            return f.read(200).strip().removeprefix("charlm train, ") or "another process"
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def locked(run_dir):
    """Hold run_dir/.lock while training, so a second trainer of the same folder is refused.

    An flock, not a marker file: the kernel drops it when the process ends, however it ends
    (kill -9 included), so a dead run never leaves its folder locked. The file names the holder.
    """
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CharlmError(
            f"cannot write to the run folder {run_dir} ({e.strerror or e}); "
            f"choose another with --run NAME or --set output.dir=DIR"
        ) from None
    f = files.open_append(run_dir / LOCK, "lock file")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise CharlmError(
                    f"{run_dir} is being trained right now ({holder}); wait for that run "
                    f"to end or stop it, or train into another folder with --run NAME"
                ) from None
        f.truncate(0)
        f.write(f"charlm train, pid {os.getpid()}\n")
        f.flush()
        yield
    finally:
        f.close()


def prepare(run_dir, fresh):
    """Create the run folder; under the lock, remove the temporary files a killed run left
    (nobody's now) and, for a fresh run (claim() has said it may), the run files of the run it
    replaces."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        for tmp in run_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        if fresh:
            for name in RUN_FILES + DERIVED:
                (run_dir / name).unlink(missing_ok=True)
    except OSError as e:
        raise CharlmError(
            f"cannot prepare the run folder {run_dir} ({e.strerror or e}); "
            f"choose another with --run NAME or --set output.dir=DIR"
        ) from None
