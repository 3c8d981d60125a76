"""How surprised a model is by each character of a text (`charlm score`):
    s_t = -log2 p(x_t | x_<t)  bits
from the log-softmax of the logits the model gives after reading x_1 .. x_{t-1} (one pass
from a zero state, dropout off, the text one stream); the first character has no context and
no score. A bidirectional model scores each character from both sides:
    s_t = -log2 p(x_t | x_<t, x_>t).
The total, the mean of s_t over the scored characters, is bits per character: what
`charlm eval` gives for the same text read as one stream.
"""

from dataclasses import dataclass

import numpy as np

from charlm.nn import head
from charlm.nn.infer import infer


@dataclass
class Score:
    chars: list  # the symbols read
    bits: np.ndarray  # (T,) surprisal; nan for the first character of a left-to-right model
    top: list  # per character: [(symbol, p)] of the five likeliest, or [] (not scored)

    @property
    def scored(self):
        return self.bits[~np.isnan(self.bits)]

    @property
    def bpc(self):
        return float(self.scored.mean()) if self.scored.size else float("nan")

    def spans(self, n=5):
        """The n words (runs of non-space characters) with the most bits in all, as
        (start, end, bits), most surprising first."""
        out, start = [], None
        for i, ch in enumerate([*self.chars, " "]):
            if not ch.isspace() and start is None:
                start = i
            elif ch.isspace() and start is not None:
                b = self.bits[start:i]
                if np.isfinite(b).any():
                    out.append((start, i, float(np.nansum(b))))
                start = None
        return sorted(out, key=lambda s: -s[2])[:n]

    def to_dict(self):
        return {
            "bits_per_char": self.bpc,
            "nats_per_char": self.bpc * head.LN2,
            "chars_scored": int(self.scored.size),
            "chars": [{"char": c, "bits": None if np.isnan(b) else float(b),
                       "top": [[s, float(p)] for s, p in top]}
                      for c, b, top in zip(self.chars, self.bits, self.top, strict=True)],
            "spans": [{"start": a, "end": b, "text": "".join(self.chars[a:b]), "bits": s}
                      for a, b, s in self.spans()],
        }  # fmt: skip


def score(params, spec, vocab, ids, k=5):
    """The Score of the model on ids (T,)."""
    ids = np.asarray(ids)
    logits, _ = infer(params, spec, ids[:, None])  # forward only: no cache kept
    logp = head.log_softmax(logits[:, 0].astype(np.float64))
    T = len(ids)
    bits = np.full(T, np.nan)
    if spec.bidirectional:
        predicted, at = logp, np.arange(T)  # position t's logits are the cloze of x_t
    else:
        predicted, at = logp[:-1], np.arange(1, T)  # t's logits predict x_{t+1}
    bits[at] = -predicted[np.arange(len(at)), ids[at]] / head.LN2
    top = [[] for _ in range(T)]
    best = np.argsort(-predicted, axis=1, kind="stable")[:, :k]
    for row, t in enumerate(at):
        top[t] = [(vocab.symbol(int(j)), float(np.exp(predicted[row, j]))) for j in best[row]]
    return Score([vocab.symbol(int(i)) for i in ids], bits, top)
