"""No input exhausts memory or hangs, values that make no sense are refused, and a run can
always be continued: sizes checked before allocation, nonsense numbers, YAML that means two
things, metadata that is not what it says, the schedule of an extended run, and a corpus known
by its content. Through the real CLI, with a snapshot showing nothing changed."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from charlm import memory
from charlm.nn.model import ModelSpec, init_params, param_count
from charlm.nn.model import memory as model_memory
from charlm.run import checkpoint, launch, loop, optim, rundir
from tests.helpers import TINY as S
from tests.helpers import invoke, refused, tree_state, write_corpus


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    write_corpus(root / "small.txt", 3000)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = invoke("train", "--corpus", "small.txt", "--run", "base", "--steps", 6, *S,
                        "--set", "train.eval_every=3")  # fmt: skip
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(template, tmp_path, monkeypatch):
    root = tmp_path / "p"
    shutil.copytree(template, root)
    monkeypatch.chdir(root)
    return root


# each value the largest its bound allows: the memory check, not the bound, refuses it
BIG = ["--set", "model.hidden_size=65536"]
HUGE = {
    "batch_size": (["--set", "train.batch_size=1000000"], "is too short for batch_size"),
    "seq_len": (["--set", "train.seq_len=1000000"], "is too short for batch_size"),
    "hidden_size": (BIG, "with hidden 65536 (17,185,636,368 parameters) at batch"),
    "hidden 65536": (BIG, "this machine has"),
    "embedding": (["--set", "model.embedding_size=65536", *BIG], "(embedding 65536)"),
    "layers": (["--set", "model.num_layers=64", *BIG], "lstm x64"),
}


@pytest.mark.parametrize("case", list(HUGE))
def test_sizes_are_checked_before_allocating(project, case):
    before = tree_state(project)
    args, message = HUGE[case]
    result = invoke("train", "--corpus", "small.txt", "--run", "huge", "--steps", 3, *S, *args)
    refused(result, message)
    assert tree_state(project) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["gradflow", "--hidden", 65536], "--hidden 65,536 and --length 100 need about"),
        (["gradflow", "--type", "rnn", "--hidden", 64, "--length", 10**6], "characters and the"),
        (["corpus", "make", "recall", "--size", 100, "--gap", 10**8], "--gap 100000000: a record"),
        (["corpus", "make", "brackets", "--size", 1, "--depth", 10**4], "--depth 10000: its lines"),
        (["corpus", "make", "recall", "--out", "/dev/null"], "/dev/null is a device"),
        (["sample", "--checkpoint", "checkpoints/base", "--seed", -1], "--seed -1: must be 0"),
        (["gradflow", "--seed", -1], "--seed -1: must be 0 or more"),
        (["gradcheck", "--seed", -1], "--seed -1: must be 0 or more"),
        (["corpus", "make", "recall", "--seed", -1], "--seed -1: must be 0 or more"),
        (["sample", "--checkpoint", "checkpoints/base", "--temperature", "nan"], "finite"),
        (["sample", "--checkpoint", "checkpoints/base", "--temperature", "inf"], "finite"),
        (["sample", "--checkpoint", "checkpoints/base", "--temperature", 1e-320], "at least"),
        (["gradflow", "--scale-hh", "nan"], "--scale-hh nan: must be a finite number"),
        (["gradflow", "--scale-hh", "-inf"], "--scale-hh -inf: must be a finite number"),
        (
            ["sample", "--checkpoint", "checkpoints/base", "--bogus"],
            "No such option",
        ),  # ': --bogus' or ' '--bogus'.'
        (["sample", "--length", "many"], "Invalid value for '--length'"),
    ],
)
def test_commands_refuse_in_one_line(project, args, message):
    before = tree_state(project)
    refused(invoke(*args), message)
    assert tree_state(project) == before


def test_a_corpus_larger_than_memory_is_refused_before_it_is_made(project, monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: 2**30)  # a machine with 1 GB free
    before = tree_state(project)
    refused(invoke("corpus", "make", "brackets", "--size", 10**9), "--size 1,000,000,000 needs")
    assert tree_state(project) == before


def test_a_gradcheck_config_at_a_huge_size(project):
    (project / "big.yaml").write_text("model:\n  hidden_size: 65536\n")
    refused(invoke("gradcheck", "--config", "big.yaml"), "checking a lstm x2 with hidden 65,536")


def test_memory_that_cannot_be_had_is_one_line(project, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 9.0 TiB for an array")

    monkeypatch.setattr("charlm.run.train.init_params", no_memory)
    refused(
        invoke("train", "--corpus", "small.txt", "--run", "m", "--steps", 2, *S),
        "not enough memory (Unable to allocate 9.0 TiB for an array); files on disk stay as",
    )
    assert not (project / "checkpoints" / "m").exists()


def test_the_model_estimate_is_the_engines_size():
    for spec in (ModelSpec("lstm", 65, 32, 2), ModelSpec("gru", 7, 5, 3, True, 0.0, 4)):
        params = init_params(spec, __import__("numpy").random.default_rng(0))
        assert param_count(spec) == sum(p.size for p in params.values())
        assert model_memory(spec, 1, 1, 4, backward=False) >= 4 * param_count(spec)
    assert memory.human(1536) == "1.5 KB" and memory.human(3 * 2**40) == "3.0 TB"
    assert 0 < memory.available() < 1 << 62


def test_ctrl_c_during_set_up_is_one_line_and_writes_nothing(project):
    proc = subprocess.Popen(
        [sys.executable, "-m", "charlm", "corpus", "make", "brackets", "--size", "300000000",
         "--out", "big.txt"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(2.5)  # python and numpy start, then the generator runs for many seconds
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == b"charlm: error: interrupted (Ctrl-C)\n"
    assert not (project / "big.txt").exists() and not list(project.glob(".*.tmp"))


YAML = {
    "duplicate key": (
        "model:\n  hidden_size: 8\n  hidden_size: 9\n",
        "line 3: not valid YAML (the key 'hidden_size' is given twice)",
    ),  # fmt: skip
    "shared anchor": ("train: &m\n  lr: 0.1\nmodel: *m\n", "line 3: not valid YAML (aliases"),
    "alias bomb": (
        "model:\n  hidden_size:\n    - &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
        + "".join(
            f"    - &b{i} [{', '.join([f'*{p}'] * 9)}]\n"
            for i, p in enumerate(["a"] + [f"b{j}" for j in range(8)])
        ),
        "not valid YAML (aliases",
    ),  # fmt: skip
    "deep nesting": ("model: " + "[" * 5000 + "]" * 5000 + "\n", "c.yaml"),
}


@pytest.mark.parametrize("case", list(YAML))
def test_yaml_that_means_two_things_is_refused(project, case):
    text, message = YAML[case]
    (project / "c.yaml").write_text(text)
    before = tree_state(project)
    refused(invoke("train", "--config", "c.yaml", "--corpus", "small.txt", "--run", "y"), message)
    assert tree_state(project) == before


def test_a_long_value_is_quoted_short(project):
    result = invoke("train", "--set", "model.type=" + "x" * 100000)
    refused(result, "model.type must be one of rnn, lstm, gru, got 'xxxxxx")


def test_extending_a_finished_run_is_a_warm_restart(project):
    ck = checkpoint.load("checkpoints/base")
    assert ck.schedule == [[0, 6, 0]]
    result = invoke("train", "--resume", "checkpoints/base", "--steps", 26)
    assert result.exit_code == 0, result.output
    assert "extending the run from 6 to 26 steps: its schedule is kept to step 6, then a warm " \
           "restart for the 20 steps added: lr rises from 0 to 0.004 over 1 step, then " \
           "follows a cosine to 0 by step 26" in result.stdout  # fmt: skip
    ck = checkpoint.load("checkpoints/base")
    assert ck.schedule == [[0, 6, 0], [6, 26, 1]]
    text = Path("checkpoints/base/metrics.jsonl").read_text()
    records = [json.loads(line) for line in text.splitlines()]
    lr = {r["step"]: r["lr"] for r in records if r["kind"] == "train"}
    t = ck.config.train
    old_plan = optim.planned_rate(t, 2, ck.schedule)
    assert old_plan == pytest.approx(t.lr * (1 + math.cos(math.pi * 2 / 6)) / 2)
    assert optim.planned_rate(t, 7, ck.schedule) == t.lr  # the restart's warmup: one step
    assert lr[10] == pytest.approx(t.lr * (1 + math.cos(math.pi * 3 / 19)) / 2)  # the restart
    assert lr[20] == pytest.approx(t.lr * (1 + math.cos(math.pi * 13 / 19)) / 2)
    assert optim.planned_rate(t, 26, ck.schedule) == pytest.approx(0.0, abs=1e-12)


def test_an_interrupted_extension_continues_its_plan_exactly(project):
    shutil.copytree("checkpoints/base", "checkpoints/twin")
    assert invoke("train", "--resume", "checkpoints/base", "--steps", 30).exit_code == 0
    # the twin: the same extension, stopped after 5 of its steps, then resumed to 30
    start = launch.resumed("checkpoints/twin", None, ["train.max_steps=30"], False)
    with rundir.locked(start.run_dir):
        rundir.prepare(start.run_dir, fresh=False)
        stop = lambda: start.ck.step >= 11  # noqa: E731
        assert loop.run(start, should_stop=stop)[0] == "stopped"
    result = invoke("train", "--resume", "checkpoints/twin", "--steps", 30)
    assert result.exit_code == 0 and "extending" not in result.stdout
    a, b = checkpoint.load("checkpoints/base"), checkpoint.load("checkpoints/twin")
    assert a.schedule == b.schedule == [[0, 6, 0], [6, 30, 1]]
    for name in a.params:
        assert (a.params[name] == b.params[name]).all(), name


def test_a_corpus_is_known_by_its_content(project, tmp_path):
    ck = checkpoint.load("checkpoints/base")
    assert ck.corpus["bytes"] == 3000 and len(ck.corpus["sha256"]) == 64
    # another path to the same text: accepted
    copy = tmp_path / "elsewhere.txt"
    shutil.copy("small.txt", copy)
    result = invoke("train", "--resume", "checkpoints/base", "--corpus", copy, "--steps", 8)
    assert result.exit_code == 0, result.output
    # a different text: refused, naming both digests
    (tmp_path / "other.txt").write_text("something else entirely\n" * 200)
    before = tree_state(project)
    result = invoke("train", "--resume", "checkpoints/base", "--corpus", tmp_path / "other.txt",
                    "--steps", 9)  # fmt: skip
    refused(result, "not the text this run trained on (sha256 ")
    assert ck.corpus["sha256"] in result.stderr
    assert tree_state(project) == before
    # from another folder: the recorded absolute path is found
    os.chdir(tmp_path)
    result = invoke("eval", "--checkpoint", project / "checkpoints" / "base", "--json")
    assert result.exit_code == 0, result.output
    os.rename(copy, tmp_path / "moved.txt")
    os.rename(project / "small.txt", project / "gone.txt")
    refused(invoke("eval", "--checkpoint", project / "checkpoints" / "base"), "pass any path")
    result = invoke("eval", "--checkpoint", project / "checkpoints" / "base", "--corpus",
                    tmp_path / "moved.txt")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_import_metadata_that_is_not_what_it_says(project):
    st = pytest.importorskip("safetensors.numpy")
    import safetensors

    assert invoke("export", "checkpoints/base", "m.safetensors").exit_code == 0
    tensors = st.load_file("m.safetensors")
    with safetensors.safe_open("m.safetensors", "np") as f:
        meta = f.metadata()
    codes = json.loads(meta["vocab"])
    cases = {
        "vocab": ("[" * 100000 + "]" * 100000, "the 'vocab' metadata is not JSON (nested too"),
        "config": ("[" * 100000 + "]" * 100000, "the 'config' metadata is not JSON (nested"),
        "byte_level": ("maybe", "the 'byte_level' metadata must be true or false"),
    }
    cases["vocab "] = (json.dumps([c + 0.5 for c in codes]), "not a JSON list of integers")
    cases["vocab  "] = (json.dumps([55296, *codes[1:]]), "code points (no surrogates)")
    before = tree_state(project)
    for key, (value, message) in cases.items():
        st.save_file(tensors, "bad.safetensors", metadata={**meta, key.strip(): value})
        refused(invoke("import", "bad.safetensors", "x.npz"), message)
    assert tree_state(project) == {
        **before,
        "bad.safetensors": tree_state(project)["bad.safetensors"],
    }
    # float16 weights widen to float32, exactly
    half = {k: v.astype("float16") for k, v in tensors.items()}
    st.save_file(
        half, "half.safetensors", metadata={k: v for k, v in meta.items() if k != "config"}
    )
    assert invoke("import", "half.safetensors", "half.npz").exit_code == 0
    ck = checkpoint.load("half.npz")
    assert ck.config.train.dtype == "float32"
    from charlm.handoff import charlm_name

    assert all((ck.params[charlm_name(k)] == v.astype("float32")).all() for k, v in half.items())


def test_ctrl_c_while_the_command_line_is_parsed_is_one_line(monkeypatch):
    # typer itself turns a KeyboardInterrupt while parsing into a silent exit 130
    import typer.core

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.core.TyperGroup, "make_context", interrupted)
    result = invoke("eval", "--json")
    assert result.exit_code == 130 and result.stderr == "charlm: error: interrupted (Ctrl-C)\n"
