"""Pieces every cell shares: the sigmoid and the input projection of a whole window.

Shapes: T steps, B sequences in the batch, D input features, G = gates * H.
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
        # gather rows of a contiguous (D, G) copy: a strided gather from weight_ih.T is slow
        return np.add(np.ascontiguousarray(weight_ih.T)[x], bias)
    T, B, D = x.shape
    return (x.reshape(T * B, D) @ weight_ih.T + bias).reshape(T, B, -1)


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
