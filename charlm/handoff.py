"""Hand-off to and from PyTorch: a checkpoint's weights as a .safetensors file, and back.

The file holds the weights under the names of this torch.nn module (docs/usage.md's CharLM):
    embedding.weight          nn.Embedding(V, E)             only with an embedding
    rnn.weight_ih_l{k}, ...   nn.RNN / nn.LSTM / nn.GRU      the forward stack
    rnn_reverse.weight_ih_l{k}, ...                          bidirectional: the backward stack,
                                                             a second module run on x reversed
    head.weight, head.bias    nn.Linear(H or 2H, V)
charlm's own names are the same without the "rnn." prefix, with "_reverse" as a suffix for the
backward stack (charlm.nn.model). Metadata (strings, as safetensors wants):
    format "charlm-1", vocab (JSON list of code points, or byte values), byte_level ("true" or
    "false"), config (the full charlm config as JSON; optional on import, where the model is
    then read from the tensors' names and shapes).
safetensors is an optional dependency: pip install "charlm[export]".
"""

import json
import os
import re

import numpy as np

from charlm import files
from charlm.errors import CharlmError
from charlm.nn.model import CELLS, ModelSpec
from charlm.run import checkpoint, config, train
from charlm.run.data import Vocab, valid_codes
from charlm.run.meta import json_of

FORMAT = "charlm-1"
GATES = {cell.GATES: name for name, cell in CELLS.items()}  # 1: rnn, 4: lstm, 3: gru
_LAYER = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")


def _safetensors():
    try:
        import safetensors.numpy
    except ImportError:
        raise CharlmError(
            'this needs the safetensors package: pip install "charlm[export]" '
            "(or pip install safetensors)"
        ) from None
    return safetensors


def torch_name(name):
    """charlm's parameter name -> the reference torch module's."""
    m = _LAYER.match(name)
    if not m:
        return name  # embedding.weight, head.weight, head.bias
    return ("rnn_reverse." if m[4] else "rnn.") + name.removesuffix("_reverse")


def charlm_name(name):
    """The reference torch module's parameter name -> charlm's (None: not one of ours)."""
    stack, _, rest = name.partition(".")
    if stack in ("rnn", "rnn_reverse") and _LAYER.match(rest) and not rest.endswith("_reverse"):
        return rest + ("_reverse" if stack == "rnn_reverse" else "")
    return name if name in ("embedding.weight", "head.weight", "head.bias") else None


def export(ck, out, force=False, inputs=()):
    """Write ck's weights and metadata to out (.safetensors), through the guarded writer
    (inputs: the files this command read, never written over)."""
    st = _safetensors()
    tensors = {torch_name(k): np.ascontiguousarray(v) for k, v in ck.params.items()}
    metadata = {
        "format": FORMAT,
        "vocab": json.dumps(ck.vocab.codes.tolist()),
        "byte_level": json.dumps(ck.vocab.byte_level),
        "config": json.dumps(config.to_dict(ck.config)),
    }
    data = st.numpy.save(tensors, metadata=metadata)
    files.write_bytes(out, data, "file", force=force, inputs=inputs)
    return tensors


def read(path):
    """(tensors under charlm's names, metadata) of a .safetensors file, checked."""
    st = _safetensors()
    if os.path.lexists(path) and not files.is_regular(path):
        raise CharlmError(f"{path}: not a regular file; give the path of a .safetensors file")
    try:
        with st.safe_open(str(path), "np") as f:
            metadata = f.metadata() or {}
            raw = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except FileNotFoundError:
        raise CharlmError(f"{path}: file not found") from None
    except Exception as e:  # safetensors raises its own error types for a damaged file
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise CharlmError(f"{path}: not a readable .safetensors file ({reason})") from None
    tensors = {charlm_name(k): a for k, a in raw.items() if charlm_name(k)}
    unknown = [k for k in raw if not charlm_name(k)]
    if unknown:
        raise CharlmError(
            f"{path}: tensors {', '.join(sorted(unknown)[:4])} are not part of a charlm model "
            f"(expected embedding.weight, rnn.*, rnn_reverse.*, head.weight, head.bias)"
        )
    return tensors, metadata


