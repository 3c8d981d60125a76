"""Vanilla RNN layer with tanh, exactly torch.nn.RNN(nonlinearity="tanh").

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

Shapes (T steps, B sequences, D input features, H hidden units):
    x          (T, B, D) floats, or (T, B) character ids for one-hot input (D = vocabulary)
    weight_ih  (H, D)    weight_hh (H, H)    bias_ih (H,)    bias_hh (H,)
    state      (h,) with h (B, H)
    out        (T, B, H): h_1 .. h_T

Backpropagation through time. dh_t is all the gradient that reaches h_t: from the layer's
output at t (dout_t) and from step t+1 (or dh_T given for the final state):
    da_t       = dh_t * (1 - h_t^2)           at the pre-activation a_t, since tanh' = 1 - tanh^2
    dh_{t-1}   = dout_{t-1} + da_t W_hh
    dW_hh      = sum_t da_t^T h_{t-1}         dW_ih = sum_t da_t^T x_t
    db_ih      = db_hh = sum_t da_t           dx_t  = da_t W_ih
backward computes the factors (1 - h_t^2) for all T steps at once; the loop only carries dh.
"""

from typing import NamedTuple

import numpy as np

from charlm.nn.common import (
    project_input,
    project_input_backward,
    project_input_steps,
    recurrent_weight,
    tanh_grad,
)

GATES = 1
STATE_NAMES = ("h",)


class Cache(NamedTuple):
    x: np.ndarray  # (T, B, D) or (T, B) ids: the layer's input
    h: np.ndarray  # (T+1, B, H): h_0 .. h_T


def forward(p, x, state0):
    """Run the layer over a window. Returns (out (T, B, H), (h_T,), cache)."""
    (h0,) = state0
    T, (B, H) = x.shape[0], h0.shape
    W = recurrent_weight(p["weight_hh"], T)  # W_hh^T (H, H)
    a = project_input(p["weight_ih"], p["bias_ih"] + p["bias_hh"], x)  # (T, B, H), one GEMM
    h = np.empty((T + 1, B, H), dtype=h0.dtype)
    h[0] = h0
    step = np.empty((B, H), dtype=h0.dtype)
    for t in range(T):
        a[t] += np.matmul(h[t], W, out=step)
        np.tanh(a[t], out=h[t + 1])
    return h[1:], (h[T].copy(),), Cache(x, h)


def infer(p, x, state0):
    """forward() for reading only: no cache, each step a (features, B) block (charlm.nn.common).

    x (T, B) ids or (T, D, B) floats; state0 (h,) with h (B, H).
    Returns (out (T, H, B), (h_T,)): every step the same arithmetic as forward()."""
    (h0,) = state0
    out = project_input_steps(p["weight_ih"], p["bias_ih"] + p["bias_hh"], x)  # (T, H, B)
    h, step = h0.T.copy(), np.empty((h0.shape[1], x.shape[-1]), dtype=h0.dtype)
    for t in range(x.shape[0]):
        out[t] += np.matmul(p["weight_hh"], h, out=step)
        h = np.tanh(out[t], out=out[t])
    return out, (h.T.copy(),)


def backward(p, cache, dout, dstateT, dh_seen=None):
    """Gradients of the window. dout (T, B, H), dstateT (dh_T,).

    dh_seen: None, or a (T, B, H) array that receives dh_t, all the gradient reaching h_t at each
    step (charlm gradflow reads it).
    Returns (dx (T, B, D) or None for ids, (dh_0,), grads with the keys of p).
    """
    x, h = cache
    W_hh = p["weight_hh"]
    T = dout.shape[0]
    da = tanh_grad(h[1:], out=np.empty_like(dout))  # 1 - h_t^2; times dh_t in the loop
    dh = dstateT[0].copy()
    for t in reversed(range(T)):
        dh += dout[t]
        if dh_seen is not None:
            dh_seen[t] = dh
        da[t] *= dh
        np.matmul(da[t], W_hh, out=dh)  # dh_{t-1}, before dout_{t-1} joins it
    H = h.shape[-1]
    da2 = da.reshape(T * da.shape[1], H)
    dW_ih, dx = project_input_backward(p["weight_ih"], x, da)
    db = da2.sum(axis=0)
    grads = {
        "weight_ih": dW_ih,
        "weight_hh": da2.T @ h[:-1].reshape(-1, H),  # all T steps in one GEMM
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    return dx, (dh,), grads
