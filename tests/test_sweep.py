"""charlm sweep on a SQLite study: a space checked before any trial, tiny trials recorded in the
study and in their run folders, best.yaml that trains, the same seed the same settings,
pruning, two workers sharing a study, Ctrl-C and the same command continuing."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import charlm
from charlm.api import sweep as api
from charlm.errors import CharlmError
from charlm.run import records
from tests.helpers import invoke, refused, write_corpus

optuna = pytest.importorskip("optuna")  # the sweep extra; .ci/run installs it
ROOT = Path(__file__).resolve().parent.parent
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}

TINY = ["model.num_layers=1", "model.hidden_size=8", "train.batch_size=4", "train.seq_len=16",
        "train.eval_every=10", "train.sample_every=1000", "train.report=false"]  # fmt: skip
SPACE = "train.lr: {log: [0.001, 0.03]}\nmodel.hidden_size: {choice: [8, 16]}\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "c.txt", 4000)
    (tmp_path / "space.yaml").write_text(SPACE)
    return tmp_path


def states(study_db, name):
    with sqlite3.connect(study_db) as db:
        return [s for (s,) in db.execute(
            "select t.state from trials t join studies s on s.study_id = t.study_id "
            "where s.study_name = ? order by t.number", (name,))]  # fmt: skip


@pytest.mark.parametrize(
    "text, message",
    [
        ("train.lrr: {log: [0.001, 0.01]}", "unknown key 'train.lrr'; did you mean 'train.lr'?"),
        ("model.dropout: {float: [0.0, 1.5]}", "model.dropout: 1.5 is outside what the key allows"),
        ("model.hidden_size: {float: [8, 64]}", "model.hidden_size is not a number: use int"),
        ("train.lr: {int: [1, 3]}", "train.lr is a number, not an integer: use float or log"),
        ("model.dropout: {log: [0.0, 0.1]}", "a log range must start above 0"),
        ("train.lr: {float: [0.1, 0.01]}", "the low end (0.1) must be below the high (0.01)"),
        ("model.type: {choice: [lstm, tree]}", "model.type: 'tree' is outside what the key"),
        ("output.run: {choice: [a, b]}", "output.run is the sweep's to set"),
        ("train.lr: [0.001, 0.01]", "train.lr's range must be one of {log: [low, high]}"),
        ("- train.lr", "a sweep space maps config keys to ranges"),
        ("", "a sweep space maps config keys to ranges"),
    ],
)
def test_a_space_is_checked_by_the_configs_rules_before_any_trial(project, text, message):
    (project / "bad.yaml").write_text(text + "\n")
    result = invoke("sweep", "bad.yaml", "--corpus", "c.txt", "--steps", "5")
    refused(result, message)
    assert message in result.output and "bad.yaml" in result.output
    assert not (project / "checkpoints").exists()  # nothing made, no study


def test_a_tiny_sweep_records_its_trials_runs_and_best_config(project):
    rows = api.sweep("space.yaml", corpus="c.txt", steps=30, trials=3, seed=7, overrides=TINY)
    assert [r["state"] for r in rows] == ["complete"] * 3
    assert [r["loss"] for r in rows] == sorted(r["loss"] for r in rows)
    db = project / "checkpoints" / "space" / "study.db"
    assert states(db, "space") == ["COMPLETE"] * 3
    for r in rows:
        folder = project / "checkpoints" / "space" / f"{r['number']:03d}"
        assert r["run"] == str(folder.relative_to(project)) and (folder / "latest.npz").exists()
        val = [rec for rec, _ in records.lines(folder / "metrics.jsonl") if rec["kind"] == "val"]
        assert min(v["loss"] for v in val) == pytest.approx(r["loss"])  # the objective
        assert set(r["params"]) == {"train.lr", "model.hidden_size"} and r["steps"] == 30
    best = project / "checkpoints" / "space" / "best.yaml"
    text = best.read_text()
    assert f"trial {rows[0]['number']}, best validation loss {rows[0]['loss']:.4f}" in text
    result = invoke("train", "--config", str(best), "--steps", "3")
    assert result.exit_code == 0, result.output
    ran = json.loads((project / "checkpoints" / "space-best" / "metrics.jsonl").read_text()
                     .splitlines()[0])  # fmt: skip
    assert ran["kind"] == "start"
    result = invoke("sweep", "--show", "--study", "space", "--json")
    shown = json.loads(result.output)
    assert [r["number"] for r in shown["trials"]] == [r["number"] for r in rows]


def test_the_same_seed_draws_the_same_settings(project):
    a = api.sweep("space.yaml", corpus="c.txt", steps=10, trials=3, seed=3, study="a",
                  overrides=TINY)  # fmt: skip
    b = api.sweep("space.yaml", corpus="c.txt", steps=10, trials=3, seed=3, study="b",
                  overrides=TINY)  # fmt: skip
    c = api.sweep("space.yaml", corpus="c.txt", steps=10, trials=3, seed=4, study="c",
                  overrides=TINY)  # fmt: skip
    drawn = lambda rows: [r["params"] for r in sorted(rows, key=lambda r: r["number"])]  # noqa: E731
    assert drawn(a) == drawn(b) and drawn(a) != drawn(c)


def test_a_hopeless_trial_is_pruned_and_its_folder_says_so(project):
    """Five earlier trials whose every evaluation was 0.1: the median pruner stops a new one
    at its first evaluation past 40% of its 50 steps (step 20), as far worse than theirs."""
    url = f"sqlite:///{project / 'checkpoints' / 'space' / 'study.db'}"
    (project / "checkpoints" / "space").mkdir(parents=True)
    study = optuna.create_study(study_name="space", storage=url)
    d = optuna.distributions
    dists = {"train.lr": d.FloatDistribution(0.001, 0.03, log=True),
             "model.hidden_size": d.CategoricalDistribution([8, 16])}  # fmt: skip
    for _ in range(5):
        study.add_trial(optuna.trial.create_trial(
            params={"train.lr": 0.01, "model.hidden_size": 8}, distributions=dists, value=0.1,
            intermediate_values={s: 0.1 for s in range(10, 60, 10)}))  # fmt: skip
    rows = api.sweep("space.yaml", corpus="c.txt", steps=50, trials=6, overrides=TINY)
    pruned = [r for r in rows if r["state"] == "pruned"]
    assert len(pruned) == 1 and pruned[0]["note"] == "pruned at step 20"
    folder = project / pruned[0]["run"]
    last = list(records.lines(folder / "metrics.jsonl"))[-1][0]
    assert (last["kind"], last["step"], last["trial"]) == ("pruned", 20, 5)
    [row] = [r for r in charlm.runs(folder.parent) if r["name"] == folder.name]
    assert row["status"] == "pruned at step 20"


def test_two_workers_share_one_sqlite_study_and_never_one_folder(project):
    rows = api.sweep("space.yaml", corpus="c.txt", steps=20, trials=4, workers=2,
                     overrides=TINY)  # fmt: skip
    finished = [r for r in rows if r["state"] == "complete"]
    assert len(finished) >= 4 and len({r["run"] for r in rows}) == len(rows)
    assert not [r for r in rows if r["state"] == "failed"]
    db = project / "checkpoints" / "space" / "study.db"
    assert states(db, "space").count("COMPLETE") == len(finished)


def test_ctrl_c_stops_cleanly_and_the_same_command_continues(project):
    command = [sys.executable, "-m", "charlm", "sweep", "space.yaml", "--corpus", "c.txt",
               "--steps", "400", "--trials", "3", "--seed", "1",
               *[a for s in [*TINY, "train.checkpoint_every=100"]
                 for a in ("--set", s)]]  # fmt: skip
    proc = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=ENV, text=True)  # fmt: skip
    db = project / "checkpoints" / "space" / "study.db"
    deadline = time.monotonic() + 60
    while not (project / "checkpoints" / "space" / "001" / "latest.npz").exists():  # in trial 1
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "the same command continues the study 'space'" in out and "Traceback" not in err
    before = states(db, "space")
    assert before[-1] == "FAIL" and "COMPLETE" not in before[-1:]
    again = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300,
                           env=ENV)  # fmt: skip
    assert again.returncode == 0, again.stderr
    after = states(db, "space")
    assert after[: len(before)] == before and after.count("COMPLETE") == 3
    assert "interrupted at step" in again.stdout  # the cut-off trial, shown as failed


def test_storage_and_install_refusals_are_one_line_and_hide_the_password(project, monkeypatch):
    result = invoke("sweep", "space.yaml", "--steps", "5", "--corpus", "c.txt",
                    "--storage", "postgresql://bob:hunter2@127.0.0.1:1/db")  # fmt: skip
    refused(result, "cannot open the sweep's storage postgresql://bob:***@127.0.0.1:1/db")
    assert "hunter2" not in result.output
    refused(invoke("sweep", "--show", "--study", "nothing"), "no sweep 'nothing' here")
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if it were not installed
    refused(invoke("sweep", "space.yaml", "--steps", "5", "--corpus", "c.txt"),
            'charlm sweep needs Optuna: pip install -e ".[sweep]"')  # fmt: skip
    with pytest.raises(CharlmError, match="trials=0: must be 1 or more"):
        api.sweep("space.yaml", trials=0)


def test_five_failed_trials_in_a_row_stop_the_sweep_with_the_reason(project):
    (project / "short.txt").write_text("too short to train on\n")
    result = invoke("sweep", "space.yaml", "--corpus", "short.txt", "--steps", "5",
                    *[a for s in TINY for a in ("--set", s)])  # fmt: skip
    refused(result, "the last 5 trials failed, the last with: short.txt: the training text")
    assert states(project / "checkpoints" / "space" / "study.db", "space") == ["FAIL"] * 5


def test_a_time_budgeted_trial_is_compared_by_the_share_of_its_budget_spent():
    """Trials of other speeds evaluate at other steps: with train.minutes, each evaluation is
    reported at the tenth of the budget it falls in (the first in a tenth counts), once 40% of
    the budget is spent; in steps, by its step, from 40% of the steps."""
    from types import SimpleNamespace as NS

    reported = []
    trial = NS(report=lambda loss, key: reported.append((key, loss)), should_prune=lambda: False)
    reporter = api._Trial(trial)
    for step, elapsed in [(500, 5.0), (1000, 23.0), (1500, 25.0), (2000, 30.5), (2500, 59.0),
                          (3000, 61.0)]:  # fmt: skip
        ck = NS(step=step, elapsed=elapsed, config=NS(train=NS(minutes=1.0, max_steps=None)))
        reporter.evaluated(ck, step / 1000, False)
    assert reported == [(4, 1.5), (5, 2.0), (9, 2.5), (10, 3.0)]  # 23 s: 38%, held back
    reporter = api._Trial(trial)  # a run in steps: its steps are the keys
    for step in (30, 40, 50):
        ck = NS(step=step, elapsed=3.0, config=NS(train=NS(minutes=None, max_steps=100)))
        reporter.evaluated(ck, step / 100, False)
    assert reported[4:] == [(40, 0.4), (50, 0.5)]


def test_a_worker_killed_outright_loses_only_its_own_trial(project, monkeypatch):
    """kill -9 during a trial: its heartbeat stops, and once the grace period has passed the
    next worker marks that trial failed and runs a fresh one in its place."""
    from charlm.tune import store

    run = f"'space.yaml', corpus='c.txt', steps=100000, trials=2, overrides={TINY!r}"
    code = ("from charlm.tune import store\nstore.HEARTBEAT, store.GRACE = 1, 2\n"
            f"import charlm.api.sweep as s\ns.sweep({run})\n")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=project, env=ENV)
    folder = project / "checkpoints" / "space" / "000"
    deadline = time.monotonic() + 60
    while not (folder / "metrics.jsonl").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(1.5)  # a heartbeat or two
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = project / "checkpoints" / "space" / "study.db"
    assert states(db, "space") == ["RUNNING"]  # as the killed worker left it
    monkeypatch.setattr(store, "HEARTBEAT", 1)
    monkeypatch.setattr(store, "GRACE", 2)
    time.sleep(2.5)
    rows = api.sweep("space.yaml", corpus="c.txt", steps=10, trials=2, overrides=TINY)
    assert states(db, "space") == ["FAIL", "COMPLETE", "COMPLETE"]
    assert sorted(r["number"] for r in rows if r["state"] == "complete") == [1, 2]
