"""A checkpoint's metadata (the meta/ arrays: charlm.run.checkpoint lists them), read and
checked: every figure in its range and every JSON field of its type, so what `charlm runs`,
`charlm report` and a resume show of a checkpoint is never a damaged value."""

import json
import math

import numpy as np

from charlm.errors import CharlmError
from charlm.run import config as config_mod
from charlm.run.data import Vocab, valid_codes

FORMAT = 1


def meta_of(path, arrays):
    """Checkpoint's fields from the meta/ arrays, checked (config, vocab, step, ...)."""

    def meta(key, kind):
        name = f"meta/{key}"
        if name not in arrays:
            raise CharlmError(f"{path}: missing array '{name}'; not a complete charlm checkpoint")
        a = arrays[name]
        if a.dtype.kind not in kind:
            raise CharlmError(f"{path}: array '{name}' has the wrong type ({a.dtype})")
        return a[()] if a.ndim == 0 else a

    fmt = int(meta("format", "iu"))
    if fmt != FORMAT:
        raise CharlmError(
            f"{path}: checkpoint format {fmt}, this charlm reads format {FORMAT}; "
            f"use the charlm version that wrote it"
        )
    raw, rng = json_of(path, meta("config", "U")), json_of(path, meta("rng", "U"))
    extra = {
        k: json_of(path, meta(k, "U"))
        for k in ("schedule", "corpus", "init_from")
        if f"meta/{k}" in arrays
    }
    if not _is_plan(extra.get("schedule", [[0, 1, 0]])) or not isinstance(
        extra.get("corpus", {}), dict
    ):
        raise CharlmError(f"{path}: corrupted metadata (meta/schedule or meta/corpus)")
    cfg = config_mod.from_dict(raw, f"{path} (its config)")
    codes, byte_level = np.atleast_1d(meta("vocab", "u")), bool(meta("byte_level", "b"))
    if not valid_codes(codes, byte_level):
        raise CharlmError(f"{path}: corrupted vocabulary (meta/vocab); not a usable checkpoint")
    fields = dict(
        config=cfg,
        vocab=Vocab(codes.astype(np.uint32), byte_level),
        step=int(meta("step", "iu")),
        epoch=float(meta("epoch", "f")),
        window=int(meta("window", "iu")),
        rng=rng,
        best_val=float(meta("best_val", "f")),
        smooth_loss=float(meta("smooth_loss", "f")),
        elapsed=float(meta("elapsed", "f")),
        **extra,
    )
    bad = _bad_figure(fields) or _bad_identity(fields.get("corpus") or {})
    bad = bad or _bad_origin(fields.get("init_from"))
    if bad:
        raise CharlmError(f"{path}: corrupted metadata ({bad})")
    return fields


def _bad_figure(f):
    """The first of a checkpoint's figures out of its range, or None: a count is 0 or more,
    a duration and an epoch finite and 0 or more, a loss finite or not yet measured."""
    if not 0 <= f["step"] <= config_mod.MAX_STEPS or f["window"] < 0:
        return "meta/step or meta/window"
    for name in ("epoch", "elapsed"):
        if not (math.isfinite(f[name]) and 0 <= f[name] < 1e15):
            return f"meta/{name}"
    if not (f["best_val"] == math.inf or 0 <= f["best_val"] < 1e6):
        return "meta/best_val"
    if not (math.isnan(f["smooth_loss"]) or 0 <= f["smooth_loss"] < 1e6):
        return "meta/smooth_loss"
    return None


def _bad_identity(corpus):
    """'meta/corpus' if the corpus record has a field of the wrong type, else None."""
    kinds = {"bytes": int, "characters": int, "sha256": str, "path": str, "files": int}
    for key, kind in kinds.items():
        value = corpus.get(key)
        if value is not None and (type(value) is not kind or kind is int and value < 0):
            return "meta/corpus"
    return None


def _bad_origin(origin):
    """'meta/init_from' unless it is absent or {"path": str, "sha256": str, "added": int}."""
    if origin is None:
        return None
    ok = isinstance(origin, dict) and isinstance(origin.get("path"), str)
    ok = ok and isinstance(origin.get("sha256"), str) and type(origin.get("added")) is int
    return None if ok else "meta/init_from"


def json_of(path, text, what="metadata"):
    """The JSON text of a metadata field, refused in one line naming it (what)."""
    try:
        return json.loads(str(text))
    except (json.JSONDecodeError, RecursionError) as e:
        reason = getattr(e, "msg", "nested too deeply")
        raise CharlmError(f"{path}: the {what} is not JSON ({reason})") from None


def _is_plan(plan):
    """[[start, end, warmup], ...] of non-negative integers, starts ascending, each segment
    ruling until the next starts (at its end at the latest: optim's plan)."""
    return (
        isinstance(plan, list)
        and len(plan) > 0
        and all(
            isinstance(s, list)
            and len(s) == 3
            and all(type(v) is int and v >= 0 for v in s)
            and s[0] < s[1]
            for s in plan
        )
        and all(a[0] < b[0] <= a[1] for a, b in zip(plan, plan[1:], strict=False))
    )
