"""The public API (charlm.load, charlm.train, Model): the same results as the CLI, which is a
layer over it, and an exact resume through charlm.train."""

import json

import numpy as np
import pytest

import charlm
from charlm.nn import head
from charlm.nn.model import forward
from tests.helpers import TINY, invoke


def overrides():
    return [TINY[i + 1] for i in range(0, len(TINY), 2)] + ["train.eval_every=5"]


def test_train_returns_the_model_and_calls_back_every_step(workdir):
    seen = []
    model = charlm.train(corpus="corpus.txt", steps=8, run="api", overrides=overrides(),
                         callback=seen.append)  # fmt: skip
    assert isinstance(model, charlm.Model) and model.step == 8 and model.outcome == "done"
    assert [f["step"] for f in seen] == list(range(1, 9)) and seen[-1]["total"] == 8
    assert set(seen[0]) == {"step", "total", "epoch", "loss", "smooth_loss", "grad_norm", "lr",
                            "chars_per_s"}  # fmt: skip
    assert seen[-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # the cosine's end
    loaded = charlm.load("checkpoints/api")
    assert loaded.step == 8 and loaded.config == model.config
    for name, p in model.params.items():
        assert (loaded.params[name] == p).all()
    with pytest.raises(charlm.CharlmError, match="already holds a run"):
        charlm.train(corpus="corpus.txt", steps=8, run="api", overrides=overrides())


def test_train_resumes_exactly(workdir):
    once = charlm.train(corpus="corpus.txt", steps=10, run="once", overrides=overrides())
    steps = []
    charlm.train(corpus="corpus.txt", steps=10, run="twice", overrides=overrides(),
                 callback=steps.append, should_stop=lambda: len(steps) >= 4)  # fmt: skip
    stopped = charlm.load("checkpoints/twice")
    assert 0 < stopped.step < 10
    twice = charlm.train(resume="checkpoints/twice")
    assert twice.step == 10
    for name, p in once.params.items():
        assert (twice.params[name] == p).all(), name


def test_sample_and_eval_are_what_the_cli_prints(workdir):
    assert invoke("train", "--corpus", "corpus.txt", "--steps", 6, *TINY).exit_code == 0
    model = charlm.load()  # the newest checkpoint, as the CLI's default
    cli = invoke("sample", "--prime", "the ", "--length", 40, "--seed", 3)
    assert cli.exit_code == 0 and cli.stdout == model.sample("the ", length=40, seed=3) + "\n"
    streamed = "".join(model.generate("the ", length=40, seed=3))
    assert "the " + streamed == model.sample("the ", length=40, seed=3)
    cli = json.loads(invoke("eval", "--json").stdout)
    result = model.evaluate()
    assert {k: result[k] for k in cli} == cli and result["source"].startswith("the validation")
    text = (workdir / "corpus.txt").read_text()[:500]
    assert model.evaluate(text)["chars"] == 499
    with pytest.raises(charlm.CharlmError, match="reads left to right"):
        model.fill("the _at")


def test_forward_gives_the_logits_and_every_layers_states(workdir):
    cfg = overrides() + ["model.num_layers=2", "model.type=lstm"]
    model = charlm.train(corpus="corpus.txt", steps=2, run="f", overrides=cfg)
    out = model.forward("the cat sat")
    ids = model.vocab.encode("the cat sat")
    logits, stateT, _ = forward(model.params, model.spec, ids[:, None])
    assert np.array_equal(out["logits"], logits[:, 0]) and out["chars"] == list("the cat sat")
    assert len(out["h"]) == len(out["c"]) == 2 and out["h"][0].shape == (11, 8)
    assert np.array_equal(out["h"][1][-1], stateT[0][1, 0])  # the top layer's last h
    assert np.array_equal(out["c"][0][-1], stateT[1][0, 0])
    p = np.exp(head.log_softmax(out["logits"]))
    assert np.allclose(p.sum(-1), 1)
    with pytest.raises(charlm.CharlmError, match="the text is empty"):
        model.forward("")
    with pytest.raises(charlm.CharlmError, match="not in the model's vocabulary"):
        model.forward("the cat sat QQ")


def test_a_bidirectional_model_fills_and_reads_both_ways(workdir):
    cfg = overrides() + ["model.bidirectional=true", "model.type=gru"]
    model = charlm.train(corpus="corpus.txt", steps=2, run="bi", overrides=cfg)
    filled = model.fill("the c_t sat", seed=0)
    assert len(filled) == 11 and filled[:5] == "the c" and filled[6:] == "t sat"
    out = model.forward("the cat")
    assert len(out["h"]) == 2 and "c" not in out  # forward layer, then backward layer
    with pytest.raises(charlm.CharlmError, match="has no blank"):
        model.fill("no blanks here")
    with pytest.raises(charlm.CharlmError, match="fills blanks"):
        next(model.generate("the"))


def test_config_and_errors_are_public():
    cfg = charlm.Config()
    assert cfg.model.type == "lstm" and issubclass(charlm.CharlmError, Exception)
    with pytest.raises(charlm.CharlmError, match="checkpoint not found"):
        charlm.load("no/such.npz")
