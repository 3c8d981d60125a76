"""The whole model: gradcheck of every architecture, the cloze model's no-leak property,
state carried across windows, dropout, initialisation, determinism and the loss."""

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charlm.inspect import gradcheck as gc
from charlm.inspect.gradcheck import numerical_grad
from charlm.nn import head, lstm, model
from charlm.nn.infer import read
from charlm.nn.model import ModelSpec, forward, init_params, init_state
from tests.helpers import assert_grad_close

V = 6
SPECS = gc.default_specs()  # rnn, lstm, gru x uni, bi x 1 layer (one-hot), 2 layers (embedding)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_gradcheck_every_architecture(spec):
    rows = gc.check(spec)
    assert len(rows) == len(model.param_shapes(spec)) + (
        0 if spec.bidirectional else len(model.CELLS[spec.cell].STATE_NAMES)
    )
    bad = [(r.param, r.max_error) for r in rows if not r.passed]
    assert not bad


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    """A backward that is off in one gate must fail the check: the check can fail."""
    real = lstm.backward

    def broken(p, cache, dout, dstateT, dh_seen=None):
        dx, dstate0, grads = real(p, cache, dout, dstateT, dh_seen)
        H = p["weight_hh"].shape[1]
        grads["weight_hh"][2 * H : 3 * H] *= 1.001  # 0.1% off in the g gate only
        return dx, dstate0, grads

    monkeypatch.setattr(lstm, "backward", broken)
    rows = gc.check(model.ModelSpec("lstm", V, 4, num_layers=1))
    failed = {r.param for r in rows if not r.passed}
    assert failed == {"weight_hh_l0"}


def test_gradcheck_samples_large_tensors():
    spec = model.ModelSpec("gru", 16, 32, num_layers=1, embedding_size=8)
    rows = gc.check(spec, max_entries=20)
    by_name = {r.param: r for r in rows}
    assert by_name["weight_hh_l0"].checked == 20 and by_name["weight_hh_l0"].total == 96 * 32
    assert by_name["head.bias"].checked == 16  # small tensors are checked whole
    assert all(r.passed for r in rows)


def _spec(cell, layers, bidirectional=True, embedding=None):
    return model.ModelSpec(cell, V, 5, layers, bidirectional, embedding_size=embedding)


@settings(max_examples=30, deadline=None)
@given(
    cell=st.sampled_from(["rnn", "lstm", "gru"]),
    layers=st.sampled_from([1, 2]),
    embedding=st.sampled_from([None, 3]),
    t=st.integers(0, 6),
    seed=st.integers(0, 2**16),
)
def test_bidirectional_never_sees_the_character_it_predicts(cell, layers, embedding, t, seed):
    spec = _spec(cell, layers, embedding=embedding)
    rng = np.random.default_rng(seed)
    params = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, V, (7, 3))
    x2 = x.copy()
    x2[t] = (x[t] + 1 + rng.integers(0, V - 1, 3)) % V  # a different character in every column
    logits, _, _ = model.forward(params, spec, x)
    logits2, _, _ = model.forward(params, spec, x2)
    np.testing.assert_array_equal(logits[t], logits2[t])  # exactly: x_t does not reach it
    others = [s for s in range(7) if s != t]
    assert np.abs(logits[others] - logits2[others]).max() > 1e-6  # but it reaches the others


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_no_leak_holds_for_every_position_and_cell(cell, layers):
    """The property above, exhaustively: every position of a window, for every cell/depth."""
    spec = _spec(cell, layers)
    rng = np.random.default_rng(layers)
    params = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, V, (6, 2))
    logits, _, _ = model.forward(params, spec, x)
    for t in range(6):
        x2 = x.copy()
        x2[t] = (x[t] + 1) % V
        np.testing.assert_array_equal(model.forward(params, spec, x2)[0][t], logits[t])


