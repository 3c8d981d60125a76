"""LSTM layer, exactly torch.nn.LSTM (gates stacked in the order i, f, g, o).

    i_t = sigma(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)      input gate
    f_t = sigma(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)      forget gate
    g_t = tanh (x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)      candidate
    o_t = sigma(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t                             the memory
    h_t = o_t * tanh(c_t)

The four gates are one fused product: a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, (B, 4H).

Shapes (T steps, B sequences, D input features, H hidden units):
    x          (T, B, D) floats, or (T, B) character ids for one-hot input (D = vocabulary)
    weight_ih  (4H, D)   weight_hh (4H, H)   bias_ih (4H,)   bias_hh (4H,)
    state      (h, c) with h, c (B, H)
    out        (T, B, H): h_1 .. h_T

Backpropagation through time, with dh_t and dc_t all the gradient reaching h_t and c_t:
    dc_t    += dh_t * o_t * (1 - tanh(c_t)^2)
    do_t     = dh_t * tanh(c_t)    di_t = dc_t * g_t    dg_t = dc_t * i_t    df_t = dc_t * c_{t-1}
    da_t     = [di_t * i_t(1-i_t), df_t * f_t(1-f_t), dg_t * (1-g_t^2), do_t * o_t(1-o_t)]
    dc_{t-1} = dc_t * f_t           (the memory's path: gradient scaled by f, not squashed)
    dh_{t-1} = dout_{t-1} + da_t W_hh
    dW_hh    = sum_t da_t^T h_{t-1}     dW_ih = sum_t da_t^T x_t     db_ih = db_hh = sum_t da_t
"""

from typing import NamedTuple

import numpy as np

from charlm.nn.common import project_input, project_input_backward, sigmoid

GATES = 4
STATE_NAMES = ("h", "c")


class Cache(NamedTuple):
    x: np.ndarray  # (T, B, D) or (T, B) ids: the layer's input
    h: np.ndarray  # (T+1, B, H): h_0 .. h_T
    c: np.ndarray  # (T+1, B, H): c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H): i, f, g, o after their nonlinearities
    tanh_c: np.ndarray  # (T, B, H): tanh(c_1) .. tanh(c_T)


def forward(p, x, state0):
    """Run the layer over a window. Returns (out (T, B, H), (h_T, c_T), cache)."""
    h0, c0 = state0
    W_hh = p["weight_hh"]
    T, (B, H) = x.shape[0], h0.shape
    gates = project_input(p["weight_ih"], p["bias_ih"] + p["bias_hh"], x)  # (T, B, 4H), one GEMM
    h = np.empty((T + 1, B, H), dtype=h0.dtype)
    c = np.empty_like(h)
    tanh_c = np.empty((T, B, H), dtype=h0.dtype)
    h[0], c[0] = h0, c0
    for t in range(T):
        a = gates[t]
        a += h[t] @ W_hh.T  # all four gates in one GEMM
        sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # i, f
        np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])  # g
        sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])  # o
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c[t + 1] = f * c[t] + i * g
        np.tanh(c[t + 1], out=tanh_c[t])
        h[t + 1] = o * tanh_c[t]
    return h[1:], (h[T].copy(), c[T].copy()), Cache(x, h, c, gates, tanh_c)


def backward(p, cache, dout, dstateT, dh_seen=None):
    """Gradients of the window. dout (T, B, H), dstateT (dh_T, dc_T).

    dh_seen: None, or a (T, B, H) array that receives dh_t, all the gradient reaching h_t at each
    step (charlm gradflow reads it).
    Returns (dx (T, B, D) or None for ids, (dh_0, dc_0), grads with the keys of p).
    """
    x, h, c, gates, tanh_c = cache
    W_hh = p["weight_hh"]
    T, B, H = dout.shape
    da = np.empty_like(gates)
    dh, dc = dstateT[0].copy(), dstateT[1].copy()
    for t in reversed(range(T)):
        i, f, g, o = (gates[t][:, k * H : (k + 1) * H] for k in range(4))
        di, df, dg, do = (da[t][:, k * H : (k + 1) * H] for k in range(4))
        dh += dout[t]
        if dh_seen is not None:
            dh_seen[t] = dh
        dc += dh * o * (1.0 - tanh_c[t] ** 2)
        np.multiply(dh * tanh_c[t], o * (1.0 - o), out=do)
        np.multiply(dc * g, i * (1.0 - i), out=di)
        np.multiply(dc * c[t], f * (1.0 - f), out=df)
        np.multiply(dc * i, 1.0 - g * g, out=dg)
        dc *= f
        dh = da[t] @ W_hh
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
