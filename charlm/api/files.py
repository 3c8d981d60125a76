"""The API's calls about files rather than one model: the runs in a folder (`charlm runs`),
a model brought in from .safetensors (`charlm import`) and a synthetic corpus written
(`charlm corpus make`)."""

from pathlib import Path

from charlm import files, handoff
from charlm.api import checks
from charlm.api.model import Model
from charlm.run import runs as runs_mod
from charlm.run import synthetic

SORTS = {
    "best": lambda r: (r.get("best_val") is None, r.get("best_val") or 0.0, r["name"]),
    "name": lambda r: r["name"],
    "step": lambda r: -(r.get("step") or 0),
    "time": lambda r: -(r.get("time") or 0.0),
    "written": lambda r: -r.get("written", 0.0),
}


def runs(directory="checkpoints", *, sort="best"):
    """[row] of every run folder under directory, as `charlm runs --json` prints them
    (name, folder, model, parameters, step, total, epochs, best_val, time, status, ...),
    ordered by sort: best (validation loss), name, step, time or written (newest first)."""
    checks.path("directory", directory)
    checks.choice("sort", sort, tuple(SORTS))
    return sorted(runs_mod.scan(directory), key=SORTS[sort])


def import_weights(path, out, force=False):
    """The Model of a .safetensors file (from `charlm export` or torch, charlm.handoff's
    layout), written as the charlm checkpoint out, as `charlm import` does."""
    checks.path("path", path)
    checks.path("out", out)
    return Model(handoff.import_(path, out, checks.flag("force", force)), out)


def make_corpus(kind, *, size=10**6, gap=20, keys=8, depth=8, seed=0, out=None, force=False):
    """Write a synthetic corpus as `charlm corpus make` does: recall (a key, gap filler
    letters, the key again; keys different keys) or brackets (balanced nesting, depth deep),
    about size characters, to out (None: corpora/KIND-GAP-or-DEPTH.txt). A file that already
    holds the same text is left as it is. Returns (path, text, written)."""
    checks.choice("kind", kind, synthetic.KINDS)
    checks.integer("size", size, 1, checks.CHARS)
    checks.integer("gap", gap, 1, 10**8)
    checks.integer("keys", keys, 2, len(synthetic.KEYS))
    checks.integer("depth", depth, 1, 10**4)
    checks.integer("seed", seed, 0, checks.SEED)
    # the text, its bytes and the generator's arrays: about 12 bytes a character
    checks.require("size", 12 * size, f"{{size}} {size:,} needs")
    checks.path("out", out, optional=True)
    path = (
        Path(out) if out is not None else Path("corpora") / synthetic.default_name(kind, gap, depth)
    )
    # a device, FIFO or link is refused before the text is made, not after
    files.check_target(path, "corpus", force=True)
    body = synthetic.make(kind, size, seed, gap=gap, depth=depth, keys=keys)
    data = body.encode("utf-8")
    same = files.is_regular(path) and path.stat().st_size == len(data)
    same = same and not path.is_symlink() and path.read_bytes() == data
    if not same:
        files.write_bytes(path, data, "corpus", force=checks.flag("force", force))
    return path, body, not same
