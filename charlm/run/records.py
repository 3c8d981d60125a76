"""metrics.jsonl read as data, never trusted: the one reader `charlm runs`, `charlm report`,
`charlm train --resume` and the TensorBoard rewrite share.

The file is opened only if it is a regular file (a FIFO, a device, or a link to one is
Damaged, never opened, so nothing blocks or reads forever), and only as much of it as is
needed: the status needs the last record, read from the file's tail. Each line is checked
against its kind's fields (FIELDS): a line that is not JSON, not an object, of an unknown kind,
or with a field of the wrong type costs that line, never the command.
"""

import json
import math
import os
import stat
from pathlib import Path

from charlm import memory
from charlm.errors import CharlmError

NUMBER, WHOLE, TEXT, FLAG = "number", "whole", "text", "flag"
# Each kind's fields: name -> (type, required). A field of an earlier version may be absent;
# a field that is there has its type. Every record has a kind, a whole step and may have time.
FIELDS = {
    "train": {"loss": (NUMBER, True), "epoch": (NUMBER, False), "smooth_loss": (NUMBER, False),
              "bpc": (NUMBER, False), "grad_norm": (NUMBER, False), "lr": (NUMBER, False),
              "chars_per_s": (NUMBER, False), "elapsed": (NUMBER, False)},
    "val": {"loss": (NUMBER, True), "bpc": (NUMBER, False), "best": (FLAG, False),
            "elapsed": (NUMBER, False)},
    "sample": {"text": (TEXT, True)},
    "start": {"total": (WHOLE, False), "cpu": (TEXT, False), "cores": (WHOLE, False),
              "numpy": (TEXT, False), "blas": (TEXT, False), "python": (TEXT, False)},
    "plan": {"total": (WHOLE, True), "steps_per_s": (NUMBER, False), "seconds": (NUMBER, False)},
    "diverged": {"error": (TEXT, False)},
    "pruned": {"study": (TEXT, False), "trial": (WHOLE, False)},  # a sweep's pruner stopped it
}  # fmt: skip
LARGEST = 1e30  # a figure beyond this is no training's: charts and logs cannot place it
TAIL = 1 << 16  # bytes read from the end for the last record


class Damaged(CharlmError):
    """metrics.jsonl exists but cannot be read as a file (what it is, in one line)."""


def _is(kind, value):
    if kind == NUMBER:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and abs(value) <= LARGEST
        )
    if kind == WHOLE:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    if kind == FLAG:
        return isinstance(value, bool)
    return isinstance(value, str)


def is_record(rec):
    """Whether rec is a record charlm wrote: an object of a known kind, a whole step >= 0,
    and each of its kind's fields of its type (the required ones there)."""
    if not isinstance(rec, dict) or rec.get("kind") not in FIELDS:
        return False
    step = rec.get("step")
    if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        return False
    if "time" in rec and not _is(NUMBER, rec["time"]):
        return False
    for name, (kind, required) in FIELDS[rec["kind"]].items():
        if (name in rec and not _is(kind, rec[name])) or (required and name not in rec):
            return False
    return True


def parse(line):
    """The record a line holds, or None."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):  # cut short by a crash, or not JSON at all
        return None
    return rec if is_record(rec) else None


def _read(path, tail=None):
    """The text of path (its last `tail` bytes' whole lines), if it is a regular file; ""
    when there is none. Damaged when it is something else or does not read."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return ""
    except OSError as e:
        raise Damaged(f"{path.name} does not read ({e.strerror or e})") from None
    if not stat.S_ISREG(info.st_mode):
        raise Damaged(f"{path.name} is not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # replaced by a FIFO since: no wait
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise Damaged(f"{path.name} is not a regular file")
            if tail == 0:
                return ""
            if tail is not None and size > tail:
                f.seek(size - tail)
                return f.read(tail).decode("utf-8", "replace").split("\n", 1)[-1]
            # a record's Python objects take about ten times its JSON text
            memory.require(10 * size, f"{path}: reading its records needs")
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        raise Damaged(f"{path.name} does not read ({e.strerror or e})") from None


def check(path):
    """Refuse (Damaged) a metrics.jsonl that is there but is not a regular file."""
    _read(path, 0)


def read(path):
    """Every whole, well-formed record of a metrics.jsonl, in order (lines, as written)."""
    return [rec for rec, _ in lines(path)]


def lines(path):
    """[(record, its line)] of a metrics.jsonl, its bad lines left out."""
    out = []
    for line in _read(path).splitlines():
        rec = parse(line)
        if rec is not None:
            out.append((rec, line))
    return out


def last(path):
    """The last well-formed record, read from the file's tail (None if none there)."""
    for line in reversed(_read(path, TAIL).splitlines()):
        rec = parse(line)
        if rec is not None:
            return rec
    return None
