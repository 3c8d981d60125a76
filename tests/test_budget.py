"""Training for a time budget (train.minutes): the plan made after the warm-up and recorded
in the checkpoint, its exact resume, and the stop when the machine slows down. The clock the
loop reads is replaced by one that ticks a fixed time per step, so the runs are repeatable."""

import json

import numpy as np
import pytest

import charlm
import charlm.run.optim
from charlm.run import loop
from charlm.run.budget import PROVISIONAL
from tests.helpers import TINY, invoke, refused

SETS = [TINY[i + 1] for i in range(0, len(TINY), 2)] + ["train.eval_every=40"]


class Clock:
    """The training loop's clock (charlm.train's clock=, or charlm.run.loop.CLOCK for the
    CLI): each call moves time on by `tick` seconds (a step reads it twice), and by `slow`
    times that once its time passes `after` (a 30-second budget plans at 12: twice the 6
    seconds of warm-up, since a step reads it twice)."""

    def __init__(self, tick, slow=1.0, after=13.0):
        self.now, self.tick, self.slow, self.after = 0.0, tick, slow, after

    def __call__(self):
        self.now += self.tick * (self.slow if self.now >= self.after else 1.0)
        return self.now


def test_the_plan_fills_the_budget_and_is_recorded(workdir, monkeypatch):
    clock = Clock(0.05)  # 0.05 s a step: 1 minute is 1,200 steps
    model = charlm.train(corpus="corpus.txt", minutes=1, run="m", overrides=SETS, clock=clock)
    records = [json.loads(r) for r in (workdir / "checkpoints/m/metrics.jsonl").open()]
    plan = [r for r in records if r["kind"] == "plan"]
    assert len(plan) == 1 and plan[0]["steps_per_s"] == pytest.approx(20.0)
    # the warm-up: 20% of the budget (12 s, 240 steps); the plan: 90% of the 48 s left
    assert plan[0]["step"] == 240 and abs(plan[0]["total"] - (240 + 0.9 * 48 * 20)) <= 1
    assert model.outcome == "done" and model.step == model.total == plan[0]["total"]
    # the planned cosine starts where the warm-up left the rate: no jump down at the plan
    assert model.checkpoint.schedule == [[0, PROVISIONAL, 0], [240, plan[0]["total"], 0]]
    assert charlm.load("checkpoints/m").checkpoint.schedule == model.checkpoint.schedule
    lr = {r["step"]: r["lr"] for r in records if r["kind"] == "train"}
    assert lr[10] == pytest.approx(0.004)  # the warm-up: the schedule's start
    assert lr[240] == pytest.approx(0.004) and lr[250] == pytest.approx(0.004, rel=1e-3)
    steps = sorted(lr)
    assert all(lr[b] <= lr[a] + 1e-12 for a, b in zip(steps, steps[1:], strict=False))
    t = model.config.train
    assert charlm.run.optim.planned_rate(t, model.total, model.checkpoint.schedule) == 0.0


def test_a_run_stopped_after_its_plan_resumes_exactly(workdir, monkeypatch):
    clock = Clock(0.05)
    once = charlm.train(corpus="corpus.txt", minutes=0.5, run="once", overrides=SETS,
                        clock=clock)  # fmt: skip
    clock = Clock(0.05)
    steps = []
    stop = charlm.train(corpus="corpus.txt", minutes=0.5, run="twice", overrides=SETS,
                        callback=steps.append, should_stop=lambda: len(steps) > 150,
                        clock=clock)  # fmt: skip
    assert stop.outcome == "stopped" and 120 < stop.step < once.step  # after the plan (120)
    clock = Clock(0.05)
    twice = charlm.train(resume="checkpoints/twice", clock=clock)
    assert twice.checkpoint.schedule == once.checkpoint.schedule and twice.step == once.step
    for name, p in once.params.items():
        assert np.array_equal(twice.params[name], p), name


def test_a_slower_machine_stops_at_the_budget_and_says_how_far(workdir, monkeypatch):
    clock = Clock(0.05, slow=2.0)  # twice as slow once planned
    model = charlm.train(corpus="corpus.txt", minutes=0.5, run="slow", overrides=SETS,
                         clock=clock)  # fmt: skip
    assert model.outcome == "time" and model.step < model.total
    assert model.checkpoint.elapsed >= 30 and charlm.load("checkpoints/slow").step == model.step
    rows = {r["name"]: r for r in json.loads(invoke("runs", "--json").stdout)}
    assert rows["slow"]["status"] == f"time budget spent at step {model.step:,}"
    monkeypatch.setattr(loop, "CLOCK", Clock(0.05, slow=2.0))  # the CLI's runs read it
    result = invoke("train", "--corpus", "corpus.txt", "--minutes", 0.5, "--run", "cli",
                    *TINY, "--set", "train.eval_every=40")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "time budget (0.5 minutes of training) ran out at step" in result.stdout
    assert "steps fit in 0.5 minutes of training" in result.stdout


def test_refusals(workdir):
    refused(invoke("train", "--corpus", "corpus.txt", "--minutes", 1, "--steps", 5, *TINY),
            "--steps and --minutes both say how long to train: give one")  # fmt: skip
    refused(invoke("train", "--corpus", "corpus.txt", "--minutes", 0, *TINY),
            "train.minutes must be > 0.0 and <= 525600.0")  # fmt: skip
    refused(invoke("train", "--corpus", "corpus.txt", "--minutes", "nan", *TINY), "a finite number")
    assert invoke("train", "--corpus", "corpus.txt", "--steps", 3, *TINY).exit_code == 0
    refused(invoke("train", "--resume", "--set", "train.minutes=2"),
            "cannot change train.minutes when resuming")  # fmt: skip


def test_a_budget_spent_in_the_warm_up_says_so(workdir):
    result = invoke("train", "--corpus", "corpus.txt", "--minutes", 1e-9, *TINY)
    assert result.exit_code == 0, result.output
    assert "ran out at step 1, in the warm-up, before its steps were planned" in result.stdout
    assert charlm.load("checkpoints/lstm").step == 1
