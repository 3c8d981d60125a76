"""Shared test helpers: the gradient comparison and independent reference cells."""

import numpy as np

from charlm.inspect import gradcheck as gc


def assert_grad_close(analytic, numerical, what=""):
    err = gc.relative_error(np.asarray(analytic, dtype=np.float64), numerical)
    assert err.max() < gc.TOLERANCE, f"{what}: max relative error {err.max():.2e}"


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_step(cell, p, x, state):
    """One step written straight from PyTorch's documented equations, nothing shared with
    charlm's cells. x (B, D), state (h,) or (h, c)."""
    gi = x @ p["weight_ih"].T + p["bias_ih"]
    gh = state[0] @ p["weight_hh"].T + p["bias_hh"]
    if cell == "rnn":
        return (np.tanh(gi + gh),)
    if cell == "lstm":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sig(f) * state[1] + _sig(i) * np.tanh(g)
        return (_sig(o) * np.tanh(c), c)
    i_r, i_z, i_n = np.split(gi, 3, axis=-1)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    r, z = _sig(i_r + h_r), _sig(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return ((1 - z) * n + z * state[0],)


WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "dog", "ran", "to", "it", ","]


def write_corpus(path, n_chars=2000, seed=0):
    """A small text with some structure to learn: random words from a short list, in lines."""
    rng = np.random.default_rng(seed)
    out, size = [], 0
    while size < n_chars:
        line = " ".join(rng.choice(WORDS, size=rng.integers(3, 9))) + "\n"
        out.append(line)
        size += len(line)
    path.write_text("".join(out)[:n_chars], encoding="utf-8")
    return path


def small_config(tmp_path, *overrides, corpus=None):
    """A config small enough to train in well under a second, writing under tmp_path."""
    from charlm.run import config

    corpus = corpus or write_corpus(tmp_path / "corpus.txt")
    base = [
        f"data.corpus={corpus}",
        "model.hidden_size=8",
        "model.num_layers=1",
        "train.batch_size=3",
        "train.seq_len=7",
        "train.max_steps=20",
        "train.eval_every=5",
        "train.sample_every=10",
        "train.checkpoint_every=4",
        "train.log_every=2",
        f"output.dir={tmp_path / 'checkpoints'}",
        "output.run=test",
        "train.report=false",  # test_report.py covers the page
    ]
    return config.load(None, base + list(overrides))


def write_npz(path, arrays):
    """Arrays as an .npz, without charlm's checks (to make damaged checkpoints)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def arrays_of(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def tree_state(root):
    """Everything under root as it is on disk: each path's kind, and a file's bytes or a
    link's target (to show that a refused command changed nothing)."""
    import os
    from pathlib import Path

    state = {}
    for path in sorted(Path(root).rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path))
        elif path.is_file():
            state[rel] = ("file", path.read_bytes())
        else:
            state[rel] = ("other", os.lstat(path).st_mode)
    return state


# A model that trains in a blink, for the tests that run the CLI (test_report.py covers the
# page, which takes longer to draw than these take to train).
TINY = ["--set", "model.hidden_size=8", "--set", "model.num_layers=1",
        "--set", "train.batch_size=4", "--set", "train.seq_len=16",
        "--set", "train.report=false"]  # fmt: skip


def invoke(*args):
    """charlm ARGS through Typer's runner (arguments may be paths or numbers)."""
    from typer.testing import CliRunner

    from charlm.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def refused(result, message, code=2):
    """Exit status 2 and one line on stderr, `charlm: error: ...` holding message, cut short:
    a result of invoke() or a finished subprocess (its stderr bytes or text)."""
    status = getattr(result, "exit_code", getattr(result, "returncode", None))
    err = result.stderr
    err = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    assert status == code, err
    assert err.startswith("charlm: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert len(err) < 700, err  # values quoted in errors are cut short


def launched(ck, corpus, run_dir):
    """What charlm.run.loop.run trains: ck into run_dir, planned as launch plans it."""
    from charlm.run import launch

    return launch.of(ck, corpus, run_dir)
