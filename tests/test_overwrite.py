"""Nothing a user has is overwritten or lost: the guarded writer (charlm.files) and the run
folder rule (charlm.run.rundir), through the real CLI. Each refusal is one line, exit status 2, and
a snapshot of the folder shows that nothing changed."""

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from charlm import files
from charlm.errors import CharlmError
from charlm.run import checkpoint
from tests.helpers import TINY as S
from tests.helpers import invoke, refused, tree_state, write_corpus


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """corpora/small.txt, and two 6-step runs: checkpoints/base and checkpoints/other."""
    root = tmp_path_factory.mktemp("project")
    (root / "corpora").mkdir()
    write_corpus(root / "corpora" / "small.txt", 3000)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for run in ("base", "other"):
            result = invoke("train", "--corpus", "corpora/small.txt", "--run", run, "--steps", 6,
                            "--set", "train.eval_every=3", *S)  # fmt: skip
            assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(template, tmp_path, monkeypatch):
    root = tmp_path / "p"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.chdir(root)
    return root


def test_resume_into_another_runs_folder_is_refused(project):
    before = tree_state(project)
    refused(
        invoke("train", "--resume", "checkpoints/base", "--run", "other", "--steps", 8),
        "checkpoints/other already holds a run; continue that run with",
    )
    refused(
        invoke("train", "--resume", "checkpoints/base", "--set", "output.run=other", "--steps", 8),
        "checkpoints/other already holds a run",
    )
    assert tree_state(project) == before


def test_resume_into_a_new_folder_keeps_the_source_and_its_name(project):
    base = tree_state(project / "checkpoints" / "base")
    result = invoke("train", "--resume", "checkpoints/base", "--set", "output.dir=X", "--steps", 8)
    assert result.exit_code == 0, result.output
    assert checkpoint.load("X/base").step == 8 and not (project / "X" / "lstm").exists()
    assert tree_state(project / "checkpoints" / "base") == base
    text = Path("X/base/metrics.jsonl").read_text()
    steps = [json.loads(line)["step"] for line in text.splitlines()]
    assert steps == sorted(steps) and steps[0] < 6 and steps[-1] == 8  # the history came along
    result = invoke("train", "--resume", "checkpoints/base", "--run", "c-two", "--steps", 7)
    assert result.exit_code == 0 and checkpoint.load("checkpoints/c-two").step == 7
    result = invoke("train", "--resume", "checkpoints/base", "--run", "other", "--force",
                    "--steps", 7)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert checkpoint.load("checkpoints/other").config.output.run == "other"


def test_a_folder_with_only_best_or_metrics_holds_a_run(project):
    run = project / "checkpoints" / "killed"
    run.mkdir()
    shutil.copy(project / "checkpoints" / "base" / "best.npz", run / "best.npz")
    shutil.copy(project / "checkpoints" / "base" / "metrics.jsonl", run / "metrics.jsonl")
    before = tree_state(project)
    refused(
        invoke("train", "--corpus", "corpora/small.txt", "--run", "killed", "--steps", 3, *S),
        "checkpoints/killed already holds a run; continue it with",
    )
    assert tree_state(project) == before
    result = invoke("train", "--resume", "checkpoints/killed", "--steps", 9)
    assert result.exit_code == 0, result.output
    assert "has no latest.npz (the run stopped before its first one): continuing from its " \
           "best.npz" in result.stdout  # fmt: skip
    assert checkpoint.load(run / "latest.npz").step == 9
    (run / "latest.npz").unlink()
    (run / "best.npz").unlink()
    refused(invoke("train", "--resume", "checkpoints/killed", "--steps", 12), "no latest.npz or")
    refused(
        invoke("train", "--corpus", "corpora/small.txt", "--run", "killed", "--steps", 3, *S),
        "(it holds metrics.jsonl)",
    )


@pytest.mark.parametrize("name", ["", "../../x", "/abs", ".", "..", ".hidden", "a/b"])
def test_run_names_are_plain_folder_names(project, name):
    before = tree_state(project)
    for how in (["--run", name], ["--set", f"output.run={name}"]):
        result = invoke("train", "--corpus", "corpora/small.txt", *how, "--steps", 2, "--force", *S)
        refused(result, "output.run must be a plain folder name")
    assert tree_state(project) == before


def special_targets(root):
    """A FIFO, a symlink to a file, a dangling symlink, a folder and a device."""
    os.mkfifo(root / "fifo")
    (root / "target.txt").write_text("keep me")
    os.symlink("target.txt", root / "link")
    os.symlink("nowhere.txt", root / "dangling")
    (root / "folder").mkdir()
    return {"fifo": "a FIFO", "link": "symbolic link", "dangling": "symbolic link",
            "folder": "a folder", "/dev/full": "a device", "/dev/null": "a device"}  # fmt: skip


