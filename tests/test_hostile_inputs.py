"""Every input is read once: a config, a corpus or a text that comes from a pipe
(/dev/stdin) is read a single time, bounded, and means the same on a fresh run and on
--resume; a terminal is refused rather than waited on. Each command runs as a program with
its input piped, so a second read would find the pipe empty."""

import os
import pty
import subprocess
import sys

import pytest

import charlm
from tests.helpers import refused, write_corpus

CONFIG = ("model:\n  hidden_size: 8\n  num_layers: 1\ntrain:\n  max_steps: 4\n  seq_len: 16\n"
          "  batch_size: 4\n  report: false\noutput:\n  run: piped\n")  # fmt: skip


def charlm_(*args, stdin=b"", **kw):
    return subprocess.run([sys.executable, "-m", "charlm", *map(str, args)], input=stdin,
                          capture_output=True, timeout=120, **kw)  # fmt: skip


def test_a_config_from_a_pipe_is_read_once_fresh_and_on_resume(workdir):
    done = charlm_("train", "--config", "/dev/stdin", "--corpus", "corpus.txt",
                   stdin=CONFIG.encode())  # fmt: skip
    assert done.returncode == 0, done.stderr
    model = charlm.load("checkpoints/piped")
    assert (model.spec.hidden_size, model.step) == (8, 4)
    done = charlm_("train", "--resume", "--config", "/dev/stdin", "--steps", 6,
                   stdin=CONFIG.encode())  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert charlm.load("checkpoints/piped").step == 6
    bigger = CONFIG.replace("hidden_size: 8", "hidden_size: 16").encode()
    refused(charlm_("train", "--resume", "--config", "/dev/stdin", "--steps", 8, stdin=bigger),
            "cannot change model.hidden_size when resuming")  # fmt: skip


def test_a_corpus_from_a_pipe_is_the_same_text_on_resume(workdir):
    text = (workdir / "corpus.txt").read_bytes()
    (workdir / "c.yaml").write_text(CONFIG)
    done = charlm_("train", "--config", "c.yaml", "--corpus", "/dev/stdin", stdin=text)
    assert done.returncode == 0, done.stderr
    first = charlm.load("checkpoints/piped").checkpoint.corpus
    assert first["sha256"] and first["path"] is None  # a pipe has no path to go back to
    done = charlm_("train", "--resume", "checkpoints/piped", "--corpus", "/dev/stdin", "--steps", 6,
                   stdin=text)  # fmt: skip
    assert done.returncode == 0, done.stderr
    other = write_corpus(workdir / "other.txt", 3000, seed=5).read_bytes()
    refused(charlm_("train", "--resume", "checkpoints/piped", "--corpus", "/dev/stdin", "--steps",
                    8, stdin=other),
            "not the text this run trained on")  # fmt: skip
    assert charlm.load("checkpoints/piped").step == 6


@pytest.mark.parametrize("command", [["score"], ["gates"], ["neurons", "--find", "quote"],
                                     ["eval", "--text"]])  # fmt: skip
def test_a_text_from_a_pipe_reads_as_the_same_text_from_a_file(workdir, command):
    (workdir / "c.yaml").write_text(CONFIG)
    assert charlm_("train", "--config", "c.yaml", "--corpus", "corpus.txt").returncode == 0
    text = (workdir / "corpus.txt").read_bytes()[:400]
    (workdir / "t.txt").write_bytes(text)
    flag = [] if command[-1] == "--text" else ["--file"]
    run = [command[0], "--checkpoint", "checkpoints/piped", "--json", *command[1:], *flag]
    piped = charlm_(*run, "/dev/stdin", stdin=text)
    filed = charlm_(*run, "t.txt")
    assert piped.returncode == filed.returncode == 0, piped.stderr
    a, b = piped.stdout.replace(b"/dev/stdin", b"t.txt"), filed.stdout
    assert a == b


def test_endless_inputs_are_bounded_and_a_terminal_is_refused(workdir):
    refused(charlm_("train", "--config", "/dev/zero"), "larger than the 1.0 MB that charlm reads")
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "charlm", "train", "--config", "/dev/stdin"],
                              stdin=secondary, capture_output=True, timeout=60)  # fmt: skip
    finally:
        os.close(primary)
        os.close(secondary)
    refused(done, "/dev/stdin: is a terminal; pipe the config file in")
    assert not (workdir / "checkpoints").exists()
