"""Fine-tuning (`charlm train --init-from`): a new run from another's weights and model, with
a fresh optimiser and schedule; it learns a second text faster than a fresh model; new
characters grow the vocabulary with fresh rows; the source is never written; the run records
where it started, and runs and the report show it; each refusal is one line."""

import hashlib
import json

import numpy as np
import pytest

import charlm
from charlm.run import checkpoint
from tests.helpers import invoke, refused, tree_state, write_corpus

SMALL = ["--set", "model.hidden_size=32", "--set", "model.num_layers=1",
         "--set", "train.batch_size=8", "--set", "train.seq_len=32",
         "--set", "train.report=false", "--set", "train.eval_every=1000"]  # fmt: skip


TRAIN = SMALL[4:]  # the train.* settings: the model comes from the source


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("ft")
    write_corpus(root / "first.txt", 20000, seed=1)
    write_corpus(root / "second.txt", 6000, seed=2)  # the same words, another order
    (root / "second.txt").write_text((root / "second.txt").read_text() + "#{_}\n" * 5)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = invoke("train", "--corpus", "first.txt", "--run", "base", "--steps", 300, *SMALL)
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(source, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(source, tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    return tmp_path / "p"


def test_fine_tuning_learns_the_second_text_faster_and_never_writes_its_source(project):
    base = project / "checkpoints" / "base"
    before = {p.name: sha(p) for p in base.iterdir()}
    args = ["--corpus", "second.txt", "--steps", 40, *SMALL]
    tuned = invoke("train", "--init-from", "checkpoints/base", "--run", "ft", *args)
    assert tuned.exit_code == 0, tuned.output
    assert "the vocabulary grows by 4 ('#' '_' '{' '}') with fresh rows" in tuned.stdout
    scratch = invoke("train", "--run", "scratch", *args)
    assert scratch.exit_code == 0, scratch.output
    ft, fresh = charlm.load("checkpoints/ft"), charlm.load("checkpoints/scratch")
    assert ft.evaluate()["loss"] < fresh.evaluate()["loss"] - 0.2
    assert {p.name: sha(p) for p in base.iterdir()} == before
    origin = ft.checkpoint.init_from
    assert origin == {"path": str((base / "latest.npz").resolve()), "added": 4,
                      "sha256": before["latest.npz"]}  # fmt: skip
    # a fresh optimiser and schedule: its own 40 steps, not the source's 300
    assert ft.checkpoint.step == 40 and ft.checkpoint.schedule[-1][1] == 40


def test_new_characters_get_fresh_rows_and_old_ones_keep_theirs(project):
    src = checkpoint.load(project / "checkpoints" / "base" / "latest.npz")
    result = invoke("train", "--init-from", "checkpoints/base", "--corpus", "second.txt",
                    "--run", "still", "--steps", 1, *SMALL, "--set", "train.lr=1e-30")  # fmt: skip
    assert result.exit_code == 0, result.output
    ck = charlm.load("checkpoints/still").checkpoint
    at = np.searchsorted(ck.vocab.codes, src.vocab.codes)
    assert np.array_equal(ck.vocab.codes[at], src.vocab.codes)  # the old symbols, in order
    new = np.setdiff1d(np.arange(len(ck.vocab)), at)
    assert "".join(chr(c) for c in ck.vocab.codes[new]) == "#_{}"
    np.testing.assert_allclose(ck.params["head.weight"][at], src.params["head.weight"], atol=1e-6)
    np.testing.assert_allclose(
        ck.params["weight_ih_l0"][:, at], src.params["weight_ih_l0"], atol=1e-6
    )  # fmt: skip  (a one-hot input: a column a symbol)
    np.testing.assert_allclose(ck.params["weight_hh_l0"], src.params["weight_hh_l0"], atol=1e-6)
    low = src.params["head.bias"].min()
    np.testing.assert_allclose(ck.params["head.bias"][new], low, atol=1e-6)


def test_runs_and_the_report_say_where_a_run_started(project):
    args = ["--corpus", "second.txt", "--steps", 2, *SMALL, "--set", "train.report=true"]
    assert invoke("train", "--init-from", "checkpoints/base", "--run", "ft", *args).exit_code == 0
    wide = invoke("runs", "--wide", "--json")
    rows = {r["name"]: r for r in json.loads(wide.stdout)}
    assert rows["ft"]["init_from"]["added"] == 4 and rows["base"]["init_from"] is None
    from charlm.cli.runs import _origin

    assert _origin(rows["ft"]["init_from"]) == "base"  # the --wide table's "from" column
    page = (project / "checkpoints" / "ft" / "report.html").read_text()
    assert "fine-tuned from" in page and "vocabulary +4" in page
    # a resume keeps the record
    assert invoke("train", "--resume", "checkpoints/ft", "--steps", 3).exit_code == 0
    assert charlm.load("checkpoints/ft").checkpoint.init_from["added"] == 4


def test_a_model_brought_in_from_pytorch_can_be_fine_tuned(project):
    pytest.importorskip("safetensors")
    assert invoke("export", "checkpoints/base", "b.safetensors").exit_code == 0
    assert invoke("import", "b.safetensors", "imported.npz").exit_code == 0
    result = invoke("train", "--init-from", "imported.npz", "--corpus", "second.txt",
                    "--run", "fromtorch", "--steps", 2, *SMALL)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        charlm.load("checkpoints/fromtorch").checkpoint.init_from["path"].endswith("imported.npz")
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "model.hidden_size=64"], "--set model.hidden_size=64: the model comes from "
         "checkpoints/base/latest.npz (model.hidden_size 32); drop the --set"),
        (["--run", "base", "--force"], "checkpoints/base holds latest.npz, the checkpoint this "
         "run starts from; train into another folder"),
        (["--resume"], "--resume continues a run and --init-from starts a new one from it"),
        (["--set", "data.encoding=bytes"], "the model reads characters; set data.encoding to"),
    ],
)  # fmt: skip
def test_fine_tuning_refusals_are_one_line_and_write_nothing(project, args, message):
    before = tree_state(project)
    head = ["train", "--init-from", "checkpoints/base", "--corpus", "second.txt", "--steps", 2]
    refused(invoke(*head, *TRAIN, *args), message)
    assert tree_state(project) == before


def test_an_init_from_that_is_not_a_checkpoint_is_one_line(project):
    refused(invoke("train", "--init-from", "nowhere", "--corpus", "second.txt"),
            "nowhere: checkpoint not found")  # fmt: skip
    refused(invoke("train", "--init-from", "second.txt", "--corpus", "second.txt"),
            "second.txt: not a readable charlm checkpoint")  # fmt: skip
