"""Training throughput of charlm against torch.nn on the same CPU, and what bounds it.

A step is what training does per window: forward, backward, global-norm clipping (5.0), an
Adagrad update and the state carried to the next window, on one-hot input over a 65-character
vocabulary (tinyshakespeare's), in float32. Throughput is B*T characters per second.

charlm and torch each run in a worker process of their own (neither one's idle BLAS or OpenMP
threads can slow the other), taking turns: every figure is the median of --repeats timed
repeats, and the ratio is the median of the paired ratios. torch gets as many threads as
NumPy's BLAS.

For each configuration it also prints:
  GFLOP/s   the floating-point work of charlm's matrix products per second of training step
  of GEMM   that rate over the rate NumPy's BLAS reaches on the very same products, timed
            alone in this run: the share of the step spent in matrix products
  floor     chars/s if everything but those products took no time: the ceiling for any engine
            built on NumPy's BLAS, and `ceiling` is floor / torch
  w/ tanh   that ceiling once the step's unavoidable tanh/exp calls are added at NumPy's
            rate (a gate's nonlinearity has no BLAS kernel): the best ratio for NumPy
and then the BLAS library and kernel (threadpoolctl), NumPy's GEMM rate on a large product,
sampling speed (one character at a time from lstm-512, as `charlm sample` does) and the peak
memory a training step allocates (tracemalloc, which sees NumPy's arrays).

    python benchmarks/throughput.py [--only lstm-256,gru-256] [--repeats 5] [--json out.json]

On machines whose environment sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (forcing an older
OpenBLAS kernel), run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...`.
Needs `pip install -e ".[bench]"` for threadpoolctl, and torch for the comparison columns.
"""

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

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
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TANHS = {"rnn": 1, "lstm": 5, "gru": 3}  # tanh outputs per unit and step (a sigmoid is one)
SAMPLE = (512, 2)  # lstm-512: hidden, layers


def blas_info():
    """(library, version, kernel, threads) of NumPy's BLAS, from threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"library": "unknown (pip install threadpoolctl)", "threads": os.cpu_count()}
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        return {"library": "none found", "threads": os.cpu_count()}
    b = blas[0]
    return {
        "library": b.get("internal_api"),
        "version": b.get("version"),
        "kernel": b.get("architecture", "?"),
        "threads": b["num_threads"],
    }


def gemms(cell, hidden, layers, batch, seq_len, bi):
    """The matrix products of one charlm training step: [(m, k, n, count)], C (m, n) = A B."""
    H, G, N = hidden, GATES[cell] * hidden, batch * seq_len
    out = []
    for _ in range(2 if bi else 1):
        for k in range(layers):
            D = V if k == 0 else H
            out.append((batch, H, G, 2 * seq_len))  # h W_hh^T forward, da W_hh backward
            out.append((G, N, H, 1))  # dW_hh
            out.append((G, N, D, 1))  # dW_ih (the one-hot GEMM for k = 0)
            if k > 0:  # one-hot input is a gather forward and needs no dx
                out += [(N, D, G, 1), (N, G, D, 1)]  # x W_ih^T, dx
    F = H * (2 if bi else 1)
    out += [(N, F, V, 1), (V, N, F, 1), (N, V, F, 1)]  # head forward, dW, df
    return out


def best_seconds(call, reps):
    """The best time of one call(), over 5 rounds of `reps` calls each."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            call()
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def gemm_seconds(m, k, n, min_seconds=0.05):
    """The best time of one float32 (m, k) @ (k, n) product, out= a preallocated array."""
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    reps = max(1, int(min_seconds / max(2 * m * k * n / 1e11, 1e-6)))
    return best_seconds(lambda: np.matmul(a, b, out=c), reps)


def ufunc_seconds(f, shape, min_seconds=0.05):
    """The best time of one float32 f(a, out=b) on arrays of this shape, a ~ N(0, 1)."""
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    b = np.empty_like(a)
    reps = max(1, int(min_seconds / max(a.size * 2e-9, 1e-6)))
    return best_seconds(lambda: f(a, out=b), reps)


