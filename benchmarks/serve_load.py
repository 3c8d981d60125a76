"""charlm serve under load: aggregate characters per second for 1, 8, 64 and 256 concurrent
completions, against charlm sample and torch sampling one stream at a time, in the same run.

A real `charlm serve` process on a loopback port serves an LSTM 256 x 2 (tinyshakespeare's 65
symbols; its weights from 30 training steps: speed does not depend on them). For each
concurrency C, C requests of L characters each are sent at once (httpx, one connection each),
--repeats times; the figure is the median of C * L / (the wall time from the first request to
the last answer). Then:
  charlm sample   Model.generate (what `charlm sample` runs) writing L characters in-process
  torch           torch.nn.LSTM + Linear, one step and one torch.multinomial draw a character
  streamed        C streamed requests (server-sent events): the characters and events received
  memory          the server's resident memory after 1,000 and after 10,000 small requests

    python benchmarks/serve_load.py [--corpus ../shared/corpora/tinyshakespeare.txt]
        [--length 400] [--repeats 3] [--requests 10000]

Loopback only; every request has a timeout, and the run is bounded by --requests.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

import charlm


def start(run, cwd):
    args = [sys.executable, "-m", "charlm", "serve", str(run), "--port", "0",
            "--max-streams", "1024", "--max-length", "100000"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline() if ready else ""
    return proc, re.search(r"http://[\d.]+:\d+", line).group(0)


async def burst(url, C, L, stream=False):
    """C requests of L characters at once: (seconds, characters, events)."""
    body = {"model": "lstm", "prompt": "ROMEO:", "max_tokens": L, "temperature": 0.8,
            "stream": stream}  # fmt: skip
    limits = httpx.Limits(max_connections=C + 8)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def one(i):
            if not stream:
                r = await client.post("/v1/completions", json={**body, "seed": i})
                return len(r.json()["choices"][0]["text"]), 1
            chars = events = 0
            async with client.stream("POST", "/v1/completions", json={**body, "seed": i}) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: {"):
                        events += 1
                        chars += sum(len(c["text"]) for c in json.loads(line[6:])["choices"])
            return chars, events

        t = time.perf_counter()
        got = await asyncio.gather(*(one(i) for i in range(C)))
        return time.perf_counter() - t, sum(g[0] for g in got), sum(g[1] for g in got)


def rss(pid):
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024  # MiB


async def small_requests(url, n, concurrency=16):
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        sem = asyncio.Semaphore(concurrency)

        async def one(i):
            async with sem:
                r = await client.post("/v1/completions", json={"model": "lstm", "prompt": "A",
                                      "max_tokens": 5, "seed": i})  # fmt: skip
                r.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(n)))


def torch_chars_per_s(model, L):
    import torch

    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count())))
    spec = model.spec
    lstm = torch.nn.LSTM(spec.vocab_size, spec.hidden_size, spec.num_layers)
    head = torch.nn.Linear(spec.hidden_size, spec.vocab_size)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        x, state = torch.zeros(1, 1, spec.vocab_size), None
        t = time.perf_counter()
        for _ in range(L):
            out, state = lstm(x, state)
            p = torch.softmax(head(out[0, 0]) / 0.8, dim=-1)
            i = int(torch.multinomial(p, 1, generator=gen))
            x = torch.zeros(1, 1, spec.vocab_size)
            x[0, 0, i] = 1
        return L / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="../shared/corpora/tinyshakespeare.txt")
    ap.add_argument("--length", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--requests", type=int, default=10000)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="serve-load-"))
    sets = ["model.type=lstm", "model.hidden_size=256", "model.num_layers=2",
            f"output.dir={root}"]  # fmt: skip
    charlm.train(corpus=Path(a.corpus).resolve(), steps=30, run="lstm", overrides=sets)
    model = charlm.load(root / "lstm" / "latest.npz")
    proc, url = start(root / "lstm", root)
    L, out = a.length, {}
    try:
        asyncio.run(burst(url, 4, 20))  # warm up
        for C in (1, 8, 64, 256):
            length = L * 4 if C == 1 else L
            runs = [asyncio.run(burst(url, C, length)) for _ in range(a.repeats)]
            out[C] = statistics.median(c / s for s, c, _ in runs)
        s, chars, events = asyncio.run(burst(url, 64, L, stream=True))
        streamed = (chars / s, events, chars)
        t = time.perf_counter()
        asyncio.run(small_requests(url, 1000))
        m1 = rss(proc.pid)
        asyncio.run(small_requests(url, a.requests - 1000))
        m2, per_s = rss(proc.pid), a.requests / (time.perf_counter() - t)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    pieces = model.generate("ROMEO:", 4 * L, temperature=0.8, seed=0)
    t = time.perf_counter()
    n = sum(1 for _ in pieces)
    sample_rate = n / (time.perf_counter() - t)
    try:
        torch_rate = torch_chars_per_s(model, 4 * L)
    except ImportError:
        torch_rate = float("nan")
    cpu = platform.processor() or platform.machine()
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {cpu}, numpy {np.__version__}")
    print(f"LSTM 256 x 2, {L} characters a request ({4 * L} for one stream), median of {a.repeats}")
    print(f"{'streams':>8} {'chars/s':>10} {'x one stream':>13}")
    for C, rate in out.items():
        print(f"{C:>8} {rate:>10,.0f} {rate / out[1]:>13.1f}")
    print(
        f"charlm sample (one stream, in-process): {sample_rate:,.0f} chars/s; the server's "
        f"one stream is {sample_rate / out[1]:.2f}x its time per character"
    )
    print(f"torch, one stream at a time: {torch_rate:,.0f} chars/s")
    print(
        f"64 streamed: {streamed[0]:,.0f} chars/s, {streamed[1]:,} events for "
        f"{streamed[2]:,} characters"
    )
    print(
        f"server memory: {m1:.1f} MiB after 1,000 requests, {m2:.1f} MiB after "
        f"{a.requests:,} ({per_s:,.0f} requests/s of 5 characters, 16 at a time)"
    )


if __name__ == "__main__":
    main()
