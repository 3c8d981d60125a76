"""The linear head to vocabulary logits and the softmax cross-entropy loss.

logits_t = f_t W^T + b                         W (V, F), b (V,), f_t (B, F)
p_t      = softmax(logits_t)
loss     = -(1/N) sum_{t,b} log p_t[b, y_tb]   N = T * B predicted characters, in nats
bpc      = loss / ln 2                         bits per character

dlogits  = (p - onehot(y)) / N
dW = sum_t dlogits_t^T f_t    db = sum_t dlogits_t    df_t = dlogits_t W
"""

import math

import numpy as np

LN2 = math.log(2.0)


def linear(f, weight, bias):
    """f (T, B, F) -> logits (T, B, V), all steps in one GEMM."""
    T, B, F = f.shape
    return (f.reshape(T * B, F) @ weight.T + bias).reshape(T, B, -1)


def linear_backward(f, weight, dlogits):
    """Returns (df (T, B, F), dW (V, F), db (V,))."""
    T, B, V = dlogits.shape
    d2 = dlogits.reshape(T * B, V)
    df = (d2 @ weight).reshape(f.shape)
    return df, d2.T @ f.reshape(T * B, -1), d2.sum(axis=0)


def log_softmax(logits):
    """log p along the last axis, shifted by the max so exp never overflows."""
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def cross_entropy(logits, y):
    """Mean cross-entropy in nats and its gradient.

    logits (T, B, V) floats, y (T, B) target ids. Returns (loss, dlogits (T, B, V)).
    """
    logp = log_softmax(logits)
    n = y.size
    picked = np.take_along_axis(logp, y[..., None], axis=-1)
    loss = -float(picked.sum()) / n
    dlogits = np.exp(logp)
    # at the target, p - 1 = expm1(log p): exact even when p is close to 1
    np.put_along_axis(dlogits, y[..., None], np.expm1(picked), axis=-1)
    dlogits /= n
    return loss, dlogits
