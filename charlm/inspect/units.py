"""What single units do inside a trained model (Karpathy, Johnson & Fei-Fei 2015):
every unit's activation over a text, its correlation with features of the text, and how
often each gate sits saturated.

The model reads the text once, from a zero state, dropout off (nn.model.forward), and the
caches give, for every layer l of every direction:
    h_t  (T, H)        the hidden state after reading character t
    c_t  (T, H)        the LSTM's memory
    gates              LSTM: input i, forget f, output o (after their sigmoids; the
                       candidate g is a tanh, not a gate); GRU: reset r, update z
A unit is named "L:K" (layer L, unit K; the reverse direction of a bidirectional model
"Lr:K"), with its state, h or c.

Correlation (--find): Pearson's r between a unit's activation a_t and a feature f_t,
    r = sum (a - mean a)(f - mean f) / sqrt(sum (a - mean a)^2 sum (f - mean f)^2),
0 where either is constant. The control is a fresh model of the same shape (the run's seed,
never trained): the best |r| it reaches on the same text is what chance gives.

Saturation (gates): a gate unit is left-saturated at t when its value < 0.1, right-saturated
when > 0.9; each unit's fractions of the characters, per layer and gate.
"""

from dataclasses import dataclass

import numpy as np

from charlm.errors import ArgumentError
from charlm.inspect import features
from charlm.nn.model import forward, init_params

LEFT, RIGHT = 0.1, 0.9
GATE_NAMES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update"), "rnn": ()}
GATE_BLOCKS = {"lstm": (0, 1, 3), "gru": (0, 1)}  # which H-wide blocks of the cache's gates


@dataclass
class Recording:
    """Everything the model computed on the text, in reading order."""

    layers: list  # names: "0", "1", ... then "0r", "1r", ... (the reverse direction)
    h: list  # per layer: (T, H)
    c: list  # per layer: (T, H), or [] for cells without a memory
    gates: list  # per layer: {gate name: (T, H)}
    logits: np.ndarray  # (T, V)

    def _arrays(self, which):
        """Every layer's h (or c), refused for a cell with no memory c."""
        arrays = self.h if which == "h" else self.c
        if not arrays:
            raise ArgumentError("state", which, "this model has no memory c (only an LSTM has)")
        return arrays

    def states(self, which):
        """[(unit name, (T,) activation)] of every unit's h (or c)."""
        arrays = self._arrays(which)
        return [(f"{name}:{k}", a[:, k]) for name, a in zip(self.layers, arrays, strict=True)
                for k in range(a.shape[1])]  # fmt: skip

    def unit(self, spec, which="h"):
        """The (T,) activation of unit "L:K" (or "Lr:K")."""
        arrays = self._arrays(which)
        layer, sep, k = spec.partition(":")
        if not sep or layer not in self.layers or not k.isdigit():
            raise ArgumentError("unit", spec,
                f"expected LAYER:UNIT with a layer among {', '.join(self.layers)} "
                f"(e.g. {self.layers[-1]}:0)")  # fmt: skip
        a = arrays[self.layers.index(layer)]
        if int(k) >= a.shape[1]:
            raise ArgumentError("unit", spec, f"layer {layer} has units 0 to {a.shape[1] - 1}")
        return a[:, int(k)]


def record(params, spec, ids):
    """Recording of the model over ids (T,): one pass from a zero state, dropout off."""
    logits, _, cache = forward(params, spec, np.asarray(ids)[:, None])
    rec = Recording([], [], [], [], logits[:, 0])
    H = spec.hidden_size
    for d, stack in enumerate(cache.stacks):
        order = slice(None, None, -1) if d else slice(None)  # the reverse stack read backwards
        for layer, (cell, _) in enumerate(stack):
            rec.layers.append(f"{layer}{'r' if d else ''}")
            rec.h.append(cell.h[1:, 0][order])
            if spec.cell == "lstm":
                rec.c.append(cell.c[1:, 0][order])
            gates = cell.gates[:, 0][order] if spec.cell != "rnn" else None
            rec.gates.append({
                name: gates[:, b * H : (b + 1) * H]
                for name, b in zip(GATE_NAMES[spec.cell], GATE_BLOCKS.get(spec.cell, ()),
                                   strict=True)
            })  # fmt: skip
    return rec


