"""What the run folders under a directory hold (`charlm runs`): for each, its model, how far
it is, its best validation loss, its training time and its status, read from its checkpoint's
metadata (the parameters are not loaded), its metrics.jsonl and its lock.

Status: "running, pid N" (a trainer holds the folder's lock), "diverged at step N" (the run's
last record says so), "pruned at step N" (a sweep's trial its pruner stopped), "done" (at its
planned last step), "time budget spent at step N" (a train.minutes run that ran out of time
before its planned steps), "stopped at step N" (a checkpoint short of it), "no checkpoint yet"
(metrics only), or "damaged: ..." (a file that does not read); a folder with none of a run's
files is not listed.
"""

import math
import os
from pathlib import Path

from charlm.errors import CharlmError
from charlm.nn.head import LN2
from charlm.nn.model import ModelSpec, param_count
from charlm.run import checkpoint, records, rundir
from charlm.run.checkpoint import BEST, LATEST

COLUMNS = ("name", "model", "parameters", "step", "epochs", "best_val", "time", "status",
           "written", "init_from")  # fmt: skip


def describe(folder):
    """A dict of one run folder's columns (COLUMNS), or None if it holds no run."""
    return read(folder)[0]


def read(folder):
    """(describe's row, the checkpoint's metadata or None), the metadata read once; (None,
    None) for a folder that holds no run."""
    folder = Path(folder)
    held = rundir.run_files(folder)
    if not held:
        return None, None
    written = max(os.lstat(folder / name).st_mtime for name in held)
    row = {"name": folder.name, "folder": str(folder), "written": written}
    row.update(dict.fromkeys(("model", "parameters", "step", "total", "epochs"), None))
    row.update(best_val=None, best_bpc=None, time=None, init_from=None)
    ckpt = next((folder / n for n in (LATEST, BEST) if (folder / n).exists()), None)
    pid = rundir.holder(folder)
    try:
        last, damaged = records.last(folder / rundir.METRICS), None
    except records.Damaged as e:  # the checkpoint may still say what the run is
        last, damaged = None, f"damaged: {e}"
    diverged = last["step"] if last and last["kind"] == "diverged" else None
    pruned = last["step"] if last and last["kind"] == "pruned" else None
    if ckpt is None:
        row["status"] = (
            f"running, {pid}"
            if pid
            else damaged or (f"diverged at step {diverged}" if diverged else "no checkpoint yet")
        )
        return row, None
    try:
        meta = checkpoint.load_meta(ckpt)
    except CharlmError as e:
        reason = str(e).removeprefix(f"{ckpt}: ").split(";")[0]
        row["status"] = f"damaged: {ckpt.name} does not read ({reason})"
        return row, None
    t, m = meta["config"].train, meta["config"].model
    spec = ModelSpec.from_config(m, len(meta["vocab"]))
    total = meta["schedule"][-1][1] if meta["schedule"] else t.max_steps
    row.update(
        model=f"{'bi-' if m.bidirectional else ''}{m.type} {m.hidden_size}x{m.num_layers}",
        parameters=param_count(spec),
        step=meta["step"], total=total, epochs=meta["epoch"], time=meta["elapsed"],
        init_from=meta.get("init_from"),
    )  # fmt: skip
    if math.isfinite(meta["best_val"]):
        row.update(best_val=meta["best_val"], best_bpc=meta["best_val"] / LN2)
    status = f"pruned at step {pruned:,}" if pruned is not None and not pid else None
    row["status"] = (
        (damaged and not pid and damaged) or status or _status(pid, diverged, meta, total)
    )
    return row, meta


def _status(pid, diverged, meta, total):
    """The status of a run with a checkpoint (the module's docstring)."""
    t, step = meta["config"].train, meta["step"]
    if pid:
        return f"running, {pid}"
    if diverged:
        return f"diverged at step {diverged}"
    if total is not None and step >= total:
        return "done"
    if t.minutes is not None and meta["elapsed"] >= t.minutes * 60:
        return f"time budget spent at step {step:,}"
    return f"stopped at step {step:,}"


def scan(directory):
    """The rows of every run folder directly under directory."""
    directory = Path(directory)
    try:
        is_dir = directory.is_dir()
    except OSError as e:  # a name too long, say (Python 3.11 raises where 3.12 says False)
        raise CharlmError(f"{directory}: cannot be read ({e.strerror or e})") from None
    if not is_dir:
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
