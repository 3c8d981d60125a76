"""train.tensorboard: the run's TensorBoard events hold every scalar of metrics.jsonl at its
step, and the samples; a resumed run continues them without a step twice, even one that
was killed after its last checkpoint."""

import json
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import charlm
from tests.helpers import invoke, refused, write_corpus

pytest.importorskip("tensorboardX", reason="the events need the tensorboard extra")

SETS = ["model.hidden_size=8", "model.num_layers=1", "train.batch_size=4", "train.seq_len=16",
        "train.log_every=2", "train.eval_every=5", "train.sample_every=10",
        "train.checkpoint_every=10", "train.report=false"]  # fmt: skip
SCALARS = {"train": ("loss", "smooth_loss", "bpc", "grad_norm", "lr", "chars_per_s"),
           "val": ("loss", "bpc")}  # fmt: skip


def events(folder):
    """(tag, step, value) of every event in the run's event file, read record by record
    (TFRecord framing: length, its CRC, the Event, its CRC), and the file's version."""
    from tensorboardX.proto.event_pb2 import Event

    data = (folder / "events.out.tfevents.charlm").read_bytes()
    out, version, at = [], None, 0
    while at < len(data):
        (n,) = struct.unpack_from("Q", data, at)
        event = Event.FromString(data[at + 12 : at + 12 + n])
        at += 12 + n + 4
        if event.file_version:
            version = event.file_version
        for v in event.summary.value:
            text = v.tensor.string_val[0].decode() if v.tensor.string_val else None
            out.append((v.tag, event.step, text if text is not None else v.simple_value))
    assert at == len(data)  # whole records only
    return out, version


def expected(folder):
    lines = (folder / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    out = []
    for r in map(json.loads, lines):
        for key in SCALARS.get(r["kind"], ()):
            out.append((f"{r['kind']}/{key}", r["step"], r[key]))
        if r["kind"] == "sample":
            out.append(("sample/text_summary", r["step"], r["text"]))
    return out


def same(got, want):
    assert [(t, s) for t, s, _ in got] == [(t, s) for t, s, _ in want]
    for (tag, step, a), (_, _, b) in zip(got, want, strict=True):
        if isinstance(b, str):
            assert a == b, (tag, step)
        else:
            assert np.float32(a) == np.float32(b), (tag, step)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "corpus.txt", 4000)
    return tmp_path


def test_every_scalar_at_its_step_and_a_resume_adds_none_twice(here):
    folder = here / "checkpoints" / "tb"
    charlm.train(
        corpus="corpus.txt", steps=20, run="tb", overrides=[*SETS, "train.tensorboard=true"]
    )
    got, version = events(folder)
    assert version == "brain.Event:2" and len(got) == 10 * 6 + 4 * 2 + 2
    same(got, expected(folder))
    at_20 = (folder / "latest.npz").read_bytes()
    result = invoke("train", "--resume", "checkpoints/tb", "--steps", 40, "--tensorboard")
    assert result.exit_code == 0, result.output
    got, _ = events(folder)
    same(got, expected(folder))
    steps = [s for t, s, _ in got if t == "train/loss"]
    assert steps == list(range(2, 41, 2))  # once each
    # killed after step 40 with its last checkpoint at 20: the resume redoes 21..40, and the
    # events of the steps it redoes are not shown twice
    (folder / "latest.npz").write_bytes(at_20)
    charlm.train(resume="checkpoints/tb", steps=30, overrides=["train.tensorboard=true"])
    got, _ = events(folder)
    same(got, expected(folder))
    assert [s for t, s, _ in got if t == "val/loss"] == [5, 10, 15, 20, 25, 30]


def test_turned_on_at_a_resume_the_events_hold_the_whole_run(here):
    charlm.train(corpus="corpus.txt", steps=10, run="late", overrides=SETS)
    assert not (here / "checkpoints" / "late" / "events.out.tfevents.charlm").exists()
    charlm.train(resume="checkpoints/late", steps=20, overrides=["train.tensorboard=true"])
    got, _ = events(here / "checkpoints" / "late")
    same(got, expected(here / "checkpoints" / "late"))
    assert [s for t, s, _ in got if t == "train/lr"] == list(range(2, 21, 2))


def test_without_tensorboardx_one_line_says_what_to_install(here):
    code = (
        "import sys; sys.modules['tensorboardX'] = None\n"
        "from charlm.cli import main; sys.argv = ['charlm', *sys.argv[1:]]; main()"
    )
    sets = [a for s in SETS for a in ("--set", s)]
    line = ["train", "--corpus", "corpus.txt", "--steps", "2", "--tensorboard", *sets]
    proc = subprocess.run([sys.executable, "-c", code, *line], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert 'pip install -e ".[tensorboard]"' in proc.stderr
    assert not (here / "checkpoints").exists()


def test_a_link_in_place_of_the_events_is_refused(here):
    charlm.train(corpus="corpus.txt", steps=4, run="ln", overrides=SETS)
    (here / "elsewhere").write_bytes(b"mine")
    (here / "checkpoints" / "ln" / "events.out.tfevents.charlm").symlink_to(here / "elsewhere")
    refused(invoke("train", "--resume", "checkpoints/ln", "--steps", 8, "--tensorboard"),
            "link")  # fmt: skip
    assert (here / "elsewhere").read_bytes() == b"mine"
    shutil.rmtree(here / "checkpoints")
