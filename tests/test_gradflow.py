"""charlm gradflow: dL_T/dh_t equals finite differences; vanishing and exploding on cue."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from charlm.cli import app
from charlm.errors import CharlmError
from charlm.inspect import gradflow as gf
from charlm.nn import head
from charlm.nn.model import CELLS, ModelSpec, init_params, init_state, layer_params
from charlm.run import rundir
from tests.helpers import assert_grad_close

runner = CliRunner()


def last_loss(params, spec, ids, bump=None):
    """L_T computed one step and one layer at a time with charlm's cells, adding `bump` = (k, t,
    vector) to layer k's hidden state h_t wherever it goes (up a layer and on to step t+1)."""
    cell = CELLS[spec.cell]
    zeros = init_state(spec, 1, np.float64)
    state = [[s[k] for s in zeros] for k in range(spec.num_layers)]
    for t, i in enumerate(ids[:-1]):
        inp = np.array([[i]])
        for k in range(spec.num_layers):
            out, new, _ = cell.forward(layer_params(params, k), inp, state[k])
            new = list(new)
            if bump is not None and bump[:2] == (k, t):
                new[0] = new[0] + bump[2]
                out = out + bump[2]
            state[k], inp = new, out
    logits = head.linear(inp, params["head.weight"], params["head.bias"])
    return -head.log_softmax(logits[0, 0])[ids[-1]]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hidden_gradients_equal_finite_differences(cell):
    """Every entry of dL_T/dh^k_t, both layers, every step, against central differences."""
    spec = ModelSpec(cell, 7, 5, num_layers=2)
    params = init_params(spec, np.random.default_rng(1), np.float64)
    ids = np.random.default_rng(2).integers(0, 7, size=7)
    loss, layers = gf.hidden_gradients(params, spec, ids)
    assert loss == pytest.approx(last_loss(params, spec, ids), rel=1e-12)
    eps = 1e-6
    for k, analytic in enumerate(layers):
        numeric = np.zeros_like(analytic)
        for t in range(analytic.shape[0]):
            for j in range(analytic.shape[1]):
                e = np.zeros((1, spec.hidden_size))
                e[0, j] = eps
                up = last_loss(params, spec, ids, (k, t, e))
                down = last_loss(params, spec, ids, (k, t, -e))
                numeric[t, j] = (up - down) / (2 * eps)
        assert_grad_close(analytic, numeric, f"{cell} layer {k}")
    f = gf.flow(params, spec, ids)
    both = np.concatenate(layers, axis=-1)
    np.testing.assert_allclose(f.norm, np.linalg.norm(both, axis=-1))
    np.testing.assert_allclose(f.max, both.max(axis=-1))
    assert f.norm[-1] > 0 and f.layer_norm.shape == (2, 6)


def _fresh_norms(scale):
    vocab = gf.text_vocab(gf.TEXT)
    params, spec = gf.fresh("rnn", 32, len(vocab), seed=0, scale_hh=scale)
    return gf.flow(params, spec, vocab.encode(gf.TEXT)[:61]).norm


def test_small_recurrent_weights_vanish_and_large_ones_explode():
    small = _fresh_norms(0.5)
    assert np.all(np.diff(small) > 0)  # smaller at every step further back
    assert small[0] < 1e-15 * small[-1]
    large = _fresh_norms(4.0)
    assert large[0] > 100 * large[-1]  # 60 steps back it is larger than at the last step


def test_a_bidirectional_model_has_no_flow_through_time():
    spec = ModelSpec("lstm", 5, 4, bidirectional=True)
    params = init_params(spec, np.random.default_rng(0))
    with pytest.raises(CharlmError, match="bidirectional"):
        gf.flow(params, spec, np.arange(5), "bi.npz")


def test_steps_shown_are_log_spaced_back_from_the_last():
    assert gf.steps_to_show(100) == [100, 99, 98, 96, 92, 84, 68, 36, 1]
    assert gf.steps_to_show(3, every=True) == [3, 2, 1]


def test_cli_table_chart_and_json(tmp_path):
    result = runner.invoke(app, ["gradflow", "--length", "40", "--hidden", "16"])
    assert result.exit_code == 0, result.output
    for name in ("fresh rnn 16", "fresh lstm 16", "fresh gru 16"):
        assert result.output.count(name) == 2  # a table title and a chart row
    assert "||dL_T/dh_t|| on a log scale" in result.output
    result = runner.invoke(app, ["gradflow", "--type", "gru", "--length", "40", "--json"])
    data = json.loads(result.output)
    (model,) = data["models"]
    vocab = gf.text_vocab(gf.TEXT)
    params, spec = gf.fresh("gru", 64, len(vocab))
    expected = gf.flow(params, spec, vocab.encode(gf.TEXT)[:41])
    assert model["t"] == list(range(1, 41))
    np.testing.assert_allclose(model["norm"], expected.norm)


def test_cli_on_a_trained_checkpoint(tmp_path):
    from charlm.run import checkpoint, loop, train
    from tests.helpers import launched, small_config

    cfg = small_config(tmp_path, "model.num_layers=2", "train.max_steps=5")
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    run_dir = tmp_path / "checkpoints" / "test"
    rundir.prepare(run_dir, fresh=True)
    loop.run(launched(ck, corpus, run_dir))
    text = "the cat sat on a mat and then dog ran to it"
    path = run_dir / checkpoint.LATEST
    args = ["gradflow", text, "--checkpoint", str(path), "--checkpoint", str(path)]
    result = runner.invoke(app, [*args, "--length", "30", "--json"])
    assert result.exit_code == 0, result.output
    a, b = json.loads(result.output)["models"]
    expected = gf.flow(ck.params, ck.spec, ck.vocab.encode(text)[:31])
    np.testing.assert_allclose(a["norm"], expected.norm)
    assert a["norm"] == b["norm"] and len(a["layer_norm"]) == 2
    result = runner.invoke(app, [*args, "--length", "60"])
    assert result.exit_code == 2
    assert "--length 60: needs 61 characters and the text has 43" in result.output


def test_cli_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "flow.png"
    args = ["gradflow", "--type", "rnn,lstm", "--length", "20", "--png", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out}" in result.output


def test_cli_png_without_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "flow.png"
    result = runner.invoke(app, ["gradflow", "--type", "rnn", "--length", "5", "--png", str(out)])
    assert result.exit_code == 2
    assert "which charlm installs: pip install matplotlib" in result.output
    assert not out.exists()
