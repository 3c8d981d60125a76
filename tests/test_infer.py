"""The forward-only path (charlm.nn.infer) against the training forward pass, and the two
stacks of a bidirectional model side by side against one after the other."""

import tracemalloc

import numpy as np
import pytest

from charlm.nn import head
from charlm.nn.infer import infer, read
from charlm.nn.model import ModelSpec, forward, init_params, init_state
from charlm.run import data
from charlm.run import train as training

SPECS = [
    ModelSpec(cell, 11, 7, 2, bidirectional, 0.0, embedding)
    for cell in ("rnn", "lstm", "gru")
    for bidirectional in (False, True)
    for embedding in (None, 5)
]


def model(spec, seed=0, dtype=np.float64):
    params = init_params(spec, np.random.default_rng(seed), dtype)
    for name in params:  # larger weights than the init, so the gates saturate somewhere
        params[name] *= 3.0
    return params


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_infer_gives_the_training_forward_logits_and_state(spec):
    params = model(spec)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 11, (13, 4))
    state0 = None
    if not spec.bidirectional:
        state0 = tuple(rng.standard_normal(s.shape) for s in init_state(spec, 4, np.float64))
    logits, stateT, _ = forward(params, spec, x, state0)
    got, got_state = infer(params, spec, x, state0)
    assert got.shape == logits.shape == (13, 4, 11)
    np.testing.assert_allclose(got, logits, rtol=0, atol=1e-12)
    if spec.bidirectional:
        assert got_state is None
    else:
        for a, b in zip(got_state, stateT, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def forward_evaluate(params, spec, ids, streams, seq_len, warmup):
    """evaluate() as it was before nn.infer: the training forward pass, cache and all."""
    total, n, state = 0.0, 0, None
    cloze = spec.bidirectional
    for x, y, scored in data.eval_windows(ids, streams, seq_len, warmup, cloze):
        if state is not None and state[0].shape[1] != x.shape[1]:
            state = tuple(s[:, -1:] for s in state)
        logits, state, _ = forward(params, spec, x, state)
        picked = np.take_along_axis(head.log_softmax(logits), y[..., None], axis=-1)[..., 0]
        picked = picked if scored is None else picked[scored]
        total -= picked.sum()
        n += picked.size
    return total / n, n


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("streams, warmup", [(16, 0), (5, 9)])
def test_evaluation_loses_nothing_to_the_forward_only_path(cell, streams, warmup):
    spec = ModelSpec(cell, 11, 16, 2)
    params = model(spec, dtype=np.float64)
    ids = np.random.default_rng(2).integers(0, 11, 3001)
    want = forward_evaluate(params, spec, ids, streams, 32, warmup)
    got = training.evaluate(params, spec, ids, streams, 32, warmup)
    assert got[1] == want[1] == 3000 and abs(got[0] - want[0]) < 1e-9


def test_reading_a_long_text_takes_the_memory_of_one_chunk():
    spec = ModelSpec("lstm", 11, 32, 2)
    params = model(spec, dtype=np.float32)
    peaks = []
    for T in (2048, 16384):
        x = np.random.default_rng(3).integers(0, 11, (T, 1))
        tracemalloc.start()
        read(params, spec, x)
        peaks.append(tracemalloc.get_traced_memory()[1] - x.nbytes)
        tracemalloc.stop()
    # eight times the text, the same peak: one chunk's arrays (a forward pass of 16,384
    # steps would keep about 16384 * 2 layers * 7 * 32 * 4 bytes = 29 MB of cache)
    assert peaks[1] < 1.2 * peaks[0] and peaks[1] < 2 * 2**20
