"""GRU layer, exactly torch.nn.GRU (gates stacked in the order r, z, n).

    r_t = sigma(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)      reset gate
    z_t = sigma(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)      update gate
    n_t = tanh (x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))   candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

As in PyTorch (and cuDNN), the reset gate multiplies (h W_hn^T + b_hn), after the product, so
b_hn sits inside r_t * (...) and cannot be merged into b_in. Two fused products per step:
    u_t = x_t W_ih^T + b_ih       (T, B, 3H), all steps in one GEMM
    v_t = h_{t-1} W_hh^T + b_hh   (B, 3H), one GEMM per step

Shapes (T steps, B sequences, D input features, H hidden units):
    x          (T, B, D) floats, or (T, B) character ids for one-hot input (D = vocabulary)
    weight_ih  (3H, D)   weight_hh (3H, H)   bias_ih (3H,)   bias_hh (3H,)
    state      (h,) with h (B, H)
    out        (T, B, H): h_1 .. h_T

Backpropagation through time, with dh_t all the gradient reaching h_t:
    dn_t  = dh_t * (1 - z_t) * (1 - n_t^2)              at n's pre-activation
    dz_t  = dh_t * (h_{t-1} - n_t) * z_t (1 - z_t)      at z's pre-activation
    dr_t  = dn_t * v_n,t * r_t (1 - r_t)                at r's pre-activation
    du_t  = [dr_t, dz_t, dn_t]          dv_t = [dr_t, dz_t, dn_t * r_t]
    dh_{t-1} = dout_{t-1} + dh_t * z_t + dv_t W_hh
    dW_ih = sum_t du_t^T x_t          db_ih = sum_t du_t
    dW_hh = sum_t dv_t^T h_{t-1}      db_hh = sum_t dv_t
The factors after dh_t and dn_t need no recursion: backward computes them for all T steps at
once, and the loop over t only carries dh.
"""

from typing import NamedTuple

import numpy as np

from charlm.nn.common import (
    project_input,
    project_input_backward,
    project_input_steps,
    recurrent_weight,
    sigmoid,
    sigmoid_grad,
    tanh_grad,
)

GATES = 3
STATE_NAMES = ("h",)


class Cache(NamedTuple):
    x: np.ndarray  # (T, B, D) or (T, B) ids: the layer's input
    h: np.ndarray  # (T+1, B, H): h_0 .. h_T
    gates: np.ndarray  # (T, B, 3H): r, z, n after their nonlinearities
    v: np.ndarray  # (T, B, 3H): h_{t-1} W_hh^T + b_hh; its n part is what r multiplied


def forward(p, x, state0):
    """Run the layer over a window. Returns (out (T, B, H), (h_T,), cache)."""
    (h0,) = state0
    T, (B, H) = x.shape[0], h0.shape
    W, b_hh = recurrent_weight(p["weight_hh"], T), p["bias_hh"]  # W_hh^T (H, 3H)
    gates = project_input(p["weight_ih"], p["bias_ih"], x)  # u: (T, B, 3H), one GEMM
    h = np.empty((T + 1, B, H), dtype=h0.dtype)
    v = np.empty_like(gates)
    h[0] = h0
    step = np.empty((B, H), dtype=h0.dtype)
    for t in range(T):
        np.matmul(h[t], W, out=v[t])  # all three hidden products in one GEMM
        v[t] += b_hh
        u = gates[t]
        r, z, n, v_n = u[:, :H], u[:, H : 2 * H], u[:, 2 * H :], v[t][:, 2 * H :]
        u[:, : 2 * H] += v[t][:, : 2 * H]
        sigmoid(u[:, : 2 * H], out=u[:, : 2 * H])  # r, z
        n += np.multiply(r, v_n, out=step)
        np.tanh(n, out=n)
        np.subtract(h[t], n, out=step)  # h_t = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n)
        step *= z
        np.add(n, step, out=h[t + 1])
    return h[1:], (h[T].copy(),), Cache(x, h, gates, v)


