"""A run's length is one thing: steps, epochs or minutes. The command line's --steps and
--minutes replace the config's; a config that gives two is refused naming both; a spent time
budget is extended in steps, as its own message says."""

import pytest

import charlm
from charlm.run import config
from charlm.run.budget import PROVISIONAL
from tests.helpers import TINY, invoke, refused

BUDGET = "train:\n  max_steps: null\n  minutes: 10\n  eval_every: 1000\n"


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*"))


def test_steps_on_the_command_line_replace_a_configs_time_budget(workdir):
    (workdir / "c.yaml").write_text(BUDGET)
    result = invoke("train", "--config", "c.yaml", "--corpus", "corpus.txt", "--steps", 7, *TINY)
    assert result.exit_code == 0, result.output
    assert "7 steps (" in result.stdout.splitlines()[0]  # the start line says the length
    model = charlm.load("checkpoints/lstm")
    assert model.step == 7
    t = model.config.train
    assert (t.max_steps, t.epochs, t.minutes) == (7, None, None)


def test_minutes_replace_a_configs_steps_and_epochs(workdir):
    (workdir / "c.yaml").write_text("train:\n  epochs: 3\n")
    cfg = config.load(workdir / "c.yaml", values={"train.minutes": (0.5, "minutes")})
    assert (cfg.train.max_steps, cfg.train.epochs, cfg.train.minutes) == (None, None, 0.5)
    cfg = config.load(workdir / "c.yaml")  # epochs alone: max_steps' default does not win
    assert (cfg.train.max_steps, cfg.train.epochs, cfg.train.minutes) == (None, 3, None)
    assert config.load(None).train.max_steps == 5000  # no length given: the default


@pytest.mark.parametrize(
    "text, sets, names",
    [
        (BUDGET, ["train.max_steps=30"], ["train.max_steps 30 (--set train.max_steps=30)",
                                          "train.minutes 10 (c.yaml, line 3)"]),
        ("train:\n  max_steps: 40\n  epochs: 2\n", [], ["train.max_steps 40 (c.yaml, line 2)",
                                                      "train.epochs 2 (c.yaml, line 3)"]),
        ("", ["train.epochs=2", "train.minutes=1"], ["--set train.epochs=2",
                                                     "--set train.minutes=1"]),
    ],
)  # fmt: skip
def test_a_config_with_two_lengths_is_refused_naming_both(workdir, text, sets, names):
    (workdir / "c.yaml").write_text(text)
    before = _files(workdir)
    sets = [a for s in sets for a in ("--set", s)]
    result = invoke("train", "--config", "c.yaml", "--corpus", "corpus.txt", *sets, *TINY)
    refused(result, "both give the run's length")
    for name in names:
        assert name in result.stderr
    assert _files(workdir) == before


def test_a_config_with_no_length_is_refused(workdir):
    (workdir / "c.yaml").write_text("train:\n  max_steps: null\n")
    refused(invoke("train", "--config", "c.yaml", "--corpus", "corpus.txt", *TINY),
            "c.yaml: the run has no length")  # fmt: skip
    assert not (workdir / "checkpoints").exists()


def test_a_spent_time_budget_is_extended_as_its_message_says(workdir):
    result = invoke("train", "--corpus", "corpus.txt", "--minutes", 1e-9, *TINY)
    assert result.exit_code == 0, result.output
    hint = "train further: charlm train --resume checkpoints/lstm --steps N (N > 1)"
    assert hint in result.stdout
    refused(invoke("train", "--resume"), "its time budget (1e-09 minutes of training) is spent")
    refused(invoke("train", "--resume"), "at step 1; train further with --steps above 1, which")
    with pytest.raises(charlm.CharlmError, match="train further with steps above 1, which"):
        charlm.train(resume=True)  # from Python, the same advice in the API's own words
    refused(invoke("train", "--resume", "--minutes", 5),
            "cannot change train.minutes when resuming (the run has a budget of 1e-09")  # fmt: skip
    result = invoke("train", "--resume", "checkpoints/lstm", "--steps", 9)
    assert result.exit_code == 0, result.output
    assert "9 steps" in result.stdout.splitlines()[0]
    model = charlm.load("checkpoints/lstm")
    assert model.step == 9 and model.config.train.minutes is None
    # the provisional plan became one that continues from the rate in use (lr, flat)
    t = model.config.train
    rate = charlm.run.optim.planned_rate
    assert model.checkpoint.schedule == [[0, PROVISIONAL, 0], [1, 9, 0]]
    assert rate(t, 1, model.checkpoint.schedule) == pytest.approx(t.lr, rel=1e-6)
    assert rate(t, 2, model.checkpoint.schedule) == pytest.approx(t.lr * 0.9619, rel=1e-3)
    assert rate(t, 9, model.checkpoint.schedule) == pytest.approx(t.lr_min)


def test_a_run_in_steps_takes_no_budget_on_resume(workdir):
    assert invoke("train", "--corpus", "corpus.txt", "--steps", 3, *TINY).exit_code == 0
    refused(invoke("train", "--resume", "--minutes", 1),
            "cannot change train.minutes when resuming (the run has a length in steps")  # fmt: skip


def test_an_earlier_versions_config_with_two_lengths_loads_as_it_ran():
    raw = config.to_dict(config.load(None))
    raw["train"].update(max_steps=5000, minutes=2.0)  # what --minutes on the defaults kept
    t = config.from_dict(raw, "old").train
    assert (t.max_steps, t.epochs, t.minutes) == (None, None, 2.0)