def test_a_pytorch_style_stack_would_leak():
    """Why two separate stacks: feeding [hf_t, hb_t] of layer 1 into layer 2 leaks x_t."""
    spec = _spec("rnn", 1)
    rng = np.random.default_rng(0)
    p = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, V, (6, 2))

    def mixed_layer2(x):  # layer 1 both ways, concatenated, as torch.nn.RNN(bidirectional=True)
        lp = model.layer_params
        f, _, _ = model.CELLS["rnn"].forward(lp(p, 0), x, [np.zeros((2, 5))])
        b, _, _ = model.CELLS["rnn"].forward(lp(p, 0, "_reverse"), x[::-1], [np.zeros((2, 5))])
        return np.concatenate([f, b[::-1]], axis=-1)

    # Predicting x_3 uses layer 2's forward state at position 2, which has read layer 2's
    # input at position 2: that holds hb_2, which has read x_5..x_2, so x_3 among them.
    x2 = x.copy()
    x2[3] = (x[3] + 1) % V
    assert np.abs(mixed_layer2(x)[2] - mixed_layer2(x2)[2]).max() > 1e-6


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_carried_across_windows_equals_one_long_window(cell):
    spec = model.ModelSpec(cell, V, 5, num_layers=2, embedding_size=3)
    rng = np.random.default_rng(0)
    params = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, V, (10, 3))
    whole, state_whole, _ = model.forward(params, spec, x)
    first, state, _ = model.forward(params, spec, x[:4])
    second, state, _ = model.forward(params, spec, x[4:], state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12, atol=1e-12)
    for a, b in zip(state, state_whole, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # ...and the carried state changes the second window's predictions (it is really used)
    fresh, _, _ = model.forward(params, spec, x[4:])
    assert np.abs(fresh - second).max() > 1e-6


def test_truncated_bptt_treats_the_carried_state_as_a_constant():
    """loss_and_grads on window 2 gives the gradient of window 2's loss with state0 fixed,
    not the full-BPTT gradient through window 1."""
    spec = model.ModelSpec("lstm", V, 4, num_layers=1)
    rng = np.random.default_rng(3)
    params = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, V, (8, 2))
    y = rng.integers(0, V, (8, 2))
    _, _, state = model.loss_and_grads(params, spec, x[:4], y[:4])
    _, grads, _ = model.loss_and_grads(params, spec, x[4:], y[4:], state)

    def truncated():
        return head.cross_entropy(model.forward(params, spec, x[4:], state)[0], y[4:])[0]

    def full():  # window 2's loss, its state recomputed from window 1 with the same params
        s = model.forward(params, spec, x[:4])[1]
        return head.cross_entropy(model.forward(params, spec, x[4:], s)[0], y[4:])[0]

    w = params["weight_hh_l0"]
    assert_grad_close(grads["weight_hh_l0"], numerical_grad(truncated, w), "truncated")
    assert np.abs(grads["weight_hh_l0"] - numerical_grad(full, w)).max() > 1e-6


def test_dropout_masks_between_layers_only_and_scales():
    spec = model.ModelSpec("gru", V, 50, num_layers=3, dropout=0.4)
    params = model.init_params(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).integers(0, V, (20, 8))
    _, _, cache = model.forward(params, spec, x, rng=np.random.default_rng(2))
    masks = [mask for _, mask in cache.stacks[0]]
    assert masks[-1] is None  # none after the top layer
    for m in masks[:-1]:
        assert set(np.unique(m)) == {0.0, np.float32(1 / 0.6)}
        assert abs((m == 0).mean() - 0.4) < 0.03
    # evaluation (rng=None) is deterministic and has no mask
    a, _, c = model.forward(params, spec, x)
    b, _, _ = model.forward(params, spec, x)
    assert all(mask is None for _, mask in c.stacks[0])
    np.testing.assert_array_equal(a, b)


def test_dropout_gradients_match_finite_differences_under_a_fixed_mask():
    spec = model.ModelSpec("lstm", V, 4, num_layers=2, dropout=0.5, bidirectional=True)
    rng = np.random.default_rng(0)
    params = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, V, (5, 2))

    def loss():  # the same seed, the same masks, every evaluation
        logits = model.forward(params, spec, x, rng=np.random.default_rng(7))[0]
        return head.cross_entropy(logits, x)[0]

    _, grads, _ = model.loss_and_grads(params, spec, x, x, rng=np.random.default_rng(7))
    _, no_drop, _ = model.loss_and_grads(params, spec, x, x)
    for name in ("weight_ih_l0", "weight_hh_l1_reverse"):
        assert_grad_close(grads[name], numerical_grad(loss, params[name]), name)
    assert np.abs(grads["weight_ih_l0"] - no_drop["weight_ih_l0"]).max() > 1e-6


