"""Peak memory of reading and training on a large corpus: bytes of resident memory per character.

Writes a corpus of --mb megabytes (the text you pass, repeated), then, in a fresh process
each, measures the peak resident set size (ru_maxrss) of importing charlm alone, of preparing
the corpus for training (train.load_corpus: read, encode, split, batch), and of training the
built-in model on it for --steps steps (validation split 0.1%, to keep evaluation short).
The difference over the character count is the memory per character.

    python benchmarks/corpus_memory.py --text ../shared/corpora/tinyshakespeare.txt --mb 100
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """
import json, resource, sys, tempfile
from pathlib import Path
from charlm.run import config, launch, loop, rundir, train
if sys.argv[1] in ("load", "train"):
    out = tempfile.mkdtemp()
    cfg = config.load(None, [f"data.corpus={sys.argv[2]}", f"train.max_steps={sys.argv[3]}",
                             "data.val_fraction=0.001", f"output.dir={out}"])
    corpus = train.load_corpus(cfg)
    n = len(corpus.batches.ids) + len(corpus.val)
    dtype = str(corpus.batches.ids.dtype)
    if sys.argv[1] == "train":
        ck = train.new_run(cfg, corpus.vocab)
        rundir.prepare(Path(out) / "run", fresh=True)
        loop.run(launch.of(ck, corpus, Path(out) / "run"))
else:
    n, dtype = 0, None
print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "chars": n,
                  "dtype": dtype}))
"""


def probe(*args):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", required=True, help="a UTF-8 text to repeat")
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size in megabytes")
    ap.add_argument("--steps", type=int, default=20, help="training steps to measure")
    args = ap.parse_args()
    seed = Path(args.text).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        size = int(args.mb * 1e6)
        with open(path, "wb") as f:
            for _ in range(size // len(seed)):
                f.write(seed)
            f.write(seed[: size % len(seed)])
        base = probe("base")
        load = probe("load", str(path), str(args.steps))
        trained = probe("train", str(path), str(args.steps))
    extra = (load["peak_kib"] - base["peak_kib"]) * 1024
    print(f"corpus            {size:,} bytes, {load['chars']:,} characters, ids {load['dtype']}")
    print(f"peak RSS, import  {base['peak_kib'] / 1024:,.1f} MiB")
    print(f"peak RSS, loaded  {load['peak_kib'] / 1024:,.1f} MiB")
    print(f"per character     {extra / load['chars']:.2f} bytes")
    print(f"peak RSS, trained {trained['peak_kib'] / 1024:,.1f} MiB ({args.steps} steps)")


if __name__ == "__main__":
    main()
