"""A better model per CPU minute: validation loss against training time.

Trains a config (default: the built-in defaults, which are configs/lstm.yaml) on a corpus for a
wall-clock budget of training, through charlm's own training step and learning-rate schedule,
and every --every seconds of training prints the loss over the whole validation split
(nats/char, state carried) and the training loss smoothed as `charlm train` shows it.
Evaluation time is not counted as training. It stops at the budget or at the config's last
step, whichever comes first.

--torch trains the same model in torch.nn instead (one-hot input, unidirectional configs,
the same initial weights, torch.optim.Adam/Adagrad/SGD with the same schedule, clipping,
batches and evaluation), so the two curves can be compared on one machine.

    python benchmarks/quality.py --corpus ../shared/corpora/tinyshakespeare.txt --seconds 90
    python benchmarks/quality.py --corpus tinyshakespeare --seconds 600 --set model.hidden_size=384
    python benchmarks/quality.py --corpus tinyshakespeare --seconds 90 --torch

Run it with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` where those are set (see throughput.py).
"""

import argparse
import json
import math
import os
import time
from types import SimpleNamespace

import numpy as np

from charlm.handoff import torch_name
from charlm.nn.model import init_state
from charlm.run import config, data, train
from charlm.run.budget import Budget
from charlm.run.optim import plan, planned_rate


def charlm_side(cfg, corpus):
    """(step(w, lr) -> loss, evaluate() -> val loss) for charlm's own engine."""
    ck = train.new_run(cfg, corpus.vocab)
    t, spec = cfg.train, ck.spec
    opt = train.make_optimizer(cfg)
    opt.state = ck.optim
    rng = np.random.default_rng()
    rng.bit_generator.state = ck.rng  # dropout masks come from where `charlm train` draws them
    dropout_rng = rng if spec.dropout > 0 else None
    carry = [None]

    def step(w, lr):
        if w == 0 and not spec.bidirectional:
            carry[0] = init_state(spec, t.batch_size, ck.params["head.weight"].dtype)
        opt.lr = lr
        loss, _, carry[0] = train.step(ck, corpus.batches.window(w), carry[0], opt, dropout_rng)
        ck.step += 1
        return loss

    def evaluate():
        return train.evaluate(ck.params, spec, corpus.val, seq_len=t.seq_len)[0]

    return step, evaluate


