"""What a training run is made of: its corpus (read, split, batched), a fresh run, the
optimiser, one step's arithmetic and the evaluation. The loop that strings them together is
charlm.run.loop.

One step, as min-char-rnn's loop:
    x, y          = window w of the B streams (data.Batches); state reset to 0 at w = 0
    loss, grads   = model.loss_and_grads(params, x, y, state)     (state: carried, no gradient)
    norm          = clip_gradients(grads)                        (global norm before clipping)
    lr            = planned_rate(step)        (the run's plan: warmup, then constant or cosine)
    params       -= optimiser update(grads, lr)

A run is a Checkpoint (charlm.run.checkpoint): everything needed to continue exactly, including
the dropout generator's state and the carried hidden state, so N steps + N resumed steps give
the same parameters as 2N steps in one go.
"""

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from charlm import files, memory
from charlm.errors import CharlmError
from charlm.nn import head
from charlm.nn.infer import infer
from charlm.nn.model import ModelSpec, init_params, loss_and_grads
from charlm.nn.model import memory as model_memory
from charlm.run import checkpoint, corpora, data, textset
from charlm.run.budget import planned_total
from charlm.run.config import MAX_STEPS
from charlm.run.optim import Optimizer, clip_gradients


@dataclass
class Corpus:
    path: Path
    vocab: data.Vocab
    batches: data.Batches
    val: np.ndarray  # validation ids
    identity: dict  # {"bytes", "sha256", "path"}: what a checkpoint records (meta/corpus)
    notes: list = field(default_factory=list)  # lines to show (a folder's skipped files)
    test: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))  # held-out ids


def load_corpus(cfg, vocab=None, progress=None, identity=None):
    """Read cfg.data.corpus (downloading a catalog corpus if needed), split and batch it.

    vocab: a checkpoint's vocabulary to encode with. identity: the checkpoint's record of the
    text it trained on ({"bytes", "sha256", "path"}): the corpus must be that text, under any
    path, and where data.corpus no longer leads to it, the absolute path recorded is tried.
    Refuses texts too short to train on."""
    if identity and identity.get("files") is not None or corpora.is_set(cfg.data.corpus):
        return _load_set(cfg, vocab, identity)
    path = corpora.resolve(cfg.data.corpus, progress=progress)
    recorded = Path(identity["path"]) if identity and identity.get("path") else None
    if not path.exists() and recorded is not None and recorded.is_file():
        path = recorded
    if not path.exists() and identity:
        raise CharlmError(
            f"{path}: corpus file not found; the run trained on a text of "
            f"{identity.get('bytes', 0):,} bytes (sha256 {identity.get('sha256')}): pass any "
            f"path to it with --corpus PATH"
        )

    def same_text(size, sha256):
        if identity and identity.get("sha256") and identity["sha256"] != sha256:
            raise CharlmError(
                f"{path}: not the text this run trained on (sha256 {sha256}, {size:,} bytes; "
                f"the run's corpus has sha256 {identity['sha256']}, "
                f"{identity.get('bytes', 0):,} bytes); pass --corpus PATH to that text"
            )

    try:
        text = data.load(path, cfg.data.encoding, vocab, check=same_text)
    except CharlmError as e:
        if not identity or files.is_regular(path):
            raise
        raise CharlmError(  # e.g. a run trained from a pipe, evaluated without one
            f"{e}; the run read its corpus from {path}, a pipe: pass --corpus PATH to a file "
            f"holding that text (sha256 {identity.get('sha256')})"
        ) from None
    where = str(path.resolve()) if path.is_file() else None  # a pipe has no path to record
    found = {"bytes": text.size, "characters": int(text.ids.size), "sha256": text.sha256,
             "path": where}  # fmt: skip
    return _corpus(cfg, path, text, found)