def infer(p, x, state0):
    """forward() for reading only: no cache, each step a (features, B) block (charlm.nn.common).

    x (T, B) ids or (T, D, B) floats; state0 (h,) with h (B, H).
    Returns (out (T, H, B), (h_T,)): every step the same arithmetic as forward()."""
    (h0,) = state0
    T, B, H = x.shape[0], x.shape[-1], h0.shape[1]
    u = project_input_steps(p["weight_ih"], p["bias_ih"], x)  # (T, 3H, B)
    b_hh = p["bias_hh"][:, None]
    out = np.empty((T, H, B), dtype=h0.dtype)
    h, v, step = h0.T.copy(), np.empty((3 * H, B), dtype=h0.dtype), np.empty((H, B), h0.dtype)
    for t in range(T):
        np.matmul(p["weight_hh"], h, out=v)
        v += b_hh
        rz, n = u[t, : 2 * H], u[t, 2 * H :]
        rz += v[: 2 * H]
        sigmoid(rz, out=rz)  # r, z
        n += np.multiply(rz[:H], v[2 * H :], out=step)
        np.tanh(n, out=n)
        np.subtract(h, n, out=step)  # h_t = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n)
        step *= rz[H:]
        h = np.add(n, step, out=out[t])
    return out, (h.T.copy(),)


def backward(p, cache, dout, dstateT, dh_seen=None):
    """Gradients of the window. dout (T, B, H), dstateT (dh_T,).

    dh_seen: None, or a (T, B, H) array that receives dh_t, all the gradient reaching h_t at each
    step (charlm gradflow reads it).
    Returns (dx (T, B, D) or None for ids, (dh_0,), grads with the keys of p).
    """
    x, h, gates, v = cache
    W_hh = p["weight_hh"]
    T, B, H = dout.shape
    r, z, n = (gates[..., k * H : (k + 1) * H] for k in range(3))  # each (T, B, H)
    # du holds the factors of the docstring's du_t for every step; the loop multiplies them by
    # dn_t (for r) and dh_t (for z, n) in place.
    du, k = np.empty_like(gates), np.empty_like(dout)  # k: one factor at a time
    np.multiply(v[..., 2 * H :], sigmoid_grad(r, out=k), out=du[..., :H])  # v_n * r(1-r)
    np.subtract(h[:-1], n, out=du[..., H : 2 * H])
    du[..., H : 2 * H] *= sigmoid_grad(z, out=k)  # (h_{t-1} - n) * z(1-z)
    np.subtract(1, z, out=du[..., 2 * H :])
    du[..., 2 * H :] *= tanh_grad(n, out=k)  # (1 - z) * (1 - n^2)
    du_zn = du.reshape(T, B, 3, H)[:, :, 1:]  # (T, B, 2, H): z, n side by side
    dv = np.empty_like(gates)
    dh = dstateT[0].copy()
    step = np.empty_like(dh)
    for t in reversed(range(T)):
        dh += dout[t]
        if dh_seen is not None:
            dh_seen[t] = dh
        du_zn[t] *= dh[:, None, :]  # dz_t, dn_t
        du[t][:, :H] *= du[t][:, 2 * H :]  # dr_t = dn_t * v_n * r(1-r)
        dv[t][:, : 2 * H] = du[t][:, : 2 * H]
        np.multiply(du[t][:, 2 * H :], r[t], out=dv[t][:, 2 * H :])
        dh *= z[t]
        dh += np.matmul(dv[t], W_hh, out=step)  # dh_{t-1}, before dout_{t-1} joins it
    dW_ih, dx = project_input_backward(p["weight_ih"], x, du)
    dv2 = dv.reshape(T * B, 3 * H)
    grads = {
        "weight_ih": dW_ih,
        "weight_hh": dv2.T @ h[:-1].reshape(T * B, H),  # all T steps in one GEMM
        "bias_ih": du.reshape(T * B, 3 * H).sum(axis=0),
        "bias_hh": dv2.sum(axis=0),
    }
    return dx, (dh,), grads