def torch_side(cfg, corpus):
    """The same, for the equivalent torch.nn model."""
    import torch

    m, t = cfg.model, cfg.train
    if m.bidirectional or m.embedding_size:
        raise SystemExit("--torch covers unidirectional one-hot models")
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    V = len(corpus.vocab)
    dtype = getattr(torch, t.dtype)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[m.type]
    rnn = module(V, m.hidden_size, m.num_layers, dropout=m.dropout).to(dtype)
    head = torch.nn.Linear(m.hidden_size, V).to(dtype)
    # the very weights charlm starts from (same seed), under the hand-off's torch names
    net = torch.nn.ModuleDict({"rnn": rnn, "head": head})
    start = train.new_run(cfg, corpus.vocab).params
    net.load_state_dict({torch_name(k): torch.from_numpy(v) for k, v in start.items()})
    params = list(net.parameters())
    opt = {
        "adam": lambda: torch.optim.Adam(params, t.lr, betas=(t.beta1, t.beta2), eps=t.eps),
        "adagrad": lambda: torch.optim.Adagrad(params, t.lr, eps=t.eps),
        "sgd": lambda: torch.optim.SGD(params, t.lr, momentum=t.momentum),
    }[t.optimizer]()
    carry = [None]

    def detach(state):
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    def run(x, state):
        x = torch.nn.functional.one_hot(torch.from_numpy(x), V).to(dtype)
        out, state = rnn(x, state)
        return torch.log_softmax(head(out), -1), state

    def step(w, lr):
        x, y = corpus.batches.window(w)
        rnn.train()
        logp, state = run(x, None if w == 0 else carry[0])
        carry[0] = detach(state)
        loss = torch.nn.functional.nll_loss(logp.reshape(-1, V), torch.from_numpy(y).reshape(-1))
        opt.zero_grad()
        loss.backward()
        if t.clip == "norm":
            torch.nn.utils.clip_grad_norm_(params, t.clip_value)
        elif t.clip == "elementwise":
            torch.nn.utils.clip_grad_value_(params, t.clip_value)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        return loss.item()

    @torch.no_grad()
    def evaluate():
        rnn.eval()
        total, n, state = 0.0, 0, None
        windows = data.eval_windows(  # the streams and warm-up of charlm's evaluate()
            corpus.val, train.EVAL_STREAMS, t.seq_len, train.EVAL_WARMUP
        )
        for x, y, scored in windows:
            if state is not None and x.shape[1] == 1:  # the leftover continues the last stream
                state = tuple(s[:, -1:] for s in state) if m.type == "lstm" else state[:, -1:]
            logp, state = run(x, state)
            picked = logp.gather(-1, torch.from_numpy(y)[..., None])[..., 0]
            if scored is not None:
                picked = picked[torch.from_numpy(scored)]
            total -= float(picked.sum(dtype=torch.float64))
            n += picked.numel()
        return total / n

    return step, evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", help="a YAML config (default: the built-in defaults)")
    ap.add_argument("--corpus", default="tinyshakespeare", help="a path or a catalog name")
    ap.add_argument("--seconds", type=float, default=90.0, help="training time to spend")
    ap.add_argument("--every", type=float, default=15.0, help="seconds between evaluations")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    ap.add_argument("--torch", action="store_true", help="train the torch.nn equivalent")
    ap.add_argument("--json", help="also write the curve here")
    args = ap.parse_args()
    sets = [f"data.corpus={args.corpus}", "data.val_fraction=0.1", *args.sets]
    cfg = config.load(args.config, sets)
    corpus = train.load_corpus(cfg)
    t, W = cfg.train, corpus.batches.windows
    run = SimpleNamespace(step=0, elapsed=0.0, schedule=None)  # what a time budget reads
    budget = Budget(t, run)
    run.schedule = budget.provisional() or plan(t, train.total_steps(cfg, W))
    total = train.total_steps(cfg, W, run.schedule)
    step, evaluate = (torch_side if args.torch else charlm_side)(cfg, corpus)
    m = cfg.model
    print(
        f"{'torch.nn' if args.torch else 'charlm'}: {m.num_layers}-layer {m.type}"
        f"{' (bidirectional)' if m.bidirectional else ''}, hidden {m.hidden_size}, "
        f"batch {t.batch_size} x {t.seq_len}, {t.optimizer} lr {t.lr:g} {t.lr_schedule} over "
        f"{f'{t.minutes:g} minutes' if t.minutes else f'{total:,} steps'}, on "
        f"{cfg.data.corpus} ({len(corpus.val):,} validation characters)"
    )
    print(f"{'seconds':>8} {'steps':>7} {'epoch':>6} {'lr':>9} {'train':>7} {'val':>7}")
    curve, trained, smooth, steps, next_eval = [], 0.0, math.nan, 0, args.every
    while True:
        lr = planned_rate(t, steps + 1, run.schedule)
        tic = time.perf_counter()
        loss = step(steps % W, lr)
        trained += time.perf_counter() - tic
        steps += 1
        run.step, run.elapsed = steps, trained
        if budget.due(run):  # train.minutes: plan the steps that fit, as charlm train does
            total, _ = budget.fix(run)
            print(f"planned {total:,} steps after {steps:,} in {trained:.1f} s", flush=True)
        a = min(train.SMOOTHING, 1 - 1 / steps)
        smooth = loss if math.isnan(smooth) else a * smooth + (1 - a) * loss
        done = trained >= args.seconds or steps == total
        if trained >= next_eval or done:
            val = evaluate()
            curve.append(dict(seconds=trained, steps=steps, epoch=steps / W, train=smooth, val=val))
            print(
                f"{trained:8.1f} {steps:7d} {steps / W:6.2f} {lr:9.2e} {smooth:7.3f} {val:7.3f}",
                flush=True,
            )
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
