"""A character model: input -> a stack of recurrent layers -> linear head -> softmax.

Unidirectional: logits_t = head(h^L_t) predicts x_{t+1}, the character after x_t.

Bidirectional (a cloze model): two separate stacks of num_layers layers, one reading
x_1..x_T and one reading x_T..x_1, joined only at the head:
    logits_t = head([hf_{t-1}, hb_{t+1}])     predicts x_t itself      (hf_0 = hb_{T+1} = 0)
hf_{t-1} has read x_<t and hb_{t+1} has read x_>t, so x_t never reaches its own prediction.
(torch.nn's bidirectional stack feeds [hf_t, hb_t] of layer k into layer k+1, where hb_t has
read x_t: stacked, that leaks the target into every other position. Hence two stacks, as ELMo.)

Parameters, one flat dict under PyTorch's names (suffix _reverse for the backward stack):
    embedding.weight           (V, E)       only with an embedding; else one-hot input, D_0 = V
    weight_ih_l{k}[_reverse]   (G*H, D_k)   D_0 = E or V, D_k = H for k > 0
    weight_hh_l{k}[_reverse]   (G*H, H)
    bias_ih_l{k}[_reverse]     (G*H,)
    bias_hh_l{k}[_reverse]     (G*H,)
    head.weight                (V, H), or (V, 2H) bidirectional
    head.bias                  (V,)
with G = 1 (rnn), 4 (lstm), 3 (gru). Between stacked layers, inverted dropout (training only):
    x^{k+1}_t = h^k_t * m / (1 - p),   m ~ Bernoulli(1 - p)
State, carried between windows of a unidirectional model: (h,) or (h, c), each (L, B, H).
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from charlm.nn import gru, head, lstm, rnn
from charlm.nn.common import is_ids

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
LAYER_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@dataclass(frozen=True)
class ModelSpec:
    """The architecture; validated by charlm.run.config before it gets here."""

    cell: str  # "rnn" | "lstm" | "gru"
    vocab_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    embedding_size: int | None = None  # None: one-hot input
    forget_bias: float | None = 1.0  # LSTM only; None keeps PyTorch's uniform init

    @classmethod
    def from_config(cls, model_cfg, vocab_size):
        """The spec of a config's `model` section (charlm.run.config.ModelConfig)."""
        m = model_cfg
        return cls(
            m.type,
            vocab_size,
            m.hidden_size,
            m.num_layers,
            m.bidirectional,
            m.dropout,
            m.embedding_size,
            m.forget_bias,
        )

    @property
    def directions(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def describe(self):
        """A short name such as 'bi-lstm x2 (embedding 8)'."""
        s = f"{'bi-' if self.bidirectional else ''}{self.cell} x{self.num_layers}"
        return s + (f" (embedding {self.embedding_size})" if self.embedding_size else "")


class Cache(NamedTuple):
    x: np.ndarray  # (T, B) ids
    inp: np.ndarray  # (T, B, E) embedded input, or the ids again for one-hot
    stacks: list  # per direction, per layer: (cell cache, dropout mask or None)
    feat: np.ndarray  # (T, B, H) or (T, B, 2H): what the head reads


def param_shapes(spec):
    """Every parameter's name and shape, in a fixed order."""
    V, H, G = spec.vocab_size, spec.hidden_size, CELLS[spec.cell].GATES
    shapes = {}
    if spec.embedding_size:
        shapes["embedding.weight"] = (V, spec.embedding_size)
    for suffix in spec.directions:
        for k in range(spec.num_layers):
            d_in = H if k else (spec.embedding_size or V)
            shapes[f"weight_ih_l{k}{suffix}"] = (G * H, d_in)
            shapes[f"weight_hh_l{k}{suffix}"] = (G * H, H)
            shapes[f"bias_ih_l{k}{suffix}"] = (G * H,)
            shapes[f"bias_hh_l{k}{suffix}"] = (G * H,)
    shapes["head.weight"] = (V, H * len(spec.directions))
    shapes["head.bias"] = (V,)
    return shapes


def param_count(spec):
    """The number of parameters, by arithmetic (no loop over layers, nothing allocated)."""
    V, H, G, L = spec.vocab_size, spec.hidden_size, CELLS[spec.cell].GATES, spec.num_layers
    D = spec.embedding_size or V
    per_direction = G * H * (D + H + 2) + (L - 1) * G * H * (H + H + 2)
    n_dir = len(spec.directions)
    return V * (spec.embedding_size or 0) + n_dir * per_direction + V * (n_dir * H + 1)


def memory(spec, batch, steps, itemsize=4, backward=True, optimizer_slots=0):
    """About how many bytes a window of `steps` x `batch` takes: the parameters (with their
    gradients, optimiser slots and update scratch when training), the forward cache of every
    layer (G + 3 arrays of (T, B, H) per layer and direction: the gates, c or the candidate,
    tanh(c), h), its gradients when training (G + 1 more), and the logits (2 or 4 of
    (T, B, V)). Within a factor of two of what the engine allocates, which is all a refusal
    before allocating needs."""
    G, H, V = CELLS[spec.cell].GATES, spec.hidden_size, spec.vocab_size
    copies = 1 + (2 + optimizer_slots if backward else 0)
    layers = spec.num_layers * len(spec.directions)
    per_cell = (G + 3) + ((G + 1) if backward else 0)
    window = steps * batch * (layers * H * per_cell + V * (4 if backward else 2))
    return (copies * param_count(spec) + window) * itemsize


def init_params(spec, rng, dtype=np.float32):
    """PyTorch's initialisation: recurrent weights and biases U(-1/sqrt(H), 1/sqrt(H)),
    the head U(-1/sqrt(F), 1/sqrt(F)) as nn.Linear, the embedding N(0, 1) as nn.Embedding.
    LSTM: bias_ih's forget slice is set to forget_bias and bias_hh's to 0, so b_f = forget_bias.
    """
    H = spec.hidden_size
    head_fan_in = H * len(spec.directions)
    params = {}
    for name, shape in param_shapes(spec).items():
        if name == "embedding.weight":
            w = rng.standard_normal(shape)
        else:
            fan_in = head_fan_in if name.startswith("head.") else H
            w = rng.uniform(-1.0 / np.sqrt(fan_in), 1.0 / np.sqrt(fan_in), size=shape)
        params[name] = w.astype(dtype)
    if spec.cell == "lstm" and spec.forget_bias is not None:
        for name in params:
            if name.startswith("bias_"):
                params[name][H : 2 * H] = spec.forget_bias if "_ih_" in name else 0.0
    return params


def init_state(spec, batch_size, dtype=np.float32):
    """Zero state for a unidirectional model: (h,) or (h, c), each (L, B, H)."""
    n = len(CELLS[spec.cell].STATE_NAMES)
    shape = (spec.num_layers, batch_size, spec.hidden_size)
    return tuple(np.zeros(shape, dtype=dtype) for _ in range(n))


def layer_params(params, k, suffix=""):
    """The four arrays of layer k, under the cell's short names."""
    return {key: params[f"{key}_l{k}{suffix}"] for key in LAYER_KEYS}


def _dropout_masks(spec, window, dtype, rng):
    """One stack's dropout masks, (T, B, H) after each layer but the last; None when off."""
    if rng is None or spec.dropout <= 0:
        return [None] * spec.num_layers
    shape, scale = (*window, spec.hidden_size), dtype.type(1.0 / (1.0 - spec.dropout))
    masks = [(rng.random(shape, dtype=dtype) >= spec.dropout) * scale
             for _ in range(spec.num_layers - 1)]  # fmt: skip
    return masks + [None]


def _stack_forward(params, spec, suffix, inp, state0, masks):
    cell = CELLS[spec.cell]
    caches, finals = [], []
    for k in range(spec.num_layers):
        out, stateT, cache = cell.forward(
            layer_params(params, k, suffix), inp, [s[k] for s in state0]
        )
        mask = masks[k]
        if mask is not None:
            out = out * mask
        caches.append((cache, mask))
        finals.append(stateT)
        inp = out
    stateT = tuple(np.stack(s) for s in zip(*finals, strict=True))
    return inp, stateT, caches


def _stack_backward(params, spec, suffix, caches, dtop, dstateT, dh_seen=None):
    cell = CELLS[spec.cell]
    grads, dstate0 = {}, [None] * spec.num_layers
    dout = dtop
    for k in reversed(range(spec.num_layers)):
        cache, mask = caches[k]
        if mask is not None:
            dout = dout * mask
        seen = None if dh_seen is None else np.empty_like(dout)
        dx, dstate0[k], g = cell.backward(
            layer_params(params, k, suffix), cache, dout, [s[k] for s in dstateT], seen
        )
        if dh_seen is not None:
            dh_seen[k] = seen
        grads.update({f"{key}_l{k}{suffix}": v for key, v in g.items()})
        dout = dx
    return dout, grads, tuple(np.stack(s) for s in zip(*dstate0, strict=True))


def forward(params, spec, x, state0=None, rng=None):
    """Logits for a window of character ids.

    x (T, B) ids, or (T, B, D) input vectors (one-hot rows, D = V, or embedding rows, D = E) when
    the gradient with respect to the input is wanted (charlm saliency);
    state0 from init_state or a previous window (unidirectional only; None: zeros);
    rng: a numpy Generator for dropout masks while training, None to evaluate.
    Returns (logits (T, B, V), stateT or None for bidirectional, cache).
    """
    T, B = x.shape[:2]
    dtype = params["head.weight"].dtype
    inp = params["embedding.weight"][x] if spec.embedding_size and is_ids(x) else x
    if not spec.bidirectional:
        if state0 is None:
            state0 = init_state(spec, B, dtype)
        masks = _dropout_masks(spec, inp.shape[:2], dtype, rng)
        feat, stateT, caches = _stack_forward(params, spec, "", inp, state0, masks)
        stacks = [caches]
    else:
        zeros = init_state(spec, B, dtype)
        masks_f, masks_b = (_dropout_masks(spec, inp.shape[:2], dtype, rng) for _ in range(2))
        top_f, _, caches_f = _stack_forward(params, spec, "", inp, zeros, masks_f)
        top_b, _, caches_b = _stack_forward(params, spec, "_reverse", inp[::-1], zeros, masks_b)
        top_b = top_b[::-1]  # top_b[t] has read x_T .. x_t
        H = spec.hidden_size
        feat = np.zeros((T, B, 2 * H), dtype=dtype)
        feat[1:, :, :H] = top_f[:-1]  # hf_{t-1}: has read x_<t
        feat[:-1, :, H:] = top_b[1:]  # hb_{t+1}: has read x_>t
        stateT, stacks = None, [caches_f, caches_b]
    logits = head.linear(feat, params["head.weight"], params["head.bias"])
    return logits, stateT, Cache(x, inp, stacks, feat)


def backward(params, spec, cache, dlogits, dstateT=None, seen=None):
    """Gradients of everything from dlogits (T, B, V).

    dstateT: gradient reaching the final state (unidirectional; None: zero, as in training,
    where no gradient flows across windows).
    seen: None, or a dict that receives what the gradient passes on its way (gradflow, saliency):
        seen["input"]  (T, B, D) the gradient of the input vectors, None for ids
        seen["h"]      per layer, forward stack then reverse stack: (T, B, H), dh_t at each step
    Returns (grads with the keys of params, dstate0 or None for bidirectional).
    """
    x, inp, stacks, feat = cache
    T, B = x.shape[:2]
    L = spec.num_layers
    dh_seen = None if seen is None else [None] * L  # filled by _stack_backward, layer by layer
    dfeat, dW, db = head.linear_backward(feat, params["head.weight"], dlogits)
    grads = {"head.weight": dW, "head.bias": db}
    if not spec.bidirectional:
        if dstateT is None:
            dstateT = init_state(spec, B, dlogits.dtype)
        dinp, g, dstate0 = _stack_backward(params, spec, "", stacks[0], dfeat, dstateT, dh_seen)
        grads.update(g)
    else:
        zeros = init_state(spec, B, dlogits.dtype)
        H = spec.hidden_size
        dtop_f = np.zeros((T, B, H), dtype=dlogits.dtype)
        dtop_f[:-1] = dfeat[1:, :, :H]
        dtop_b = np.zeros((T, B, H), dtype=dlogits.dtype)
        dtop_b[1:] = dfeat[:-1, :, H:]
        seen_b = None if seen is None else [None] * L
        dinp_f, g_f, _ = _stack_backward(params, spec, "", stacks[0], dtop_f, zeros, dh_seen)
        dinp_b, g_b, _ = _stack_backward(
            params, spec, "_reverse", stacks[1], dtop_b[::-1], zeros, seen_b
        )
        if seen is not None:
            dh_seen += [d[::-1] for d in seen_b]  # back in reading order, t = 1 .. T
        grads.update(g_f)
        grads.update(g_b)
        dinp = None if dinp_f is None else dinp_f + dinp_b[::-1]
        dstate0 = None
    if seen is not None:
        seen["input"], seen["h"] = dinp, dh_seen
    if spec.embedding_size and is_ids(x):
        dE = np.zeros_like(params["embedding.weight"])
        np.add.at(dE, x.ravel(), dinp.reshape(T * B, -1))
        grads["embedding.weight"] = dE
    grads.setdefault("embedding.weight", None)  # input vectors given: the table was not used
    return {name: grads[name] for name in params}, dstate0


def loss_and_grads(params, spec, x, y, state0=None, rng=None):
    """One training step's math: mean cross-entropy (nats) of predicting y from x, and its
    gradients. x, y (T, B) ids: y = next characters, or y = x for a bidirectional model.
    Returns (loss, grads, stateT); stateT is the next window's state0 (no gradient crosses).
    """
    logits, stateT, cache = forward(params, spec, x, state0, rng)
    loss, dlogits = head.cross_entropy(logits, y)
    grads, _ = backward(params, spec, cache, dlogits)
    return loss, grads, stateT
