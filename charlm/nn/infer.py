"""Reading without learning: the model's logits for a text, keeping nothing for a backward pass.

forward() keeps every step's gates and states for backward(); a reader (evaluation, a prime,
score, the inspection commands' read of a text) needs only the logits. infer() runs each cell's
infer(): each step a (features, B) block, so the per-step GEMM is W_hh h^T, and no cache.
Its numbers are forward()'s: the same sums of the same products (tests/test_infer.py holds
them equal to 1e-12 in float64; with OpenBLAS they are bit-identical).
"""

import numpy as np

from charlm.nn.model import CELLS, init_state, layer_params

CHUNK = 256  # steps read at a time by read(): memory stays that of 256 steps


def _stack(params, spec, suffix, x, state0):
    """One direction's layers over ids x (T, B). Returns (top (T, H, B), stateT)."""
    cell = CELLS[spec.cell]
    inp = x
    if spec.embedding_size:  # the embedding rows of the ids, (T, E, B)
        inp = np.ascontiguousarray(params["embedding.weight"][x].transpose(0, 2, 1))
    finals = []
    for k in range(spec.num_layers):
        inp, stateT = cell.infer(layer_params(params, k, suffix), inp, [s[k] for s in state0])
        finals.append(stateT)
    return inp, tuple(np.stack(s) for s in zip(*finals, strict=True))


def infer(params, spec, x, state0=None):
    """forward()'s logits for x (T, B) ids without its cache; dropout off.

    state0: from init_state or a previous window (unidirectional; None: zeros).
    Returns (logits (T, B, V), a view of a (T, V, B) array; stateT or None for bidirectional).
    Memory: a few (T, G, B) arrays of one layer at a time, and the logits."""
    T, B = x.shape
    dtype = params["head.weight"].dtype
    H = spec.hidden_size
    if not spec.bidirectional:
        state0 = init_state(spec, B, dtype) if state0 is None else state0
        feat, stateT = _stack(params, spec, "", x, state0)
    else:
        zeros = init_state(spec, B, dtype)
        top_f, _ = _stack(params, spec, "", x, zeros)
        top_b, _ = _stack(params, spec, "_reverse", x[::-1], zeros)
        feat = np.zeros((T, 2 * H, B), dtype=dtype)
        feat[1:, :H] = top_f[:-1]  # hf_{t-1}: has read x_<t
        feat[:-1, H:] = top_b[::-1][1:]  # hb_{t+1}: has read x_>t
        stateT = None
    logits = np.matmul(params["head.weight"], feat)  # (T, V, B)
    logits += params["head.bias"][:, None]
    return logits.transpose(0, 2, 1), stateT


def read(params, spec, x, state0=None, chunk=CHUNK):
    """A unidirectional model read over x (T, B) ids, `chunk` steps at a time: the memory is
    that of one chunk, however long x is (a 1 MB prime).
    Returns (logits of the last step (B, V), stateT)."""
    if spec.bidirectional:
        raise ValueError("read() carries state left to right: a unidirectional model only")
    state = (
        state0 if state0 is not None else init_state(spec, x.shape[1], params["head.weight"].dtype)
    )
    logits = None
    for t0 in range(0, x.shape[0], chunk):
        logits, state = infer(params, spec, x[t0 : t0 + chunk], state)
    return logits[-1], state
