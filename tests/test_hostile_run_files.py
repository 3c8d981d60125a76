"""A run folder's files are data, never trusted: metrics.jsonl and checkpoints are read only
if they are regular files, only as much as is needed, and a record or a figure of the wrong
shape costs that record (or shows the run as damaged), never the command, nor the other runs.
`charlm runs`, `charlm report`, `charlm train --resume` and the TensorBoard rewrite share the
one reader, charlm.run.records."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import charlm
from charlm.run import records
from tests.helpers import TINY, arrays_of, invoke, refused, tree_state, write_npz

GOOD = {"kind": "val", "step": 2, "loss": 2.5, "bpc": 3.6, "best": True, "elapsed": 0.1}
BAD = [
    {"kind": "val", "step": 5, "loss": "abc"},
    {"kind": "val", "step": 5, "loss": 1.0, "best": 3},
    {"kind": "train", "step": 6, "loss": None},
    {"kind": "train", "step": 6, "loss": 1e300},
    {"kind": "train", "step": 6, "loss": 1.0, "lr": "x"},
    {"kind": "train", "step": -1, "loss": 1.0},
    {"kind": "train", "step": True, "loss": 1.0},
    {"kind": "start", "step": 0, "cpu": 5, "cores": "x"},
    {"kind": "sample", "step": 7, "text": 5},
    {"kind": "plan", "step": 7},
    {"kind": "mystery", "step": 7},
    {"kind": "val", "step": 5, "loss": 1.0, "time": "noon"},
    [1, 2],
    "text",
]


@pytest.fixture
def folder(workdir):
    """checkpoints/ with three finished runs: a, b and c."""
    for name in "abc":
        result = invoke("train", "--corpus", "corpus.txt", "--steps", 4, "--run", name, *TINY)
        assert result.exit_code == 0, result.output
    return workdir / "checkpoints"


def test_a_bad_record_costs_that_record_alone(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps(GOOD)] + [json.dumps(b) for b in BAD] + ["{cut short", "NaN"]
    path.write_text("\n".join(lines) + "\n" + json.dumps({**GOOD, "step": 3}) + "\n")
    assert [r["step"] for r in records.read(path)] == [2, 3]
    assert records.last(path)["step"] == 3
    for bad in BAD:
        assert not records.is_record(bad), bad


def _status(name):
    rows = json.loads(invoke("runs", "--json").stdout)
    return {r["name"]: r for r in rows}[name]


def test_bad_records_cost_nothing_else_in_runs_report_and_resume(folder):
    metrics = folder / "b" / "metrics.jsonl"
    good = metrics.read_text().splitlines()
    metrics.write_text("\n".join(good + [json.dumps(b) for b in BAD]) + "\n")
    assert _status("b")["status"] == "done"
    result = invoke("report", folder / "b", "--out", "b.html")
    assert result.exit_code == 0, result.output
    assert "abc" not in (folder.parent / "b.html").read_text().split("<svg")[0]
    result = invoke("train", "--resume", folder / "b", "--steps", 6)
    assert result.exit_code == 0, result.output
    kept = metrics.read_text().splitlines()
    assert kept[: len(good)] == good  # the good records as written, the bad ones gone
    assert all(records.parse(line) for line in kept)


@pytest.mark.parametrize("kind", ["fifo", "device", "link to device", "folder"])
def test_a_metrics_file_that_is_not_a_file_is_damaged_never_opened(folder, kind):
    metrics = folder / "b" / "metrics.jsonl"
    metrics.unlink()
    if kind == "fifo":
        os.mkfifo(metrics)
    elif kind == "folder":
        metrics.mkdir()
    else:
        metrics.symlink_to("/dev/zero")
    before = tree_state(folder)
    # a child process: a reader that opened the FIFO would wait for a writer forever
    runs = subprocess.run([sys.executable, "-m", "charlm", "runs", "--json"], cwd=folder.parent,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    rows = {r["name"]: r for r in json.loads(runs.stdout)}
    assert rows["b"]["status"] == "damaged: metrics.jsonl is not a regular file"
    assert rows["b"]["model"] == "lstm 8x1"  # the checkpoint still says what the run is
    assert rows["a"]["status"] == rows["c"]["status"] == "done"  # the others are listed
    report = subprocess.run([sys.executable, "-m", "charlm", "report", "checkpoints/b",
                             "--out", "b.html"], cwd=folder.parent, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "damaged: metrics.jsonl is not a regular file" in (folder.parent / "b.html").read_text()
    resume = subprocess.run([sys.executable, "-m", "charlm", "train", "--resume",
                             "checkpoints/b", "--steps", "6"], cwd=folder.parent,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    refused(resume, "checkpoints/b: cannot continue the run's metrics: metrics.jsonl is not")
    assert tree_state(folder) == before


def test_the_status_reads_only_the_tail(folder):
    """A 20 GB metrics.jsonl (sparse: no disk) costs `charlm runs` its last 64 KiB."""
    metrics = folder / "b" / "metrics.jsonl"
    with open(metrics, "r+b") as f:
        f.truncate(20 << 30)
        f.seek(0, 2)
        f.write(b"\n" + json.dumps({"kind": "diverged", "step": 3}).encode() + b"\n")
    limit = "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))"
    script = (f"import resource, sys; {limit}; from charlm.cli import main; "
              "sys.argv = ['charlm', 'runs', '--json']; main()")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], cwd=folder.parent, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert rows["b"]["status"] == "diverged at step 3"


@pytest.mark.parametrize(
    "name, value",
    [("meta/elapsed", np.float64(-5.0)), ("meta/epoch", np.float64(np.nan)),
     ("meta/best_val", np.float64(-np.inf)), ("meta/step", np.int64(-3)),
     ("meta/corpus", np.str_('{"characters": "many"}'))],
)  # fmt: skip
def test_a_damaged_figure_in_a_checkpoint_shows_as_damaged(folder, name, value):
    path = folder / "b" / "latest.npz"
    arrays = arrays_of(path)
    arrays[name] = np.asarray(value)
    write_npz(path, arrays)
    row = _status("b")
    assert row["status"].startswith("damaged: latest.npz does not read (")
    assert "corrupted metadata" in row["status"]
    assert row["step"] is None and row["time"] is None  # no damaged value is shown
    assert _status("a")["status"] == "done"
    with pytest.raises(charlm.CharlmError, match="corrupted metadata"):
        charlm.load(path)
