"""Pieces every cell shares: the sigmoid, the input projection of a whole window, and the
recurrent weight in the layout the per-step GEMM wants.

Shapes: T steps, B sequences in the batch, D input features, G = gates * H.

Two layouts. forward() keeps a window as (T, B, features), as backward() wants it. infer(),
which reads without keeping anything for a backward pass, keeps it as (T, features, B): each
step's state is h^T, (H, B), so the per-step GEMM is W_hh h^T, (G, H) by (H, B), which
OpenBLAS runs 1.2 to 1.6x faster than h W_hh^T, (B, H) by (H, G), at the small B of a batch
of streams. Each number is the same sum of the same products either way.
"""

import numpy as np


def sigmoid(a, out=None):
    """sigma(a) = 1 / (1 + exp(-a)) = (1 + tanh(a / 2)) / 2.

    The tanh form needs one transcendental call and never overflows.
    """
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def sigmoid_grad(y, out):
    """sigma'(a) = y (1 - y) from y = sigma(a), into out (no temporaries)."""
    np.subtract(1, y, out=out)
    return np.multiply(out, y, out=out)


def tanh_grad(y, out):
    """tanh'(a) = 1 - y^2 from y = tanh(a), into out (no temporaries)."""
    np.multiply(y, y, out=out)
    return np.subtract(1, out, out=out)


def is_ids(x):
    """True when x holds character ids (one-hot input) rather than feature vectors."""
    return x.dtype.kind in "iu"


# Above this vocabulary size the one-hot GEMM (2 V N G flops) costs more than a scatter-add.
ONE_HOT_GEMM_MAX = 512


def project_input(weight_ih, bias, x):
    """x_t W_ih^T + bias for all T steps at once.

    weight_ih (G, D), bias (G,)
    x         (T, B, D) floats, or (T, B) ids of one-hot rows (D = vocabulary size):
              multiplying a one-hot row by W_ih^T selects a column of W_ih, so it is a gather.
    returns   (T, B, G), a new array the caller may overwrite
    """
    if is_ids(x):
        # one row of the (D, G) table W_ih^T + bias per id: a single gather, no GEMM
        table = np.add(weight_ih.T, bias, out=np.empty(weight_ih.shape[::-1], bias.dtype))
        return table[x]  # (the out= keeps the table row-major, so each row is contiguous)
    T, B, D = x.shape
    out = x.reshape(T * B, D) @ weight_ih.T
    out += bias  # in place: a second (T*B, G) temporary would cost page faults
    return out.reshape(T, B, -1)


def project_input_steps(weight_ih, bias, x):
    """project_input in the layout of infer(): W_ih x_t + bias for all T steps.

    x        (T, B) ids, or (T, D, B) floats: the layer below's output, a (D, B) block a step
    returns  (T, G, B), a new array: step t's (G, B) block, which its loop adds, is contiguous
    Each number is the same sum of the same products as project_input's.
    """
    if is_ids(x):
        table = np.add(weight_ih, bias[:, None])  # (G, D): column d is W_ih onehot(d) + bias
        return np.ascontiguousarray(np.take(table, x, axis=1).transpose(1, 0, 2))
    out = np.matmul(weight_ih, x)  # (G, D) by each step's (D, B)
    out += bias[:, None]
    return out


def recurrent_weight(weight_hh, T):
    """W_hh^T (H, G) for h_{t-1} W_hh^T at every step of a T-step window.

    A contiguous copy makes that GEMM about 15% faster; it pays for itself within two steps,
    so a single step (sampling) uses the transposed view instead.
    """
    return np.ascontiguousarray(weight_hh.T) if T > 1 else weight_hh.T


def project_input_backward(weight_ih, x, dproj):
    """Gradients of project_input, with dproj (T, B, G) the gradient of its output.

    dW_ih = sum_t dproj_t^T x_t    (one GEMM over all T*B rows; a scatter-add for ids)
    dx_t  = dproj_t W_ih           (None for ids: characters have no gradient)
    db    = sum_t dproj_t          (left to the caller, which knows which biases it feeds)
    """
    G = dproj.shape[-1]
    d2 = dproj.reshape(-1, G)
    if is_ids(x):
        ids, D = x.ravel(), weight_ih.shape[1]
        if D > ONE_HOT_GEMM_MAX:  # a large vocabulary: scatter-add each row into its id's column
            dw = np.zeros_like(weight_ih)
            np.add.at(dw.T, ids, d2)
            return dw, None
        # dW_ih = dproj^T onehot(x): one (G, N) @ (N, D) GEMM, 10x faster than the scatter
        onehot = np.zeros((D, ids.size), dtype=d2.dtype)
        onehot[ids, np.arange(ids.size)] = 1.0
        return d2.T @ onehot.T, None
    D = x.shape[-1]
    dw = d2.T @ x.reshape(-1, D)
    dx = (d2 @ weight_ih).reshape(x.shape)
    return dw, dx
