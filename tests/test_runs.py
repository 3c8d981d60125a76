"""charlm runs: a folder with a done, a stopped, a running (its lock held by another process),
a diverged and a damaged run, each listed with what it is, in one table or as JSON."""

import json
import subprocess
import sys

import pytest

import charlm
from tests.helpers import TINY, invoke, refused, write_corpus

SETS = [TINY[i + 1] for i in range(0, len(TINY), 2)] + ["train.eval_every=2"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "corpus.txt", 3000)
    charlm.train(corpus="corpus.txt", steps=4, run="done", overrides=SETS)
    steps = []
    charlm.train(corpus="corpus.txt", steps=9, run="stopped", overrides=SETS,
                 callback=steps.append, should_stop=lambda: len(steps) >= 3)  # fmt: skip
    charlm.train(corpus="corpus.txt", steps=4, run="diverged", overrides=SETS)
    result = invoke("train", "--resume", "checkpoints/diverged", "--steps", 8,
                    "--set", "train.lr=1e38", "--set", "train.clip=none")  # fmt: skip
    assert result.exit_code == 2 and "is not finite" in result.stderr
    charlm.train(corpus="corpus.txt", steps=4, run="running", overrides=SETS)
    (tmp_path / "checkpoints" / "damaged").mkdir()
    (tmp_path / "checkpoints" / "damaged" / "latest.npz").write_bytes(b"not a checkpoint")
    (tmp_path / "checkpoints" / "not-a-run").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from charlm.run import rundir\n"
         "with rundir.locked(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
         str(tmp_path / "checkpoints" / "running")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline() == "held\n"
    yield tmp_path
    holder.kill()
    holder.wait()


def test_every_kind_of_run_is_listed_with_its_status(runs):
    result = invoke("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"done", "stopped", "diverged", "running", "damaged"}
    assert rows["done"]["status"] == "done" and rows["done"]["step"] == rows["done"]["total"] == 4
    assert rows["stopped"]["status"] == "stopped at step 3" and rows["stopped"]["total"] == 9
    assert rows["diverged"]["status"] == "diverged at step 6" and rows["diverged"]["step"] == 4
    assert rows["running"]["status"].startswith("running, pid ")
    assert rows["damaged"]["status"].startswith("damaged: latest.npz does not read")
    done = charlm.load("checkpoints/done").checkpoint
    assert rows["done"]["best_val"] == done.best_val and rows["done"]["model"] == "lstm 8x1"
    assert rows["done"]["parameters"] == sum(p.size for p in done.params.values())
    by_best = [r["name"] for r in json.loads(invoke("runs", "--json").stdout)]
    vals = [rows[n]["best_val"] for n in by_best if rows[n]["best_val"] is not None]
    assert vals == sorted(vals) and by_best[-1] == "damaged"  # no loss: last


def test_the_table_and_its_refusals(runs):
    result = invoke("runs", "--sort", "name")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("damaged") < out.index("diverged") < out.index("done") < out.index("running")
    assert "diverged" in out and "stopped" in out and "not-a-run" not in out
    refused(invoke("runs", "--sort", "colour"), "--sort 'colour': expected one of best, name")
    refused(invoke("runs", "nowhere"), "nowhere: not a folder of runs")
    result = invoke("runs", "checkpoints/done")
    assert result.exit_code == 0 and "is a run itself: charlm runs checkpoints" in result.stdout


def test_the_table_fits_80_columns_and_never_breaks_a_figure(runs):
    """The default columns fit 80 (--wide adds the rest, for a wider terminal)."""
    for wide, width in (([], 80), (["--wide"], 130)):
        env = {**__import__("os").environ, "COLUMNS": str(width)}
        done = subprocess.run([sys.executable, "-m", "charlm", "runs", *wide], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert all(len(line) <= width for line in lines), done.stdout
        rows = json.loads(invoke("runs", "--json").stdout)
        for r in rows:  # each figure whole on its run's line
            line = next(x for x in lines if x.startswith(f"│ {r['name']} "))
            if r.get("step") is not None:
                assert f"{r['step']:,}/{r['total']:,}" in line, line
            if r.get("best_val") is not None:
                assert f"{r['best_val']:.4f}" in line, line
            if wide and r.get("parameters") is not None:
                assert f"{r['parameters']:,}" in line, line
        assert ("params" in done.stdout) == bool(wide)
