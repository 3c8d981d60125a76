"""Does memory stay flat over a long run? Peak resident memory early on and at the end.

Trains a config (default: the built-in lstm, on the corpus you pass) for --steps steps with
evaluation, samples and checkpoints as configured, and prints the peak resident set size
(ru_maxrss) after --warmup steps and after the last step, and their ratio. A leak (a cache
kept per step, a growing list) shows as an end peak above the early one.

    python benchmarks/memory_long_run.py --corpus ../shared/corpora/tinyshakespeare.txt \\
        --steps 3000 --set model.hidden_size=128 --set train.eval_every=500
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from charlm.run import config, launch, loop, metrics, train


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Watch(metrics.Reporter):
    def __init__(self, warmup):
        self.warmup, self.early = warmup, None

    def stepped(self, ck, total, loss, grad_norm, chars_per_s):
        if ck.step == self.warmup:
            self.early = peak_mib()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument(
        "--warmup",
        type=int,
        help="steps before the early reading (default: just after the "
        "first evaluation, sample and checkpoint have all happened once)",
    )
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        sets = [f"data.corpus={args.corpus}", f"train.max_steps={args.steps}",
                f"output.dir={out}", *args.sets]  # fmt: skip
        cfg = config.load(None, sets)
        corpus = train.load_corpus(cfg)
        ck = train.new_run(cfg, corpus.vocab)
        run_dir = Path(out) / cfg.output.run
        train.prepare_run_dir(run_dir, fresh=True)
        t = cfg.train
        warmup = args.warmup or max(t.eval_every, t.sample_every, t.checkpoint_every) + 1
        watch = Watch(warmup)
        tic = time.perf_counter()
        loop.run(launch.of(ck, corpus, run_dir), watch)
        seconds = time.perf_counter() - tic
    end = peak_mib()
    spec = ck.spec
    print(f"{spec.describe()}, hidden {spec.hidden_size}, {args.steps:,} steps, {seconds:.0f} s")
    for label, value in [(f"peak RSS after {watch.warmup:,} steps", f"{watch.early:.1f} MiB"),
                         (f"peak RSS after {args.steps:,} steps", f"{end:.1f} MiB"),
                         ("end / early", f"{end / watch.early:.3f}")]:  # fmt: skip
        print(f"{label:<30}{value:>12}")


if __name__ == "__main__":
    main()
