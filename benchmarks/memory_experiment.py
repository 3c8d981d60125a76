"""The long-range memory experiment: can rnn, lstm and gru recall a key across a gap?

For each gap, `charlm corpus make recall` text (a key A-H, `gap` random letters, ':', the key
again) trains a one-layer rnn, lstm and gru of the same parameter budget, with the same
steps, batch and optimiser, through charlm's own training loop. Then each model reads a fresh
text (another seed) with its state carried, and we count how often its likeliest character
after each ':' is the key: chance is 1/8 = 12.5%.

Each window holds two records (seq_len = 2 * (gap + 4)), so every window contains one whole
record and truncated backpropagation can reach from the recall back to its key.

    python benchmarks/memory_experiment.py                      # the README's table
    python benchmarks/memory_experiment.py --gaps 5,20 --steps 300 --cells lstm

Prints a markdown table (accuracy per gap per cell) and writes the numbers as JSON to --json
(default: checkpoints/memory/results.json). The trained checkpoints stay in --out (default
checkpoints/memory/<cell>-gap<gap>/), for gradflow and saliency.
"""

import argparse
import json
import time
from pathlib import Path

from charlm.nn.model import CELLS, forward
from charlm.run import config, launch, loop, synthetic, train

KEYS = 8


def param_count(cell, hidden, vocab):
    """Weights of a one-layer model with one-hot input and a linear head."""
    G = CELLS[cell].GATES
    return G * hidden * (vocab + hidden + 2) + vocab * hidden + vocab


def hidden_for(cell, budget, vocab):
    """The hidden size whose parameter count is closest to budget."""
    return min(range(4, 1024), key=lambda h: abs(param_count(cell, h, vocab) - budget))


def recall_accuracy(params, spec, vocab, text):
    """Share of recalled keys (the character after each ':') the model gets right, reading
    text once with its state carried."""
    ids = vocab.encode(text)
    positions, answers = synthetic.recall_answers(text)
    logits, _, _ = forward(params, spec, ids[:-1, None])  # logits[t] predicts ids[t + 1]
    guess = logits[positions - 1, 0].argmax(axis=-1)
    right = guess == vocab.encode("".join(answers))
    return float(right.mean())


def run_one(cell, hidden, gap, args, corpus_path, test_text):
    run = f"{cell}-gap{gap}"
    sets = [
        f"data.corpus={corpus_path}",
        f"model.type={cell}",
        f"model.hidden_size={hidden}",
        "model.num_layers=1",
        "model.dropout=0.0",
        f"train.seq_len={2 * (gap + 4)}",
        f"train.batch_size={args.batch}",
        f"train.max_steps={args.steps}",
        f"train.lr={args.lr}",
        f"train.seed={args.seed}",
        f"train.eval_every={args.steps}",
        f"train.sample_every={args.steps}",
        f"train.checkpoint_every={args.steps}",
        f"output.dir={args.out}",
        f"output.run={run}",
    ]
    cfg = config.load(None, sets)
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    run_dir = Path(args.out) / run
    train.prepare_run_dir(run_dir, fresh=True)
    tic = time.perf_counter()
    loop.run(launch.of(ck, corpus, run_dir))
    seconds = time.perf_counter() - tic
    acc = recall_accuracy(ck.params, ck.spec, ck.vocab, test_text)
    n = sum(a.size for a in ck.params.values())
    return {
        "cell": cell,
        "gap": gap,
        "hidden": hidden,
        "params": n,
        "accuracy": acc,
        "val_loss": ck.best_val,
        "seconds": seconds,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gaps", default="5,10,20,50,100")
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument("--budget", type=int, default=27_000, help="parameters per model")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--size", type=int, default=2_000_000, help="training corpus characters")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="checkpoints/memory")
    ap.add_argument("--json", help="where to write the results (default: OUT/results.json)")
    args = ap.parse_args()
    gaps = [int(g) for g in args.gaps.split(",")]
    cells = args.cells.split(",")
    vocab_size = KEYS + len(synthetic.FILLER) + 2  # keys, filler, ':' and newline
    results = []
    corpora = Path(args.out) / "corpora"
    corpora.mkdir(parents=True, exist_ok=True)
    for gap in gaps:
        path = corpora / synthetic.default_name("recall", gap=gap)
        path.write_text(synthetic.recall(args.size, gap, seed=args.seed, keys=KEYS))
        test_text = synthetic.recall(50_000, gap, seed=args.seed + 1000, keys=KEYS)
        for cell in cells:
            hidden = hidden_for(cell, args.budget, vocab_size)
            r = run_one(cell, hidden, gap, args, path, test_text)
            results.append(r)
            print(
                f"gap {gap:>3} {cell:<4} hidden {hidden:>3} ({r['params']:,} parameters): "
                f"recall accuracy {r['accuracy']:.1%}, val loss {r['val_loss']:.3f}, "
                f"{r['seconds']:.0f} s",
                flush=True,
            )
    print()
    sizes = [f"{c} (H={hidden_for(c, args.budget, vocab_size)})" for c in cells]
    print("| gap | " + " | ".join(sizes) + " |")
    print("|---:|" + "---:|" * len(cells))
    accuracy = {(r["cell"], r["gap"]): r["accuracy"] for r in results}
    for gap in gaps:
        print(f"| {gap} | " + " | ".join(f"{accuracy[c, gap]:.1%}" for c in cells) + " |")
    print(f"\nchance: {1 / KEYS:.1%}; {args.steps} steps of batch {args.batch}, Adam lr {args.lr}")
    out = Path(args.json or Path(args.out) / "results.json")
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
