"""Every command, run as a program with hypothesis-generated arguments: numbers at the extremes,
nan, inf, negative and huge; odd strings; paths to files, folders, a FIFO, symlinks, devices and
missing paths. Each run is a child process in a scratch folder under a memory limit
(RLIMIT_AS). Whatever it is given, it answers with exit status 0, or 2 and at most one line on
stderr, never a traceback, and touches no file outside the scratch folder.

The commands and their options are read from the CLI itself, so a new option is fuzzed too;
an option's name says what kind of values it is given (an unknown name gets all kinds)."""

import os
import shutil
import signal
import stat
import subprocess
import sys

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charlm.cli import app
from tests.helpers import tree_state, write_corpus

MEMORY_LIMIT = 3 << 30  # address space of each run: python, numpy and a small model fit
PATIENCE = 20  # seconds before a run is interrupted (Ctrl-C): long training is legitimate


def commands():
    """[(command words, [click parameters])] of every command in the app."""
    found = []

    def walk(cmd, words):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*words, name])
        else:
            found.append((words, list(cmd.params)))

    walk(typer.main.get_command(app), [])
    return found


NUMBERS = st.sampled_from(
    ["0", "1", "2", "3", "-1", "-7", "nan", "inf", "-inf", "1e308", "1e-320", "0.5",
     "10000000000", "99999999999999999999", "", "abc", "1e3"]
)  # fmt: skip
ODD_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
) | st.sampled_from(["", " ", "_", "-", "--", "\n", "é", "\u202e", "x" * 3000, "\ufeff"])
INPUTS = st.sampled_from(
    ["corpus.txt", "checkpoints/base", "checkpoints/base/latest.npz", "checkpoints", "fifo",
     "link", "dangling", "dir", "missing.txt", "/dev/null", "/dev/zero", "/dev/full",
     "/dev/stdin", "empty.txt", "binary.bin", "latin1.txt", "../outside/text.txt",
     "../outside/run", "model.safetensors", "c.yaml", ""]
)  # fmt: skip
OUTPUTS = st.sampled_from(
    ["out.txt", "new/out.bin", "corpus.txt", "checkpoints/base/latest.npz", "fifo", "link",
     "dangling", "dir", "/dev/null", "/dev/full", "existing.txt", ""]
)  # fmt: skip
SETS = st.sampled_from(
    ["train.lr=nan", "train.lr=1e308", "model.hidden_size=100000000", "model.num_layers=0",
     "train.batch_size=1000000000", "data.encoding=rot13", "data.encoding=bytes",
     "output.run=..", "output.dir=/", "train.max_steps=2", "train.seq_len=-1", "x", "model.x=1",
     "train.dtype=float16", "data.val_fraction=1"]
) | ODD_TEXT  # fmt: skip

KINDS = {
    "numbers": ("length", "temperature", "top_k", "seed", "sweeps", "hidden", "scale_hh", "at",
                "size", "gap", "keys", "depth", "steps"),
    "outputs": ("out", "png", "html_path"),
    "inputs": ("config", "checkpoint_path", "checkpoints", "file", "model_path", "run_folder",
               "corpus", "runs"),
    "sets": ("overrides",),
    "text": ("prime", "blank", "target", "cell_types", "layers", "kind", "run"),
}  # fmt: skip
STRATEGY = {"numbers": NUMBERS, "outputs": OUTPUTS, "inputs": INPUTS, "sets": SETS,
            "text": ODD_TEXT}  # fmt: skip


def values_for(words, param):
    if param.name == "text":  # eval --text is a file; gradflow and saliency's TEXT is text
        return INPUTS if words == ["eval"] else ODD_TEXT | INPUTS
    for kind, names in KINDS.items():
        if param.name in names:
            return STRATEGY[kind]
    return NUMBERS | ODD_TEXT | INPUTS  # an option this test does not know yet: everything


@st.composite
def command_lines(draw):
    words, params = draw(st.sampled_from(commands()))
    args = list(words)
    for param in params:
        if not draw(st.booleans()):
            continue
        if getattr(param, "is_flag", False):
            args.append(param.opts[0])
            continue
        for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
            value = draw(values_for(words, param))
            args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """scratch/ (where each run works) and outside/ (which no run may touch)."""
    root = tmp_path_factory.mktemp("world")
    scratch, outside = root / "scratch", root / "outside"
    scratch.mkdir()
    outside.mkdir()
    write_corpus(scratch / "corpus.txt", 2000)
    (scratch / "corpora").mkdir()  # the default corpus is there: no run downloads it
    write_corpus(scratch / "corpora" / "tinyshakespeare.txt", 5000)
    (outside / "text.txt").write_text("outside text, read only\n" * 20)
    small = ["--set", "model.hidden_size=6", "--set", "model.num_layers=1",
             "--set", "train.batch_size=3", "--set", "train.seq_len=8",
             "--set", "train.report=false"]  # fmt: skip
    proc = run(["train", "--corpus", "corpus.txt", "--run", "base", "--steps", "3", *small],
               scratch)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(scratch / "checkpoints" / "base", outside / "run")
    if proc.returncode == 0 and run(["export", "checkpoints/base", "model.safetensors"],
                                    scratch).returncode != 0:  # fmt: skip
        (scratch / "model.safetensors").write_bytes(b"not safetensors")
    os.mkfifo(scratch / "fifo")
    os.symlink("../outside/text.txt", scratch / "link")
    os.symlink("nowhere", scratch / "dangling")
    (scratch / "dir").mkdir()
    (scratch / "empty.txt").write_bytes(b"")
    (scratch / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (scratch / "latin1.txt").write_bytes("café crème\n".encode("latin-1") * 50)
    (scratch / "existing.txt").write_text("the user's file\n")
    (scratch / "c.yaml").write_text("model:\n  hidden_size: 4\n  num_layers: 1\n")
    return root


def run(args, cwd):
    """The program, under the memory limit; interrupted (SIGINT) after PATIENCE seconds."""

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "charlm", *args], cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit, env=env,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=PATIENCE)
        proc.interrupted = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        proc.interrupted = True
    proc.stderr = err.decode("utf-8", "replace")
    return proc


@settings(
    max_examples=int(os.environ.get("CHARLM_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=command_lines())
def test_every_command_answers_in_one_line_and_stays_in_its_folder(world, args):
    outside = tree_state(world / "outside")
    scratch = world / "scratch"
    existing = (scratch / "existing.txt").read_bytes()  # an earlier --force may have replaced it
    proc = run(args, scratch)
    err = proc.stderr
    assert "Traceback" not in err and "Warning" not in err, (args, err)
    allowed = (0, 2, 130) if proc.interrupted else (0, 2)  # 130: our own Ctrl-C, set-up
    assert proc.returncode in allowed, (args, proc.returncode, err)
    assert err.count("\n") <= 1, (args, err)
    if proc.returncode != 0:
        assert err.startswith("charlm: error: "), (args, err)
    after = tree_state(world / "outside")
    if args[0] == "report" and "--out" not in args:  # a run's page lives in the run's folder
        after.pop("run/report.html", None), outside.pop("run/report.html", None)
    assert after == outside, args
    assert sorted(p.name for p in world.iterdir()) == ["outside", "scratch"], args
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.lstat(scratch / "fifo").st_mode), args
    assert "--force" in args or (scratch / "existing.txt").read_bytes() == existing, args
