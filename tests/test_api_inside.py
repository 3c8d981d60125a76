"""Every inspection command is one API call: the call's result is what the command prints
with --json, and the API refuses an argument naming its parameter, where the command names
its option."""

import json

import numpy as np
import pytest

import charlm
from charlm.errors import ArgumentError
from charlm.inspect.units import correlations
from tests.helpers import TINY, invoke, refused

TEXT = "the cat sat on the mat\nand then the dog ran to it\n" * 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inside")
    from tests.helpers import write_corpus

    write_corpus(folder / "corpus.txt", 3000)
    sets = [TINY[i + 1] for i in range(0, len(TINY), 2)] + [f"output.dir={folder}/checkpoints"]
    model = charlm.train(corpus=str(folder / "corpus.txt"), steps=4, overrides=sets, run="m")
    return folder, model


def cli_json(folder, monkeypatch, *args):
    monkeypatch.chdir(folder)
    result = invoke(*args, "--checkpoint", "checkpoints/m", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_neurons_gates_score_saliency_are_what_the_commands_print(trained, monkeypatch):
    folder, model = trained
    monkeypatch.chdir(folder)
    found = model.neurons(TEXT, find="space", top=3)  # one str: one feature
    assert list(found.found) == ["space"] and len(found.found["space"][0]) == 3
    acts = np.stack([a for _, a in found.recording.states("h")], axis=1)
    r = correlations(acts, [c.isspace() for c in TEXT])
    assert found.found["space"][0][0][1] == pytest.approx(r[np.argmax(np.abs(r))])
    page = cli_json(folder, monkeypatch, "neurons", TEXT, "--find", "space", "--top", "3")
    assert page == json.loads(json.dumps(found.to_dict()))
    assert cli_json(folder, monkeypatch, "gates", TEXT) == model.gates(TEXT).to_dict()
    assert cli_json(folder, monkeypatch, "score", TEXT) == json.loads(
        json.dumps(model.score(TEXT).to_dict())
    )
    sal = model.saliency(TEXT[:30], at=12)
    assert cli_json(folder, monkeypatch, "saliency", TEXT[:30], "--at", "12") == json.loads(
        json.dumps(sal.to_dict())
    )


def test_gradflow_and_gradcheck_are_what_the_commands_compute(trained, monkeypatch):
    folder, model = trained
    monkeypatch.chdir(folder)
    flows = charlm.gradflow([model, "checkpoints/m"], cells=["rnn"], text=TEXT, length=30)
    assert len(flows) == 3 and np.array_equal(flows[0].norm, flows[1].norm)
    printed = cli_json(folder, monkeypatch, "gradflow", TEXT, "--type", "rnn", "--length", "30")
    fresh = [m for m in printed["models"] if m["model"].startswith("fresh")]
    assert fresh == [json.loads(json.dumps(flows[2].to_dict()))]
    rows, _ = charlm.gradcheck(cells="gru", layers=1, bidirectional=False)
    assert {r.arch for r in rows} == {"gru x1"} and all(r.passed for r in rows)


@pytest.mark.parametrize(
    "call, python, cli",
    [
        (lambda m: m.sample("the", top_k=0), "top_k=0: must be 1 or more",
         ["sample", "--top-k", "0"]),
        (lambda m: m.neurons(TEXT, state="x"), "state='x': expected h or c",
         ["neurons", TEXT, "--state", "x"]),
        (lambda m: m.saliency(TEXT[:20], at=99), "at=99: must be from 1 to 20",
         ["saliency", TEXT[:20], "--at", "99"]),
        (lambda m: m.sample(length="5"), "length='5': must be a whole number", None),
        (lambda m: m.evaluate(path="a", corpus="b"), "path evaluates a file, corpus the run's",
         ["eval", "--text", "a", "--corpus", "b"]),
        (lambda m: charlm.gradflow(cells="tree"), "cells='tree': expected one of rnn, lstm, gru",
         None),
    ],
)  # fmt: skip
def test_a_refused_argument_is_named_as_the_caller_wrote_it(trained, monkeypatch, call,
                                                             python, cli):  # fmt: skip
    folder, model = trained
    monkeypatch.chdir(folder)
    with pytest.raises(ArgumentError) as e:
        call(model)
    assert str(e.value).startswith(python), str(e.value)
    if cli:
        flag = cli[-2]
        refused(invoke(*cli, "--checkpoint", "checkpoints/m"), f"{flag} ")


def test_train_takes_typed_values_and_one_override_as_one(trained, monkeypatch):
    folder, _ = trained
    monkeypatch.chdir(folder)
    sets = [TINY[i + 1] for i in range(0, len(TINY), 2)]
    with pytest.raises(ArgumentError, match="^steps='3': train.max_steps must be an integer"):
        charlm.train(corpus="corpus.txt", steps="3", run="typed", overrides=sets)
    with pytest.raises(ArgumentError, match="^steps and minutes both say how long"):
        charlm.train(corpus="corpus.txt", steps=3, minutes=1, run="typed")
    model = charlm.train(corpus="corpus.txt", steps=2, run="one", overrides="train.lr=0.01",
                         config=None)  # fmt: skip
    assert model.config.train.lr == 0.01 and model.config.train.max_steps == 2


def test_runs_import_and_corpus_make_are_calls_too(trained, monkeypatch):
    folder, model = trained
    monkeypatch.chdir(folder)
    assert json.loads(invoke("runs", "--json").stdout) == json.loads(json.dumps(charlm.runs()))
    with pytest.raises(ArgumentError, match="^sort='x': expected one of best, name"):
        charlm.runs(sort="x")
    path, text, written = charlm.make_corpus("recall", size=500, seed=2, out="r.txt")
    assert written and path.read_text() == text
    result = invoke("corpus", "make", "recall", "--size", 500, "--seed", 2, "--out", "r.txt")
    assert result.exit_code == 0 and result.stdout.startswith("unchanged r.txt")
    assert charlm.make_corpus("recall", size=500, seed=2, out="r.txt")[2] is False  # unchanged
    pytest.importorskip("safetensors")
    model.export("m.safetensors")
    back = charlm.import_weights("m.safetensors", "back.npz")
    assert all(np.array_equal(back.params[k], p) for k, p in model.params.items())


def test_braces_in_a_refused_value_are_text(trained, monkeypatch):
    """A user's blank character or path quoted in a refusal is never read as a placeholder."""
    folder, model = trained
    monkeypatch.chdir(folder)
    with pytest.raises(ArgumentError, match=r"^prime: has blanks '\{', but this model reads"):
        model.fill("a{b", blank="{")
    (folder / "{x}.txt").write_text("t")
    with pytest.raises(ArgumentError, match=r"^path: \{x\}\.txt: too short to evaluate"):
        model.evaluate(path="{x}.txt")
    refused(invoke("eval", "--checkpoint", "checkpoints/m", "--text", "{x}.txt"),
            "--text: {x}.txt: too short")  # fmt: skip