def correlations(acts, feature):
    """Pearson's r of each column of acts (T, N) with feature (T,); 0 where either is
    constant."""
    a = np.asarray(acts, dtype=np.float64)
    f = np.asarray(feature, dtype=np.float64)
    a = a - a.mean(axis=0)
    f = f - f.mean()
    den = np.sqrt((a * a).sum(axis=0) * (f * f).sum())
    num = f @ a
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 1e-12, num / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def rank(rec, feature, which="h", top=5):
    """[(unit name, r)] of the top units by |r| with the feature, best first."""
    units = rec.states(which)
    r = correlations(np.stack([a for _, a in units], axis=1), feature)
    order = np.argsort(-np.abs(r), kind="stable")[:top]
    return [(units[i][0], float(r[i])) for i in order]


def control(spec, seed, ids, dtype):
    """A fresh model of the same shape: the Recording of its never-trained weights."""
    params = init_params(spec, np.random.default_rng(seed), dtype)
    return record(params, spec, ids)


def saturation(rec):
    """{layer: {gate: (left (H,), right (H,))}}: each unit's fraction of characters with
    the gate below LEFT and above RIGHT."""
    return {
        layer: {name: ((g < LEFT).mean(axis=0), (g > RIGHT).mean(axis=0))
                for name, g in gates.items()}
        for layer, gates in zip(rec.layers, rec.gates, strict=True)
    }  # fmt: skip


@dataclass
class Neurons:
    """What `charlm neurons` finds: the units that follow each feature best (with the best |r|
    a fresh model of the same shape reaches: chance), every unit's recording, and the features
    constant over the text (no ranking)."""

    state: str  # "h" or "c"
    chars: list  # the symbols read
    recording: Recording
    features: dict  # {name: (T,) values}
    found: dict  # {name: ([(unit, r)] best first, the fresh model's best |r|)}
    constant: list  # feature names
    unit: str | None = None  # the unit asked to shade the text by

    def values(self, unit):
        """The (T,) activation of unit "L:K" in this recording's state."""
        return self.recording.unit(unit, self.state)

    def to_dict(self):
        acts = self.recording.states(self.state)
        stack = np.stack([a for _, a in acts], axis=1)
        rs = {n: correlations(stack, f) for n, f in self.features.items()}
        return {
            "state": self.state, "chars": len(self.chars),
            "units": [{"unit": u, "mean": float(a.mean()), "std": float(a.std()),
                       "r": {n: float(rs[n][i]) for n in self.features}}
                      for i, (u, a) in enumerate(acts)],
            "top": {n: {"units": [[u, r] for u, r in ranked], "fresh_model_best_r": chance}
                    for n, (ranked, chance) in self.found.items()},
            "constant": self.constant,
        }  # fmt: skip


def neurons(params, spec, ids, chars, seed, find=(), unit=None, state="h", top=5):
    """Neurons of the model over ids: every feature of `find` (all of features.NAMES when
    neither find nor unit is given) ranked against the units' state, with a fresh model
    (seed) as the control."""
    content = "".join(c if len(c) == 1 else "\ufffd" for c in chars)  # one a position
    wanted = list(find) or ([] if unit else list(features.NAMES))
    feats = {name: features.compute(name, content) for name in wanted}
    rec = record(params, spec, ids)
    if unit is not None:
        rec.unit(unit, state)  # refused now if it names no unit
    fresh = control(spec, seed, ids, params["head.weight"].dtype)
    found, constant = {}, [n for n, f in feats.items() if np.ptp(f) == 0]
    for name, f in feats.items():
        if name not in constant:  # every unit's r with a constant is 0: no ranking to give
            chance = abs(rank(fresh, f, state, 1)[0][1])
            found[name] = (rank(rec, f, state, top), chance)
    return Neurons(state, chars, rec, feats, found, constant, unit)


@dataclass
class Gates:
    """Gate saturation (`charlm gates`): {layer: {gate: (left (H,), right (H,))}}."""

    chars: int
    saturation: dict

    def to_dict(self):
        return {"chars": self.chars, "left": LEFT, "right": RIGHT,
                "layers": {layer: {g: {"left": lf.tolist(), "right": rt.tolist()}
                                   for g, (lf, rt) in gs.items()}
                           for layer, gs in self.saturation.items()}}  # fmt: skip
