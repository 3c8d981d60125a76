"""charlm report and train.report: a page made from a real short run holds every metrics
record as a point of its charts, the checkpoint's best loss, and nothing from the web; the
page of several runs compares them; a run being trained keeps its page up to date."""

import json
import re
import shutil
import subprocess
import sys

import pytest

import charlm
from charlm.run import checkpoint
from tests.helpers import invoke, refused, tree_state, write_corpus

pytest.importorskip("matplotlib", reason="charlm installs matplotlib; this environment lacks it")

SETS = ["model.hidden_size=8", "model.num_layers=1", "train.batch_size=4", "train.seq_len=16",
        "train.log_every=2", "train.eval_every=10", "train.sample_every=20",
        "train.report=true"]  # fmt: skip


def records(folder, kind):
    lines = (folder / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def vertices(page, gid):
    """The points of the line with this id in the page's SVG (its path's M and L commands)."""
    found = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]*)"', page)
    assert found, f"no line {gid}"
    return len(re.findall(r"[ML]", found.group(1)))


def markers(page, gid):
    """The markers drawn by the line with this id (one <use> each)."""
    found = re.search(rf'<g id="{re.escape(gid)}">(.*?)</g>', page, re.S)
    assert found, f"no line {gid}"
    return found.group(1).count("<use ")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    write_corpus(root / "corpus.txt", 4000)
    return root


@pytest.fixture
def here(world, monkeypatch):
    monkeypatch.chdir(world)
    return world


@pytest.fixture(scope="module")
def run(world):
    """A 40-step run, its page kept up to date while it trained (seen at step 15)."""
    seen = {}

    def look(figures):
        if figures["step"] == 15:
            seen["page"] = (world / "checkpoints" / "one" / "report.html").read_text("utf-8")

    model = charlm.train(corpus=world / "corpus.txt", steps=40, run="one", callback=look,
                 overrides=[*SETS, f"output.dir={world / 'checkpoints'}"])  # fmt: skip
    assert model.report == world / "checkpoints" / "one" / "report.html"
    return world / "checkpoints" / "one", seen


def test_the_page_holds_every_record_and_the_checkpoints_best_loss(run):
    folder, _ = run
    page = (folder / "report.html").read_text(encoding="utf-8")
    train, val = records(folder, "train"), records(folder, "val")
    assert len(train) == 20 and len(val) == 4
    for gid in ("train-0", "smooth-0", "lr-0", "grad-0", "speed-0"):
        assert vertices(page, gid) == len(train), gid
    assert vertices(page, "val-0") == len(val)
    chart = page.split('id="chart-loss-time"')[1]  # the same points against training time
    assert vertices(chart, "smooth-0") == len(train) and vertices(chart, "val-0") == len(val)
    assert markers(page, "val-0") == len(val) and markers(page, "best-0") == 1
    assert vertices(page, "clip-0") == 2  # a level line
    assert vertices(page, "plan-0") == 41  # the schedule at every step, 1 to 40, and 40
    best = checkpoint.load(folder / "best.npz").best_val
    assert best == min(r["loss"] for r in val)
    assert f"{best:.4f} nats ({best / 0.6931471805599453:.4f} bpc) at step" in page
    assert "<td>done</td>" in page and "40 of 40, " in page and "LSTM, 1 x 8, " in page
    samples = records(folder, "sample")
    assert [int(s) for s in re.findall(r"<summary>step (\d+)</summary>", page)] == [
        r["step"] for r in reversed(samples)
    ]  # newest first, each folded
    assert "max_steps: 40" in page and "hidden_size: 8" in page  # the resolved config
    # nothing from anywhere else: no web address, no external script, style, font or image
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(script|link|img|iframe)\b|@import|url\((?!#)|href=\"(?!#)", page)


def test_a_run_being_trained_has_its_page_at_each_evaluation(run):
    folder, seen = run
    assert "running now (step 12 of 40)" in seen["page"]  # the eval at step 10, then a record
    assert vertices(seen["page"], "val-0") == 1


def test_several_runs_are_overlaid_and_compared(here, run):
    charlm.train(
        corpus="corpus.txt",
        steps=20,
        run="two",
        overrides=[*SETS, "train.lr=0.01", f"output.dir={here / 'checkpoints'}"],
    )
    result = invoke("report", "checkpoints/one", "two")  # a folder, and a run's name
    assert result.exit_code == 0, result.output
    assert "report: checkpoints/report.html" in result.stdout
    page = (here / "checkpoints" / "report.html").read_text(encoding="utf-8")
    row = re.search(r"<tr><th>train\.lr</th>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row) == ["0.004", "0.01"]
    assert "train.max_steps" in page and "model.hidden_size" not in page  # only what differs
    assert vertices(page, "val-0") == 4 and vertices(page, "val-1") == 2
    before = tree_state(here / "checkpoints")
    refused(invoke("report", "one", "two"), "already exists")  # an existing page is kept
    assert tree_state(here / "checkpoints") == before
    assert invoke("report", "one", "two", "--force").exit_code == 0


def test_refusals_leave_everything_as_it_was(here, run):
    folder, _ = run
    (here / "mine.html").write_text("my page", encoding="utf-8")
    before = tree_state(here)
    refused(invoke("report"), "Missing argument")
    refused(invoke("report", "nowhere"), "nowhere: no such run folder")
    refused(invoke("report", "corpus.txt"), "corpus.txt: not a run folder")
    refused(invoke("report", "checkpoints"), "it is a folder of runs")
    refused(invoke("report", "one", "--out", "mine.html"), "already exists")
    for target in (folder / "metrics.jsonl", folder / "latest.npz"):  # never over an input
        refused(invoke("report", "one", "--out", target, "--force"), "reads")
    refused(invoke("report", "one", "--out", "/dev/full", "--force"), "/dev/full")
    assert tree_state(here) == before
    assert invoke("report", "one", "--out", "mine.html", "--force").exit_code == 0
    assert "charlm report: one" in (here / "mine.html").read_text(encoding="utf-8")


def test_without_matplotlib_one_line_says_what_to_install(here, run):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from charlm.cli import main; sys.argv = ['charlm', *sys.argv[1:]]; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code, "report", "one", "--out", "x.html"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert (
        "which charlm installs: pip install matplotlib" in proc.stderr
        and not (here / "x.html").exists()
    )
    proc = subprocess.run([sys.executable, "-c", code, "train", "--corpus", "corpus.txt",
                           "--run", "x", "--steps", "2", "--set", "train.report=true"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "pip install matplotlib" in proc.stderr
    assert not (here / "checkpoints" / "x").exists()


def test_a_fresh_run_over_an_old_one_drops_its_page(here, run):
    shutil.copytree(run[0], here / "checkpoints" / "old")
    model = charlm.train(corpus="corpus.txt", steps=4, run="old", force=True,
                         overrides=[*SETS, "train.report=false"])  # fmt: skip
    assert not (here / "checkpoints" / "old" / "report.html").exists()  # not the old run's
    assert model.report is None


def test_a_link_in_place_of_the_page_is_refused_before_the_first_step(here, run):
    shutil.copytree(run[0], here / "checkpoints" / "linked")
    page = here / "checkpoints" / "linked" / "report.html"
    page.unlink()
    (here / "theirs.html").write_text("theirs", encoding="utf-8")
    page.symlink_to(here / "theirs.html")
    result = invoke("train", "--resume", "checkpoints/linked", "--steps", 50)
    refused(result, "report.html is a symbolic link")
    assert (here / "theirs.html").read_text(encoding="utf-8") == "theirs"
    assert charlm.load("checkpoints/linked").step == 40
