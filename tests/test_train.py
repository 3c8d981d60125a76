"""The training loop: exact resume, determinism, checkpoints, metrics, evaluation."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.nn import head
from charlm.nn.model import forward
from charlm.run import checkpoint, config, launch, loop, rundir, train
from tests.helpers import launched, small_config, write_corpus


def train_run(cfg, run_dir, ck=None):
    corpus = train.load_corpus(cfg, ck.vocab if ck else None)
    ck = ck or train.new_run(cfg, corpus.vocab)
    rundir.prepare(run_dir, fresh=ck.step == 0)
    assert loop.run(launched(ck, corpus, run_dir))[0] == "done"
    return ck


def records(run_dir, kind):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


@pytest.mark.parametrize(
    "overrides",
    [
        [
            "model.num_layers=2",
            "model.dropout=0.3",
            "train.optimizer=adam",
            "train.lr=0.01",
            "model.embedding_size=5",
        ],
        ["model.type=gru", "train.clip=elementwise"],
        ["model.type=rnn", "train.optimizer=sgd", "model.bidirectional=true"],
    ],
    ids=["lstm-dropout-adam", "gru-adagrad", "birnn-sgd"],
)
def test_n_steps_then_n_resumed_equal_2n_in_one_go(tmp_path, overrides):
    # 600 training chars, 3 streams x 7 steps: 28 windows an epoch; 2N = 40 crosses an epoch
    corpus = write_corpus(tmp_path / "c.txt", 660)
    # the half run ends by max_steps=17, which would move a cosine's end: a constant rate here,
    # and test_a_schedule_resumes_where_it_stopped resumes a cosine one
    cfg = small_config(
        tmp_path, *overrides, "train.max_steps=40", "train.lr_schedule=constant", corpus=corpus
    )
    whole = train_run(cfg, tmp_path / "whole")
    half = replace(cfg, train=replace(cfg.train, max_steps=17))
    train_run(half, tmp_path / "split")
    ck = checkpoint.load(tmp_path / "split")
    assert ck.step == 17 and ck.window == 17 and (ck.state is None) == cfg.model.bidirectional
    ck.config = cfg
    resumed = train_run(cfg, tmp_path / "split", ck)
    for name, p in whole.params.items():
        assert np.array_equal(p, resumed.params[name]), name
    for key, s in whole.optim.items():
        assert np.array_equal(s, resumed.optim[key]), key
    one_go, split = records(tmp_path / "whole", "train"), records(tmp_path / "split", "train")
    timings = ("chars_per_s", "elapsed", "time")
    assert [{k: r[k] for k in r if k not in timings} for r in split] == [
        {k: r[k] for k in r if k not in timings} for r in one_go
    ]  # same losses, norms, epochs, in the same lines
    assert [r["step"] for r in records(tmp_path / "split", "train")] == list(range(2, 41, 2))


def test_a_schedule_resumes_where_it_stopped(tmp_path):
    # stopped (as by Ctrl-C) at step 17 of 40, then resumed: the same lr at every step as one go
    sched = ["train.lr_schedule=cosine", "train.warmup_steps=5", "train.lr_min=0.001"]
    cfg = small_config(tmp_path, "train.optimizer=adam", "train.max_steps=40", *sched)
    whole = train_run(cfg, tmp_path / "whole")
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    rundir.prepare(tmp_path / "split", fresh=True)
    start = launched(ck, corpus, tmp_path / "split")
    assert loop.run(start, should_stop=lambda: ck.step == 17)[0] == "stopped"
    resumed = train_run(cfg, tmp_path / "split", checkpoint.load(tmp_path / "split"))
    for name, p in whole.params.items():
        assert np.array_equal(p, resumed.params[name]), name
    lrs = [r["lr"] for r in records(tmp_path / "split", "train")]
    assert lrs == [r["lr"] for r in records(tmp_path / "whole", "train")]
    assert lrs[:2] == [cfg.train.lr * 2 / 5, cfg.train.lr * 4 / 5]  # steps 2, 4 of the warmup
    assert lrs[-1] == pytest.approx(0.001)  # step 40: the end of the cosine


def test_same_seed_same_losses_other_seed_other_losses(tmp_path):
    cfg = small_config(tmp_path, "train.seed=5")
    losses = []
    for name, c in [("a", cfg), ("b", cfg), ("c", replace(cfg, train=replace(cfg.train, seed=6)))]:
        train_run(c, tmp_path / name)
        losses.append([r["loss"] for r in records(tmp_path / name, "train")])
    assert losses[0] == losses[1] and losses[0] != losses[2]


def test_checkpoints_metrics_and_best(tmp_path):
    cfg = small_config(tmp_path)
    run_dir = tmp_path / "run"
    ck = train_run(cfg, run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == ["best.npz", "latest.npz", "metrics.jsonl"]
    latest = checkpoint.load(run_dir / "latest.npz")
    assert (
        latest.step == 20
        and latest.config == cfg
        and latest.vocab.decode(np.arange(len(latest.vocab)))
        == "".join(sorted(set((tmp_path / "corpus.txt").read_text())))
    )
    for name, p in ck.params.items():
        assert np.array_equal(latest.params[name], p)
    vals = records(run_dir, "val")
    assert [r["step"] for r in vals] == [5, 10, 15, 20]
    best = min(vals, key=lambda r: r["loss"])
    best_ck = checkpoint.load(run_dir / "best.npz")
    assert best_ck.step == best["step"] and best_ck.best_val == best["loss"]
    assert [r["best"] for r in vals] == [
        r["loss"] < min([v["loss"] for v in vals[:i]], default=np.inf) for i, r in enumerate(vals)
    ]
    assert all(abs(r["bpc"] - r["loss"] / np.log(2)) < 1e-12 for r in vals)
    samples = records(run_dir, "sample")
    assert [r["step"] for r in samples] == [10, 20] and all(len(r["text"]) == 201 for r in samples)


def test_evaluate_is_the_mean_loss_over_every_prediction(tmp_path):
    cfg = small_config(tmp_path, "model.type=gru")
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    ids = corpus.val[:51].astype(np.int64)
    loss, n = train.evaluate(ck.params, ck.spec, ids, streams=1, seq_len=7)
    # one stream, state carried: the same as one forward over the whole text
    logits, _, _ = forward(ck.params, ck.spec, ids[:-1, None])
    expected, _ = head.cross_entropy(logits, ids[1:, None])
    assert n == 50 and loss == pytest.approx(expected, rel=1e-6)

    def summed(read, score):  # the loss summed over predictions [score, read[1]) of one stream
        a, b = read
        logp = head.log_softmax(forward(ck.params, ck.spec, ids[a:b, None])[0][:, 0])
        return -sum(logp[i - a, ids[i + 1]] for i in range(score, b))

    # three streams of 16 predictions, the 2 left over continuing the last: 16 + 16 + 18
    loss, n = train.evaluate(ck.params, ck.spec, ids, streams=3, seq_len=5, warmup=0)
    total = sum(summed((a, b), a) for a, b in [(0, 16), (16, 32), (32, 50)])
    assert n == 50 and loss == pytest.approx(total / 50, rel=1e-6)
    # with a warm-up of 4: L = (50 - 4) // 3 = 15; stream 0 scores 0..18, stream 1 reads from
    # 15 and scores 19..33, stream 2 reads from 30 and scores 34..48 and the leftover 49
    loss, n = train.evaluate(ck.params, ck.spec, ids, streams=3, seq_len=5, warmup=4)
    total = summed((0, 19), 0) + summed((15, 34), 19) + summed((30, 50), 34)
    assert n == 50 and loss == pytest.approx(total / 50, rel=1e-6)


def test_texts_too_short_for_the_batch_are_refused(tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", 300)
    with pytest.raises(CharlmError, match=r"too short for batch_size 40 x seq_len 7"):
        train.load_corpus(small_config(tmp_path, "train.batch_size=40", corpus=corpus))
    with pytest.raises(CharlmError, match=r"validation split \(3 characters\) cannot hold"):
        train.load_corpus(small_config(tmp_path, "data.val_fraction=0.01", corpus=corpus))


@pytest.mark.parametrize("what", ["loss", "gradient", "parameter"])
def test_a_diverging_run_stops_and_never_saves_a_nan(tmp_path, monkeypatch, what):
    cfg = small_config(tmp_path)
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    rundir.prepare(tmp_path / "run", fresh=True)
    real, real_step, calls = train.loss_and_grads, train.Optimizer.step, []

    def diverging(params, *args):  # step 7 goes wrong, after the checkpoint of step 4
        loss, grads, state = real(params, *args)
        calls.append(1)
        if len(calls) == 7 and what == "loss":
            loss = float("nan")
        if len(calls) == 7 and what == "gradient":
            grads["head.bias"][0] = np.inf
        return loss, grads, state

    def overflowing(self, params, grads):
        real_step(self, params, grads)
        if len(calls) == 7 and what == "parameter":
            params["head.bias"][0] = np.inf

    monkeypatch.setattr(train, "loss_and_grads", diverging)
    monkeypatch.setattr(train.Optimizer, "step", overflowing)
    message = {
        "loss": "the loss is not finite",
        "gradient": "the gradient is not finite",
        "parameter": "the update made a parameter overflow",
    }[what]
    with pytest.raises(CharlmError, match=f"step 7: {message}.*last checkpoint .* is untouched"):
        loop.run(launched(ck, corpus, tmp_path / "run"))
    saved = checkpoint.load(tmp_path / "run")
    assert saved.step == 4 and all(np.isfinite(p).all() for p in saved.params.values())


def test_resume_refuses_a_changed_model_or_geometry(tmp_path):
    cfg = small_config(tmp_path)
    ck = train_run(cfg, tmp_path / "run")
    for key, value in [
        ("model.hidden_size", 9),
        ("train.batch_size", 4),
        ("data.val_fraction", 0.2),
    ]:
        other = config.apply(cfg, [f"{key}={value}"], "test")
        with pytest.raises(CharlmError, match=f"cannot change {key} when resuming"):
            launch.check_resume(ck, other, "here")
    launch.check_resume(ck, config.apply(cfg, ["train.lr=0.5", "train.max_steps=99"], "t"), "x")


def test_the_run_lock_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from charlm.run import rundir\n"
         "with rundir.locked(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
         str(tmp_path / "run")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        busy = rf"being trained right now \(charlm train, pid {holder.pid}\)"
        with pytest.raises(CharlmError, match=busy), rundir.locked(tmp_path / "run"):
            pass
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
    with rundir.locked(tmp_path / "run"):  # free again, though the file is still there
        assert (tmp_path / "run" / rundir.LOCK).exists()
