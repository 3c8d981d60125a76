"""LSTM layer, exactly torch.nn.LSTM (gates stacked in the order i, f, g, o).

    i_t = sigma(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)      input gate
    f_t = sigma(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)      forget gate
    g_t = tanh (x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)      candidate
    o_t = sigma(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t                             the memory
    h_t = o_t * tanh(c_t)

The four gates are one fused product: a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, (B, 4H),
and one tanh call: sigma(a) = (1 + tanh(a/2)) / 2, so with s = 1/2 on the i, f, o columns and
s = 1 on the g columns, every gate is s * tanh(s * a) + (1 - s).

Shapes (T steps, B sequences, D input features, H hidden units):
    x          (T, B, D) floats, or (T, B) character ids for one-hot input (D = vocabulary)
    weight_ih  (4H, D)   weight_hh (4H, H)   bias_ih (4H,)   bias_hh (4H,)
    state      (h, c) with h, c (B, H)
    out        (T, B, H): h_1 .. h_T

Backpropagation through time, with dh_t and dc_t all the gradient reaching h_t and c_t:
    dc_t    += dh_t * o_t * (1 - tanh(c_t)^2)
    da_t     = [dc_t * g_t * i_t(1-i_t),          at the pre-activations of i,
                dc_t * c_{t-1} * f_t(1-f_t),                                f,
                dc_t * i_t * (1-g_t^2),                                     g,
                dh_t * tanh(c_t) * o_t(1-o_t)]                              o
    dc_{t-1} = dc_t * f_t           (the memory's path: gradient scaled by f, not squashed)
    dh_{t-1} = dout_{t-1} + da_t W_hh
    dW_hh    = sum_t da_t^T h_{t-1}     dW_ih = sum_t da_t^T x_t     db_ih = db_hh = sum_t da_t
The factors after dc_t and dh_t need no recursion: backward computes them for all T steps at
once, and the loop over t only carries dh and dc.
"""

from typing import NamedTuple

import numpy as np

from charlm.nn.common import (
    project_input,
    project_input_backward,
    project_input_steps,
    recurrent_weight,
    sigmoid_grad,
    tanh_grad,
)

GATES = 4
STATE_NAMES = ("h", "c")


class Cache(NamedTuple):
    x: np.ndarray  # (T, B, D) or (T, B) ids: the layer's input
    h: np.ndarray  # (T+1, B, H): h_0 .. h_T
    c: np.ndarray  # (T+1, B, H): c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H): i, f, g, o after their nonlinearities
    tanh_c: np.ndarray  # (T, B, H): tanh(c_1) .. tanh(c_T)


def gate_scale(H, dtype):
    """s (4H,): 1/2 on the sigmoid gates i, f, o and 1 on the tanh gate g."""
    s = np.full(4 * H, 0.5, dtype=dtype)
    s[2 * H : 3 * H] = 1.0
    return s


def forward(p, x, state0):
    """Run the layer over a window. Returns (out (T, B, H), (h_T, c_T), cache)."""
    h0, c0 = state0
    T, (B, H) = x.shape[0], h0.shape
    W = recurrent_weight(p["weight_hh"], T)  # W_hh^T (H, 4H)
    s = gate_scale(H, h0.dtype)
    shift = 1 - s
    gates = project_input(p["weight_ih"], p["bias_ih"] + p["bias_hh"], x)  # (T, B, 4H), one GEMM
    h = np.empty((T + 1, B, H), dtype=h0.dtype)
    c = np.empty_like(h)
    tanh_c = np.empty((T, B, H), dtype=h0.dtype)
    h[0], c[0] = h0, c0
    hW, ig = np.empty((B, 4 * H), dtype=h0.dtype), np.empty((B, H), dtype=h0.dtype)
    for t in range(T):
        a = gates[t]
        a += np.matmul(h[t], W, out=hW)  # all four gates in one GEMM
        a *= s  # then i, f, o = sigma and g = tanh in one tanh call
        np.tanh(a, out=a)
        a *= s
        a += shift
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        np.multiply(f, c[t], out=c[t + 1])  # c_t = f * c_{t-1} + i * g
        c[t + 1] += np.multiply(i, g, out=ig)
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t + 1])  # h_t = o * tanh(c_t)
    return h[1:], (h[T].copy(), c[T].copy()), Cache(x, h, c, gates, tanh_c)


