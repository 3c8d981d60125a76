"""Optimisers and gradient clipping over flat dicts of arrays (params and grads share keys).

Adagrad (min-char-rnn's form), per parameter p with gradient g:
    mem += g * g
    p   -= lr * g / sqrt(mem + eps)
SGD with momentum (PyTorch's form: no dampening):
    v  = momentum * v + g
    p -= lr * v
Adam (Kingma & Ba, PyTorch's form), at step t = 1, 2, ...:
    m  = beta1 * m + (1 - beta1) * g
    v  = beta2 * v + (1 - beta2) * g * g
    p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
    computed as torch does: p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
Each update works in place through one scratch array per parameter (no temporaries): the
optimiser step touches every weight several times, so on a model of 1M weights the passes
over memory, not the arithmetic, are its cost.

The learning rate for update n = 1, 2, ... of a run of N updates (learning_rate):
    warmup  (n <= W):  lr * n / W
    constant:          lr
    cosine:            lr_min + (lr - lr_min) * (1 + cos(pi * (n - W) / (N - W))) / 2
A function of the step alone, so a resumed run continues the same schedule. A run extended past
its planned steps on resume gets a warm restart over the added steps (extend, below).

The state is one flat dict of arrays ("mem.weight_hh_l0", "m.head.bias", "step", ...), so a
checkpoint stores it as it stores the parameters.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from charlm.run.config import OPTIMIZERS

SLOTS = {"adagrad": ("mem",), "sgd": ("velocity",), "adam": ("m", "v")}


@dataclass
class Optimizer:
    name: str  # "adagrad" | "sgd" | "adam"
    lr: float
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    state: dict = field(default_factory=dict)

    def init(self, params):
        """Zero state for these params; returns self."""
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.name!r}")
        self.state = {
            f"{slot}.{k}": np.zeros_like(p) for slot in SLOTS[self.name] for k, p in params.items()
        }
        self.state["step"] = np.zeros((), dtype=np.int64)
        return self

    def step(self, params, grads):
        """Update params in place from grads."""
        s = self.state
        s["step"] += 1
        t = int(s["step"])
        for k, p in params.items():
            g, scratch = grads[k], np.empty_like(grads[k])
            if self.name == "adagrad":
                mem = s[f"mem.{k}"]
                mem += np.multiply(g, g, out=scratch)
                np.add(mem, self.eps, out=scratch)
                np.sqrt(scratch, out=scratch)
                np.divide(g, scratch, out=scratch)  # g / sqrt(mem + eps)
                scratch *= self.lr
                p -= scratch  # p -= lr * g / sqrt(mem + eps)
            elif self.name == "sgd":
                v = s[f"velocity.{k}"]
                v *= self.momentum
                v += g
                p -= np.multiply(v, self.lr, out=scratch)
            else:
                m, v = s[f"m.{k}"], s[f"v.{k}"]
                m *= self.beta1
                m += np.multiply(g, 1 - self.beta1, out=scratch)  # m = b1 m + (1 - b1) g
                v *= self.beta2
                np.multiply(g, g, out=scratch)
                scratch *= 1 - self.beta2
                v += scratch  # v = b2 v + (1 - b2) g^2
                np.sqrt(v, out=scratch)
                scratch /= math.sqrt(1 - self.beta2**t)
                scratch += self.eps  # sqrt(v_hat) + eps
                np.divide(m, scratch, out=scratch)
                scratch *= self.lr / (1 - self.beta1**t)
                p -= scratch  # p -= lr m_hat / (sqrt(v_hat) + eps)


def learning_rate(t, n, total, warmup=None):
    """The lr for update n (1-based) of `total`, from a TrainConfig t (see the module doc);
    warmup: the warmup steps (None: t.warmup_steps). Past `total` cosine stays at lr_min."""
    W = t.warmup_steps if warmup is None else warmup
    if n <= W:
        return t.lr * n / W
    if t.lr_schedule == "constant":
        return t.lr
    progress = min(1.0, (n - W) / max(1, total - W))
    return t.lr_min + (t.lr - t.lr_min) * (1 + math.cos(math.pi * progress)) / 2


def describe_schedule(t):
    """'0.004', or '0.004 (100 warmup steps, then cosine to 0)'."""
    n = t.warmup_steps
    parts = [f"{n:,} warmup step{'s' if n != 1 else ''}"] if n else []
    if t.lr_schedule == "cosine":
        parts.append(f"cosine to {t.lr_min:g}")
    return f"{t.lr:g}" + (f" ({', then '.join(parts)})" if parts else "")


# A run's plan: segments [start, end, warmup] of its steps, each a schedule of its own
# (learning_rate over steps start+1 .. end), ruling until the next segment starts. A new run
# has one; a run extended past its plan on resume gets a warm restart for the added steps: a
# warmup of RESTART_WARMUP of them, from 0 up to lr, then the schedule again (cosine from lr
# to lr_min) by the new last step. A time budget's plan (run/budget.py) continues its
# provisional segment with one that starts at the rate in use.
RESTART_WARMUP = 0.05


def plan(t, total):
    """The plan of a new run of `total` steps."""
    return [[0, int(total), int(t.warmup_steps)]]


def extend(segments, t, total):
    """The plan of a run resumed to `total` steps: unchanged when total is within it (an
    interrupted run continues exactly; a lower total stops early), else the old plan to its
    end and a warm restart over the steps added."""
    end = segments[-1][1]
    if total <= end:
        return segments
    added = total - end
    warmup = 0 if t.lr_schedule == "constant" else max(1, round(RESTART_WARMUP * added))
    return [*segments, [end, int(total), warmup]]


def planned_rate(t, n, segments):
    """The lr for update n of a run with this plan."""
    start, end, warmup = next((s for s in reversed(segments) if s[0] < n), segments[0])
    return learning_rate(t, n - start, end - start, warmup)


def global_norm(grads):
    """sqrt(sum of every gradient entry squared), over all tensors."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_gradients(grads, mode, value):
    """Clip grads in place; returns the global L2 norm before clipping.

    "elementwise": g = clip(g, -value, value) entry by entry (min-char-rnn, value 5).
    "norm":        g *= value / (norm + 1e-6) when that is < 1 (Pascanu et al. 2013; the
                   same rule as torch.nn.utils.clip_grad_norm_).
    "none":        only measure.
    """
    norm = global_norm(grads)
    if mode == "elementwise":
        for g in grads.values():
            np.clip(g, -value, value, out=g)
    elif mode == "norm":
        scale = value / (norm + 1e-6)
        if scale < 1.0:
            for g in grads.values():
                g *= g.dtype.type(scale)
    elif mode != "none":
        raise ValueError(f"unknown clip mode {mode!r}")
    return norm
