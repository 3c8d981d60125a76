"""A run's metrics as TensorBoard event files (`train.tensorboard: true`), so that
`tensorboard --logdir checkpoints` shows every run.

The events are made from metrics.jsonl's records, one for one: each train record gives the
scalars train/loss, train/smooth_loss, train/bpc, train/grad_norm, train/lr and
train/chars_per_s at its step, each val record val/loss and val/bpc, each sample record the
text "sample". Their wall time is the record's "time", so the file is a function of
metrics.jsonl: when a run starts or resumes, the records kept so far (metrics.jsonl has
dropped those past the checkpoint) are written out whole, and the file is kept as it is when
it already holds exactly those events (a plain resume), or replaced atomically when it holds
more (a run killed after its last checkpoint: those steps are redone, never shown twice).
New events are then appended as the records come.

The encoding (Event and Summary protocol buffers, the TFRecord framing with its masked
CRC-32C) is tensorboardX's, an optional extra: pip install -e ".[tensorboard]".
"""

import contextlib
import os
import stat
import struct
from pathlib import Path

from charlm import files
from charlm.errors import CharlmError
from charlm.reporting.history import records
from charlm.run import rundir

EVENTS = rundir.EVENTS  # TensorBoard reads any file named *tfevents*
SCALARS = {
    "train": ("loss", "smooth_loss", "bpc", "grad_norm", "lr", "chars_per_s"),
    "val": ("loss", "bpc"),
}
INSTALL = 'TensorBoard events need tensorboardX: pip install -e ".[tensorboard]"'


def require():
    """Refuse, in one line, when the tensorboardX extra is missing."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise CharlmError(f"train.tensorboard is on, but {INSTALL}") from None


def _frame(data):
    from tensorboardX.record_writer import masked_crc32c

    header = struct.pack("Q", len(data))
    return (
        header
        + struct.pack("I", masked_crc32c(header))
        + data
        + struct.pack("I", masked_crc32c(data))
    )


def encode(record):
    """The framed events of one metrics record (b"" for a kind TensorBoard is not shown)."""
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.summary import scalar, text

    kind, step = record.get("kind"), int(record.get("step", 0))
    wall = float(record.get("time") or 0.0)
    out = []
    for key in SCALARS.get(kind, ()):
        if isinstance(record.get(key), (int, float)):
            summary = scalar(f"{kind}/{key}", float(record[key]))
            out.append(Event(wall_time=wall, step=step, summary=summary))
    if kind == "sample" and isinstance(record.get("text"), str):
        out.append(Event(wall_time=wall, step=step, summary=text("sample", record["text"])))
    return b"".join(_frame(e.SerializeToString()) for e in out)


def header(wall):
    from tensorboardX.proto.event_pb2 import Event

    return _frame(Event(wall_time=wall, file_version="brain.Event:2").SerializeToString())


class Events:
    """The sink (charlm.run.metrics.Metrics) that keeps run_dir/EVENTS in step with
    metrics.jsonl."""

    def __init__(self, run_dir):
        require()
        self.path = Path(run_dir) / EVENTS
        self.file = None

    def open(self, metrics_path):
        recs = records(metrics_path)
        wall = next((float(r["time"]) for r in recs if r.get("time")), 0.0)
        whole = header(wall) + b"".join(encode(r) for r in recs)
        try:  # a link or a special file is left to write_bytes, which refuses it
            info = os.lstat(self.path)
            same = (
                stat.S_ISREG(info.st_mode)
                and info.st_size == len(whole)
                and self.path.read_bytes() == whole
            )
        except OSError:
            same = False
        if not same:
            files.write_bytes(self.path, whole, "TensorBoard events", owned=True)
        self.file = files.open_append(self.path, "TensorBoard events", binary=True)

    def record(self, rec):
        data = encode(rec)
        if data:
            files.append(self.file, data, self.path)

    def close(self):
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
