"""Each cell against a reference written from PyTorch's equations, and against finite
differences for every input it takes: x, the initial state, the four parameter tensors."""

import numpy as np
import pytest

from charlm.inspect.gradcheck import numerical_grad
from charlm.nn import gru, lstm, model, rnn
from tests.helpers import assert_grad_close, reference_step

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
T, B, D, H = 5, 3, 4, 3


def make(cell_name, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    G = CELLS[cell_name].GATES
    p = {
        "weight_ih": rng.uniform(-0.8, 0.8, (G * H, D)),
        "weight_hh": rng.uniform(-0.8, 0.8, (G * H, H)),
        "bias_ih": rng.uniform(-0.5, 0.5, G * H),
        "bias_hh": rng.uniform(-0.5, 0.5, G * H),
    }
    state0 = [rng.standard_normal((B, H)) for _ in CELLS[cell_name].STATE_NAMES]
    return {k: v.astype(dtype) for k, v in p.items()}, [s.astype(dtype) for s in state0], rng


@pytest.mark.parametrize("cell_name", CELLS)
def test_forward_matches_reference_equations(cell_name):
    p, state0, rng = make(cell_name)
    x = rng.standard_normal((T, B, D))
    out, stateT, _ = CELLS[cell_name].forward(p, x, state0)
    state = tuple(state0)
    for t in range(T):
        state = reference_step(cell_name, p, x[t], state)
        np.testing.assert_allclose(out[t], state[0], rtol=1e-12, atol=1e-12)
    for mine, ref in zip(stateT, state, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell_name", CELLS)
def test_shapes_and_dtypes(cell_name):
    p, state0, rng = make(cell_name, dtype=np.float32)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    cell = CELLS[cell_name]
    out, stateT, cache = cell.forward(p, x, state0)
    assert out.shape == (T, B, H) and out.dtype == np.float32
    assert [s.shape for s in stateT] == [(B, H)] * len(cell.STATE_NAMES)
    dx, dstate0, grads = cell.backward(
        p, cache, np.ones_like(out), [np.ones_like(s) for s in stateT]
    )
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert [d.shape for d in dstate0] == [(B, H)] * len(cell.STATE_NAMES)
    assert {k: g.shape for k, g in grads.items()} == {k: v.shape for k, v in p.items()}
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("cell_name", CELLS)
@pytest.mark.parametrize("one_hot", [False, True])
def test_backward_matches_finite_differences(cell_name, one_hot):
    """L = sum(out * R) + sum_k sum(stateT_k * S_k): exercises dout and every dstateT."""
    cell = CELLS[cell_name]
    p, state0, rng = make(cell_name, seed=1)
    x = rng.integers(0, D, (T, B)) if one_hot else rng.standard_normal((T, B, D))
    R = rng.standard_normal((T, B, H))
    S = [rng.standard_normal((B, H)) for _ in state0]

    def loss():
        out, stateT, _ = cell.forward(p, x, state0)
        return float((out * R).sum() + sum((s * w).sum() for s, w in zip(stateT, S, strict=True)))

    _, _, cache = cell.forward(p, x, state0)
    dx, dstate0, grads = cell.backward(p, cache, R, S)
    for name in p:
        assert_grad_close(grads[name], numerical_grad(loss, p[name]), name)
    for k, s in enumerate(state0):
        assert_grad_close(dstate0[k], numerical_grad(loss, s), f"state0[{k}]")
    if one_hot:
        assert dx is None
    else:
        assert_grad_close(dx, numerical_grad(loss, x), "x")


@pytest.mark.parametrize("cell_name", CELLS)
def test_one_hot_ids_equal_dense_one_hot_rows(cell_name):
    """The gather path for ids must be exactly the GEMM with explicit one-hot vectors."""
    cell = CELLS[cell_name]
    p, state0, rng = make(cell_name, seed=2)
    ids = rng.integers(0, D, (T, B))
    dense = np.eye(D)[ids]
    out_i, st_i, cache_i = cell.forward(p, ids, state0)
    out_d, st_d, cache_d = cell.forward(p, dense, state0)
    np.testing.assert_allclose(out_i, out_d, rtol=1e-12, atol=1e-12)
    R = rng.standard_normal(out_i.shape)
    zeros = [np.zeros_like(s) for s in st_i]
    _, _, g_i = cell.backward(p, cache_i, R, zeros)
    _, _, g_d = cell.backward(p, cache_d, R, zeros)
    for name in p:
        np.testing.assert_allclose(g_i[name], g_d[name], rtol=1e-12, atol=1e-12)


def test_lstm_forget_gate_bias_init():
    spec = model.ModelSpec("lstm", vocab_size=5, hidden_size=4, num_layers=2, forget_bias=1.0)
    p = model.init_params(spec, np.random.default_rng(0))
    for k in range(2):
        assert np.all(p[f"bias_ih_l{k}"][4:8] == 1.0)
        assert np.all(p[f"bias_hh_l{k}"][4:8] == 0.0)
        assert np.all(np.abs(p[f"bias_ih_l{k}"][:4]) <= 0.5)  # the rest stays U(+-1/sqrt(H))
        assert np.ptp(p[f"bias_ih_l{k}"][:4]) > 0


@pytest.mark.parametrize("vocab", [7, 600])
def test_one_hot_weight_gradient_both_ways(vocab, monkeypatch):
    """dW_ih for ids, by the one-hot GEMM (small vocabularies) and by the scatter-add (large),
    equals the dense product dproj^T onehot(x) exactly enough."""
    from charlm.nn import common

    rng = np.random.default_rng(0)
    x = rng.integers(0, vocab, size=(6, 3))
    x[0, 0] = x[1, 0]  # a repeated id must add up
    dproj = rng.standard_normal((6, 3, 8))
    weight = rng.standard_normal((8, vocab))
    dense = dproj.reshape(-1, 8).T @ np.eye(vocab)[x.ravel()]
    for limit in (10_000, 0):  # force the GEMM, then the scatter
        monkeypatch.setattr(common, "ONE_HOT_GEMM_MAX", limit)
        dw, dx = common.project_input_backward(weight, x, dproj)
        assert dx is None and dw.shape == weight.shape
        np.testing.assert_allclose(dw, dense, rtol=1e-12, atol=1e-12)
