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
"""

from typing import NamedTuple

import numpy as np

from charlm.nn.common import project_input, project_input_backward, sigmoid

GATES = 3
STATE_NAMES = ("h",)


class Cache(NamedTuple):
    x: np.ndarray  # (T, B, D) or (T, B) ids: the layer's input
    h: np.ndarray  # (T+1, B, H): h_0 .. h_T
    gates: np.ndarray  # (T, B, 3H): r, z, n after their nonlinearities
    v_n: np.ndarray  # (T, B, H): h_{t-1} W_hn^T + b_hn, what the reset gate multiplied


def forward(p, x, state0):
    """Run the layer over a window. Returns (out (T, B, H), (h_T,), cache)."""
    (h0,) = state0
    W_hh, b_hh = p["weight_hh"], p["bias_hh"]
    T, (B, H) = x.shape[0], h0.shape
    gates = project_input(p["weight_ih"], p["bias_ih"], x)  # u: (T, B, 3H), one GEMM
    h = np.empty((T + 1, B, H), dtype=h0.dtype)
    v_n = np.empty((T, B, H), dtype=h0.dtype)
    h[0] = h0
    for t in range(T):
        u, v = gates[t], h[t] @ W_hh.T + b_hh  # v: all three hidden products in one GEMM
        r, z, n = u[:, :H], u[:, H : 2 * H], u[:, 2 * H :]
        v_n[t] = v[:, 2 * H :]
        sigmoid(u[:, : 2 * H] + v[:, : 2 * H], out=u[:, : 2 * H])  # r, z
        np.tanh(n + r * v_n[t], out=n)
        h[t + 1] = (1.0 - z) * n + z * h[t]
    return h[1:], (h[T].copy(),), Cache(x, h, gates, v_n)


def backward(p, cache, dout, dstateT, dh_seen=None):
    """Gradients of the window. dout (T, B, H), dstateT (dh_T,).

    dh_seen: None, or a (T, B, H) array that receives dh_t, all the gradient reaching h_t at each
    step (charlm gradflow reads it).
    Returns (dx (T, B, D) or None for ids, (dh_0,), grads with the keys of p).
    """
    x, h, gates, v_n = cache
    W_hh = p["weight_hh"]
    T, B, H = dout.shape
    du = np.empty_like(gates)
    dv = np.empty_like(gates)
    dh = dstateT[0].copy()
    for t in reversed(range(T)):
        r, z, n = gates[t][:, :H], gates[t][:, H : 2 * H], gates[t][:, 2 * H :]
        dr, dz, dn = du[t][:, :H], du[t][:, H : 2 * H], du[t][:, 2 * H :]
        dh += dout[t]
        if dh_seen is not None:
            dh_seen[t] = dh
        np.multiply(dh * (1.0 - z), 1.0 - n * n, out=dn)
        np.multiply(dh * (h[t] - n), z * (1.0 - z), out=dz)
        np.multiply(dn * v_n[t], r * (1.0 - r), out=dr)
        dv[t][:, : 2 * H] = du[t][:, : 2 * H]
        np.multiply(dn, r, out=dv[t][:, 2 * H :])
        dh = dh * z + dv[t] @ W_hh
    dW_ih, dx = project_input_backward(p["weight_ih"], x, du)
    dv2 = dv.reshape(T * B, 3 * H)
    grads = {
        "weight_ih": dW_ih,
        "weight_hh": dv2.T @ h[:-1].reshape(T * B, H),  # all T steps in one GEMM
        "bias_ih": du.reshape(T * B, 3 * H).sum(axis=0),
        "bias_hh": dv2.sum(axis=0),
    }
    return dx, (dh,), grads
