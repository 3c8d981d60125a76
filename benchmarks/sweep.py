"""Which config gives the best model in a fixed time: run candidates through quality.py.

Each candidate is a set of `section.key=value` overrides on --config; each is trained for
--seconds of training time by benchmarks/quality.py (evaluations excluded) in a process of its
own, one after another, and the table gives the steps it made, its validation loss at the end
and its best. Candidates come from --candidate (repeatable, space-separated KEY=VALUE) or,
without it, the list below (the 90-second sweep behind configs/quick.yaml).

    python benchmarks/sweep.py --corpus corpora/tinyshakespeare.txt --seconds 90

Run it on an otherwise idle machine: the candidates compete only against the clock.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

QUALITY = Path(__file__).with_name("quality.py")
QUICK = [  # GRU 2 x H, no dropout, cosine planned to end near 90 s on a 2-core machine
    "model.type=gru model.hidden_size=256 model.dropout=0 train.max_steps=1400",
    "model.type=gru model.hidden_size=192 model.dropout=0 train.lr=0.006 train.max_steps=1900",
    "model.type=gru model.hidden_size=192 model.dropout=0 train.lr=0.008 train.max_steps=1900",
    "model.type=gru model.hidden_size=160 model.dropout=0 train.lr=0.008 train.max_steps=2300",
    "model.type=gru model.hidden_size=128 model.dropout=0 train.lr=0.008 train.max_steps=2800",
    "model.type=gru model.num_layers=1 model.hidden_size=320 model.dropout=0 train.max_steps=2100",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="the base config (default: the built-in defaults)")
    ap.add_argument("--corpus", default="tinyshakespeare")
    ap.add_argument("--seconds", type=float, default=90.0)
    ap.add_argument("--candidate", action="append", dest="candidates", metavar="'K=V K=V'")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    rows = []
    print(f"{'candidate':<92} {'steps':>6} {'end':>6} {'best':>6}", flush=True)
    for candidate in args.candidates or QUICK:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "curve.json")
            cmd = [
                sys.executable,
                str(QUALITY),
                "--corpus",
                args.corpus,
                "--seconds",
                str(args.seconds),
                "--every",
                str(args.seconds),
                "--json",
                out,
            ]
            cmd += ["--config", args.config] if args.config else []
            for item in candidate.split():
                cmd += ["--set", item]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            curve = json.load(open(out, encoding="utf-8"))["curve"]  # noqa: SIM115
        end, best = curve[-1], min(r["val"] for r in curve)
        rows.append({"candidate": candidate, "steps": end["steps"], "end": end["val"],
                     "best": best, "seconds": end["seconds"]})  # fmt: skip
        print(f"{candidate:<92} {end['steps']:>6,} {end['val']:>6.3f} {best:>6.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
