"""How gradflow and saliency look: rich tables and charts, a PNG plot, an HTML page."""

import numpy as np
from rich.table import Table
from rich.text import Text

from charlm import files
from charlm.errors import CharlmError
from charlm.inspect import look
from charlm.inspect.gradflow import steps_to_show
from charlm.pages import document, escape, label, shaded, visible

BLOCKS = "▁▂▃▄▅▆▇█"
COLOURS = ("red", "green", "blue", "magenta", "cyan", "yellow")


def flow_tables(flows, every=False):
    """A table per model, a row per shown step: ||dL_T/dh_t|| and the summary of its entries."""
    tables = []
    for i, f in enumerate(flows):
        T = len(f.norm)
        table = Table(
            title=f"{f.name}: last loss {f.loss:.3f}",
            title_style=COLOURS[i % len(COLOURS)],
            title_justify="left",
        )
        table.add_column("t", justify="right")
        table.add_column("T-t", justify="right")
        for name in ("||dL_T/dh_t||", "mean", "std", "min", "max"):
            table.add_column(name, justify="right", no_wrap=True)
        for t in steps_to_show(T, every):
            k = t - 1
            values = (f.norm[k], f.mean[k], f.std[k], f.min[k], f.max[k])
            table.add_row(str(t), str(T - t), *(f"{v:.2e}" for v in values))
        tables.append(table)
    return tables


def _log_levels(flows):
    """log10 of every norm, and the shared range [lo, hi] of the finite ones."""
    with np.errstate(divide="ignore"):
        logs = [np.log10(f.norm) for f in flows]
    finite = np.concatenate([x[np.isfinite(x)] for x in logs])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return logs, lo, max(hi, lo + 1e-9)


def flow_chart(flows, width=64):
    """One line per model: a bar per step (t = 1 at the left, T at the right) whose height is
    log10 ||dL_T/dh_t|| on a scale shared by all models; a blank is an exact zero. Long windows
    are averaged (in log) into `width` columns."""
    logs, lo, hi = _log_levels(flows)
    width = max(len(f.name) for f in flows)
    out = Text()
    out.append(
        f"||dL_T/dh_t|| on a log scale, t = 1 .. T: ▁ is {10**lo:.1e}, █ is {10**hi:.1e}\n",
        style="bold",
    )
    for i, (f, x) in enumerate(zip(flows, logs, strict=True)):
        T = len(x)
        cols = np.array_split(np.arange(T), min(width, T))
        line = ""
        for c in cols:
            v = x[c][np.isfinite(x[c])]
            if v.size == 0:
                line += " "
                continue
            level = int((v.mean() - lo) / (hi - lo) * (len(BLOCKS) - 1) + 0.5)
            line += BLOCKS[level]
        span = f"{f.norm.min():.1e} .. {f.norm.max():.1e}"
        out.append(f"{f.name:<{width}}  ")
        out.append(line, style=COLOURS[i % len(COLOURS)])
        out.append(f"  {span}\n")
    T = max(len(f.norm) for f in flows)
    n = min(width, T)
    out.append(" " * (width + 2) + "t=1".ljust(max(n - len(f"t={T}"), 4)) + f"t={T}", style="dim")
    return out


def flow_png(flows, path, force=False):
    """The same as a plot: log-scale norm against steps back, one line per model."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise CharlmError(
            "--png needs matplotlib, which charlm installs: pip install matplotlib"
        ) from None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for f in flows:
        T = len(f.norm)
        back = T - np.arange(1, T + 1)
        norm = np.where(f.norm > 0, f.norm, np.nan)  # log scale: a zero is not drawn
        ax.semilogy(back, norm, label=label(f.name), linewidth=1.6)
    ax.set_xlabel("steps back from the last prediction (T - t)")
    ax.set_ylabel("||dL_T / dh_t||")
    ax.set_title("Gradient flow through time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        files.write(path, lambda f: fig.savefig(f, format="png"), "plot", force=force)
    finally:
        plt.close(fig)


def _shares(scores):
    """Scores scaled to 0..1 by the largest (all zero stays zero)."""
    top = float(np.max(scores)) if len(scores) else 0.0
    return np.asarray(scores) / top if top > 0 else np.zeros(len(scores))


def red_share(s):
    """A share of the largest (0..1) -> white to red; None (unshaded) below 2%."""
    fade = int(round(255 * (1 - s)))
    return (255, fade, fade) if s >= 0.02 else None


def saliency_text(sal):
    """The text with each character's background shaded by its share of the largest
    influence (white on red at the top), then the prediction it explains."""
    out = look.shaded(sal.chars, _shares(sal.scores), red_share)
    out.append("[", style="bold")
    out.append(visible(sal.target), style="bold reverse")
    out.append("]", style="bold")
    return out


def saliency_summary(sal, n=5):
    """The prediction and the n most influential characters, in words."""
    likely = ", ".join(f"{visible(c)!r} {p:.2f}" for c, p in sal.top)
    lines = [
        f"prediction of character {sal.at}: {visible(sal.target)!r} "
        f"with p = {sal.p_target:.3f} (likeliest: {likely})",
        "most influential (position, character, ||dL/dv_t||, share of the largest):",
    ]
    order = np.argsort(-sal.scores)[:n]
    top = float(sal.scores.max()) if len(sal.scores) else 0.0
    for i in order:
        share = sal.scores[i] / top if top > 0 else 0.0
        lines.append(f"  {i:>5}  {visible(sal.chars[i])!r:>6}  {sal.scores[i]:.3e}  {share:>4.0%}")
    return "\n".join(lines)


def saliency_html(sal, title="charlm saliency"):
    """A self-contained page: the text, each character shaded by its influence, its
    position and score in a tooltip, and the prediction."""
    shares = _shares(sal.scores)
    rows = enumerate(zip(sal.chars, shares, sal.scores, strict=True))
    tips = [f"{i}: {ch!r} {raw:.3e} ({s:.0%})" for i, (ch, s, raw) in rows]
    colours = [red_share(s) or (255, 255, 255) for s in shares]
    likely = ", ".join(f"{escape(repr(c))} {p:.3f}" for c, p in sal.top)
    body = (
        "<p>Each character's background: how much it moved the prediction "
        "(the length of the gradient of the prediction's loss with respect to its input vector, "
        "as a share of the largest).</p>\n"
        f'<pre class="shaded">{shaded(sal.chars, tips, colours)}'
        f'<span class="target">{escape(sal.target)}</span></pre>\n'
        f"<p>Predicted character {sal.at}: {escape(repr(sal.target))}, "
        f"p = {sal.p_target:.3f}. Likeliest: {likely}.</p>"
    )
    return document(title, body)
