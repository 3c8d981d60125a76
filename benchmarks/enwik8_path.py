"""enwik8's whole path, on a 10^8-byte file: reading it, the standard split, memory, steps per
second and what one epoch of configs/enwik8.yaml (a 2 x 256 LSTM) would take.

    python benchmarks/enwik8_path.py --file /tmp/enwik8-standin.txt --make
    python benchmarks/enwik8_path.py --file corpora/enwik8.txt     # the real one, if you have it

--make writes a stand-in where the file is missing, for machines that cannot download
enwik8: this Python's standard-library .py files (tests included) repeated to 10^8 bytes,
its last bytes set so that 205 byte values occur, as in enwik8 (the vocabulary sets the
output layer's size). The text differs, so its bits per byte say nothing of enwik8's; the
sizes, the memory and the speed are the path's. Each measurement runs in a fresh process,
so each peak resident set size (ru_maxrss) is its own:
    load   data.corpus read as bytes, encoded, split 90M/5M/5M and batched (train.load_corpus)
    train  --steps steps of the config (the median step time after 20), then the last step's
           evaluation of the 5M validation split, a sample and a checkpoint
"""

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "enwik8.yaml"
SIZE, VALUES = 10**8, 205

PROBE = """
import json, resource, statistics, sys, time
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # a probe never takes the machine
import charlm
from charlm.run import config, train
what, path, config_path, steps, out = sys.argv[1:6]
cfg = config.load(config_path, [f"data.corpus={path}", f"output.dir={out}"])
result = {}
if what == "load":
    t0 = time.perf_counter()
    corpus = train.load_corpus(cfg)
    result.update(seconds=time.perf_counter() - t0, symbols=len(corpus.vocab),
                  train=len(corpus.batches.ids), val=len(corpus.val), test=len(corpus.test),
                  windows=corpus.batches.windows, dtype=str(corpus.batches.ids.dtype),
                  step_chars=cfg.train.batch_size * cfg.train.seq_len)
else:
    times = []
    sets = ["train.eval_every=1000000", "train.sample_every=1000000",
            "train.checkpoint_every=1000000", "train.report=false"]
    t0 = time.perf_counter()
    charlm.train(config_path, corpus=path, steps=int(steps), run="bench", overrides=sets + [
        f"output.dir={out}"], callback=lambda f: times.append(time.perf_counter()))
    end = time.perf_counter()
    gaps = [b - a for a, b in zip(times[20:], times[21:])]
    result.update(step_s=statistics.median(gaps), start_s=times[0] - t0,
                  after_s=end - times[-1], steps=len(times))
result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def make(path):
    """The stand-in (module docstring), written in blocks: at most a few MB in memory."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(p for p in lib.rglob("*.py") if "site-packages" not in p.parts)
    seen, done = set(), 0
    with open(path, "wb") as f:
        while done < SIZE - VALUES:
            for p in sources:
                block = p.read_bytes()[: SIZE - VALUES - done]
                f.write(block)
                seen.update(block)
                done += len(block)
                if done >= SIZE - VALUES:
                    break
        missing = [b for b in range(256) if b not in seen][: max(0, VALUES - len(seen))]
        tail = bytes(missing) + b" " * (SIZE - done - len(missing))
        f.write(tail)


def probe(what, path, steps, out):
    args = [sys.executable, "-c", PROBE, what, str(path), str(CONFIG), str(steps), out]
    done = subprocess.run(args, capture_output=True, text=True, cwd=out)
    if done.returncode:
        sys.exit(done.stderr)
    return json.loads(done.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", required=True, type=Path, help="enwik8, or where to make one")
    ap.add_argument("--make", action="store_true", help="write a stand-in if --file is missing")
    ap.add_argument("--steps", type=int, default=200, help="training steps to time")
    args = ap.parse_args()
    if not args.file.exists() and args.make:
        make(args.file)
    print(f"file   {args.file}: {os.path.getsize(args.file):,} bytes")
    with tempfile.TemporaryDirectory() as out:
        load = probe("load", args.file.resolve(), args.steps, out)
        trained = probe("train", args.file.resolve(), args.steps, out)
    rate = 1 / trained["step_s"]
    epoch = load["windows"] / rate
    print(
        f"read   {load['seconds']:.1f} s to read, encode, split and batch; {load['symbols']} "
        f"byte values; ids {load['dtype']}; peak RSS {load['peak_mib']:,.0f} MiB"
    )
    print(f"split  train {load['train']:,} / validation {load['val']:,} / test {load['test']:,}")
    print(
        f"train  {rate:.1f} steps/s ({rate * load['step_chars']:,.0f} bytes/s), median of "
        f"{trained['steps'] - 21} steps; start {trained['start_s']:.1f} s; "
        f"peak RSS {trained['peak_mib']:,.0f} MiB"
    )
    print(f"eval   {trained['after_s']:.1f} s for the 5M validation split, a sample and a save")
    print(f"epoch  {load['windows']:,} steps: {epoch / 3600:.2f} h at this pace")


if __name__ == "__main__":
    main()
