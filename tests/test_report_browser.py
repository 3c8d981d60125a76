"""The report as a person sees it: opened in a real headless browser (the distribution's
Chromium; .ci/run installs it), it logs nothing to the console, its rendered page holds the
five charts, and a screenshot of it shows them (not a blank page)."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import charlm
from tests.helpers import write_corpus

pytest.importorskip("matplotlib", reason="charlm installs matplotlib; this environment lacks it")
BROWSER = next(
    (b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium here to open the page in")
CHARTS = ("loss-steps", "loss-time", "lr", "grad", "speed")


def chromium(page, profile, *args):
    """Run the browser headless on the page; returns its stderr (with the console's lines)."""
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
           page.as_uri()]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    write_corpus(root / "corpus.txt", 4000)
    sets = ["model.hidden_size=8", "model.num_layers=1", "train.batch_size=4",
            "train.seq_len=16", "train.eval_every=5", "train.report=true",
            f"output.dir={root / 'checkpoints'}"]  # fmt: skip
    charlm.train(corpus=root / "corpus.txt", steps=30, run="seen", overrides=sets)
    return root / "checkpoints" / "seen" / "report.html"


def test_the_page_renders_its_charts_with_no_console_message(page, tmp_path):
    proc = chromium(page, tmp_path / "profile", "--dump-dom")
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no error, no warning, nothing
    dom = proc.stdout
    assert dom.count("<svg") == len(CHARTS)
    for name in CHARTS:
        assert f'id="chart-{name}"' in dom
    assert dom.count('<g id="val-0">') == 2 and "<td>done</td>" in dom


def test_a_screenshot_shows_the_page(page, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1400")
    pixels = (imread(shot)[..., :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (1400, 1280)
    ink = (pixels < 200).any(axis=-1).mean()
    assert 0.01 < ink < 0.5, ink  # text and charts on a white page, not blank, not a void
    blue = (np.abs(pixels - (31, 119, 180)) <= 12).all(axis=-1).sum()  # the run's colour
    assert blue > 500, blue  # the curves are drawn


def test_the_neurons_page_shades_the_text_by_the_chosen_unit(page, tmp_path):
    # the page's script runs: no console message, and the text is shaded by the first unit
    out = tmp_path / "neurons.html"
    text = "the cat sat on a mat, and then the dog ran\nto it\n" * 3
    run = page.parent
    result = subprocess.run(
        [sys.executable, "-m", "charlm", "neurons", text, "--checkpoint", run, "--find",
         "space", "--html", out], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    proc = chromium(out, tmp_path / "profile", "--dump-dom")
    assert [line for line in proc.stderr.splitlines() if ":CONSOLE" in line] == []
    first = re.search(r'<button data-unit="([^"]+)" class="on">', proc.stdout).group(1)
    assert f'id="shown">unit {first}<' in proc.stdout
    shades = re.findall(r'<span style="background: rgb\((\d+), (\d+), (\d+)\);" title="\d+: '
                        r"[^\"]* = (-?[\d.]+)\"", proc.stdout)  # fmt: skip
    assert len(shades) == len(text)
    for r, g, b, v in shades:  # blue below 0, red above, white at 0, as the value says
        v, fade = float(v), 255 - round(255 * min(1.0, abs(float(v))))
        want = (255, fade, fade) if v >= 0 else (fade, fade, 255)
        assert abs(int(r) - want[0]) <= 2 and abs(int(b) - want[2]) <= 2, (r, g, b, v)
