"""charlm saliency: input gradients equal finite differences; the page holds the text."""

import json
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

from charlm.cli import app
from charlm.errors import CharlmError
from charlm.inspect import saliency as sal
from charlm.inspect import show
from charlm.inspect.gradcheck import numerical_grad
from charlm.nn.model import ModelSpec, init_params
from charlm.run import checkpoint, loop, rundir, train
from charlm.run.data import Vocab
from tests.helpers import assert_grad_close, launched, small_config

runner = CliRunner()
VOCAB = Vocab(np.array([ord(c) for c in sorted("\n <>&abcde")], dtype=np.uint32))


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("lstm", 10, 5, num_layers=2),
        ModelSpec("gru", 10, 4, embedding_size=3),
        ModelSpec("rnn", 10, 4, bidirectional=True),
    ],
    ids=["lstm-one-hot", "gru-embedding", "birnn"],
)
def test_input_gradient_equals_finite_differences(spec):
    params = init_params(spec, np.random.default_rng(3), np.float64)
    ids = np.random.default_rng(4).integers(0, 10, size=8)
    at, target = (4, 2) if spec.bidirectional else (8, 6)
    read = ids if spec.bidirectional else ids[:at]
    vectors = sal.input_vectors(params, spec, read)
    analytic, _ = sal.input_gradient(params, spec, vectors, at, target)
    numeric = numerical_grad(
        lambda: sal.prediction_loss(params, spec, vectors, at, target)[0], vectors
    )[:, 0]
    assert_grad_close(analytic, numeric, spec.describe())
    result = sal.saliency(params, spec, VOCAB, ids, at, target)
    np.testing.assert_allclose(
        result.scores, np.linalg.norm(numeric, axis=-1), rtol=1e-6, atol=1e-10
    )


def test_the_default_prediction_and_target():
    spec = ModelSpec("lstm", 10, 6)
    params = init_params(spec, np.random.default_rng(0))
    ids = VOCAB.encode("abc de")
    after = sal.saliency(params, spec, VOCAB, ids)
    assert after.at == 6 and len(after.scores) == 6
    assert after.target == after.top[0][0]  # after the text: the model's own first choice
    inside = sal.saliency(params, spec, VOCAB, ids, at=3)
    assert inside.target == " " and "".join(inside.chars) == "abc"
    with pytest.raises(CharlmError, match="at=0: must be from 1 to 6"):
        sal.saliency(params, spec, VOCAB, ids, at=0)


def test_a_cloze_prediction_ignores_its_own_character():
    spec = ModelSpec("gru", 10, 6, bidirectional=True)
    params = init_params(spec, np.random.default_rng(0))
    result = sal.saliency(params, spec, VOCAB, VOCAB.encode("abcdeab"))
    assert result.at == 3 and result.target == "d"
    assert result.scores[3] == 0.0 and np.all(np.delete(result.scores, 3) > 0)


class Checker(HTMLParser):
    """Fails on unbalanced tags; collects the text inside <pre>."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.pre, self.doctype = [], [], False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data):
        if "pre" in self.stack:
            self.pre.append(data)


def test_html_is_valid_and_holds_every_character():
    spec = ModelSpec("rnn", 10, 6)
    params = init_params(spec, np.random.default_rng(0))
    text = "a <b> & c\nd"
    result = sal.saliency(params, spec, VOCAB, VOCAB.encode(text))
    page = show.saliency_html(result)
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.doctype and checker.stack == []
    shown = "".join(checker.pre).replace("⏎\n", "\n")
    assert shown == text + result.target
    assert page.count("<span style=") == len(text)


@pytest.fixture
def trained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = small_config(tmp_path, "train.max_steps=5")
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    run_dir = tmp_path / "checkpoints" / "test"
    rundir.prepare(run_dir, fresh=True)
    loop.run(launched(ck, corpus, run_dir))
    return ck, run_dir / checkpoint.LATEST


def test_cli_json_and_html(trained, tmp_path):
    ck, path = trained
    text = "the cat sat on a"
    page = tmp_path / "s.html"
    result = runner.invoke(app, ["saliency", text, "--checkpoint", str(path), "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "prediction of character 16" in result.output and f"wrote {page}" in result.output
    checker = Checker()
    checker.feed(page.read_text(encoding="utf-8"))
    assert "".join(checker.pre).startswith(text)
    result = runner.invoke(app, ["saliency", text, "--at", "4", "--json"])  # newest checkpoint
    data = json.loads(result.output)
    expected = sal.saliency(ck.params, ck.spec, ck.vocab, ck.vocab.encode(text), at=4)
    assert data["target"] == "c" and data["chars"] == list("the ")
    np.testing.assert_allclose(data["scores"], expected.scores)


def test_cli_errors(trained):
    _, path = trained
    result = runner.invoke(app, ["saliency", "--checkpoint", str(path)])
    assert result.exit_code == 2 and "give the text to explain" in result.output
    result = runner.invoke(app, ["saliency", "the QUIZ", "--checkpoint", str(path)])
    assert result.exit_code == 2
    assert "the text:" in result.output and "pass --skip-unknown" in result.output
    result = runner.invoke(app, ["saliency", "the cat", "--target", "ca"])
    assert result.exit_code == 2 and "--target 'ca': must be a single character" in result.output
    result = runner.invoke(app, ["saliency", "the cat", "--at", "9"])
    assert result.exit_code == 2 and "--at 9: must be from 1 to 7" in result.output