COMMANDS = {
    "export": lambda out: ["export", "checkpoints/base", out, "--force"],
    "import": lambda out: ["import", "model.safetensors", out, "--force"],
    "corpus make": lambda out: [
        "corpus",
        "make",
        "recall",
        "--size",
        200,
        "--gap",
        3,
        "--out",
        out,
        "--force",
    ],  # fmt: skip
    "saliency --html": lambda out: [
        "saliency",
        "--checkpoint",
        "checkpoints/base",
        "the cat",
        "--html",
        out,
        "--force",
    ],  # fmt: skip
    "gradflow --png": lambda out: [
        "gradflow",
        "--type",
        "rnn",
        "--hidden",
        4,
        "--length",
        5,
        "--png",
        out,
        "--force",
    ],  # fmt: skip
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_force_never_replaces_a_device_fifo_symlink_or_folder(project, command):
    pytest.importorskip("safetensors")
    if command == "gradflow --png":
        pytest.importorskip("matplotlib")
    assert invoke("export", "checkpoints/base", "model.safetensors").exit_code == 0
    kinds = special_targets(project)
    before = tree_state(project)
    for target, kind in kinds.items():
        refused(invoke(*COMMANDS[command](target)), kind)
    assert tree_state(project) == before
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert (project / "target.txt").read_text() == "keep me"


def test_force_never_writes_over_the_commands_own_input(project):
    pytest.importorskip("safetensors")
    before = tree_state(project)
    for source in ("checkpoints/base", "checkpoints/base/latest.npz"):
        refused(
            invoke("export", source, "checkpoints/base/latest.npz", "--force"),
            "is a file this command reads",
        )
    os.link("checkpoints/base/latest.npz", "hardlink.npz")  # the same file under another name
    refused(invoke("export", "checkpoints/base", "hardlink.npz", "--force"), "this command reads")
    os.unlink("hardlink.npz")
    assert tree_state(project) == before
    assert invoke("export", "checkpoints/base", "m.safetensors").exit_code == 0
    refused(invoke("import", "m.safetensors", "m.safetensors", "--force"), "this command reads")
    (project / "page.txt").write_text("the cat sat")
    refused(
        invoke("saliency", "--checkpoint", "checkpoints/base", "--file", "page.txt",
               "--html", "page.txt", "--force"),
        "this command reads",
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["saliency", "--checkpoint", "checkpoints/base", "the cat", "--html", "old.txt"],
        ["gradflow", "--type", "rnn", "--hidden", 4, "--length", 5, "--png", "old.txt"],
    ],
)
def test_pages_and_plots_refuse_an_existing_file_without_force(project, args):
    if "--png" in args:
        pytest.importorskip("matplotlib")
    (project / "old.txt").write_text("mine")
    refused(invoke(*args), "old.txt already exists; pass --force to replace it")
    assert (project / "old.txt").read_text() == "mine"
    result = invoke(*args, "--force")
    assert result.exit_code == 0, result.output
    assert (project / "old.txt").read_bytes() != b"mine"


def test_the_writer_itself(tmp_path):
    target = tmp_path / "a.txt"
    files.write_bytes(target, b"one", "file")
    with pytest.raises(CharlmError, match="already exists; pass --force"):
        files.write_bytes(target, b"two", "file")
    files.write_bytes(target, b"two", "file", force=True)
    files.write_bytes(target, b"three", "file", owned=True)
    assert target.read_bytes() == b"three"
    with pytest.raises(CharlmError, match="this command reads"):
        files.write_bytes(target, b"four", "file", force=True, inputs=[target])
    os.symlink(target, tmp_path / "l")
    with pytest.raises(CharlmError, match="symbolic link"):
        files.write_bytes(tmp_path / "l", b"five", "file", owned=True)
    assert target.read_bytes() == b"three" and os.path.islink(tmp_path / "l")
    files.write_bytes(tmp_path / "new" / "deep.txt", b"x", "file")  # folders are made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "l", "new"]  # no temporaries


def test_a_run_never_rewrites_a_file_it_reads(project):
    run = project / "checkpoints" / "tricky"
    run.mkdir()
    shutil.copy("corpora/small.txt", run / "metrics.jsonl")
    before = tree_state(project)
    refused(
        invoke("train", "--corpus", run / "metrics.jsonl", "--run", "tricky", "--force",
               "--steps", 2, *S),
        "metrics.jsonl is a file this command reads; a run rewrites it",
    )  # fmt: skip
    assert tree_state(project) == before


@pytest.mark.parametrize(
    "args",
    [
        ["report", "checkpoints/base", "--out", "{out}/r.html"],
        ["export", "checkpoints/base", "{out}/m.safetensors"],
        ["gradflow", "--type", "rnn", "--length", "5", "--png", "{out}/g.png"],
        ["neurons", "--checkpoint", "checkpoints/base", "--html", "{out}/n.html", "the cat"],
        ["corpus", "make", "recall", "--size", "100", "--gap", "3", "--out", "{out}/c.txt"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_every_output_makes_its_missing_folders_and_a_refusal_makes_none(project, args):
    """One rule for every file a command writes (report --out as export): missing folders
    are made, as the file is written; a refused command leaves no folder behind."""
    if args[0] == "export":
        pytest.importorskip("safetensors")
    result = invoke(*(a.replace("{out}", "new/deeper") for a in args))
    assert result.exit_code == 0, result.output
    written = [p for p in (project / "new" / "deeper").iterdir()]
    assert len(written) == 1 and written[0].stat().st_size > 0
    broken = [a.replace("{out}", "other/deep") for a in args]
    broken[broken.index("--checkpoint") + 1 if "--checkpoint" in broken else 1] = "missing"
    if args[0] in ("gradflow", "corpus"):
        broken += ["--seed", "-1"]
    refused(invoke(*broken), "")
    assert not (project / "other").exists()
