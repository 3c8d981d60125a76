"""kill -9 at random moments of a small run, many times over: whatever instant the process dies
at (starting, training, halfway through writing a checkpoint), latest.npz loads and --resume
carries on from it."""

import os
import random
import signal
import subprocess
import sys
import time

from charlm.run import checkpoint
from tests.helpers import write_corpus

KILLS = 24
# a checkpoint every step, so that many kills land in or near a save
SMALL = [
    "--set", "model.hidden_size=16", "--set", "train.batch_size=3", "--set", "train.seq_len=7",
    "--set", "train.eval_every=7", "--set", "train.sample_every=11",
    "--set", "train.checkpoint_every=1", "--set", "train.log_every=1",
    "--set", "train.report=false",
]  # fmt: skip


def charlm(*args):
    cmd = [sys.executable, "-m", "charlm", "train", *args]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_at_random_moments_never_breaks_the_latest_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "corpus.txt", 3000)
    latest = tmp_path / "checkpoints" / "lstm" / "latest.npz"
    rng = random.Random(20261124)
    steps, first_save = [], None
    for _ in range(KILLS):
        resume = ["--resume"] if latest.exists() else []
        proc = charlm(*resume, "--corpus", "corpus.txt", "--steps", "100000", *SMALL)
        start = time.monotonic()
        if first_save is None:  # how long start-up takes here sets the time scale
            while not latest.exists() and time.monotonic() - start < 60:
                time.sleep(0.01)
            first_save = time.monotonic() - start
            time.sleep(rng.uniform(0, 1) * first_save)
        else:  # die anywhere from start-up (imports, loading) to well into training
            time.sleep(rng.uniform(0.5, 3.0) * first_save)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        # a kill mid-save (5 to 9 of the 24 on a 2-core machine) leaves a temporary file beside it
        if latest.exists():
            ck = checkpoint.load(latest)  # never half-written
            steps.append(ck.step)
    assert len(steps) >= KILLS // 2 and steps == sorted(steps) and steps[-1] > 0
    final = steps[-1] + 5
    done = subprocess.run(
        [sys.executable, "-m", "charlm", "train", "--resume", "--steps", str(final)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"resuming at step {steps[-1]:,}" in done.stdout
    assert checkpoint.load(latest).step == final
    assert not [p for p in os.listdir(latest.parent) if p.endswith(".tmp")]  # cleaned up
