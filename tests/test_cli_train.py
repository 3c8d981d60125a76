"""`charlm train`, `sample` and `eval` from the command line, on corpora the tests write."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from charlm.run import checkpoint, rundir, train
from tests.helpers import invoke, refused

runner = CliRunner()
SMALL = [
    "--set", "model.hidden_size=8", "--set", "model.num_layers=1",
    "--set", "train.batch_size=3", "--set", "train.seq_len=7",
    "--set", "train.eval_every=5", "--set", "train.sample_every=10",
    "--set", "train.checkpoint_every=4",
]  # fmt: skip


def test_train_shows_progress_and_writes_checkpoints(workdir):
    result = invoke("train", "--corpus", "corpus.txt", "--steps", 12, "--run", "r", *SMALL)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "training lstm x1, hidden 8" in out and "12 steps" in out
    evals = [line.split()[1] for line in out.splitlines() if line.startswith("step")]
    assert evals == ["5", "10", "12"] and "sample, step 10" in out
    assert "saved checkpoints/r/latest.npz (step 12)" in out
    assert "run r: done" in out and "best val loss" in out
    assert "charlm sample --checkpoint checkpoints/r" in out
    ck = checkpoint.load("checkpoints/r")
    assert ck.step == 12 and ck.config.train.max_steps == 12 and ck.config.output.run == "r"
    lines = (workdir / "checkpoints/r/metrics.jsonl").read_text().splitlines()
    val = [r for r in map(json.loads, lines) if r["kind"] == "val"]
    assert f"val loss {val[-1]['loss']:.4f}" in out


def test_resume_continues_and_a_finished_run_is_not_overwritten(workdir):
    assert invoke("train", "--corpus", "corpus.txt", "--steps", 6, *SMALL).exit_code == 0
    refused(
        invoke("train", "--corpus", "corpus.txt", *SMALL),
        "checkpoints/lstm already holds a run; continue it with "
        "`charlm train --resume checkpoints/lstm`",
    )
    refused(
        invoke("train", "--resume"),
        "already at step 6, and its length is 6 steps; train further with --steps",
    )
    result = invoke("train", "--resume", "--steps", 10)
    assert result.exit_code == 0, result.output
    assert "resuming at step 6" in result.stdout and checkpoint.load("checkpoints/lstm").step == 10
    result = invoke(
        "train", "--resume", "checkpoints/lstm", "--steps", 11, "--set", "train.lr=0.01"
    )
    assert result.exit_code == 0 and checkpoint.load("checkpoints/lstm").config.train.lr == 0.01
    refused(
        invoke("train", "--resume", "--steps", 12, "--set", "model.hidden_size=9"),
        "cannot change model.hidden_size when resuming",
    )
    refused(invoke("train", "checkpoints/lstm"), "charlm train --resume checkpoints/lstm")
    result = invoke("train", "--corpus", "corpus.txt", "--steps", 3, "--force", *SMALL)
    assert result.exit_code == 0 and checkpoint.load("checkpoints/lstm").step == 3


def test_sample_streams_from_the_newest_checkpoint(workdir):
    invoke("train", "--corpus", "corpus.txt", "--steps", 4, "--run", "old", *SMALL)
    invoke("train", "--corpus", "corpus.txt", "--steps", 8, "--run", "new", *SMALL)
    later = os.stat("checkpoints/new/latest.npz").st_mtime + 10  # clocks can be coarse: no tie
    os.utime("checkpoints/old/latest.npz", (later, later))  # now the newest
    result = invoke("sample", "--prime", "the cat", "--length", 40, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("the cat") and len(result.stdout) == len("the cat") + 40 + 1
    again = invoke("sample", "--checkpoint", "checkpoints/old", "--prime", "the cat",
                   "--length", 40, "--seed", 3)  # fmt: skip
    assert again.stdout == result.stdout
    other = invoke("sample", "--checkpoint", "checkpoints/new", "--prime", "the cat",
                   "--length", 40, "--seed", 3)  # fmt: skip
    assert other.stdout != result.stdout
    greedy = invoke("sample", "--greedy", "--length", 5, "--prime", "")
    assert greedy.exit_code == 0 and len(greedy.stdout) == 6


def test_sample_errors(workdir):
    refused(invoke("sample"), "no checkpoint under checkpoints/")
    invoke("train", "--corpus", "corpus.txt", "--steps", 2, *SMALL)
    refused(invoke("sample", "--temperature", 0), "--temperature 0: must be > 0")
    refused(invoke("sample", "--length", -1), "--length -1: must be 0 or more")
    refused(invoke("sample", "--top-k", 0), "--top-k 0: must be 1 or more")
    refused(
        invoke("sample", "--prime", "QX the"),
        "--prime: 2 characters ('Q' 'X') not in the model's vocabulary; pass --skip-unknown",
    )
    result = invoke("sample", "--prime", "QX the", "--skip-unknown", "--length", 3)
    assert result.exit_code == 0 and result.stdout.startswith(" the")


def test_a_bidirectional_model_fills_blanks(workdir):
    args = ["--corpus", "corpus.txt", "--steps", 4, "--set", "model.bidirectional=true", *SMALL]
    assert invoke("train", *args).exit_code == 0
    result = invoke("sample", "--prime", "the c_t sat on __ mat", "--seed", 0)
    assert result.exit_code == 0, result.output
    out = result.stdout.rstrip("\n")
    assert len(out) == len("the c_t sat on __ mat") and "_" not in out
    assert out[:5] == "the c" and out[6:15] == "t sat on " and out[17:] == " mat"
    refused(invoke("sample", "--prime", "the cat"), "--prime: has no blank '_'")
    result = invoke("sample", "--prime", "the c?t", "--blank", "?", "--greedy")
    assert result.exit_code == 0 and "?" not in result.stdout


def test_eval_reports_the_validation_loss_or_a_file(workdir):
    invoke("train", "--corpus", "corpus.txt", "--steps", 5, *SMALL)
    ck = checkpoint.load("checkpoints/lstm/latest.npz")
    result = invoke("eval", "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    val = train.load_corpus(ck.config, ck.vocab).val
    loss, n = train.evaluate(ck.params, ck.spec, val, seq_len=ck.config.train.seq_len)
    assert got == {"loss": loss, "bpc": loss / np.log(2), "chars": n} and n == len(val) - 1
    assert f"loss {loss:.4f} nats/char" in invoke("eval").stdout
    (workdir / "other.txt").write_text("the dog sat\n")
    got = json.loads(invoke("eval", "--text", "other.txt", "--json").stdout)
    assert got["chars"] == 11
    (workdir / "bad.txt").write_text("the Zebra")
    refused(invoke("eval", "--text", "bad.txt"), "2 characters ('Z' 'b') not in the")


def test_bad_train_options_are_one_line_errors(workdir):
    refused(invoke("train", "--set", "train.lr"), "--set train.lr: expected section.key=value")
    refused(invoke("train", "--set", "train.lrr=1"), "did you mean 'train.lr'?")
    refused(invoke("train", "--corpus", "missing.txt"), "missing.txt: corpus file not found")
    refused(
        invoke("train", "--corpus", "corpus.txt", "--set", "train.batch_size=500"),
        "too short for batch_size 500 x seq_len 64",
    )
    assert not (workdir / "checkpoints").exists()


@pytest.mark.parametrize(
    "sig, code, line",
    [(signal.SIGINT, 130, "interrupted (Ctrl-C)"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
)
def test_a_signal_during_set_up_is_named_for_what_it_was(workdir, sig, code, line):
    """Before the first step there is nothing to save: the command ends at once, in one line
    that names the signal (a SIGTERM is not a Ctrl-C)."""
    os.mkfifo(workdir / "pipe")
    args = [sys.executable, "-m", "charlm", "train", "--corpus", "pipe", *SMALL]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(workdir / "pipe", "wb") as writer:  # opens once charlm reads the corpus
        writer.write(b"abc " * 100)
        writer.flush()
        time.sleep(0.2)  # charlm waits for the rest: set-up, not training yet
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (code, f"charlm: error: {line}\n"), out
    assert not (workdir / "checkpoints" / "lstm" / "latest.npz").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_and_says_how_to_resume(workdir, sig):
    args = [sys.executable, "-m", "charlm", "train", "--corpus", "corpus.txt", "--steps",
            "100000", "--set", "train.log_every=1", *SMALL]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = workdir / "checkpoints" / "lstm" / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while not (metrics.exists() and metrics.stat().st_size > 300) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    ck = checkpoint.load("checkpoints/lstm")
    assert 0 < ck.step < 100000
    name = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"  # each named for what it was
    assert f"{name}: stopping after this step to save a checkpoint" in out
    hint = f"stopped at step {ck.step:,} ({name}); resume: charlm train --resume checkpoints/lstm"
    assert hint in out and "run lstm: stopped" in out and err == ""
    result = invoke("train", "--resume", "--steps", ck.step + 2)
    assert result.exit_code == 0 and checkpoint.load("checkpoints/lstm").step == ck.step + 2


def test_a_second_trainer_of_the_same_folder_is_refused(workdir):
    assert invoke("train", "--corpus", "corpus.txt", "--steps", 4, *SMALL).exit_code == 0
    latest = workdir / "checkpoints" / "lstm" / "latest.npz"
    before = latest.read_bytes()
    with rundir.locked(workdir / "checkpoints" / "lstm"):  # as another trainer would hold it
        busy = f"checkpoints/lstm is being trained right now (charlm train, pid {os.getpid()})"
        refused(invoke("train", "--resume", "--steps", 8), busy)
        refused(invoke("train", "--corpus", "corpus.txt", "--force", *SMALL), busy)
    assert latest.read_bytes() == before
    result = invoke("train", "--resume", "--steps", 8)
    assert result.exit_code == 0 and checkpoint.load(latest).step == 8


def test_resume_refuses_a_damaged_training_state_that_sampling_can_ignore(workdir):
    assert invoke("train", "--corpus", "corpus.txt", "--steps", 4, *SMALL).exit_code == 0
    latest = workdir / "checkpoints" / "lstm" / "latest.npz"
    with np.load(latest, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "optim/m.head.bias"}
    np.savez(latest, **arrays)
    before = latest.read_bytes()
    refused(
        invoke("train", "--resume", "--steps", 8),
        "optimiser state 'optim/m.head.bias' is missing or damaged; cannot resume",
    )
    assert latest.read_bytes() == before
    assert invoke("sample", "--length", 5, "--seed", 1).exit_code == 0
