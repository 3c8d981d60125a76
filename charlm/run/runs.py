"""What the run folders under a directory hold (`charlm runs`): for each, its model, how far
it is, its best validation loss, its training time and its status, read from its checkpoint's
metadata (the parameters are not loaded), its metrics.jsonl and its lock.

Status: "running, pid N" (a trainer holds the folder's lock), "diverged at step N" (the run's
last record says so), "done" (at its planned last step), "stopped at step N" (a checkpoint
short of it), "no checkpoint yet" (metrics only), or "damaged: ..." (a file that does not
read); a folder with none of a run's files is not listed.
"""

import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from charlm.errors import CharlmError
from charlm.nn.model import ModelSpec, param_shapes
from charlm.run import config, rundir
from charlm.run.checkpoint import BEST, LATEST

try:
    import fcntl
except ImportError:  # Windows: no lock, so never "running"
    fcntl = None

LN2 = math.log(2)
COLUMNS = ("name", "model", "parameters", "step", "epochs", "best_val", "time", "status",
           "written")  # fmt: skip


def holder(folder):
    """'pid N' of the process training folder now, or None."""
    lock = Path(folder) / rundir.LOCK
    if fcntl is None or not lock.is_file():
        return None
    with open(lock, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            return f.read().strip().removeprefix("charlm train, ") or "another process"
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


def _last_record(folder):
    path = Path(folder) / rundir.METRICS
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            return json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue  # a line cut short by a crash
    return None


def _meta(path):
    """The metadata of a checkpoint, without its parameters."""
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive")
        with np.load(path, allow_pickle=False) as z:
            get = {k: z[k] for k in z.files if k.startswith("meta/")}
        cfg = config.from_dict(json.loads(str(get["meta/config"])), str(path))
        return {
            "config": cfg,
            "vocab_size": int(get["meta/vocab"].size),
            "step": int(get["meta/step"]),
            "epoch": float(get["meta/epoch"]),
            "best_val": float(get["meta/best_val"]),
            "elapsed": float(get["meta/elapsed"]),
            "schedule": json.loads(str(get["meta/schedule"])) if "meta/schedule" in get else None,
        }
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, CharlmError) as e:
        reason = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        raise CharlmError(f"{Path(path).name} does not read ({reason})") from None


def describe(folder):
    """A dict of one run folder's columns (COLUMNS), or None if it holds no run."""
    folder = Path(folder)
    held = rundir.run_files(folder)
    if not held:
        return None
    written = max(os.lstat(folder / name).st_mtime for name in held)
    row = {"name": folder.name, "folder": str(folder), "written": written}
    row.update(dict.fromkeys(("model", "parameters", "step", "total", "epochs"), None))
    row.update(best_val=None, best_bpc=None, time=None)
    ckpt = next((folder / n for n in (LATEST, BEST) if (folder / n).exists()), None)
    pid, last = holder(folder), _last_record(folder)
    diverged = last.get("step") if last and last.get("kind") == "diverged" else None
    if ckpt is None:
        row["status"] = (
            f"running, {pid}"
            if pid
            else f"diverged at step {diverged}"
            if diverged
            else "no checkpoint yet"
        )
        return row
    try:
        meta = _meta(ckpt)
    except CharlmError as e:
        row["status"] = f"damaged: {e}"
        return row
    t, m = meta["config"].train, meta["config"].model
    spec = ModelSpec.from_config(m, meta["vocab_size"])
    total = meta["schedule"][-1][1] if meta["schedule"] else t.max_steps
    row.update(
        model=f"{'bi-' if m.bidirectional else ''}{m.type} {m.hidden_size}x{m.num_layers}",
        parameters=sum(int(np.prod(s)) for s in param_shapes(spec).values()),
        step=meta["step"], total=total, epochs=meta["epoch"], time=meta["elapsed"],
    )  # fmt: skip
    if math.isfinite(meta["best_val"]):
        row.update(best_val=meta["best_val"], best_bpc=meta["best_val"] / LN2)
    if pid:
        row["status"] = f"running, {pid}"
    elif diverged:
        row["status"] = f"diverged at step {diverged}"
    elif total is not None and meta["step"] >= total:
        row["status"] = "done"
    else:
        row["status"] = f"stopped at step {meta['step']:,}"
    return row


def scan(directory):
    """The rows of every run folder directly under directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CharlmError(f"{directory}: not a folder of runs; train one with `charlm train`")
    rows = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()):
        try:
            row = describe(folder)
        except OSError as e:
            row = {"name": folder.name, "folder": str(folder), "status": f"damaged: {e}"}
        if row is not None:
            rows.append(row)
    return rows
