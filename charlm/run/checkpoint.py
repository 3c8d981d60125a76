"""Checkpoints: one `.npz` file (a zip of `.npy` arrays, no pickle) holding a whole run.

    <name>              every parameter under its PyTorch name (weight_ih_l0, head.weight, ...)
    optim/<key>         the optimiser state (mem.weight_ih_l0, ..., step)
    state/<i>           the hidden state carried into the next window, (L, B, H) each
    meta/format         format version (int)
    meta/config         the resolved config, JSON text
    meta/vocab          (V,) uint32 code points (byte values for a byte-level model)
    meta/step, meta/epoch, meta/window     steps done, epochs done (float), next window
    meta/rng            the dropout generator's state, JSON text
    meta/best_val, meta/smooth_loss, meta/elapsed     best validation loss (inf: none yet),
                        the smoothed training loss, seconds of training so far
    meta/schedule       the learning-rate plan, JSON [[start, end, warmup], ...] (optim.plan)
    meta/corpus         what the run trained on, JSON {"bytes", "sha256", "path"}: a corpus
                        is known by its content, so any path to the same text will do
    meta/init_from      where a fine-tuned run started, JSON {"path", "sha256", "added"}
    meta/corpus_files   a folder or pattern corpus's files, zlib-compressed JSON
                        [[path, bytes, sha256 (16 hex digits)], ...]: a resume names the
                        files that changed
(meta/schedule, meta/corpus and meta/corpus_files are absent from earlier versions' checkpoints.)

Writes go through charlm.files.write: a temporary file in the same folder, flushed to disk,
then renamed over the old file: at any moment the checkpoint on disk is the old one or the new
one, whole.
Reads use np.load(allow_pickle=False): an array that would need pickle is refused, never run.
"""

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from charlm import files
from charlm.errors import CharlmError
from charlm.nn.model import CELLS, ModelSpec, param_shapes
from charlm.run import config as config_mod
from charlm.run.data import Vocab
from charlm.run.meta import FORMAT, meta_of
from charlm.run.optim import SLOTS
from charlm.run.textset import valid_manifest

LATEST, BEST = "latest.npz", "best.npz"


@dataclass
class Checkpoint:
    config: config_mod.Config
    vocab: Vocab
    params: dict
    optim: dict = field(default_factory=dict)
    state: tuple | None = None
    step: int = 0
    epoch: float = 0.0
    window: int = 0
    rng: dict | None = None  # numpy bit generator state
    best_val: float = float("inf")
    smooth_loss: float = float("nan")
    elapsed: float = 0.0
    schedule: list | None = None  # [[start, end, warmup], ...]; None: not planned yet
    corpus: dict | None = None  # {"bytes", "sha256", "path"}; None: not recorded
    init_from: dict | None = None  # {"path", "sha256", "added"}: the run it was fine-tuned from

    @property
    def spec(self):
        return ModelSpec.from_config(self.config.model, len(self.vocab))


def save(path, ck, **rules):
    """Write ck to path through the guarded writer (charlm.files.write: atomic; rules: force,
    inputs, owned)."""
    path = Path(path)
    arrays = dict(ck.params)
    arrays.update({f"optim/{k}": v for k, v in ck.optim.items()})
    arrays.update({f"state/{i}": s for i, s in enumerate(ck.state or ())})
    meta = {
        "format": np.int64(FORMAT),
        "config": np.str_(json.dumps(config_mod.to_dict(ck.config))),
        "vocab": ck.vocab.codes.astype(np.uint32),
        "byte_level": np.bool_(ck.vocab.byte_level),
        "step": np.int64(ck.step),
        "epoch": np.float64(ck.epoch),
        "window": np.int64(ck.window),
        "rng": np.str_(json.dumps(ck.rng)),
        "best_val": np.float64(ck.best_val),
        "smooth_loss": np.float64(ck.smooth_loss),
        "elapsed": np.float64(ck.elapsed),
    }
    corpus = dict(ck.corpus or {})
    manifest = corpus.pop("manifest", None)  # a folder's files: compressed, on their own
    for key, value in (("schedule", ck.schedule), ("corpus", corpus or None),
                       ("init_from", ck.init_from)):  # fmt: skip
        if value is not None:
            meta[key] = np.str_(json.dumps(value))
    if manifest is not None:
        packed = zlib.compress(json.dumps(manifest).encode("utf-8"))
        meta["corpus_files"] = np.frombuffer(packed, dtype=np.uint8)
    arrays.update({f"meta/{k}": np.asarray(v) for k, v in meta.items()})
    files.write(path, lambda f: np.savez(f, **arrays), "checkpoint", **rules)


def find(path):
    """The checkpoint file that `path` means: the file itself, or a run folder's latest.npz
    (its best.npz when the run stopped before its first latest.npz)."""
    path = Path(path)
    if path.is_dir():
        for name in (LATEST, BEST):
            if (path / name).exists():
                return path / name
        raise CharlmError(
            f"{path}: no {LATEST} or {BEST} in this folder; is it a run folder? "
            f"(a run that stopped before its first checkpoint can only be started afresh)"
        )
    if not path.exists():
        raise CharlmError(f"{path}: checkpoint not found; pass a .npz file or a run folder")
    if not files.is_regular(path):
        raise CharlmError(f"{path}: a checkpoint must be a regular .npz file")
    return path


