"""The training loop: windows of the corpus -> loss and gradients -> clip -> optimiser step.

One step, as min-char-rnn's loop:
    x, y          = window w of the B streams (data.Batches); state reset to 0 at w = 0
    loss, grads   = model.loss_and_grads(params, x, y, state)     (state: carried, no gradient)
    norm          = clip_gradients(grads)                        (global norm before clipping)
    lr            = learning_rate(step)                   (warmup, then constant or cosine)
    params       -= optimiser update(grads, lr)
Every eval_every steps the validation loss over the whole validation text; every sample_every a
sample; every checkpoint_every (and at the end) checkpoints/<run>/latest.npz, and best.npz when
the validation loss is the lowest so far. metrics.jsonl in the run folder gets every figure.

A run is a Checkpoint (charlm.checkpoint): everything needed to continue exactly, including the
dropout generator's state and the carried hidden state, so N steps + N resumed steps give the
same parameters as 2N steps in one go.
"""

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from charlm import checkpoint, corpora, data, sample
from charlm.errors import CharlmError
from charlm.nn import head
from charlm.nn.model import ModelSpec, forward, init_params, init_state, loss_and_grads
from charlm.optim import Optimizer, clip_gradients, learning_rate

try:
    import fcntl
except ImportError:  # Windows: no flock, so no lock
    fcntl = None

SMOOTHING = 0.98  # of the displayed training loss, per step (an average over ~50 steps)
SAMPLE_CHARS = 200
SAMPLE_TEMPERATURE = 0.8


@dataclass
class Corpus:
    path: Path
    vocab: data.Vocab
    batches: data.Batches
    val: np.ndarray  # validation ids


def load_corpus(cfg, vocab=None, progress=None):
    """Read cfg.data.corpus (downloading a catalog corpus if needed), split and batch it.

    vocab: a checkpoint's vocabulary to encode with. Refuses texts too short to train on."""
    path = corpora.resolve(cfg.data.corpus, progress=progress)
    ids, vocab = data.read(path, cfg.data.encoding, vocab)
    train_ids, val_ids = data.split(ids, cfg.data.val_fraction)
    T, B = cfg.train.seq_len, cfg.train.batch_size
    batches = data.Batches(train_ids, B, T)
    if batches.windows < 1:
        raise CharlmError(
            f"{path}: the training text ({len(train_ids):,} characters) is too short for "
            f"batch_size {B} x seq_len {T} (needs {B * T + 1:,}); "
            f"lower train.batch_size or train.seq_len"
        )
    if len(val_ids) < T + 1:
        raise CharlmError(
            f"{path}: the validation split ({len(val_ids):,} characters) cannot hold one window "
            f"of seq_len {T} (needs {T + 1}); raise data.val_fraction or lower train.seq_len"
        )
    return Corpus(path, vocab, batches, val_ids)


LOCK = ".lock"