def infer_model(tensors, where):
    """The `model` section a set of charlm-named tensors implies (for files made in torch)."""
    try:
        H = tensors["weight_hh_l0"].shape[1]
        gates = tensors["weight_hh_l0"].shape[0] // H
        layers = sum(1 for k in tensors if _LAYER.match(k) and k.startswith("weight_ih_l")
                     and not k.endswith("_reverse"))  # fmt: skip
    except (KeyError, IndexError, ZeroDivisionError):
        raise CharlmError(f"{where}: no rnn.weight_hh_l0 of shape (G*H, H)") from None
    if gates not in GATES:
        raise CharlmError(f"{where}: rnn.weight_hh_l0 has {gates}*H rows; a cell has 1, 3 or 4")
    emb = tensors.get("embedding.weight")
    return {
        "type": GATES[gates],
        "hidden_size": H,
        "num_layers": layers,
        "bidirectional": "weight_hh_l0_reverse" in tensors,
        "embedding_size": None if emb is None else int(emb.shape[1]),
    }


def to_checkpoint(path):
    """A fresh-run Checkpoint (step 0, zero optimiser state) holding the file's weights."""
    tensors, meta = read(path)
    if "vocab" not in meta:
        raise CharlmError(
            f"{path}: no 'vocab' metadata; charlm needs the characters: save with "
            f"metadata={{'vocab': json.dumps([ord(c) for c in chars])}}"
        )
    codes = json_of(path, meta["vocab"], "'vocab' metadata")
    if not isinstance(codes, list) or not all(type(c) is int for c in codes):
        raise CharlmError(f"{path}: the 'vocab' metadata is not a JSON list of integers")
    byte_level = meta.get("byte_level", "false")
    byte_level = {"true": True, "false": False}.get(byte_level.strip(), byte_level)
    if not isinstance(byte_level, bool):
        raise CharlmError(f"{path}: the 'byte_level' metadata must be true or false")
    codes = np.array(codes if all(-1 < c < 2**32 for c in codes) else [-1], dtype=np.int64)
    if not valid_codes(codes, byte_level):
        raise CharlmError(
            f"{path}: the 'vocab' metadata must be ascending "
            + ("byte values" if byte_level else "Unicode code points (no surrogates)")
        )
    vocab = Vocab(codes.astype(np.uint32), byte_level)
    if "config" in meta:
        raw = json_of(path, meta["config"], "'config' metadata")
        cfg = config.from_dict(raw, f"{path} (its config)")
    else:
        # float16 weights compute in float32 here (exactly: every float16 is a float32)
        head_dtype = tensors["head.weight"].dtype if "head.weight" in tensors else None
        dtype = "float64" if head_dtype == np.float64 else "float32"
        raw = {"model": infer_model(tensors, path), "train": {"dtype": dtype}}
        cfg = config.from_dict(raw, f"{path} (its tensors)")
    spec = ModelSpec.from_config(cfg.model, len(vocab))
    dtype = np.dtype(cfg.train.dtype)
    want = checkpoint.parameters(path, tensors, spec, label=torch_name)
    extra = sorted(set(tensors) - set(want))
    if extra:
        names = ", ".join(torch_name(k) for k in extra[:4])
        raise CharlmError(f"{path}: {names} not part of a {spec.describe()}")
    ck = train.new_run(cfg, vocab)
    ck.params = {k: tensors[k].astype(dtype) for k in want}
    ck.optim = train.make_optimizer(cfg).init(ck.params).state
    return ck


def import_(path, out, force=False):
    """Write the file's model as a charlm checkpoint at out; returns the Checkpoint."""
    files.check_target(out, "checkpoint", force, inputs=[path])
    ck = to_checkpoint(path)
    checkpoint.save(out, ck, force=force, inputs=[path])
    return ck
