"""Analytic gradients against central finite differences, in float64.

For one entry theta of a tensor, with L the model's mean cross-entropy on a random window,
the numerical gradient is the fourth-order central difference (error O(eps^4), eps = 1e-3)
    n     = (-L(theta + 2 eps) + 8 L(theta + eps) - 8 L(theta - eps) + L(theta - 2 eps)) / (12 eps)
    error = |a - n| / max(|a|, |n|, FLOOR)               a = the analytic gradient
An entry passes when error < TOLERANCE = 1e-6. Rounding in L limits any difference quotient to
an absolute accuracy of about 1e-15 / eps; the fourth-order stencil allows a large eps and so
gets ~1e-12, where the plain (L(theta + eps) - L(theta - eps)) / 2 eps reaches only ~1e-11
(measured on these models). FLOOR keeps entries whose true gradient is ~0, where a and n are
both rounding noise, from reading as large relative errors: below FLOOR = 1e-5 the test is
an absolute one, |a - n| < 1e-11.

Every tensor is checked, every entry of it for small tensors, else a seeded random sample. The
initial state of a unidirectional model is checked too (rows h0, c0), which proves the gradient
that truncated BPTT cuts at a window's start. Dropout is off.
"""

import time
from dataclasses import dataclass, replace

import numpy as np

from charlm.nn import head, model

EPS = 1e-3
STENCIL = ((2, -1.0), (1, 8.0), (-1, -8.0), (-2, 1.0))  # (offset in eps, weight / 12 eps)
FLOOR = 1e-5
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Row:
    arch: str
    param: str
    checked: int
    total: int
    max_error: float

    @property
    def passed(self):
        return self.max_error < TOLERANCE


def relative_error(a, n):
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), FLOOR)


def default_specs(types=("rnn", "lstm", "gru"), layers=(1, 2), bidirectional=(False, True)):
    """Tiny models of every requested kind: one-hot input for 1 layer, an embedding for 2,
    so both input paths are proven for every cell and direction."""
    return [
        model.ModelSpec(
            cell,
            vocab_size=6,
            hidden_size=4,
            num_layers=L,
            bidirectional=bi,
            embedding_size=3 if L > 1 else None,
        )
        for cell in types
        for bi in bidirectional
        for L in layers
    ]


def config_spec(model_cfg, vocab_size=16):
    """The architecture of a config's model section at its real sizes, on a small vocabulary."""
    return replace(model.ModelSpec.from_config(model_cfg, vocab_size), dropout=0.0)


def check(spec, seed=0, max_entries=None, steps=5, batch=2):
    """Rows of one architecture: every parameter tensor (and the initial state).

    max_entries: tensors larger than this are checked on a seeded sample of that many entries.
    """
    spec = replace(spec, dropout=0.0)
    rng = np.random.default_rng(seed)
    params = model.init_params(spec, rng, np.float64)
    x = rng.integers(0, spec.vocab_size, size=(steps, batch))
    y = x if spec.bidirectional else rng.integers(0, spec.vocab_size, size=(steps, batch))
    state0 = None
    if not spec.bidirectional:
        state0 = tuple(0.5 * rng.standard_normal(s.shape) for s in model.init_state(spec, batch))

    def loss():
        logits, _, _ = model.forward(params, spec, x, state0)
        return head.cross_entropy(logits, y)[0]

    logits, _, cache = model.forward(params, spec, x, state0)
    _, dlogits = head.cross_entropy(logits, y)
    grads, dstate0 = model.backward(params, spec, cache, dlogits)

    tensors = [(name, params[name], grads[name]) for name in params]
    if state0 is not None:
        names = model.CELLS[spec.cell].STATE_NAMES
        tensors += [(f"{n}0", s, d) for n, s, d in zip(names, state0, dstate0, strict=True)]

    rows = []
    for name, arr, grad in tensors:
        idx = np.arange(arr.size)
        if max_entries is not None and arr.size > max_entries:
            idx = rng.choice(arr.size, size=max_entries, replace=False)
        numerical = numerical_grad(loss, arr, idx)
        errors = relative_error(grad.reshape(-1)[idx], numerical.reshape(-1)[idx])
        rows.append(Row(spec.describe(), name, len(idx), arr.size, float(errors.max())))
    return rows


def numerical_grad(loss, arr, entries=None):
    """The stencil's estimate of d loss() / d arr, in every entry of arr or only the given
    flat indices (others stay 0). arr is perturbed in place and restored."""
    flat = arr.reshape(-1)  # a view: writing flat moves arr
    out = np.zeros(flat.size)
    for i in range(flat.size) if entries is None else entries:
        old = flat[i]
        for offset, weight in STENCIL:
            flat[i] = old + offset * EPS
            out[i] += weight * loss()
        flat[i] = old
        out[i] /= 12 * EPS
    return out.reshape(arr.shape)


def run(specs, seed=0, max_entries=None, on_rows=None):
    """Check every spec; on_rows(rows) is called after each. Returns (rows, seconds)."""
    start, rows = time.perf_counter(), []
    for spec in specs:
        r = check(spec, seed=seed, max_entries=max_entries)
        rows += r
        if on_rows:
            on_rows(r)
    return rows, time.perf_counter() - start
