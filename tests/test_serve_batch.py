"""Continuous batching without HTTP: a stream's text depends only on its own prompt, settings
and seed (the same as charlm sample's), alone or beside any number of others; the sampling and
the step compute each row alone; stop sequences end a stream and are never sent."""

import asyncio
import threading

import numpy as np
import pytest

from charlm import sample
from charlm.nn.model import ModelSpec, forward, init_params, init_state
from charlm.run.data import Vocab
from charlm.server.batch import Engine, Stream, _stop_prefix

V = 24


def model(cell="lstm", hidden=16, layers=2, dtype=np.float32, embedding=None):
    spec = ModelSpec(cell, V, hidden, layers, embedding_size=embedding)
    params = init_params(spec, np.random.default_rng(3), dtype)
    for k in params:  # larger weights than at initialisation: a peaked, varied distribution
        params[k] = (params[k] * 4).astype(dtype)
    return spec, params


def settings(B, rng):
    return sample.Settings(rng.uniform(0.3, 2.0, B), rng.integers(0, 8, B),
                           rng.uniform(0.2, 1.0, B), rng.random(B) < 0.2)  # fmt: skip


def test_pick_rows_gives_each_row_what_it_gives_that_row_alone():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (50, V)).astype(np.float32)
    rows, u = settings(50, rng), rng.random(50)
    together = sample.pick_rows(logits, u, rows)
    for r in range(50):
        fields = (rows.temperature, rows.top_k, rows.top_p, rows.greedy)
        one = sample.Settings(*(a[r : r + 1] for a in fields))
        assert sample.pick_rows(logits[r : r + 1], u[r : r + 1], one)[0] == together[r]


def test_top_p_keeps_the_likeliest_holding_that_share():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    rng = np.random.default_rng(1)
    drawn = {sample.pick(logits[0], rng, top_p=0.79) for _ in range(3000)}
    assert drawn == {0, 1}  # 0.5 + 0.3 holds 0.79: the 0.15 and 0.05 are cut
    drawn = {sample.pick(logits[0], rng, top_p=0.81) for _ in range(3000)}
    assert drawn == {0, 1, 2}
    assert {sample.pick(logits[0], rng, top_p=1e-9) for _ in range(200)} == {0}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("embedding", [None, 8])
def test_a_row_of_a_step_is_the_same_whatever_steps_beside_it(cell, dtype, embedding):
    spec, params = model(cell, dtype=dtype, embedding=embedding)
    rng = np.random.default_rng(2)
    B = 70
    ids = rng.integers(0, V, B)
    state = tuple(rng.normal(0, 0.5, s.shape).astype(dtype) for s in init_state(spec, B, dtype))
    stepping = sample.prepared(params)
    logits, stateT = sample.step(stepping, spec, ids, state)
    reference, _, _ = forward(params, spec, ids[None], state)
    assert np.allclose(logits, reference[0], rtol=1e-5, atol=1e-5)  # forward's numbers
    for n in (1, 2, 3, 5, 17, 64):
        part, partT = sample.step(stepping, spec, ids[:n], tuple(s[:, :n] for s in state))
        assert np.array_equal(part, logits[:n])  # bit for bit
        for a, b in zip(partT, stateT, strict=True):
            assert np.array_equal(a, b[:, :n])


def test_stop_sequences_end_the_stream_and_are_not_sent():
    s = Stream(np.zeros(1), 100, None, stop=["END", "xy"])
    sent = [s.add(c) for c in "abEN"]
    assert sent == ["a", "b", "", ""]  # "EN" might begin "END": held back
    assert s.add("c") == "ENc" and s.finish_reason is None  # it did not
    assert s.add("E") + s.add("N") + s.add("D") == "" and s.finish_reason == "stop"
    t = Stream(np.zeros(1), 3, None, stop=["zz"])
    assert t.add("a") + t.add("z") == "a" and t.add("b") == "zb" and t.finish_reason == "length"
    assert _stop_prefix("abcEN", ["END"]) == 2 and _stop_prefix("abc", ["END"]) == 0


class FakeCheckpoint:
    def __init__(self, spec, params):
        self.spec, self.params = spec, params
        self.vocab = Vocab(np.arange(ord("a"), ord("a") + V, dtype=np.uint32))


def run_streams(engine, wants):
    """Submit one stream per (prompt ids, length, seed, settings) at once; their texts."""
    loop = asyncio.new_event_loop()
    texts, left, done = [[] for _ in wants], [len(wants)], threading.Event()

    def on_event(stream, text, finished):
        texts[stream.index].append(text)
        left[0] -= finished
        if not left[0]:
            done.set()

    streams = []
    for i, (ids, length, seed, options) in enumerate(wants):
        s = Stream(ids, length, np.random.default_rng(seed), on_event=on_event, loop=loop,
                   **options)  # fmt: skip
        s.index = i
        streams.append(s)
    for s in streams:
        engine.submit(s)
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    assert done.wait(60)
    loop.call_soon_threadsafe(loop.stop)
    runner.join()
    return ["".join(t) for t in texts], streams


def test_streams_stepped_together_write_what_charlm_sample_writes_alone():
    spec, params = model("lstm", hidden=24)
    ck = FakeCheckpoint(spec, params)
    left = []
    engine = Engine(ck, on_leave=left.append)
    rng = np.random.default_rng(5)
    wants = []
    for i in range(40):  # prompts of other lengths, lengths, temperatures, top-k, top-p, greedy
        ids = rng.integers(0, V, rng.integers(0, 100))  # some read in the batch, some before
        options = dict(temperature=float(rng.uniform(0.5, 1.5)), top_k=int(rng.integers(0, 6)),
                       top_p=float(rng.uniform(0.5, 1.0)), greedy=bool(i % 9 == 0))  # fmt: skip
        wants.append((ids, int(rng.integers(1, 120)), 100 + i, options))
    texts, streams = run_streams(engine, wants)
    engine.close()
    # a short prompt's characters are steps of the batch too
    longest = max(w[1] + (max(len(w[0]), 1) if len(w[0]) <= sample.SHORT_PRIME else 0)
                  for w in wants)  # fmt: skip
    assert len(left) == 40 and longest - 1 <= engine.steps <= longest + 40  # together, not 40x
    for (ids, length, seed, options), text in zip(wants, texts, strict=True):
        start = ids if len(ids) else sample.start_ids(ck.vocab)
        alone = sample.generate(params, spec, start, length, np.random.default_rng(seed),
                                **options)  # fmt: skip
        assert text == ck.vocab.decode(np.fromiter(alone, dtype=np.int64))
    assert {s.finish_reason for s in streams} == {"length"}


def test_a_cancelled_stream_leaves_at_the_next_step():
    spec, params = model("gru")
    left = []
    engine = Engine(FakeCheckpoint(spec, params), on_leave=left.append)
    loop = asyncio.new_event_loop()
    s = Stream(np.array([1, 2]), 10**9, np.random.default_rng(0), on_event=lambda *a: None,
               loop=loop)  # fmt: skip
    engine.submit(s)
    while engine.steps < 5:
        threading.Event().wait(0.001)
    s.cancelled = True
    for _ in range(1000):
        if s in left:
            break
        threading.Event().wait(0.005)
    assert s in left and s.count < 10**6
    engine.close()


def test_a_client_behind_gets_one_event_a_choice():
    from charlm.server.completion import _merge

    events = [(0, "a", False), (1, "b", False), (0, "c", False), (1, "d", True), (0, "e", True)]
    assert _merge(events) == [(0, "ace", True), (1, "bd", True)]
    assert _merge([(2, "x", False)]) == [(2, "x", False)]
