"""Evaluation speed: the training forward pass against the forward-only path, on one text.

    python benchmarks/evaluate.py --checkpoint checkpoints/lstm/best.npz \
        --corpus corpora/tinyshakespeare.txt

Reads the checkpoint's validation split (or --text) with each way in turn, --repeats times
taking turns, and prints the median seconds, characters per second, the median of the paired
ratios to the first row (the training forward pass at the run's batch size, as charlm
evaluated before it had nn.infer) and the loss. Peak memory is that of one more, untimed
read under tracemalloc (NumPy reports its arrays to it). Rows:
    forward   model.forward, keeping the cache, batch-size streams from a zero state
    infer     nn.infer, no cache, the same streams: the same loss to float rounding
    + streams 128 streams, each but the first warmed up on 64 characters: what evaluate does
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

import charlm
from charlm.memory import keep_freed_memory
from charlm.nn import head
from charlm.nn.model import forward
from charlm.run import config, data, machine
from charlm.run import train as training


def forward_eval(params, spec, ids, batch_size, seq_len):
    """What evaluate() did before the forward-only path: the training forward pass."""
    total, n, state = 0.0, 0, None
    for x, y, _ in data.eval_windows(ids, batch_size, seq_len):
        if state is not None and state[0].shape[1] != x.shape[1]:
            state = tuple(s[:, -1:] for s in state)
        logits, state, _ = forward(params, spec, x, state)
        logp = head.log_softmax(logits)
        total -= float(np.take_along_axis(logp, y[..., None], axis=-1).sum(dtype=np.float64))
        n += y.size
    return total / n


def floor_seconds(spec, ids, dtype, reps=30):
    """What evaluate()'s reading must spend whatever the engine: its matrix products at the
    rate NumPy's BLAS reaches on them timed alone, and its tanh calls at NumPy's rate.
    Returns (products, tanh) in seconds. Per step and stream: each layer's recurrent product
    (G H x H), every layer's but the first input product (G H x H), the head (V x F); a tanh
    for each gate pre-activation and, in an LSTM, for c_t."""
    G = {"rnn": 1, "lstm": 4, "gru": 3}[spec.cell]
    H, V, L = spec.hidden_size, spec.vocab_size, spec.num_layers
    stacks = len(spec.directions)
    warmup = 0 if spec.bidirectional else training.EVAL_WARMUP
    shapes = [x.shape for x, _, _ in data.eval_windows(ids, training.EVAL_STREAMS, 64, warmup)]
    B = shapes[0][1]
    steps = sum(t for t, b in shapes if b == B)  # (the few leftover steps of one stream aside)
    rng = np.random.default_rng(0)

    def gemm(m, k, n):
        a, b = rng.random((m, k), dtype=dtype), rng.random((k, n), dtype=dtype)
        np.matmul(a, b)
        tic = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b)
        return (time.perf_counter() - tic) / reps

    per_step = stacks * (L * gemm(G * H, H, B) + (L - 1) * gemm(G * H, H, B))
    per_step += gemm(V, stacks * H, B)
    x = rng.random((G + (spec.cell == "lstm")) * H * B, dtype=dtype)
    tic = time.perf_counter()
    for _ in range(reps):
        np.tanh(x, out=x)
    tanh = (time.perf_counter() - tic) / reps * stacks * L
    return steps * per_step, steps * tanh


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--corpus", help="where the run's corpus is now, if it moved")
    ap.add_argument("--text", help="evaluate this file instead of the validation split")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    keep_freed_memory()  # as charlm eval does (charlm/memory.py)
    model = charlm.load(args.checkpoint)
    if args.text:
        ids = data.read(args.text, model.config.data.encoding, model.vocab)[0]
    else:
        cfg = model.config
        if args.corpus:
            cfg = config.apply(cfg, [f"data.corpus={args.corpus}"], "--corpus")
        found = training.load_corpus(cfg, model.vocab, identity=model.checkpoint.corpus)
        ids = found.val
    p, spec, t = model.params, model.spec, model.config.train
    B = t.batch_size

    def plain(**kw):
        return lambda: training.evaluate(p, spec, ids, **kw)[0]

    rows = [
        ("forward", B, 0, lambda: forward_eval(p, spec, ids, B, t.seq_len)),
        ("infer", B, 0, plain(streams=B, seq_len=t.seq_len, warmup=0)),
        ("infer + streams", 128, 64, plain(seq_len=t.seq_len)),
    ]
    times = {name: [] for name, *_ in rows}
    losses = {}
    for _ in range(args.repeats):
        for name, *_, call in rows:
            tic = time.perf_counter()
            losses[name] = call()
            times[name].append(time.perf_counter() - tic)
    peaks = {}
    for name, *_, call in rows:
        tracemalloc.start()
        call()
        peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    info = machine.describe()
    print(f"{len(ids):,} characters, {spec.describe()} {spec.hidden_size}, {t.dtype}; "
          f"{info['cpu']}, {os.cpu_count()} cores, numpy {info['numpy']}, "
          f"{info['blas']}")  # fmt: skip
    products, tanh = floor_seconds(spec, ids, np.dtype(t.dtype))
    print(f"median of {args.repeats}, taking turns; evaluate()'s matrix products alone, at the "
          f"BLAS's rate: {products:.2f} s, and its tanh calls {tanh:.2f} s more\n")  # fmt: skip
    print(f"| {'way':<26}| streams | warm-up | seconds | chars/s | vs forward | peak MB | loss |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = times[rows[0][0]]
    for name, streams, warm, _ in rows:
        s = statistics.median(times[name])
        ratio = statistics.median(a / b for a, b in zip(base, times[name], strict=True))
        print(
            f"| {name:<26}| {streams} | {warm} | {s:.2f} | {len(ids) / s:,.0f} "
            f"| {ratio:.2f}x | {peaks[name]:.0f} | {losses[name]:.5f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
