"""Every bad input the reliability list names: one line on stderr that says what is wrong and
how to fix it, exit status 2, no traceback, and not a byte changed on disk."""

import shutil
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from charlm.cli import app
from tests.helpers import arrays_of, write_corpus, write_npz

runner = CliRunner()
SMALL = ["--set", "model.hidden_size=8", "--set", "model.num_layers=1",
         "--set", "train.batch_size=3", "--set", "train.seq_len=7"]  # fmt: skip
LATEST = "checkpoints/lstm/latest.npz"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A project folder: corpus.txt and a 3-step run in checkpoints/lstm."""
    root = tmp_path_factory.mktemp("project")
    write_corpus(root / "corpus.txt", 1500)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = runner.invoke(app, ["train", "--corpus", "corpus.txt", "--steps", "3", *SMALL])
    assert result.exit_code == 0, result.output
    return root


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def npz_with(path, **changes):
    """The arrays of checkpoint `path` with some replaced (None: removed), as a new .npz."""
    arrays = arrays_of(path)
    for k, v in changes.items():
        k = k.replace("__", "/").replace("_dot_", ".")
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    return arrays


def pickled(path):
    arrays = npz_with(path)
    arrays["evil"] = np.array([{"run": "code"}], dtype=object)
    return arrays


CONFIG = ["train", "--config", "c.yaml", "--corpus", "corpus.txt", "--run", "new"]
CASES = {
    # config
    "not YAML": ({"c.yaml": "model: [unclosed\n"}, CONFIG, "c.yaml, line 2: not valid YAML"),
    "not a mapping": ({"c.yaml": "- a\n- b\n"}, CONFIG, "the config must be a mapping"),
    "unknown key": (
        {"c.yaml": "model:\n  hiden_size: 3\n"},
        CONFIG,
        "c.yaml, line 2: unknown key 'model.hiden_size'; did you mean 'model.hidden_size'?",
    ),
    "wrong type": (
        {"c.yaml": "model:\n  hidden_size: big\n"},
        CONFIG,
        "model.hidden_size must be an integer, got a string 'big'",
    ),
    "hidden_size 0": (
        {"c.yaml": "model:\n  hidden_size: 0\n"},
        CONFIG,
        "model.hidden_size must be >= 1 and <= 65536, got 0",
    ),
    "hidden_size negative": (
        {"c.yaml": "model:\n  hidden_size: -3\n"},
        CONFIG,
        "model.hidden_size must be >= 1 and <= 65536, got -3",
    ),
    "num_layers 0": (
        {"c.yaml": "model:\n  num_layers: 0\n"},
        CONFIG,
        "model.num_layers must be >= 1 and <= 64, got 0",
    ),
    "dropout 1": (
        {"c.yaml": "model:\n  dropout: 1.0\n"},
        CONFIG,
        "model.dropout must be >= 0.0 and < 1.0",
    ),
    "dropout negative": (
        {"c.yaml": "model:\n  dropout: -0.1\n"},
        CONFIG,
        "model.dropout must be >= 0.0 and < 1.0",
    ),
    "seq_len 0": ({"c.yaml": "train:\n  seq_len: 0\n"}, CONFIG, "train.seq_len must be >= 1"),
    "batch too large": (
        {"c.yaml": "train:\n  batch_size: 400\n"},
        CONFIG,
        "corpus.txt: the training text (1,350 characters) is too short for batch_size 400",
    ),
    "lr 0": ({"c.yaml": "train:\n  lr: 0\n"}, CONFIG, "train.lr must be > 0.0 and <= 1e+38, got 0"),
    "lr negative": (
        {"c.yaml": "train:\n  lr: -1\n"},
        CONFIG,
        "train.lr must be > 0.0 and <= 1e+38, got -1",
    ),
    "unknown optimizer": (
        {"c.yaml": "train:\n  optimizer: rmsprop\n"},
        CONFIG,
        "train.optimizer must be one of adagrad, sgd, adam, got 'rmsprop'",
    ),
    "unknown cell": (
        {"c.yaml": "model:\n  type: transformer\n"},
        CONFIG,
        "model.type must be one of rnn, lstm, gru, got 'transformer'",
    ),
    "--set without =": ({}, ["train", "--set", "train.lr"], "expected section.key=value"),
    "--set unknown key": (
        {},
        ["train", "--set", "train.lrr=1"],
        "unknown key 'train.lrr'; did you mean 'train.lr'?",
    ),
    # corpus
    "corpus missing": (
        {},
        ["train", "--corpus", "nope.txt", "--run", "new"],
        "nope.txt: corpus file not found",
    ),
    "corpus a directory": (
        {},
        ["train", "--corpus", "checkpoints", "--run", "new"],
        "checkpoints: is in checkpoints, where runs are written (output.dir): a run's files",
    ),
    "corpus empty": (
        {"e.txt": ""},
        ["train", "--corpus", "e.txt", "--run", "new"],
        "e.txt: the corpus is empty",
    ),
    "corpus binary": (
        {"b.txt": b"text\x00\x01\xff\xfe rest"},
        ["train", "--corpus", "b.txt", "--run", "new"],
        "b.txt: not valid utf-8 at byte offset 6",
    ),
    "corpus too short": (
        {"s.txt": "a short text\n" * 3},
        ["train", "--corpus", "s.txt", "--run", "new"],
        "is too short for batch_size 16 x seq_len 64",
    ),
    "validation split too small": (
        {},
        [
            "train",
            "--corpus",
            "corpus.txt",
            "--run",
            "new",
            "--set",
            "data.val_fraction=0.004",
            *SMALL,
        ],
        "the validation split (6 characters) cannot hold one window of seq_len 7",
    ),  # fmt: skip
    # checkpoints
    "checkpoint missing": ({}, ["sample", "--checkpoint", "x.npz"], "x.npz: checkpoint not found"),
    "checkpoint not npz": (
        {"x.npz": "hello"},
        ["sample", "--checkpoint", "x.npz"],
        "not a readable charlm checkpoint",
    ),
    "checkpoint truncated": (
        {"x.npz": lambda root: (root / LATEST).read_bytes()[:3000]},
        ["eval", "--checkpoint", "x.npz"],
        "it may be truncated",
    ),
    "checkpoint corrupted": (
        {"x.npz": lambda root: corrupt((root / LATEST).read_bytes())},
        ["eval", "--checkpoint", "x.npz"],
        "not a readable charlm checkpoint",
    ),
    "newer format": (
        {"x.npz": lambda root: npz_with(root / LATEST, meta__format=np.int64(2))},
        ["sample", "--checkpoint", "x.npz"],
        "checkpoint format 2, this charlm reads format 1",
    ),
    "missing arrays": (
        {"x.npz": lambda root: npz_with(root / LATEST, weight_hh_l0=None)},
        ["sample", "--checkpoint", "x.npz"],
        "missing parameter 'weight_hh_l0' for a lstm x1",
    ),
    "wrong shape": (
        {"x.npz": lambda root: npz_with(root / LATEST, head_dot_bias=np.zeros(3, np.float32))},
        ["sample", "--checkpoint", "x.npz"],
        "parameter 'head.bias' is float32 (3,), its config needs a float array",
    ),
    "pickled object": (
        {"x.npz": lambda root: pickled(root / LATEST)},
        ["sample", "--checkpoint", "x.npz"],
        "x.npz: holds a pickled Python object, which charlm never loads",
    ),
    "resume with another model": (
        {"c.yaml": "model:\n  hidden_size: 9\n  num_layers: 1\n"},
        ["train", "--resume", "--config", "c.yaml", "--steps", "6"],
        "cannot change model.hidden_size when resuming",
    ),
    # sampling
    "prime outside the vocabulary": (
        {},
        ["sample", "--prime", "the Zoo"],
        "--prime: 1 character ('Z') not in the model's vocabulary; pass --skip-unknown",
    ),
    "temperature 0": ({}, ["sample", "--temperature", "0"], "--temperature 0: must be > 0"),
    "temperature negative": ({}, ["sample", "--temperature", "-1"], "must be > 0 (or use"),
    "length negative": ({}, ["sample", "--length", "-1"], "--length -1: must be 0 or more"),
    "top-k 0": ({}, ["sample", "--top-k", "0"], "--top-k 0: must be 1 or more"),
    "blanks for a unidirectional model": (
        {},
        ["sample", "--prime", "the ___ sat"],
        "this model reads left to right",
    ),
    # where the run goes
    "output folder not writable": (
        {},
        ["train", "--corpus", "corpus.txt", "--set", "output.dir=corpus.txt", *SMALL],
        "cannot write to the run folder corpus.txt/lstm",
    ),
}


def corrupt(blob):
    """A checkpoint with a stretch of its first array's data overwritten: the zip's CRC fails."""
    blob = bytearray(blob)
    blob[200:260] = bytes(60)
    return bytes(blob)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(template, tmp_path, monkeypatch, case):
    files, args, message = CASES[case]
    root = tmp_path / "p"
    shutil.copytree(template, root)
    for name, content in files.items():
        content = content(root) if callable(content) else content
        if isinstance(content, dict):
            write_npz(root / name, content)
        else:
            (root / name).write_bytes(content.encode() if isinstance(content, str) else content)
    monkeypatch.chdir(root)
    before = snapshot(root)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("charlm: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert snapshot(root) == before


def test_the_pickled_checkpoint_really_holds_a_pickle(template):
    path = template / "evil.npz"
    write_npz(path, pickled(template / LATEST))
    with zipfile.ZipFile(path) as z:
        assert b"pickle" in z.read("evil.npy")[:128] or b"'|O'" in z.read("evil.npy")[:128]
    path.unlink()


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(template, tmp_path, monkeypatch):
    root = tmp_path / "p"
    shutil.copytree(template, root)
    monkeypatch.chdir(root)
    best = root / "checkpoints" / "lstm" / "best.npz"
    before = (root / LATEST).read_bytes(), best.read_bytes()

    def savez_then_disk_full(f, **arrays):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_disk_full)
    result = runner.invoke(app, ["train", "--resume", "--steps", "6"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "charlm: error: cannot write checkpoint checkpoints/lstm/best.npz "
        "(No space left on device); the previous checkpoint there, if any, is unchanged"
    )  # the first save of the resumed run: best.npz, at its last step's evaluation
    assert ((root / LATEST).read_bytes(), best.read_bytes()) == before
    assert not [p.name for p in (root / "checkpoints" / "lstm").iterdir() if p.suffix == ".tmp"]
