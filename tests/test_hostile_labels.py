"""Labels are text: a user's name that reaches matplotlib (a run's name in the report's
legends, a checkpoint's path in gradflow's plot) is drawn as it is, never parsed as math."""

import html
import shutil

import pytest

from charlm.pages import label
from tests.helpers import TINY, invoke

pytest.importorskip("matplotlib")

NAMES = ["a$x^2$b", "bad$\\frac$", "$$", "cost$5", "\\$", "q$\\alpha$\\$"]


@pytest.mark.parametrize("name", NAMES)
def test_a_label_is_drawn_as_the_text_it_is(name):
    from matplotlib.figure import Figure

    fig = Figure()
    text = fig.text(0, 0, label(name))
    shown, math = text._preprocess_math(text.get_text())  # what the renderer is handed
    assert (shown, math) == (name, False)


def test_run_names_with_dollars_are_literal_in_the_reports_legends(workdir):
    for name in ("a$x^2$b", "bad$^$"):
        result = invoke("train", "--corpus", "corpus.txt", "--steps", 4, "--run", name, *TINY,
                        "--set", "train.eval_every=2")  # fmt: skip
        assert result.exit_code == 0, result.output
    result = invoke("report", "checkpoints/a$x^2$b", "checkpoints/bad$^$", "--out", "r.html")
    assert result.exit_code == 0, result.output
    page = html.unescape((workdir / "r.html").read_text())
    assert "a$x^2$b: validation" in page and "bad$^$: validation" in page


def test_gradflow_plots_a_checkpoint_whose_path_is_math_markup(workdir):
    result = invoke("train", "--corpus", "corpus.txt", "--steps", 2, "--run", "m", *TINY)
    assert result.exit_code == 0, result.output
    shutil.copytree(workdir / "checkpoints/m", workdir / "checkpoints/bad$\\frac$")
    result = invoke("gradflow", "--checkpoint", "checkpoints/bad$\\frac$", "--length", 20,
                    "--file", "corpus.txt", "--png", "g.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (workdir / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
