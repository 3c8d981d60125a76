"""The writing page as a person uses it, in the distribution's Chromium (driven by Playwright):
type a prime, Tab for continuations, choose one, accept it and see it in the text; "Write on"
streams text in; a cloze model fills the blanks. No console message, nothing from the web."""

import shutil

import numpy as np
import pytest

import charlm
from tests.helpers import write_corpus
from tests.test_serve import sampled, started, stopped

sync = pytest.importorskip("playwright.sync_api", reason="the page test drives Chromium")
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium here to open the page in")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    write_corpus(root / "corpus.txt", 6000)
    sets = ["model.hidden_size=16", "train.seq_len=16", f"output.dir={root / 'checkpoints'}"]
    charlm.train(corpus=root / "corpus.txt", steps=40, run="words", overrides=sets)
    charlm.train(corpus=root / "corpus.txt", steps=10, run="blanks",
                 overrides=[*sets, "model.bidirectional=true"])  # fmt: skip
    runs = [str(root / "checkpoints" / r) for r in ("words", "blanks")]
    proc, url, _ = started([*runs, "--port", "0"], root)
    yield url, root
    assert stopped(proc)[0] == 0


@pytest.fixture
def page(served):
    messages = []
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.on("console", lambda m: messages.append(m.text))
        page.on("pageerror", lambda e: messages.append(str(e)))
        page.on("request", lambda r: r.url.startswith(served[0]) or messages.append(r.url))
        page.goto(served[0] + "/?seed=21")
        page.wait_for_function("document.getElementById('status').textContent === 'ready'")
        yield page
        browser.close()
    assert messages == []  # no error, no warning, no request to anywhere else


def test_tab_offers_continuations_and_one_is_accepted(page, served, tmp_path):
    model = charlm.load(served[1] / "checkpoints" / "words" / "best.npz")
    page.click("#text")
    page.keyboard.type("the cat ")
    page.keyboard.press("Tab")
    page.wait_for_selector("#choices li")
    offered = page.locator("#choices li").all_text_contents()
    expected = []
    for i in range(3):  # what the API gives for these settings: 40 characters, up to a newline
        text = sampled(model, "the cat ", 40, 21 + i, temperature=0.8).split("\n")[0]
        if text and text not in expected:
            expected.append(text)
    assert offered == expected and offered
    page.keyboard.press("ArrowDown")
    chosen = 1 % len(offered)
    assert page.locator("#choices li.on").text_content() == offered[chosen]
    page.screenshot(path=tmp_path / "page.png")
    page.keyboard.press("Tab")
    assert page.locator("#text").input_value() == "the cat " + offered[chosen]
    assert page.locator("#choices").is_hidden()
    page.keyboard.press("Tab")  # again, at the new cursor; Esc dismisses
    page.wait_for_selector("#choices li")
    page.keyboard.press("Escape")
    assert page.locator("#choices").is_hidden()
    assert page.locator("#text").input_value() == "the cat " + offered[chosen]
    from matplotlib.image import imread

    shot = imread(tmp_path / "page.png")
    assert shot.shape[:2] == (760, 1100) and np.std(shot[..., :3]) > 0.05  # not a blank page


def test_write_on_streams_text_in_at_the_cursor(page, served):
    model = charlm.load(served[1] / "checkpoints" / "words" / "best.npz")
    page.fill("#length", "120")
    page.click("#text")
    page.keyboard.type("a dog ")
    page.click("#write")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('wrote')")
    written = sampled(model, "a dog ", 120, 21, temperature=0.8)
    assert page.locator("#text").input_value() == "a dog " + written
    assert page.locator("#status").text_content() == "wrote 120 characters"


def test_a_cloze_model_fills_the_blanks(page, served):
    page.select_option("#model", "blanks")
    assert page.locator("#fill").is_visible() and page.locator("#write").is_hidden()
    page.click("#text")
    page.keyboard.type("the c_t sat on the _at")
    page.click("#fill")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('filled')")
    model = charlm.load(served[1] / "checkpoints" / "blanks" / "best.npz")
    expected = model.fill("the c_t sat on the _at", seed=21, temperature=0.8)
    assert page.locator("#text").input_value() == expected
    assert page.locator("#status").text_content() == "filled 2 blanks"


def test_with_a_key_the_page_asks_for_it_and_then_works(served, tmp_path):
    run = str(served[1] / "checkpoints" / "words")
    proc, url, _ = started([run, "--port", "0", "--api-key", "k-123"], tmp_path)
    try:
        with sync.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_selector("#key-box", state="visible")
            assert "API key" in page.locator("#status").text_content()
            page.fill("#key", "k-123")
            page.locator("#key").press("Enter")  # a change event: the models load
            page.wait_for_function("document.getElementById('status').textContent === 'ready'")
            assert page.locator("#model option").all_text_contents()[0].startswith("words")
            browser.close()
    finally:
        assert stopped(proc)[0] == 0