def newest(folder):
    """The most recently written checkpoint under folder (for `charlm sample` with no path)."""
    found = [p for p in Path(folder).glob("*/*.npz") if not p.name.startswith(".")]
    if not found:
        raise CharlmError(
            f"no checkpoint under {folder}/; train one with `charlm train`, "
            f"or pass --checkpoint FILE"
        )
    return max(found, key=lambda p: p.stat().st_mtime_ns)


def load(path):
    """Read and check a checkpoint; returns a Checkpoint."""
    path = find(path)
    return _unpack(path, _arrays(path))


def load_meta(path):
    """The checked metadata of a checkpoint file, without reading its parameters: a dict of
    Checkpoint's fields but params, optim and state (`charlm runs`)."""
    path = find(path)
    return meta_of(path, _arrays(path, lambda name: name.startswith("meta/")))


def _arrays(path, wanted=lambda name: True):
    """The arrays of an .npz (those wanted), refused in one line if it does not read."""
    try:
        # np.load takes a non-zip file for a bare pickle (and refuses it): say what it is not
        reason = None if zipfile.is_zipfile(path) else "not an .npz archive"
    except OSError as e:
        reason = e.strerror or str(e)
    if reason:
        raise CharlmError(
            f"{path}: not a readable charlm checkpoint ({reason}); "
            f"it may be truncated or not an .npz file"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if wanted(k)}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        if isinstance(e, ValueError) and "allow_pickle" in str(e):  # refused, never unpickled
            raise CharlmError(
                f"{path}: holds a pickled Python object, which charlm never loads (unpickling "
                f"can run code); use a checkpoint that charlm wrote"
            ) from None
        raise CharlmError(
            f"{path}: not a readable charlm checkpoint ({_reason(e)}); "
            f"it may be truncated or not an .npz file"
        ) from None
    return arrays


def check_resumable(path, ck):
    """Refuse a checkpoint whose training state (optimiser, carried state, random streams) is
    damaged; sampling and evaluation need only the parameters, so load() leaves this out."""
    spec, t = ck.spec, ck.config.train
    need = {f"{slot}.{k}": p.shape for slot in SLOTS[t.optimizer] for k, p in ck.params.items()}
    need["step"] = ()
    # None: zeros (a bidirectional model, a run at an epoch's start, an import)
    if ck.state is not None or (not spec.bidirectional and ck.window != 0):
        shape = (spec.num_layers, t.batch_size, spec.hidden_size)
        n = 0 if spec.bidirectional else len(CELLS[spec.cell].STATE_NAMES)
        state = ck.state or ()
        if len(state) != n or any(a.shape != shape or a.dtype.kind != "f" for a in state):
            raise CharlmError(f"{path}: the carried state (state/*) is damaged; cannot resume")
    for name, shape in need.items():
        a = ck.optim.get(name)
        if a is None or a.shape != shape or not np.isfinite(a).all():
            raise CharlmError(
                f"{path}: optimiser state 'optim/{name}' is missing or damaged; cannot resume "
                f"(sample and eval can still use this checkpoint)"
            )
    try:
        np.random.default_rng().bit_generator.state = ck.rng
    except (TypeError, ValueError, KeyError):
        msg = f"{path}: the random state (meta/rng) is damaged; cannot resume"
        raise CharlmError(msg) from None


def _reason(e):
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]


def _unpack(path, arrays):
    fields = meta_of(path, arrays)
    spec = ModelSpec.from_config(fields["config"].model, len(fields["vocab"]))
    params = parameters(path, arrays, spec)
    optim = {k[6:]: v for k, v in arrays.items() if k.startswith("optim/")}
    states = sorted((k for k in arrays if k.startswith("state/")), key=lambda k: int(k[6:]))
    state = tuple(arrays[k] for k in states) or None
    if "meta/corpus_files" in arrays and fields.get("corpus") is not None:
        fields["corpus"]["manifest"] = _manifest(path, arrays["meta/corpus_files"])
    return Checkpoint(params=params, optim=optim, state=state, **fields)


MAX_MANIFEST = 1 << 28  # bytes a folder's file list may unpack to (about 3 million files)


def _manifest(path, packed):
    """The file list of meta/corpus_files, checked, or a one-line refusal."""
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed.astype(np.uint8).tobytes(), MAX_MANIFEST)
        manifest = json.loads(raw) if not inflate.unconsumed_tail else None
    except (zlib.error, ValueError, RecursionError):
        manifest = None
    if not valid_manifest(manifest):
        raise CharlmError(f"{path}: corrupted metadata (meta/corpus_files)")
    return manifest


def parameters(path, arrays, spec, label=str):
    """{name: array} of every parameter spec has, from arrays (under charlm's names), each
    refused in one line unless a finite float array of its shape: what a checkpoint and an
    imported .safetensors file (label: a name as the file has it) are both held to."""
    params = {}
    for name, shape in param_shapes(spec).items():
        a = arrays.get(name)
        if a is None:
            raise CharlmError(
                f"{path}: missing parameter '{label(name)}' for a {spec.describe()} with hidden "
                f"{spec.hidden_size} and {spec.vocab_size} symbols"
            )
        if a.shape != shape or a.dtype.kind != "f":
            raise CharlmError(
                f"{path}: parameter '{label(name)}' is {a.dtype} {a.shape}, "
                f"its config needs a float array {shape}"
            )
        if not np.isfinite(a).all():
            raise CharlmError(f"{path}: parameter '{label(name)}' holds NaN or infinite values")
        params[name] = a
    return params
