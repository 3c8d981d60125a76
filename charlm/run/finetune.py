"""Fine-tuning: a new run that starts from another's weights (`charlm train --init-from`).

The weights and the model section of the config come from the source checkpoint (a charlm
run, or a file made by `charlm import`); everything else from --config and --set. The
optimiser state and the schedule start afresh. The source is only read.

Characters of the new text that the model's vocabulary lacks grow it: the vocabulary is the
union of both, sorted as always, and each new character gets fresh rows, drawn as a new
model's are (PyTorch's initialisation, the run's seed): its embedding row (or its column of
weight_ih_l0 for a one-hot input) and its head row. Its output bias starts at the lowest of
the old ones, as the rarest character the model knew, so the new characters are not predicted
everywhere at first. The run records where it started: {"path", "sha256", "added"}.
"""

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from charlm.errors import ArgumentError, CharlmError, literal
from charlm.run import checkpoint, data


def source(path):
    """(checkpoint, its file, the file's SHA-256) of --init-from."""
    file = checkpoint.find(path)
    ck = checkpoint.load(file)
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return ck, file, digest.hexdigest()


def configure(cfg, sets, src, file):
    """cfg with the source's model section; a --set model.* that asks otherwise is refused."""
    seen = set()
    for item in reversed(sets):  # the last --set of a key is the one in force
        key = item.partition("=")[0].strip()
        if not key.startswith("model.") or key in seen:
            continue
        seen.add(key)
        name = key.removeprefix("model.")
        asked, has = getattr(cfg.model, name, None), getattr(src.config.model, name, None)
        if asked != has:
            raise ArgumentError(
                "init_from",
                ArgumentError.WHOLE,
                literal(f"--set {item}: the model comes from {file} ({key} {has!r}); ")
                + "drop the --set, or train a new model without {init_from}",
            )
    if (cfg.data.encoding == "bytes") != src.vocab.byte_level:
        what = "bytes" if src.vocab.byte_level else "characters"
        raise CharlmError(
            f"{file}: the model reads {what}; set data.encoding to "
            + ("bytes" if src.vocab.byte_level else "the text's encoding (not bytes)")
        )
    return replace(cfg, model=replace(src.config.model))


def extend(corpus, vocab):
    """The corpus encoded with the union of its vocabulary and `vocab` (the model's); the
    characters added, as text."""
    codes = np.union1d(vocab.codes, corpus.vocab.codes).astype(np.uint32)
    union = data.Vocab(codes, vocab.byte_level)
    table = np.searchsorted(codes, corpus.vocab.codes).astype(union.dtype)
    batches = data.Batches(table[corpus.batches.ids], corpus.batches.B, corpus.batches.T)
    val, test = table[corpus.val], table[corpus.test]
    added = vocab.unknown(corpus.vocab.codes)
    return replace(corpus, vocab=union, batches=batches, val=val, test=test), added


def start(ck, src, file, sha256, added):
    """ck (a fresh run over the grown vocabulary) with the source's weights; new rows as the
    module docstring says."""
    old, new = src.vocab.codes, ck.vocab.codes
    at = np.searchsorted(new, old)  # where each old symbol sits in the new vocabulary
    fresh = np.ones(len(new), dtype=bool)
    fresh[at] = False
    one_hot = not src.config.model.embedding_size
    for name, value in src.params.items():
        target = ck.params[name]
        if name in ("embedding.weight", "head.weight", "head.bias"):
            target[at] = value
        elif one_hot and name.startswith("weight_ih_l0"):
            target[:, at] = value
        else:
            target[...] = value
    if fresh.any():
        ck.params["head.bias"][fresh] = src.params["head.bias"].min()
    ck.init_from = {"path": str(Path(file).resolve()), "sha256": sha256, "added": len(added)}
    return ck


def note(file, added):
    """The line that says where the run starts and what the vocabulary gained."""
    grown = (
        f"; the vocabulary grows by {len(added)} ({' '.join(added[:10])}"
        f"{' ...' if len(added) > 10 else ''}) with fresh rows"
        if added
        else ""
    )
    return f"fine-tuning from {file}: its weights and model, a fresh optimiser and schedule{grown}"


def refuse_own_folder(run_dir, file):
    """The new run may not be written where its source is."""
    if Path(run_dir).resolve() == Path(file).resolve().parent:
        raise CharlmError(
            f"{run_dir} holds {Path(file).name}, the checkpoint this run starts from; train "
            f"into another folder with --run NAME"
        )