def transcendental_seconds(cell, hidden, layers, batch, seq_len, bi):
    """The time of a step's transcendental calls alone at NumPy's rate: none of them can go.

    Each gate pre-activation goes through one tanh or exp per step (sigmoid(a) = (1 +
    tanh(a/2))/2 = 1/(1 + exp(-a)), tanh(a) = 2 sigmoid(2a) - 1), each LSTM memory through one
    more, and every logit through two exps (softmax, then its gradient). Timed as one
    (B, TANHS * H) call per step and layer of whichever of tanh and exp is faster here, with
    none of the extra passes either way needs, so this stays a floor.
    """
    shape = (batch, TANHS[cell] * hidden)
    per_step = min(ufunc_seconds(np.tanh, shape), ufunc_seconds(np.exp, shape))
    calls = seq_len * layers * (2 if bi else 1)
    return calls * per_step + 2 * ufunc_seconds(np.exp, (batch * seq_len, V))


def gemm_floor(config):
    """(flops of a step's products, their time alone at NumPy's best)."""
    products = gemms(*config)
    flops = sum(2 * m * k * n * c for m, k, n, c in products)
    return flops, sum(c * gemm_seconds(m, k, n) for m, k, n, c in products)


def charlm_stepper(cell, hidden, layers, batch, seq_len, bi):
    from charlm.memory import keep_freed_memory
    from charlm.nn import model
    from charlm.run.optim import Optimizer, clip_gradients

    keep_freed_memory()  # as training does (charlm/memory.py)

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


def charlm_sampler(hidden, layers):
    """A function that generates n characters one at a time, as `charlm sample` does."""
    from charlm.nn import model
    from charlm.sample import generate

    spec = model.ModelSpec("lstm", V, hidden, layers)
    params = model.init_params(spec, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    return lambda n: sum(1 for _ in generate(params, spec, [0], n, rng))


def torch_sampler(hidden, layers):
    import torch

    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(V, hidden, layers), torch.nn.Linear(hidden, V)

    @torch.no_grad()
    def run(n):
        i, state = 0, None
        for _ in range(n):
            x = torch.nn.functional.one_hot(torch.tensor([[i]]), V).float()
            h, state = lstm(x, state)
            i = int(torch.multinomial(torch.softmax(head(h[0, 0]), -1), 1))
        return n

    return run


def step_peak_bytes(step):
    """The most memory one training step allocates above what it started with (NumPy arrays
    included: NumPy reports its data buffers to tracemalloc)."""
    step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def timed(step, seconds):
    """Steps per second over about `seconds` of repeated steps (after one warm-up step)."""
    step()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or n < 2:
        step()
        n += 1
    return n / elapsed


def worker(side, threads, conn):
    """Serve requests (what, name, seconds) from the parent until it sends None."""
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
    steppers = {}
    while (request := conn.recv()) is not None:
        what, name, seconds = request
        key = ("train" if what == "memory" else what, name)
        if key not in steppers:
            make = {
                ("train", "charlm"): charlm_stepper,
                ("train", "torch"): torch_stepper,
                ("sample", "charlm"): charlm_sampler,
                ("sample", "torch"): torch_sampler,
            }[key[0], side]
            if what == "sample":
                steppers[key] = make(*SAMPLE)
            else:
                steppers[key] = make(*CONFIGS[name])
        if what == "sample":
            fn, n = steppers[key], 0
            fn(20)  # warm-up
            start = time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds:
                n += fn(50)
            conn.send(n / elapsed)
        elif what == "memory":
            conn.send(step_peak_bytes(steppers[key]))
        else:
            conn.send(timed(steppers[key], seconds))


class Worker:
    def __init__(self, side, threads):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker, args=(side, threads, child), daemon=True)
        self.proc.start()

    def ask(self, what, name, seconds=0.0):
        self.conn.send((what, name, seconds))
        return self.conn.recv()

    def close(self):
        self.conn.send(None)
        self.proc.join()


