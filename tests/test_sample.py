"""Sampling: the draw, generation with carried state, and filling blanks."""

import numpy as np
import pytest

from charlm import sample
from charlm.errors import CharlmError
from charlm.nn.model import ModelSpec, forward, init_params
from charlm.run import data


def model(bidirectional=False, cell="lstm"):
    spec = ModelSpec(cell, 6, 5, num_layers=2, bidirectional=bidirectional, embedding_size=3)
    return init_params(spec, np.random.default_rng(0), np.float64), spec


def test_pick_follows_softmax_over_temperature_and_top_k():
    logits = np.array([1.0, 2.0, 0.5, -1.0])
    rng = np.random.default_rng(0)
    for temperature in (0.5, 1.0, 2.0):
        draws = [sample.pick(logits, rng, temperature) for _ in range(20000)]
        p = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
        freq = np.bincount(draws, minlength=4) / len(draws)
        assert np.abs(freq - p).max() < 0.015, (temperature, freq, p)
    top2 = {sample.pick(logits, rng, top_k=2) for _ in range(2000)}
    assert top2 == {0, 1}
    assert sample.pick(logits, rng, greedy=True) == 1
    assert {sample.pick(logits, rng, top_k=1) for _ in range(50)} == {1}


def test_generate_carries_the_state_one_character_at_a_time():
    params, spec = model()
    prime = np.array([2, 0, 4])
    out = list(sample.generate(params, spec, prime, 12, np.random.default_rng(1), greedy=True))
    for i in range(len(out)):  # each greedy choice is the argmax after reading everything before
        text = np.concatenate([prime, np.array(out[:i], dtype=np.int64)])
        logits, _, _ = forward(params, spec, text[:, None])
        assert out[i] == int(np.argmax(logits[-1, 0]))
    a = list(sample.generate(params, spec, prime, 30, np.random.default_rng(7)))
    b = list(sample.generate(params, spec, prime, 30, np.random.default_rng(7)))
    c = list(sample.generate(params, spec, prime, 30, np.random.default_rng(8)))
    assert a == b and a != c


def test_fill_changes_only_the_blanks_and_a_lone_blank_gets_the_argmax():
    params, spec = model(bidirectional=True, cell="gru")
    ids = np.array([1, 2, 3, 0, 4, 5, 1, 2])
    filled = sample.fill(params, spec, ids, [3], np.random.default_rng(0), greedy=True)
    logits, _, _ = forward(params, spec, ids[:, None])
    assert filled[3] == int(np.argmax(logits[3, 0]))  # x_3 does not reach its own logits
    assert np.array_equal(np.delete(filled, 3), np.delete(ids, 3))
    many = sample.fill(params, spec, ids, [1, 5, 6], np.random.default_rng(0), sweeps=3)
    assert np.array_equal(np.delete(many, [1, 5, 6]), np.delete(ids, [1, 5, 6]))


def test_prime_parsing():
    vocab = data.Vocab(np.sort(np.array([ord(c) for c in " Iamhnu_"], dtype=np.uint32)))
    ids, blanks = sample.parse_blanks(vocab, "I am __ hun", "_")
    assert blanks == [5, 6] and vocab.decode(ids) == "I am    hun"
    with pytest.raises(CharlmError, match=r"prime: 1 character \('z'\) not in the model's"):
        sample.encode_prime(vocab, "Iz")
    assert vocab.decode(sample.encode_prime(vocab, "Iz", skip_unknown=True)) == "I"
    assert sample.start_ids(vocab).tolist() == [0]  # no newline in this vocabulary
