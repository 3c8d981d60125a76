"""What a training run tells the world: the Reporter hooks the loop calls (the CLI's display
overrides them), and metrics.jsonl, one JSON object per line."""

import contextlib
import json
import time
from pathlib import Path

from charlm import files
from charlm.errors import CharlmError
from charlm.run import records
from charlm.run.rundir import METRICS

__all__ = ["METRICS", "Metrics", "Reporter", "clock"]


def clock(seconds):
    """Seconds as the display, `charlm runs` and the report show a duration: h:mm:ss."""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Reporter:
    """What the loop tells the outside world; the CLI's display overrides these."""

    def started(self, ck, total, corpus):
        pass

    def stepped(self, ck, total, loss, grad_norm, chars_per_s):
        pass

    def evaluated(self, ck, loss, best):
        pass

    def sampled(self, ck, text):
        pass

    def saved(self, ck, path):
        pass

    def planned(self, ck, total, steps_per_s):
        """A time-budgeted run fixed its step count (charlm.run.budget)."""

    def note(self, text):
        """Something the user should know before the run starts (an extension's plan)."""


class Metrics:
    """metrics.jsonl: one JSON object per line, appended and flushed as they come.

    resume_step: the step of the checkpoint a resumed run starts from; lines past it were
    never saved and go (the run redoes those steps). source: the metrics of the folder a run
    resumed into another folder comes from; its lines up to resume_step start the new file.
    sinks: objects with open(path) (called once the file holds the records kept so far),
    record(dict) (each new record, after it is on disk) and close(): the report page and
    the TensorBoard events (charlm.reporting) are made from the same records.

    Every record gets "time", the Unix time it was written."""

    def __init__(self, path, resume_step=None, source=None, sinks=()):
        self.path = Path(path)
        if resume_step is not None:
            origin = Path(source) if source is not None else self.path
            if origin.exists():
                self._keep_until(origin, resume_step)
        self.file = files.open_append(self.path, "metrics file")
        self.sinks = list(sinks)
        for sink in self.sinks:
            sink.open(self.path)

    def _keep_until(self, origin, step):
        try:  # the well-formed records up to the step resumed from, as they were written
            keep = [line for rec, line in records.lines(origin) if rec["step"] <= step]
        except records.Damaged as e:
            raise CharlmError(f"{origin.parent}: cannot continue the run's metrics: {e}") from None
        text = "".join(line + "\n" for line in keep).encode("utf-8")
        files.write_bytes(self.path, text, "metrics file", owned=True)

    def write(self, **record):
        record["time"] = round(time.time(), 3)
        files.append(self.file, json.dumps(record) + "\n", self.path)
        for sink in self.sinks:
            sink.record(record)

    def close(self):
        with contextlib.suppress(OSError):
            self.file.close()
        for sink in self.sinks:
            sink.close()
