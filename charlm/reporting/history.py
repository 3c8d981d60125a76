"""What a report shows of one run, gathered from its folder (`charlm report`) or from the
run being trained (`train.report`): its header (status, model, corpus, progress, best
validation loss, the machine) and its metrics.jsonl records by kind."""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from charlm.errors import CharlmError
from charlm.nn.head import LN2
from charlm.nn.model import ModelSpec, param_count
from charlm.run import budget, rundir, runs
from charlm.run import records as run_records
from charlm.run.metrics import clock
from charlm.run.optim import describe_schedule


@dataclass
class History:
    name: str
    folder: Path
    status: str
    config: object = None  # charlm.run.config.Config, None when no checkpoint reads
    vocab_size: int | None = None
    corpus: dict = field(default_factory=dict)  # the checkpoint's meta/corpus
    init_from: dict | None = None  # the checkpoint's meta/init_from (a fine-tuned run)
    schedule: list | None = None  # the checkpoint's plan (charlm.run.optim)
    step: int | None = None
    total: int | None = None
    epoch: float | None = None
    elapsed: float | None = None
    best_val: float | None = None
    records: list = field(default_factory=list)
    written: float | None = None

    def kind(self, kind):
        """The records of one kind ("train", "val", "sample", "start", "plan"), in order."""
        return [r for r in self.records if r.get("kind") == kind]

    @property
    def best_step(self):
        """The step of the validation record at the best loss (None if none)."""
        vals = [r for r in self.kind("val") if isinstance(r.get("loss"), (int, float))]
        return min(vals, key=lambda r: r["loss"])["step"] if vals else None

    @property
    def machine(self):
        """The machine of the run's latest start (a dict), or None for an older run."""
        starts = [r for r in self.kind("start") if "cpu" in r]
        return starts[-1] if starts else None

    @property
    def parameters(self):
        if self.config is None:
            return None
        return param_count(ModelSpec.from_config(self.config.model, self.vocab_size))

    def facts(self):
        """The header, as (label, text) pairs."""
        c = self.config
        out = [("status", self.status)]
        if c is not None:
            m, t = c.model, c.train
            direction = "bidirectional" if m.bidirectional else "left to right"
            out += [
                (
                    "model",
                    f"{m.type.upper()}, {m.num_layers} x {m.hidden_size}, {direction}, "
                    f"{self.parameters:,} parameters",
                ),
                ("corpus", _corpus(c, self.corpus, self.vocab_size)),
                *_origin(self.init_from),
                (
                    "optimiser",
                    f"{t.optimizer}, lr {t.lr:g}, clip {t.clip}"
                    + (f" {t.clip_value:g}" if t.clip != "none" else ""),
                ),
                ("schedule", describe_schedule(t)),
                ("batch", f"{t.batch_size} x seq_len {t.seq_len}"),
            ]
        if self.step is not None:
            of = f" of {self.total:,}" if budget.is_planned(self.total) else ""
            out += [
                ("steps", f"{self.step:,}{of}, {self.epoch:.2f} epochs"),
                ("training time", clock(self.elapsed or 0.0)),
            ]
        if self.best_val is not None:
            at = f" at step {self.best_step:,}" if self.best_step is not None else ""
            out.append(
                (
                    "best validation loss",
                    f"{self.best_val:.4f} nats ({self.best_val / LN2:.4f} bpc){at}",
                )
            )
        mc = self.machine
        out.append(
            (
                "machine",
                "not recorded"
                if mc is None
                else f"{mc['cpu']}, {mc['cores']} cores; numpy {mc['numpy']}, {mc['blas']}",
            )
        )
        return out


def _origin(init_from):
    """The header's line for a fine-tuned run: where it started."""
    if not init_from:
        return []
    grown = f"; vocabulary +{init_from['added']}" if init_from["added"] else ""
    return [("fine-tuned from", f"{init_from['path']} (sha256 {init_from['sha256'][:16]}){grown}")]


def _corpus(c, identity, vocab_size):
    size = identity.get("characters")
    size = f"{size:,} characters" if size else f"{identity.get('bytes', 0):,} bytes"
    files = identity.get("files")
    files = f" ({files:,} file{'s' if files != 1 else ''})" if files is not None else ""
    return f"{c.data.corpus}{files}, {size}, vocabulary {vocab_size}"


def from_folder(folder):
    """The History of the run in folder, read from its checkpoint's metadata (latest.npz,
    else best.npz), metrics.jsonl and lock. Refuses a folder that holds no run."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise CharlmError(f"{folder}: not a run folder ({what})")
    row, meta = runs.read(folder)
    if row is None:
        hint = ""
        if any(rundir.run_files(p) for p in folder.iterdir() if p.is_dir()):
            hint = f"; it is a folder of runs: name them, e.g. charlm report {folder}/*"
        raise CharlmError(
            f"{folder}: holds no run (no latest.npz, best.npz or metrics.jsonl){hint}"
        )
    h = History(row["name"], folder, row["status"], written=row["written"])
    try:
        h.records = records(folder / rundir.METRICS)
    except run_records.Damaged as e:  # the page says so, and shows what the checkpoint has
        h.status = f"damaged: {e}"
    if meta is not None:  # read once, with the row
        _fill(
            h,
            meta["config"],
            len(meta["vocab"]),
            meta.get("corpus") or {},
            meta.get("schedule"),
            meta["step"],
            meta["epoch"],
            meta["elapsed"],
            meta["best_val"],
        )
        h.init_from = meta.get("init_from")
    return h


def live(ck, folder, recs):
    """The History of the run being trained (ck, a Checkpoint in memory), with its records
    so far (recs: what metrics.jsonl holds, kept as they were written)."""
    folder = Path(folder)
    h = History(folder.name, folder, "", written=time.time())
    h.records = recs
    _fill(
        h,
        ck.config,
        len(ck.vocab),
        ck.corpus or {},
        ck.schedule,
        ck.step,
        ck.epoch,
        ck.elapsed,
        ck.best_val,
    )
    h.init_from = ck.init_from
    of = f" of {h.total:,}" if budget.is_planned(h.total) else ""
    h.status = f"running now (step {ck.step:,}{of})"
    return h


def _fill(h, config, vocab_size, corpus, schedule, step, epoch, elapsed, best_val):
    h.config, h.vocab_size, h.corpus, h.schedule = config, vocab_size, corpus, schedule
    h.step, h.epoch, h.elapsed = step, epoch, elapsed
    h.total = schedule[-1][1] if schedule else config.train.max_steps
    h.best_val = best_val if math.isfinite(best_val) else None


def records(metrics_path):
    """The well-formed records of a metrics.jsonl (charlm.run.records: a bad line is left out);
    a metrics.jsonl that is not a regular file is refused in one line."""
    return run_records.read(metrics_path)


def is_record(rec):
    """Whether rec is a well-formed record (charlm.run.records.is_record)."""
    return run_records.is_record(rec)