@contextlib.contextmanager
def locked(run_dir):
    """Hold run_dir/.lock while training, so a second trainer of the same folder is refused.

    An flock, not a marker file: the kernel drops it when the process ends, however it ends
    (kill -9 included), so a dead run never leaves its folder locked. The file names the holder.
    """
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        f = open(run_dir / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as e:
        raise CharlmError(
            f"cannot write to the run folder {run_dir} ({e.strerror or e}); "
            f"choose another with --run NAME or --set output.dir=DIR"
        ) from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise CharlmError(
                    f"{run_dir} is being trained right now ({holder}); wait for that run "
                    f"to end or stop it, or train into another folder with --run NAME"
                ) from None
        f.seek(0)
        f.truncate()
        f.write(f"charlm train, pid {os.getpid()}\n")
        f.flush()
        yield
    finally:
        f.close()


def prepare_run_dir(run_dir, fresh):
    """Create the run folder; a fresh run (the caller has checked it may) starts with no
    best.npz or metrics.jsonl of an earlier run. Called under the lock: temporary files left
    by a killed run are nobody's now, and go."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        for tmp in run_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        if fresh:
            for name in (checkpoint.BEST, checkpoint.LATEST, "metrics.jsonl"):
                (run_dir / name).unlink(missing_ok=True)
    except OSError as e:
        raise CharlmError(
            f"cannot prepare the run folder {run_dir} ({e.strerror or e}); "
            f"choose another with --run NAME or --set output.dir=DIR"
        ) from None


def total_steps(cfg, windows):
    t = cfg.train
    if t.max_steps is not None:
        return t.max_steps
    if t.epochs is not None:
        return max(1, math.ceil(t.epochs * windows))
    raise CharlmError("train.max_steps and train.epochs are both null; set one of them")


def new_run(cfg, vocab):
    """A fresh run at step 0: initialised parameters, zero optimiser state."""
    dtype = np.dtype(cfg.train.dtype)
    rng = np.random.default_rng(cfg.train.seed)
    spec = ModelSpec.from_config(cfg.model, len(vocab))
    params = init_params(spec, rng, dtype)
    opt = make_optimizer(cfg).init(params)
    return checkpoint.Checkpoint(
        config=cfg, vocab=vocab, params=params, optim=opt.state, rng=rng.bit_generator.state
    )


# What a resumed run cannot change: it would no longer be the same run (None: the whole section)
FIXED_ON_RESUME = {
    "model": None,
    "data": None,
    "train": ("seq_len", "batch_size", "dtype", "optimizer"),
}


def check_resume(ck, cfg, where):
    """Refuse a resume whose config changes what FIXED_ON_RESUME protects, or whose
    checkpoint lacks the optimiser state or carried state a run needs."""
    for section, keys in FIXED_ON_RESUME.items():
        old, new = getattr(ck.config, section), getattr(cfg, section)
        for key in keys or [f.name for f in fields(old)]:
            a, b = getattr(old, key), getattr(new, key)
            if a != b:
                raise CharlmError(
                    f"{where}: cannot change {section}.{key} when resuming (the checkpoint has "
                    f"{a!r}, the config asks {b!r}); start a new run with --run NAME instead"
                )
    expected = make_optimizer(cfg).init(ck.params).state
    for key, zero in expected.items():
        got = ck.optim.get(key)
        if got is None or got.shape != zero.shape:
            raise CharlmError(
                f"{where}: the optimiser state 'optim/{key}' is missing or the wrong shape; "
                f"the checkpoint cannot be resumed (sample or eval still work)"
            )
    if not ck.spec.bidirectional and ck.window != 0:
        shape = (cfg.model.num_layers, cfg.train.batch_size, cfg.model.hidden_size)
        n = len(init_state(ck.spec, 1))
        if ck.state is None or len(ck.state) != n or any(s.shape != shape for s in ck.state):
            raise CharlmError(
                f"{where}: the carried hidden state is missing or the wrong shape; "
                f"the checkpoint cannot be resumed (sample or eval still work)"
            )


def make_optimizer(cfg):
    t = cfg.train
    return Optimizer(t.optimizer, t.lr, t.momentum, t.beta1, t.beta2, t.eps)


def evaluate(params, spec, ids, batch_size, seq_len):
    """Mean loss in nats per character over every prediction in ids (a whole text),
    streams carrying their state across windows. Returns (loss, characters predicted)."""
    total, n, state = 0.0, 0, None
    for x, y in data.eval_windows(ids, batch_size, seq_len):
        if spec.bidirectional:
            y = x
        elif state is not None and state[0].shape[1] != x.shape[1]:
            state = tuple(s[:, -1:] for s in state)  # the leftover continues the last stream
        logits, state, _ = forward(params, spec, x, state)
        logp = head.log_softmax(logits)
        total -= float(np.take_along_axis(logp, y[..., None], axis=-1).sum(dtype=np.float64))
        n += y.size
    return total / n, n


class Reporter:
    """What the loop tells the outside world; the CLI's display overrides these."""

    def started(self, ck, total, corpus):
        pass

    def stepped(self, ck, total, loss, grad_norm, chars_per_s):
        pass

    def evaluated(self, ck, loss, best):
        pass

    def sampled(self, ck, text):
        pass

    def saved(self, ck, path):
        pass


class Metrics:
    """metrics.jsonl: one JSON object per line, appended and flushed as they come."""

    def __init__(self, path, resume_step=None):
        self.path = Path(path)
        if resume_step is not None and self.path.exists():
            self._drop_after(resume_step)
        self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def _drop_after(self, step):
        """Lines past the checkpoint being resumed were never saved: the resumed run redoes
        those steps, so remove them rather than record them twice."""
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except (json.JSONDecodeError, AttributeError):
                pass  # a line cut short by a crash
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
        os.replace(tmp, self.path)

    def write(self, **record):
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()


def train_sample(ck, corpus, seed):
    """A short sample for the display, from its own generator (seeded by the step), so that
    sampling never changes the training run's random numbers."""
    spec, rng = ck.spec, np.random.default_rng([seed, ck.step])
    if not spec.bidirectional:
        prime = corpus.val[:1].astype(np.int64)
        ids = sample.generate(
            ck.params, spec, prime, SAMPLE_CHARS, rng, temperature=SAMPLE_TEMPERATURE
        )
        return ck.vocab.decode(np.concatenate([prime, np.fromiter(ids, dtype=np.int64)]))
    # a cloze model: blank out every 6th character of some validation text and fill them in
    x = corpus.val[: min(SAMPLE_CHARS // 2, len(corpus.val))].astype(np.int64)
    blanks = range(3, len(x), 6)
    filled = sample.fill(ck.params, spec, x, blanks, rng, greedy=True)
    right = int((filled[blanks] == x[blanks]).sum())
    return f"{ck.vocab.decode(filled)}\n[{right}/{len(blanks)} blanks filled as in the text]"


def step(ck, window, state, opt, dropout_rng):
    """One training step on window (x, y), in place on ck.params and the optimiser state.

    Returns (loss, gradient norm before clipping, the state for the next window). Refuses
    (CharlmError) a non-finite loss or gradient before the update, and an update that
    overflows; the caller has saved nothing of it."""
    spec, t = ck.spec, ck.config.train
    x, y = window
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, in words
        loss, grads, next_state = loss_and_grads(
            ck.params, spec, x, x if spec.bidirectional else y, state, dropout_rng
        )
        norm = clip_gradients(grads, t.clip, t.clip_value)
        if math.isfinite(loss) and math.isfinite(norm):
            opt.step(ck.params, grads)
            if all(np.isfinite(p).all() for p in ck.params.values()):
                return loss, norm, next_state
            what = "the update made a parameter overflow"
        else:
            what = f"the {'gradient' if math.isfinite(loss) else 'loss'} is not finite"
    raise CharlmError(
        f"step {ck.step + 1}: {what}; training stopped, and the last checkpoint "
        f"in {ck.config.output.dir}/{ck.config.output.run} is untouched; "
        f"lower train.lr or clip the gradients (train.clip: norm)"
    )


def run(ck, corpus, run_dir, reporter=None, should_stop=lambda: False):
    """Train ck (a fresh or resumed Checkpoint) in place up to the configured step count.

    Saves to run_dir; returns the reason it ended: "done" or "stopped" (should_stop() became
    true; a checkpoint is saved first)."""
    reporter = reporter or Reporter()
    cfg, spec, batches = ck.config, ck.spec, corpus.batches
    t = cfg.train
    W, total = batches.windows, total_steps(cfg, batches.windows)
    opt = make_optimizer(cfg)
    opt.state = ck.optim
    rng = np.random.default_rng()
    rng.bit_generator.state = ck.rng
    dropout_rng = rng if spec.dropout > 0 else None
    run_dir = Path(run_dir)
    metrics = Metrics(run_dir / "metrics.jsonl", resume_step=ck.step)
    state, chars = ck.state, t.batch_size * t.seq_len
    dtype = ck.params["head.weight"].dtype

    def save(name):
        ck.rng, ck.state = rng.bit_generator.state, state
        path = run_dir / name
        checkpoint.save(path, ck)
        reporter.saved(ck, path)

    reporter.started(ck, total, corpus)
    try:
        while ck.step < total:
            if should_stop():
                save(checkpoint.LATEST)
                return "stopped"
            tic = time.perf_counter()
            if ck.window == 0 and not spec.bidirectional:  # a new epoch starts from zeros
                state = init_state(spec, t.batch_size, dtype)
            opt.lr = learning_rate(t, ck.step + 1, total)
            loss, norm, state = step(ck, batches.window(ck.window), state, opt, dropout_rng)
            ck.step += 1
            ck.window = (ck.window + 1) % W
            ck.epoch = ck.step / W
            a = min(SMOOTHING, 1 - 1 / ck.step)  # a plain mean over the first 50 steps
            s = ck.smooth_loss
            ck.smooth_loss = loss if math.isnan(s) else a * s + (1 - a) * loss
            seconds = time.perf_counter() - tic
            ck.elapsed += seconds
            reporter.stepped(ck, total, loss, norm, chars / seconds)
            if ck.step % t.log_every == 0:
                metrics.write(
                    kind="train",
                    step=ck.step,
                    epoch=round(ck.epoch, 6),
                    loss=loss,
                    smooth_loss=ck.smooth_loss,
                    bpc=loss / head.LN2,
                    grad_norm=norm,
                    lr=opt.lr,
                    chars_per_s=chars / seconds,
                    elapsed=ck.elapsed,
                )
            last = ck.step == total
            if ck.step % t.eval_every == 0 or last:
                val, _ = evaluate(ck.params, spec, corpus.val, t.batch_size, t.seq_len)
                best = val < ck.best_val
                if best:
                    ck.best_val = val
                metrics.write(kind="val", step=ck.step, loss=val, bpc=val / head.LN2, best=best)
                reporter.evaluated(ck, val, best)
                if best:
                    save(checkpoint.BEST)
            if ck.step % t.sample_every == 0 or last:
                text = train_sample(ck, corpus, t.seed)
                metrics.write(kind="sample", step=ck.step, text=text)
                reporter.sampled(ck, text)
            if ck.step % t.checkpoint_every == 0 or last:
                save(checkpoint.LATEST)
    finally:
        metrics.close()
    return "done"