def test_param_names_and_shapes_follow_pytorch():
    spec = model.ModelSpec("lstm", 65, 8, num_layers=2, bidirectional=True, embedding_size=5)
    shapes = model.param_shapes(spec)
    assert shapes == {
        "embedding.weight": (65, 5),
        "weight_ih_l0": (32, 5), "weight_hh_l0": (32, 8), "bias_ih_l0": (32,), "bias_hh_l0": (32,),
        "weight_ih_l1": (32, 8), "weight_hh_l1": (32, 8), "bias_ih_l1": (32,), "bias_hh_l1": (32,),
        "weight_ih_l0_reverse": (32, 5), "weight_hh_l0_reverse": (32, 8),
        "bias_ih_l0_reverse": (32,), "bias_hh_l0_reverse": (32,),
        "weight_ih_l1_reverse": (32, 8), "weight_hh_l1_reverse": (32, 8),
        "bias_ih_l1_reverse": (32,), "bias_hh_l1_reverse": (32,),
        "head.weight": (65, 16), "head.bias": (65,),
    }  # fmt: skip


def test_init_follows_pytorch_bounds():
    spec = model.ModelSpec("gru", 65, 100, num_layers=1, embedding_size=16)
    p = model.init_params(spec, np.random.default_rng(0))
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        assert np.abs(p[name]).max() <= 0.1 and np.abs(p[name]).max() > 0.099
    assert np.abs(p["head.weight"]).max() <= 0.1
    assert abs(p["embedding.weight"].std() - 1.0) < 0.05  # N(0, 1), as nn.Embedding
    assert all(a.dtype == np.float32 for a in p.values())


def test_same_seed_same_run_and_float32_by_default():
    spec = model.ModelSpec("lstm", V, 8, num_layers=2, dropout=0.2)

    def run(seed):
        rng = np.random.default_rng(seed)
        params = model.init_params(spec, rng)
        x = rng.integers(0, V, (6, 4))
        losses, state = [], None
        for _ in range(3):
            loss, grads, state = model.loss_and_grads(
                params, spec, x, np.roll(x, -1, 0), state, rng
            )
            for k in params:
                params[k] -= 0.1 * grads[k]
            losses.append(loss)
        assert all(g.dtype == np.float32 for g in grads.values())
        return losses, params

    (l1, p1), (l2, p2), (l3, _) = run(5), run(5), run(6)
    assert l1 == l2 and all(np.array_equal(p1[k], p2[k]) for k in p1)
    assert l1 != l3


def test_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(0)
    loss, _ = head.cross_entropy(np.zeros((3, 2, 7)), np.zeros((3, 2), dtype=int))
    assert math.isclose(loss, math.log(7), rel_tol=1e-12)
    logits = rng.standard_normal((3, 2, 7)) * 30  # large logits: no overflow
    y = rng.integers(0, 7, (3, 2))
    loss, dlogits = head.cross_entropy(logits, y)
    z = logits - logits.max(-1, keepdims=True)
    expected = np.mean(np.log(np.exp(z).sum(-1)) - np.take_along_axis(z, y[..., None], -1)[..., 0])
    assert math.isclose(loss, expected, rel_tol=1e-12)
    small = rng.standard_normal((3, 2, 7))
    _, d = head.cross_entropy(small, y)
    assert_grad_close(d, numerical_grad(lambda: head.cross_entropy(small, y)[0], small), "logits")


def test_bits_per_character_is_nats_over_ln2():
    assert math.isclose(math.log(65) / head.LN2, math.log2(65))


def test_gradcheck_turns_dropout_off():
    spec = replace(SPECS[-1], dropout=0.9)  # 2 layers: dropout would act between them
    assert spec.num_layers == 2
    assert all(r.passed for r in gc.check(spec))


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("rnn", 9, 6, 2),
        ModelSpec("lstm", 9, 6, 2, embedding_size=4),
        ModelSpec("gru", 9, 5, 1),
    ],
    ids=lambda s: s.describe(),
)
def test_reading_a_chunk_at_a_time_is_the_training_forward(spec):
    """model.read (no cache, CHUNK steps at a time) gives the forward pass's last logits and
    final state, to rounding, in float64."""
    rng = np.random.default_rng(0)
    params = init_params(spec, rng, np.float64)
    x = rng.integers(0, spec.vocab_size, size=(300, 2))
    state0 = tuple(0.3 * rng.standard_normal(s.shape) for s in init_state(spec, 2, np.float64))
    logits, stateT, _ = forward(params, spec, x, state0)
    for chunk in (1, 7, 256, 1000):
        last, state = read(params, spec, x, state0, chunk=chunk)
        np.testing.assert_allclose(last, logits[-1], rtol=0, atol=1e-12)
        for a, b in zip(state, stateT, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
