"""The report's charts, drawn by matplotlib's SVG backend (the `plot` extra) into strings
that the page holds inline.

Every curve is one matplotlib line with an id (its gid: "<series>-<run index>", e.g.
"val-0"), and nothing is simplified away (path.simplify off), so each chart holds one point
per metrics record: a test counts them. Series: train (raw loss), smooth, val, best, lr,
plan (the planned schedule at every step), grad, clip, speed. One colour per run.
"""

import io
import math
import re

from charlm.errors import CharlmError
from charlm.nn.head import LN2
from charlm.pages import label
from charlm.run import budget
from charlm.run.optim import planned_rate

INSTALL = "the report's charts need matplotlib, which charlm installs: pip install matplotlib"
STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, the browser's own font
    "svg.hashsalt": "charlm",  # the same run gives the same page
    "path.simplify": False,  # every record a point
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
}
TIME_UNITS = (("hours", 3600), ("minutes", 60), ("seconds", 1))  # the largest that fits twice
PLAN_POINTS = 400  # the planned schedule is drawn at this many steps at most


def require():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CharlmError(INSTALL) from None


def available():
    """Whether matplotlib is installed (asked without importing it: that takes a while)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _figure(title, xlabel, ylabel):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.3), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def _svg(fig, name):
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    # Inline in HTML, the SVG needs no XML prolog, doctype, namespaces or RDF metadata: all
    # name web addresses, which the page, made to open offline, holds none of.
    text = text[text.find("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    return f'<figure class="chart" id="chart-{name}">{text}</figure>'


def _colours(n):
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _xy(recs, x, y):
    pts = [(r[x], r[y]) for r in recs if _num(r.get(x)) and _num(r.get(y))]
    return [p[0] for p in pts], [p[1] for p in pts]


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def loss(histories, against="step"):
    """Training loss (raw and smoothed) and validation loss against steps (or training
    time, against="elapsed"), nats on the left, bits per character on the right; each run's
    best validation loss marked."""
    with _style():
        timed = against == "elapsed"
        longest = max((r.get("elapsed") or 0 for h in histories for r in h.records), default=0)
        unit, per = next(((u, s) for u, s in TIME_UNITS if longest >= 2 * s), ("seconds", 1))
        per = per if timed else 1
        xlabel = f"training time ({unit})" if timed else "step"
        title = "Loss against training time" if timed else "Loss against steps"
        fig, ax = _figure(title, xlabel, "loss (nats per character)")
        many = len(histories) > 1
        for i, (h, colour) in enumerate(zip(histories, _colours(len(histories)), strict=True)):
            _loss_lines(ax, h, i, colour, against, per, f"{label(h.name)}: " if many else "")
        ax.secondary_yaxis("right", functions=(lambda v: v / LN2, lambda v: v * LN2)).set_ylabel(
            "bits per character"
        )
        _legend(ax)
        return _svg(fig, f"loss-{'time' if timed else 'steps'}")


def _loss_lines(ax, h, i, colour, against, per, who):
    """One run's lines on the loss chart: training (raw, smoothed), validation, the best."""
    scale = lambda v: [a / per for a in v]  # noqa: E731
    x, y = _xy(h.kind("train"), against, "loss")
    ax.plot(scale(x), y, color=colour, alpha=0.25, lw=0.8, gid=f"train-{i}",
            label=None if who else "training loss")  # fmt: skip
    x, y = _xy(h.kind("train"), against, "smooth_loss")
    ax.plot(scale(x), y, color=colour, lw=1.4, gid=f"smooth-{i}",
            label=f"{who}training (smoothed)")  # fmt: skip
    vals = h.kind("val")
    x, y = _xy(vals, against, "loss")
    ax.plot(scale(x), y, color=colour, lw=1.2, ls="--", marker="o", ms=3, gid=f"val-{i}",
            label=f"{who}validation")  # fmt: skip
    best = [r for r in vals if r.get("step") == h.best_step and _num(r.get(against))]
    if best:
        b = best[-1]
        ax.plot(scale([b[against]]), [b["loss"]], marker="*", ms=12, ls="none", color=colour,
                mec="black", mew=0.6, gid=f"best-{i}",
                label=f"{who}best {b['loss']:.4f} ({b['loss'] / LN2:.3f} bpc)")  # fmt: skip


def learning_rate(histories):
    """The learning rate of every logged step, over the plan drawn at every step."""
    with _style():
        fig, ax = _figure("Learning rate", "step", "learning rate")
        many = len(histories) > 1
        for i, (h, colour) in enumerate(zip(histories, _colours(len(histories)), strict=True)):
            who = f"{label(h.name)}: " if many else ""
            if h.schedule and h.config is not None and budget.is_planned(h.total):
                n = max(1, h.total // PLAN_POINTS)
                steps = [*range(1, h.total + 1, n), h.total]
                rates = [planned_rate(h.config.train, s, h.schedule) for s in steps]
                ax.plot(
                    steps,
                    rates,
                    color=colour,
                    lw=0.8,
                    ls=":",
                    gid=f"plan-{i}",
                    label=f"{who}planned",
                )
            x, y = _xy(h.kind("train"), "step", "lr")
            ax.plot(x, y, color=colour, lw=1.4, gid=f"lr-{i}", label=f"{who}used")
        _legend(ax)
        return _svg(fig, "lr")


def grad_norm(histories):
    """The global gradient norm before clipping, on a log scale, and the clipping threshold
    of a run that clips by norm."""
    with _style():
        fig, ax = _figure("Gradient norm before clipping", "step", "global norm (log scale)")
        ax.set_yscale("log")
        many = len(histories) > 1
        for i, (h, colour) in enumerate(zip(histories, _colours(len(histories)), strict=True)):
            who = f"{label(h.name)}: " if many else ""
            pts = [
                (r["step"], r["grad_norm"])
                for r in h.kind("train")
                if _num(r.get("step")) and _num(r.get("grad_norm")) and r["grad_norm"] > 0
            ]
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                color=colour,
                lw=1.0,
                gid=f"grad-{i}",
                label=f"{who}norm",
            )
            t = h.config.train if h.config is not None else None
            if t is not None and t.clip == "norm":
                ax.axhline(
                    t.clip_value,
                    color=colour,
                    lw=1.0,
                    ls="--",
                    gid=f"clip-{i}",
                    label=f"{who}clipped above {t.clip_value:g}",
                )
        _legend(ax)
        return _svg(fig, "grad")


def speed(histories):
    """Training characters per second of every logged step."""
    with _style():
        fig, ax = _figure("Training speed", "step", "characters per second")
        many = len(histories) > 1
        for i, (h, colour) in enumerate(zip(histories, _colours(len(histories)), strict=True)):
            x, y = _xy(h.kind("train"), "step", "chars_per_s")
            ax.plot(
                x,
                y,
                color=colour,
                lw=1.0,
                gid=f"speed-{i}",
                label=label(h.name) if many else "characters per second",
            )
        ax.set_ylim(bottom=0)
        _legend(ax)
        return _svg(fig, "speed")


def all_charts(histories):
    return [
        loss(histories),
        loss(histories, "elapsed"),
        learning_rate(histories),
        grad_norm(histories),
        speed(histories),
    ]


def _legend(ax):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8, framealpha=0.85)


def _style():
    from matplotlib import rc_context

    return rc_context(STYLE)
