"""Text in, text out: encodings, pipes, byte-level arguments, surrogates, a byte-order mark,
and output that cannot be written (stdout closed, a closed pipe, a full disk). These run the
real program in a child process, where file descriptors and the terminal are real."""

import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.run import checkpoint, data
from tests.helpers import TINY as S
from tests.helpers import refused, tree_state, write_corpus


def charlm(*args, cwd, stdin=None, stdout=subprocess.PIPE, env=None, timeout=120, **kw):
    cmd = [sys.executable, "-m", "charlm", *[a if isinstance(a, bytes) else str(a) for a in args]]
    return subprocess.run(
        cmd, cwd=cwd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})}, timeout=timeout, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("io")
    write_corpus(root / "small.txt", 3000)
    proc = charlm("train", "--corpus", "small.txt", "--run", "base", "--steps", 4, *S, cwd=root)
    assert proc.returncode == 0, proc.stderr
    (root / "cafe.txt").write_text((root / "small.txt").read_text() + "café\n" * 40)
    proc = charlm("train", "--corpus", "cafe.txt", "--run", "bytes", "--steps", 2, *S,
                  "--set", "data.encoding=bytes", cwd=root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return root


def test_a_pipe_is_read_once_and_gives_the_files_loss(project):
    args = ["eval", "--checkpoint", "checkpoints/base", "--json", "--text"]
    from_file = json.loads(charlm(*args, "small.txt", cwd=project).stdout)
    text = (project / "small.txt").read_bytes()
    piped = charlm(*args, "/dev/stdin", cwd=project, input=text)  # input=: through a pipe
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == from_file
    proc = charlm("train", "--corpus", "/dev/stdin", "--run", "piped", "--steps", 2, *S,
                  cwd=project, input=text)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ck = checkpoint.load(project / "checkpoints" / "piped")
    base = checkpoint.load(project / "checkpoints" / "base")
    assert ck.corpus["sha256"] == base.corpus["sha256"] and ck.corpus["path"] is None
    refused(charlm("eval", "--checkpoint", "checkpoints/piped", cwd=project,
                    stdin=subprocess.DEVNULL), "a pipe: pass --corpus PATH")  # fmt: skip
    proc = charlm("eval", "--checkpoint", "checkpoints/piped", "--corpus", "small.txt",
                  cwd=project)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_a_fifo_without_a_writer_does_not_hang(project, tmp_path):
    os.mkfifo(tmp_path / "fifo")
    proc = charlm("eval", "--checkpoint", "checkpoints/base", "--text", tmp_path / "fifo",
                  cwd=project, timeout=30)  # fmt: skip
    refused(proc, "the corpus is empty")
    proc = charlm("saliency", "--checkpoint", "checkpoints/base", "--file", tmp_path / "fifo",
                  cwd=project, timeout=30)  # fmt: skip
    refused(proc, "give the text to explain")


def test_an_endless_input_is_refused_in_bounded_memory(project):
    proc = charlm("eval", "--checkpoint", "checkpoints/base", "--text", "/dev/zero", cwd=project,
                  preexec_fn=limit_memory(3 << 30))  # fmt: skip
    refused(proc, "/dev/zero: the corpus file is larger than the")


def limit_memory(nbytes):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))

    return apply


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "zlib_codec", "bz2", "uu"])
def test_only_text_encodings_are_accepted(tmp_path, codec):
    from charlm.run import config

    with pytest.raises(CharlmError, match=f"'{codec}' is not a text encoding"):
        config.load(None, [f"data.encoding={codec}"])
    with pytest.raises(CharlmError, match="is not a text encoding"):
        data.read(write_corpus(tmp_path / "c.txt", 100), codec)
    raw = config.to_dict(config.load())
    raw["data"]["encoding"] = codec  # a checkpoint whose config names one
    with pytest.raises(CharlmError, match="(its config).*is not a text encoding"):
        config.from_dict(raw, "x.npz (its config)")


def test_punycode_that_does_not_decode_is_refused(tmp_path):
    (tmp_path / "c.txt").write_text("To be, or not to be.\n" * 10)
    with pytest.raises(CharlmError, match="cannot decode as punycode"):
        data.read(tmp_path / "c.txt", "punycode")


