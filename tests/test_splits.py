"""The held-out test split (data.test_fraction, enwik8's standard 90/5/5): never trained or
validated on, and evaluated on its own with `charlm eval --split test`."""

import json

import pytest

import charlm
from charlm.run import config, train
from tests.helpers import invoke, refused, write_corpus

SMALL = ["model.hidden_size=16", "model.num_layers=1", "train.batch_size=4", "train.seq_len=16",
         "train.report=false", "data.val_fraction=0.1", "data.test_fraction=0.2"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("splits")
    write_corpus(root / "c.txt", 5000, seed=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        model = charlm.train(corpus="c.txt", steps=30, run="t", overrides=SMALL)
    return root, model


def test_the_test_split_is_the_texts_end_and_training_never_reads_it(run):
    root, model = run
    cfg = config.load(None, [f"data.corpus={root / 'c.txt'}", *SMALL])
    corpus = train.load_corpus(cfg)
    ids = corpus.vocab.encode((root / "c.txt").read_text())
    train_ids, val, test = corpus.batches.ids, corpus.val, corpus.test
    assert (len(train_ids), len(val), len(test)) == (3500, 500, 1000)
    assert (train_ids == ids[:3500]).all() and (val == ids[3500:4000]).all()
    assert (test == ids[4000:]).all()


def test_eval_of_the_test_split_is_eval_of_those_characters(run, tmp_path):
    root, model = run
    (tmp_path / "end.txt").write_text((root / "c.txt").read_text()[4000:])
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        test = model.evaluate(split="test")
        val = model.evaluate()
    alone = model.evaluate(path=tmp_path / "end.txt")
    assert test["loss"] == pytest.approx(alone["loss"], rel=1e-6) and test["chars"] == 999
    assert test["source"].startswith("the test split of") and val["chars"] == 499
    assert abs(test["loss"] - val["loss"]) > 1e-6  # another text, another figure


def test_charlm_eval_split_test_from_the_command_line(run, monkeypatch):
    root, model = run
    monkeypatch.chdir(root)
    result = invoke("eval", "--checkpoint", "checkpoints/t", "--split", "test", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["loss"] == pytest.approx(model.evaluate(split="test")["loss"])
    refused(invoke("eval", "--checkpoint", "checkpoints/t", "--split", "tes"),
            "--split 'tes': expected validation or test")  # fmt: skip
    whole = "--split chooses a split of the run's corpus; a text or file is read whole"
    refused(invoke("eval", "--checkpoint", "checkpoints/t", "--split", "test", "--text", "c.txt"),
            whole)  # fmt: skip


def test_a_run_without_a_test_split_says_so(workdir):
    model = charlm.train(corpus="corpus.txt", steps=2, run="none", overrides=SMALL[:-1])
    with pytest.raises(charlm.CharlmError, match=r"^split='test': this run holds out no test "):
        model.evaluate(split="test")
    none = "--split 'test': this run holds out no test split (data.test_fraction is 0)"
    refused(invoke("eval", "--checkpoint", "checkpoints/none", "--split", "test"), none)


def test_fractions_that_leave_nothing_to_train_on_are_refused(workdir):
    refused(invoke("train", "--corpus", "corpus.txt", "--steps", "2",
                   "--set", "data.val_fraction=0.5", "--set", "data.test_fraction=0.5"),
            "--set data.test_fraction=0.5: data.val_fraction (0.5) and data.test_fraction (0.5) "
            "leave no text to train on; lower them")  # fmt: skip
    assert not (workdir / "checkpoints").exists()
