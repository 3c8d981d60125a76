"""A better model per CPU minute: validation loss against training time.

Trains a config (default: the built-in defaults, which are configs/lstm.yaml) on a corpus for a
wall-clock budget of training, through charlm's own training step, and every --every seconds
of training prints the loss over the whole validation split (nats/char, state carried) and the
training loss smoothed as `charlm train` shows it. Evaluation time is not counted as training.

    python benchmarks/quality.py --corpus ../shared/corpora/tinyshakespeare.txt --seconds 90
    python benchmarks/quality.py --corpus tinyshakespeare --seconds 600 --set model.hidden_size=384

Run it with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` where those are set (see throughput.py).
"""

import argparse
import json
import math
import time

import numpy as np

from charlm import config, train
from charlm.nn.model import init_state


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", help="a YAML config (default: the built-in defaults)")
    ap.add_argument("--corpus", default="tinyshakespeare", help="a path or a catalog name")
    ap.add_argument("--seconds", type=float, default=90.0, help="training time to spend")
    ap.add_argument("--every", type=float, default=15.0, help="seconds between evaluations")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    ap.add_argument("--json", help="also write the curve here")
    args = ap.parse_args()
    sets = [f"data.corpus={args.corpus}", "data.val_fraction=0.1", *args.sets]
    cfg = config.load(args.config, sets)
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    t, spec, batches = cfg.train, ck.spec, corpus.batches
    opt = train.make_optimizer(cfg)
    opt.state = ck.optim
    rng = np.random.default_rng(t.seed)
    dropout_rng = rng if spec.dropout > 0 else None
    print(
        f"{spec.describe()}, hidden {spec.hidden_size}, batch {t.batch_size} x {t.seq_len}, "
        f"{t.optimizer} lr {t.lr}, on {cfg.data.corpus} "
        f"({len(corpus.val):,} validation characters)"
    )
    print(f"{'seconds':>8} {'steps':>7} {'epoch':>6} {'train':>7} {'val':>7}")
    curve, trained, smooth, state, window = [], 0.0, math.nan, None, 0
    next_eval = args.every
    while True:
        if window == 0 and not spec.bidirectional:
            state = init_state(spec, t.batch_size, ck.params["head.weight"].dtype)
        tic = time.perf_counter()
        loss, _, state = train.step(ck, batches.window(window), state, opt, dropout_rng)
        trained += time.perf_counter() - tic
        ck.step += 1
        window = (window + 1) % batches.windows
        a = min(train.SMOOTHING, 1 - 1 / ck.step)
        smooth = loss if math.isnan(smooth) else a * smooth + (1 - a) * loss
        done = trained >= args.seconds
        if trained >= next_eval or done:
            val, _ = train.evaluate(ck.params, spec, corpus.val, t.batch_size, t.seq_len)
            epoch = ck.step / batches.windows
            curve.append(dict(seconds=trained, steps=ck.step, epoch=epoch, train=smooth, val=val))
            print(f"{trained:8.1f} {ck.step:7d} {epoch:6.2f} {smooth:7.3f} {val:7.3f}", flush=True)
            next_eval += args.every
        if done:
            break
    best = min(curve, key=lambda r: r["val"])
    print(f"best val {best['val']:.3f} nats/char at {best['seconds']:.0f} s of training")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"config": config.to_dict(cfg), "curve": curve}, f, indent=1)


if __name__ == "__main__":
    main()
