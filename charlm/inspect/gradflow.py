"""Gradient flow through time: how much the last prediction depends on each earlier state.

For a window x_1 .. x_T and the loss of its last prediction only,
    L_T = -log p(x_{T+1} | x_1 .. x_T)
one backward pass (dlogits zero everywhere but at step T) gives dL_T/dh_t for every t: it is
the dh_t of the cell's backward loop, all the gradient reaching h_t. For a vanilla RNN
    dL_T/dh_t = dL_T/dh_{t+1} diag(1 - h_{t+1}^2) W_hh
a product of T - t Jacobians: it shrinks geometrically when they contract (the vanishing
gradient) and grows when they expand (the exploding gradient). The LSTM's memory passes its
gradient on scaled by the forget gate alone (dc_{t-1} = dc_t * f_t) and the GRU's state by the
update gate (dh_{t-1} gets dh_t * z_t), so both can carry it much further.

With several layers, h_t is every layer's hidden state at step t, concatenated:
    ||dL_T/dh_t||^2 = sum_k ||dL_T/dh^k_t||^2
Everything runs in float64, so that a gradient that vanishes to 1e-40 is still a number.
"""

from dataclasses import dataclass, replace

import numpy as np

from charlm.errors import CharlmError
from charlm.nn import head
from charlm.nn.model import ModelSpec, backward, forward, init_params
from charlm.run.data import Vocab

# What a fresh model reads when no text is given (any text works; this one is familiar).
TEXT = (
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles\n"
    "And by opposing end them. To die: to sleep;\n"
)


@dataclass
class Flow:
    """The gradient of one model's last prediction at every earlier step, t = 1 .. T."""

    name: str
    loss: float  # L_T in nats
    norm: np.ndarray  # (T,) ||dL_T/dh_t||
    layer_norm: np.ndarray  # (L, T) ||dL_T/dh^k_t|| per layer
    mean: np.ndarray  # (T,) of the entries of dL_T/dh_t
    std: np.ndarray  # (T,)
    min: np.ndarray  # (T,)
    max: np.ndarray  # (T,)

    def to_dict(self):
        return {
            "model": self.name,
            "loss": self.loss,
            "t": list(range(1, len(self.norm) + 1)),
            **{
                key: getattr(self, key).tolist()
                for key in ("norm", "layer_norm", "mean", "std", "min", "max")
            },
        }


def hidden_gradients(params, spec, ids, name=""):
    """(L_T, [dL_T/dh^k_t for each layer k, each (T, H)]) of a window ids (T+1,): the inputs
    x_1 .. x_T, then the target x_{T+1}. One forward and one backward pass, in float64."""
    if spec.bidirectional:
        raise CharlmError(
            f"{name or 'the model'} is bidirectional: its predictions read both sides, so there "
            f"is no last prediction whose gradient flows back in time; use a unidirectional model"
        )
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < 2:
        raise CharlmError("gradflow needs at least 2 characters (one input, then its target)")
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    spec = replace(spec, dropout=0.0)
    logits, _, cache = forward(p64, spec, ids[:-1, None])
    logp = head.log_softmax(logits[-1, 0])
    dlogits = np.zeros_like(logits)
    dlogits[-1, 0] = np.exp(logp)
    dlogits[-1, 0, ids[-1]] -= 1.0  # dL_T/dlogits_T = p - onehot(x_{T+1}); zero before T
    seen = {}
    backward(p64, spec, cache, dlogits, seen=seen)
    return float(-logp[ids[-1]]), [d[:, 0] for d in seen["h"]]


def flow(params, spec, ids, name=""):
    """The flow of L_T back through a window: ids (T+1,) = inputs x_1 .. x_T, then the target."""
    loss, layers = hidden_gradients(params, spec, ids, name)
    g = np.concatenate(layers, axis=-1)  # (T, L*H): dL_T/dh_t, all layers
    return Flow(
        name=name,
        loss=loss,
        norm=np.linalg.norm(g, axis=-1),
        layer_norm=np.stack([np.linalg.norm(d, axis=-1) for d in layers]),
        mean=g.mean(axis=-1),
        std=g.std(axis=-1),
        min=g.min(axis=-1),
        max=g.max(axis=-1),
    )


def fresh(cell, hidden, vocab_size, seed=0, scale_hh=1.0):
    """(params, spec) of a freshly initialised one-layer model (PyTorch's initialisation), its
    recurrent weights weight_hh multiplied by scale_hh."""
    spec = ModelSpec(cell, vocab_size, hidden)
    params = init_params(spec, np.random.default_rng(seed), np.float64)
    params["weight_hh_l0"] *= scale_hh
    return params, spec


def text_vocab(text):
    """The vocabulary of a text: what a fresh model reads it with."""
    # surrogatepass: an argument that was not UTF-8 holds lone surrogates, symbols all the same
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return Vocab(np.unique(codes))


def steps_to_show(T, every=False):
    """Which t to put in the table: every one, or the last and 1, 2, 4, 8, ... steps before it
    (a log scale of distance, where the interesting change is), and t = 1."""
    if every:
        return list(range(T, 0, -1))
    back = [0] + [2**i for i in range(T.bit_length()) if 2**i < T - 1] + [T - 1]
    return sorted({T - b for b in back}, reverse=True)