def test_a_leading_byte_order_mark_is_not_a_symbol(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfabcab\n")
    ids, vocab = data.read(tmp_path / "bom.txt")
    assert vocab.decode(ids) == "abcab\n" and len(vocab) == 4
    (tmp_path / "inner.txt").write_bytes(b"ab\xef\xbb\xbfc")  # not leading: it is text
    assert data.read(tmp_path / "inner.txt")[1].decode(range(4)) == "abc\ufeff"


def test_surrogates_never_enter_a_vocabulary(tmp_path):
    (tmp_path / "esc.txt").write_text("abc \\ud800 def\n")
    with pytest.raises(CharlmError, match="surrogate code points"):
        data.read(tmp_path / "esc.txt", "unicode_escape")
    assert not data.valid_codes(np.array([97, 0xD800]), byte_level=False)
    assert data.valid_codes(np.array([97, 0xE000]), byte_level=False)


def test_arguments_that_are_not_utf8(project):
    # a byte-level model reads them as their bytes; a character model names them
    proc = charlm("sample", "--checkpoint", "checkpoints/bytes", "--prime", b"the c\xc3",
                  "--length", 3, "--seed", 1, cwd=project)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"the c")
    for args in (["sample", "--prime", b"ab\xff"], ["saliency", b"ab\xffcd"]):
        for model in ("bytes", "base"):
            proc = charlm(*args, "--checkpoint", f"checkpoints/{model}", cwd=project)
            refused(proc, "not in the model's vocabulary")
    proc = charlm("gradflow", "--type", "rnn", "--hidden", 4, "--length", 3, b"ab\xffcd",
                  cwd=project)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_stdout_closed_full_or_cut_is_refused(project):
    before = tree_state(project)
    sample = ["sample", "--checkpoint", "checkpoints/base", "--length", 50]
    proc = subprocess.run(
        [sys.executable, "-m", "charlm", *map(str, sample)], cwd=project,
        stdout=None, stderr=subprocess.PIPE, pass_fds=(), close_fds=True,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    refused(proc, "standard output is closed; nothing was done")
    proc = subprocess.run(
        [sys.executable, "-m", "charlm", "train", "--corpus", "small.txt", "--run", "closed",
         "--steps", "2", *S],
        cwd=project, stdout=None, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    refused(proc, "standard output is closed; nothing was done")
    with open("/dev/full", "wb") as full:
        refused(charlm(*sample, cwd=project, stdout=full), "No space left on device")
        refused(
            charlm("eval", "--checkpoint", "checkpoints/base", cwd=project, stdout=full),
            "No space left on device",
        )
    assert tree_state(project) == before


def test_a_cut_pipe_stops_generation(project):
    proc = subprocess.Popen(
        [sys.executable, "-m", "charlm", "sample", "--checkpoint", "checkpoints/base",
         "--length", "10000000"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.read(10)
    proc.stdout.close()  # as head -c 10 does
    proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    assert proc.returncode == 2 and err == "charlm: error: cannot write to standard output " \
                                           "(Broken pipe)\n"  # fmt: skip


def test_train_into_a_cut_pipe_saves_then_says_so(project):
    proc = subprocess.Popen(
        [sys.executable, "-m", "charlm", "train", "--corpus", "small.txt", "--run", "cut",
         "--steps", "100000", *S, "--set", "train.eval_every=5", "--set",
         "train.checkpoint_every=100000"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.readline()  # head -1
    proc.stdout.close()
    timer = threading.Timer(60, proc.send_signal, [signal.SIGKILL])
    timer.start()
    proc.wait()
    timer.cancel()
    err = proc.stderr.read().decode()
    assert proc.returncode == 2 and err.count("\n") == 1, err
    ck = checkpoint.load(project / "checkpoints" / "cut")
    assert f"(Broken pipe): stopped at step {ck.step:,}, saved in checkpoints/cut/latest.npz;" \
           " resume: charlm train --resume checkpoints/cut" in err  # fmt: skip


def test_an_ascii_terminal_and_columns_zero(project):
    proc = charlm("gradflow", "--type", "rnn", "--hidden", 4, "--length", 8, cwd=project,
                  env={"PYTHONIOENCODING": "ascii"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert b"\\u2588" in proc.stdout  # the chart's blocks, escaped
    proc = charlm("eval", "--checkpoint", "checkpoints/base", cwd=project, env={"COLUMNS": "0"})
    assert proc.returncode == 0 and proc.stdout.startswith(b"loss "), proc.stderr