def _load_set(cfg, vocab, identity):
    """load_corpus of a folder or pattern (run/textset.py): on a resume, the same files."""
    name = cfg.data.corpus
    if identity and not textset.is_set(name):
        if Path(name).exists() or not identity.get("path"):
            raise CharlmError(
                f"{name}: this run trained on the {identity.get('files', 0):,} files of "
                f"{identity.get('path')}, not on one file; pass --corpus to that folder or pattern"
            )
        name = identity["path"]  # the run's folder, where data.corpus no longer leads
    if identity and identity.get("files") is None:
        raise CharlmError(
            f"{name}: this run trained on one file ({identity.get('bytes', 0):,} bytes, sha256 "
            f"{identity.get('sha256')}), not a folder or pattern; pass --corpus PATH to it"
        )
    found = textset.scan(name, cfg.data.encoding, cfg.data.separator, skip=[cfg.output.dir])
    record = found.identity()
    if identity and identity.get("sha256") not in (None, record["sha256"]):
        what = textset.changes(identity.get("manifest") or [], found.manifest)
        raise CharlmError(
            f"{name}: not the files this run trained on ({what}); restore them, or start a new run"
        )
    text = data.load(found, cfg.data.encoding, vocab)
    record.update(characters=int(text.ids.size), path=os.path.abspath(name))
    record["manifest"] = found.manifest
    corpus = _corpus(cfg, Path(name), text, record)
    corpus.notes.append(found.summary())
    return corpus


def _corpus(cfg, path, text, found):
    """The Corpus of a text read: split, batched, its sizes checked."""
    ids, vocab = text.ids, text.vocab
    train_ids, val_ids, test_ids = data.split(ids, cfg.data.val_fraction, cfg.data.test_fraction)
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
    return Corpus(path, vocab, batches, val_ids, found, test=test_ids)


def total_steps(cfg, windows, schedule=None):
    """The run's step count: a time-budgeted run's plan (budget.planned_total), else
    train.max_steps, else train.epochs of windows."""
    t = cfg.train
    if t.minutes is not None:
        return planned_total(t, schedule, None)
    if t.max_steps is not None:
        return t.max_steps
    steps = max(1, math.ceil(t.epochs * windows))
    if steps > MAX_STEPS:
        raise CharlmError(
            f"train.epochs {t.epochs:g} of this corpus's {windows:,} windows is {steps:,} steps, "
            f"more than the {MAX_STEPS:,} a run can have; lower train.epochs"
        )
    return steps


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


def make_optimizer(cfg):
    t = cfg.train
    return Optimizer(t.optimizer, t.lr, t.momentum, t.beta1, t.beta2, t.eps)


EVAL_STREAMS = 128  # streams read at once by evaluate(): the fastest on 2 cores (docs/speed.md)
EVAL_WARMUP = 64  # steps each stream reads before it scores: the state is no longer cold
EVAL_WINDOW = 64  # steps read at a time, unless the caller gives the run's seq_len


def eval_memory(spec, itemsize, seq_len=EVAL_WINDOW):
    """About how many bytes evaluate() needs at most: the parameters and one window."""
    return model_memory(spec, EVAL_STREAMS, seq_len, itemsize, backward=False)


def evaluate(params, spec, ids, streams=EVAL_STREAMS, seq_len=EVAL_WINDOW, warmup=EVAL_WARMUP):
    """Mean loss in nats per character over every prediction in ids (a whole text), read
    forward only (nn.infer) as `streams` streams that carry their state across windows of
    seq_len steps, each after the first warmed up on the `warmup` characters before its part
    (data.eval_windows); the windows' length does not change the loss. A bidirectional model
    reads each window on its own, with no warm-up (no state to carry): its context is the
    window, so callers give the run's seq_len, the context it was trained with.
    Returns (loss, characters predicted)."""
    memory.keep_freed_memory()
    total, n, state = 0.0, 0, None
    cloze = spec.bidirectional
    windows = data.eval_windows(ids, streams, seq_len, 0 if cloze else warmup, cloze=cloze)
    for x, y, scored in windows:
        if state is not None and state[0].shape[1] != x.shape[1]:
            state = tuple(s[:, -1:] for s in state)  # the leftover continues the last stream
        logits, state = infer(params, spec, x, state)
        picked = np.take_along_axis(head.log_softmax(logits), y[..., None], axis=-1)[..., 0]
        if scored is not None:
            picked = picked[scored]
        total -= float(picked.sum(dtype=np.float64))
        n += picked.size
    return total / n, n


class Diverged(CharlmError):
    """A step whose loss, gradient or update is not finite: the run stops, unsaved."""


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
    raise Diverged(
        f"step {ck.step + 1}: {what}; training stopped, and the last checkpoint "
        f"in {ck.config.output.dir}/{ck.config.output.run} is untouched; "
        f"lower train.lr or clip the gradients (train.clip: norm)"
    )