def has_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated config names")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="per timed repeat")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(CONFIGS)

    blas = blas_info()
    peak = gemm_seconds(2048, 2048, 2048)
    peak_gflops = 2 * 2048**3 / peak / 1e9
    ours = Worker("charlm", blas["threads"])
    theirs = Worker("torch", blas["threads"]) if has_torch() else None
    versions = f"numpy {np.__version__}"
    if theirs:
        import torch

        versions += f", torch {torch.__version__} ({blas['threads']} threads)"
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {versions}")
    print(
        f"BLAS: {blas['library']} {blas.get('version', '')}, kernel {blas.get('kernel', '?')}, "
        f"{blas['threads']} threads; float32 GEMM 2048^3: {peak_gflops:.0f} GFLOP/s"
    )
    cols = [
        "charlm",
        "torch",
        "ratio",
        "GFLOP/s",
        "of GEMM",
        "floor",
        "ceiling",
        "w/ tanh",
    ]
    cols.append("step MB")
    print(f"{'config':<13}" + "".join(f"{c:>10}" for c in cols))
    results = []
    for name in names:
        base = name
        chars = CONFIGS[base][3] * CONFIGS[base][4]
        rates, trates = [], []
        for _ in range(args.repeats):
            rates.append(chars * ours.ask("train", name, args.seconds))
            if theirs:
                trates.append(chars * theirs.ask("train", name, args.seconds))
        flops, floor_s = gemm_floor(CONFIGS[base])
        r = {"config": base, "charlm_chars_per_s": statistics.median(rates)}
        step_s = chars / r["charlm_chars_per_s"]
        r["gflops"] = flops / step_s / 1e9
        r["gemm_gflops"] = flops / floor_s / 1e9
        r["floor_chars_per_s"] = chars / floor_s
        r["tanh_floor_chars_per_s"] = chars / (floor_s + transcendental_seconds(*CONFIGS[base]))
        r["step_peak_mb"] = ours.ask("memory", name) / 2**20
        if theirs:
            r["torch_chars_per_s"] = statistics.median(trates)
            r["ratio"] = statistics.median(a / b for a, b in zip(rates, trates, strict=True))
            r["ceiling_ratio"] = r["floor_chars_per_s"] / r["torch_chars_per_s"]
            r["tanh_ceiling_ratio"] = r["tanh_floor_chars_per_s"] / r["torch_chars_per_s"]
        results.append(r)
        t = f"{r['torch_chars_per_s']:>10,.0f}{r['ratio']:>10.2f}" if theirs else " " * 20
        c = f"{r['ceiling_ratio']:>10.2f}{r['tanh_ceiling_ratio']:>10.2f}" if theirs else " " * 20
        print(
            f"{base:<13}{r['charlm_chars_per_s']:>10,.0f}{t}{r['gflops']:>10.1f}"
            f"{r['gflops'] / r['gemm_gflops']:>10.0%}{r['floor_chars_per_s']:>10,.0f}{c}"
            f"{r['step_peak_mb']:>10.1f}",
            flush=True,
        )
    srates = [ours.ask("sample", "lstm-512", args.seconds) for _ in range(args.repeats)]
    sampling = {"charlm_chars_per_s": statistics.median(srates)}
    line = "sampling, lstm-512 one character at a time: "
    line += f"charlm {sampling['charlm_chars_per_s']:,.0f}"
    if theirs:
        trates = [theirs.ask("sample", "lstm-512", args.seconds) for _ in range(args.repeats)]
        sampling["torch_chars_per_s"] = statistics.median(trates)
        line += f", torch {sampling['torch_chars_per_s']:,.0f} chars/s"
    print(line + (" chars/s" if not theirs else ""))
    for w in (ours, theirs):
        if w:
            w.close()
    if args.json:
        record = {
            "time": time.strftime("%Y-%m-%d %H:%M"),
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "blas": blas,
            "gemm_2048_gflops": peak_gflops,
            "results": results,
            "sampling": sampling,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
