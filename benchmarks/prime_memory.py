"""Peak memory of sampling after a long prime: charlm reads the prime a chunk at a time
(charlm.nn.infer.read), so the peak should not grow with the prime's length.

    python benchmarks/prime_memory.py --checkpoint checkpoints/lstm \
        --text corpora/tinyshakespeare.txt

For each prime length, a fresh process loads the checkpoint, samples one character after the
first N characters of --text (Model.sample), and reports its peak resident memory
(ru_maxrss) and the time the sample took.
"""

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
import charlm
model = charlm.load(sys.argv[1])
prime = open(sys.argv[2], encoding="utf-8").read()[: int(sys.argv[3])]
tic = time.perf_counter()
model.sample(prime, length=1, seed=0)
seconds = time.perf_counter() - tic
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"chars": len(prime), "peak_mb": peak, "seconds": seconds}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--text", required=True, help="a UTF-8 text the model knows")
    ap.add_argument("--lengths", default="1000,117000,1000000")
    args = ap.parse_args()
    print(f"{'prime chars':>12} {'peak MB':>9} {'seconds':>8}")
    for n in args.lengths.split(","):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, args.checkpoint, args.text, n],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(out.stdout)
        print(f"{r['chars']:>12,} {r['peak_mb']:>9.1f} {r['seconds']:>8.2f}")


if __name__ == "__main__":
    main()
