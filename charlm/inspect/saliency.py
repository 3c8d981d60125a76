"""Saliency: how much each input character moved one prediction.

The prediction of character n, with p = softmax(logits_n) and loss L = -log p[target]:
    unidirectional: logits_n reads x_0 .. x_{n-1}      (n = len(text): the character after it)
    bidirectional:  logits_n reads every x_t but x_n   (a cloze model)
Each character enters as a vector v_t: its one-hot row (V,) or its embedding row (E,). Its
influence is the length of the gradient of the loss with respect to that vector,
    s_t = ||dL/dv_t||_2
how much the prediction's loss changes per unit change of what the model read at t. It is the
first-order picture (the gradient at this input, not the effect of deleting the character).
Computed in float64.
"""

from dataclasses import dataclass, replace

import numpy as np

from charlm.errors import ArgumentError
from charlm.nn import head
from charlm.nn.model import backward, forward


@dataclass
class Saliency:
    chars: list  # the symbols read, in order, one per score (vocab.symbol: bytes show as \xNN)
    scores: np.ndarray  # (n,) s_t = ||dL/dv_t||
    at: int  # which character is predicted (len(text) for the one after it)
    target: str  # the character whose loss is differentiated
    p_target: float  # its probability
    top: list  # [(character, probability)] the model's five likeliest at `at`

    def to_dict(self):
        return {
            "text": "".join(self.chars),
            "at": self.at,
            "target": self.target,
            "p_target": self.p_target,
            "top": [{"char": c, "p": p} for c, p in self.top],
            "chars": self.chars,
            "scores": self.scores.tolist(),
        }


def input_vectors(params, spec, ids):
    """What layer 0 reads for ids (n,): (n, 1, E) embedding rows or (n, 1, V) one-hot rows."""
    if spec.embedding_size:
        return params["embedding.weight"][ids][:, None, :].copy()
    return np.eye(spec.vocab_size)[ids][:, None, :]


def prediction_loss(params, spec, vectors, at, target):
    """(L, dL/dlogits, p at `at`, forward cache) of predicting target (an id) at position
    `at` from input vectors (n, 1, D); target None: the likeliest character there."""
    logits, _, cache = forward(params, spec, vectors)
    pos = at if spec.bidirectional else at - 1  # unidirectional logits_t predict x_{t+1}
    logp = head.log_softmax(logits[pos, 0])
    p = np.exp(logp)
    if target is None:
        target = int(np.argmax(p))
    dlogits = np.zeros_like(logits)
    dlogits[pos, 0] = p
    dlogits[pos, 0, target] -= 1.0
    return float(-logp[target]), dlogits, p, cache


def input_gradient(params, spec, vectors, at, target):
    """(dL/dv (n, D), p at `at`): the gradient of the prediction's loss for every input vector."""
    _, dlogits, p, cache = prediction_loss(params, spec, vectors, at, target)
    seen = {}
    backward(params, spec, cache, dlogits, seen=seen)
    return seen["input"][:, 0], p


def saliency(params, spec, vocab, text_ids, at=None, target=None):
    """The saliency of the prediction of character `at` of text_ids (n,).

    at: None for the character after the text (unidirectional) or the middle one
    (bidirectional). target: an id; None for the text's own character at `at`, or the model's
    likeliest one after the text."""
    ids = np.asarray(text_ids, dtype=np.int64)
    n = len(ids)
    if at is None:
        at = n // 2 if spec.bidirectional else n
    lowest, highest = (0, n - 1) if spec.bidirectional else (1, n)
    if not lowest <= at <= highest:
        what = (
            "a bidirectional model explains a character of the text"
            if spec.bidirectional
            else ("a unidirectional model needs at least one character before it")
        )
        raise ArgumentError("at", at, f"must be from {lowest} to {highest} ({what})")
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    spec = replace(spec, dropout=0.0)
    read = ids if spec.bidirectional else ids[:at]
    vectors = input_vectors(p64, spec, read)
    if target is None and at < n:
        target = int(ids[at])
    grad, p = input_gradient(p64, spec, vectors, at, target)
    if target is None:  # after the text: the model's own first choice was explained
        target = int(np.argmax(p))
    scores = np.linalg.norm(grad, axis=-1)
    top = np.argsort(-p)[:5]
    return Saliency(
        chars=[vocab.symbol(i) for i in read],
        scores=scores,
        at=at,
        target=vocab.symbol(target),
        p_target=float(p[target]),
        top=[(vocab.symbol(i), float(p[i])) for i in top],
    )