def infer(p, x, state0):
    """forward() for reading only: no cache, each step a (features, B) block (charlm.nn.common).

    x (T, B) ids or (T, D, B) floats; state0 (h, c), each (B, H).
    Returns (out (T, H, B), (h_T, c_T)): every step the same arithmetic as forward().

    The gates' rows are taken in the order i, f, o, g and those of i, f, o halved in the
    weights and biases, so a step's sigmoids are one block: sigma(a) = (1 + tanh(a/2)) / 2
    with a/2 already in the product. Halving is exact in floating point: (W/2) h = (W h)/2."""
    h0, c0 = state0
    T, B, H = x.shape[0], x.shape[-1], h0.shape[1]
    order = np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]  # i, f, o, g
    s = gate_scale(H, h0.dtype)[order]  # 1/2 on i, f, o
    W = p["weight_hh"][order] * s[:, None]  # (4H, H): a^T = W_hh h^T needs no transposed copy
    bias = (p["bias_ih"] + p["bias_hh"])[order] * s
    gates = project_input_steps(p["weight_ih"][order] * s[:, None], bias, x)  # (T, 4H, B)
    out = np.empty((T, H, B), dtype=h0.dtype)
    h, c = h0.T.copy(), c0.T.copy()  # (H, B)
    ig, tanh_c, hW = np.empty_like(h), np.empty_like(h), np.empty((4 * H, B), dtype=h0.dtype)
    for t in range(T):
        a = gates[t]
        a += np.matmul(W, h, out=hW)
        np.tanh(a, out=a)
        sigmoids = a[: 3 * H]
        sigmoids *= 0.5
        sigmoids += 0.5
        i, f, o, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        c *= f  # c_t = f * c_{t-1} + i * g
        c += np.multiply(i, g, out=ig)
        np.tanh(c, out=tanh_c)
        h = np.multiply(o, tanh_c, out=out[t])  # h_t = o * tanh(c_t)
    return out, (h.T.copy(), c.T.copy())


def backward(p, cache, dout, dstateT, dh_seen=None):
    """Gradients of the window. dout (T, B, H), dstateT (dh_T, dc_T).

    dh_seen: None, or a (T, B, H) array that receives dh_t, all the gradient reaching h_t at each
    step (charlm gradflow reads it).
    Returns (dx (T, B, D) or None for ids, (dh_0, dc_0), grads with the keys of p).
    """
    x, h, c, gates, tanh_c = cache
    W_hh = p["weight_hh"]
    T, B, H = dout.shape
    i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))  # each (T, B, H)
    # da holds the factors of the docstring's da_t for every step; the loop multiplies them
    # by dc_t (for i, f, g) and dh_t (for o) in place.
    da, k = np.empty_like(gates), np.empty_like(tanh_c)  # k: one factor at a time
    np.multiply(g, sigmoid_grad(i, out=k), out=da[..., :H])  # g_t * i_t(1-i_t)
    np.multiply(c[:-1], sigmoid_grad(f, out=k), out=da[..., H : 2 * H])  # c_{t-1} * f_t(1-f_t)
    np.multiply(i, tanh_grad(g, out=k), out=da[..., 2 * H : 3 * H])  # i_t * (1-g_t^2)
    np.multiply(tanh_c, sigmoid_grad(o, out=k), out=da[..., 3 * H :])  # tanh(c_t) * o_t(1-o_t)
    dc_dh = np.multiply(o, tanh_grad(tanh_c, out=k), out=k)  # o_t * (1 - tanh(c_t)^2)
    da_ifg = da.reshape(T, B, 4, H)[:, :, :3]  # (T, B, 3, H): i, f, g side by side
    da_o = da[..., 3 * H :]
    dh, dc = dstateT[0].copy(), dstateT[1].copy()
    step = np.empty_like(dh)
    for t in reversed(range(T)):
        dh += dout[t]
        if dh_seen is not None:
            dh_seen[t] = dh
        dc += np.multiply(dh, dc_dh[t], out=step)
        da_ifg[t] *= dc[:, None, :]
        da_o[t] *= dh
        dc *= f[t]
        np.matmul(da[t], W_hh, out=dh)  # dh_{t-1}, before dout_{t-1} joins it
    da2 = da.reshape(T * B, 4 * H)
    dW_ih, dx = project_input_backward(p["weight_ih"], x, da)
    db = da2.sum(axis=0)
    grads = {
        "weight_ih": dW_ih,
        "weight_hh": da2.T @ h[:-1].reshape(T * B, H),  # all T steps in one GEMM
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    return dx, (dh, dc), grads
