"""Training throughput of charlm, and of the same model in torch.nn when torch is installed.

A step is what training does per window: forward, backward, global-norm clipping (5.0),
an Adagrad update and the state carried to the next window, on one-hot input over a
65-character vocabulary (tinyshakespeare's), in float32. Throughput is B*T characters per
second; each figure is the median of several timed repeats, charlm and torch alternating, with
torch limited to as many threads as NumPy's BLAS may use.

    python benchmarks/throughput.py [--only lstm-256,gru-256] [--repeats 5] [--json out.json]

On machines whose environment sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (forcing an older
OpenBLAS kernel), run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...`.
"""

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from charlm.nn import model
from charlm.optim import Optimizer, clip_gradients

V = 65
CONFIGS = {  # name: (cell, hidden, layers, batch, seq_len, bidirectional)
    "min-char-rnn": ("rnn", 100, 1, 1, 25, False),
    "tiny-lstm": ("lstm", 100, 1, 1, 25, False),
    "lstm-256": ("lstm", 256, 2, 32, 64, False),
    "gru-256": ("gru", 256, 2, 32, 64, False),
    "rnn-256": ("rnn", 256, 2, 32, 64, False),
    "bilstm-256": ("lstm", 256, 1, 32, 64, True),
    "lstm-512": ("lstm", 512, 2, 64, 100, False),
}


def blas_threads():
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except (ImportError, ValueError):
        return os.cpu_count()


def charlm_stepper(cell, hidden, layers, batch, seq_len, bi):
    spec = model.ModelSpec(cell, V, hidden, layers, bi)
    rng = np.random.default_rng(0)
    params = model.init_params(spec, rng)
    opt = Optimizer("adagrad", lr=0.05).init(params)
    data = rng.integers(0, V, (seq_len + 1, batch))
    state = [None if bi else model.init_state(spec, batch)]

    x, y = (data[1:], data[1:]) if bi else (data[:-1], data[1:])  # cloze: y = x

    def step():
        _, grads, state[0] = model.loss_and_grads(params, spec, x, y, state[0])
        clip_gradients(grads, "norm", 5.0)
        opt.step(params, grads)

    return step


def torch_stepper(cell, hidden, layers, batch, seq_len, bi):
    import torch

    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    torch.manual_seed(0)
    stacks = torch.nn.ModuleList([module(V, hidden, layers) for _ in range(2 if bi else 1)])
    head = torch.nn.Linear(hidden * (2 if bi else 1), V)
    params = list(stacks.parameters()) + list(head.parameters())
    opt = torch.optim.Adagrad(params, lr=0.05)
    data = torch.randint(0, V, (seq_len + 1, batch))
    state = [None]

    def step():
        x = torch.nn.functional.one_hot(data[1:] if bi else data[:-1], V).float()
        if bi:  # the cloze join: [hf_{t-1}, hb_{t+1}]
            hf, _ = stacks[0](x)
            hb = stacks[1](x.flip(0))[0].flip(0)
            zero = torch.zeros(1, batch, hidden)
            feat = torch.cat([torch.cat([zero, hf[:-1]]), torch.cat([hb[1:], zero])], -1)
        else:
            feat, s = stacks[0](x, state[0])
            state[0] = tuple(t.detach() for t in s) if cell == "lstm" else s.detach()
        y = data[1:]
        loss = torch.nn.functional.cross_entropy(head(feat).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    return step


def timed(step, seconds=1.0):
    """Steps per second over about `seconds` of repeated steps (after one warm-up step)."""
    step()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or n < 2:
        step()
        n += 1
    return n / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated config names")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="per timed repeat")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(CONFIGS)

    try:
        import torch

        torch.set_num_threads(blas_threads())
    except ImportError:
        torch = None
    cpu = platform.processor() or platform.machine()
    line = f"numpy {np.__version__}, BLAS threads {blas_threads()}, {cpu}"
    if torch:
        line += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    print(line)
    print(f"{'config':<14}{'charlm chars/s':>16}{'torch chars/s':>16}{'ratio':>8}")
    results = []
    for name in names:
        cell, hidden, layers, batch, seq_len, bi = CONFIGS[name]
        chars = batch * seq_len
        ours = charlm_stepper(*CONFIGS[name])
        theirs = torch_stepper(*CONFIGS[name]) if torch else None
        rates, trates = [], []
        for _ in range(args.repeats):
            rates.append(chars * timed(ours, args.seconds))
            if theirs:
                trates.append(chars * timed(theirs, args.seconds))
        r = {"config": name, "charlm_chars_per_s": statistics.median(rates)}
        if theirs:
            r["torch_chars_per_s"] = statistics.median(trates)
            r["ratio"] = statistics.median(a / b for a, b in zip(rates, trates, strict=True))
        results.append(r)
        t = f"{r['torch_chars_per_s']:>16,.0f}{r['ratio']:>8.2f}" if theirs else ""
        print(f"{name:<14}{r['charlm_chars_per_s']:>16,.0f}{t}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"time": time.strftime("%Y-%m-%d %H:%M"), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
