"""How neurons, gates and score look: text shaded character by character in the terminal
(rich), self-contained HTML pages, and the gates' scatter plot (matplotlib)."""

import json

import numpy as np
from rich.text import Text

from charlm.errors import CharlmError
from charlm.pages import document, escape, visible
from charlm.pages import shaded as html_shaded


def _rgb_diverging(v):
    """v in [-1, 1] -> (r, g, b): blue at -1, white at 0, red at +1."""
    v = float(np.clip(v, -1.0, 1.0))
    fade = int(round(255 * (1 - abs(v))))
    return (255, fade, fade) if v >= 0 else (fade, fade, 255)


def scaled(a):
    """A unit's activations on -1..1: h is already there; c is divided by its largest |c|."""
    top = float(np.max(np.abs(a))) if len(a) else 0.0
    return np.asarray(a) / top if top > 1.0 else np.asarray(a)


def shaded(chars, values, colour=_rgb_diverging, limit=None):
    """The text for the terminal (rich), each character's background coloured by its value
    (colour(v) -> (r, g, b), or None: unshaded), cut short after limit characters."""
    out = Text()
    for i, (ch, v) in enumerate(zip(chars, values, strict=True)):
        if limit is not None and i >= limit:
            out.append(" …", style="dim")
            break
        rgb = colour(v) if np.isfinite(v) else (255, 255, 255)
        out.append(visible(ch), style="black on rgb({},{},{})".format(*rgb) if rgb else "")
        if ch == "\n":
            out.append("\n")
    return out


def surprise_colour(top):
    """bits -> white (0) to red (top bits and above)."""

    def colour(bits):
        s = min(1.0, max(0.0, bits / top)) if top > 0 else 0.0
        fade = int(round(255 * (1 - s)))
        return (255, fade, fade)

    return colour


def neurons_page(neurons):
    """neurons_html of a units.Neurons: its top units and the unit it was asked to shade."""
    shown = {u for ranked, _ in neurons.found.values() for u, _ in ranked}
    shown |= {neurons.unit} if neurons.unit else set()
    values = {u: scaled(neurons.values(u)) for u in shown}
    return neurons_html(neurons.chars, neurons.found, values)


def neurons_html(chars, found, values, title="charlm neurons"):
    """The text, and for every feature its top units as buttons; choosing one reshades the
    text by that unit (a script in the page, the activations in it as JSON; nothing is
    fetched). found: {feature: [(unit, r)]}, plus the control's best |r|; values: {unit:
    (T,) on -1..1}."""
    units = sorted(values)
    data = {u: [round(float(v), 3) for v in values[u]] for u in units}
    rows = []
    for feature, (ranked, chance) in found.items():
        buttons = " ".join(
            f'<button data-unit="{escape(u)}">{escape(u)} r={r:+.2f}</button>' for u, r in ranked
        )
        rows.append(f"<tr><th>{escape(feature)}</th><td>{buttons}</td>"
                    f"<td>fresh model's best |r| {chance:.2f}</td></tr>")  # fmt: skip
    first = units[0] if units else ""
    tips, white = [f"{i}: {ch!r}" for i, ch in enumerate(chars)], [(255, 255, 255)] * len(chars)
    body = (
        "<p>Each character's background is the chosen unit's activation after reading it "
        "(blue -1, white 0, red +1); hover for the value. Choose a unit:</p>"
        f"<table>{''.join(rows)}</table>"
        f'<p id="shown">unit {escape(first)}</p>'
        f'<pre id="text" class="shaded">{html_shaded(chars, tips, white)}</pre>'
        f'<script id="data" type="application/json">{_json(data)}</script>'
        "<script>\n" + SCRIPT + "\n</script>"
    )
    return document(title, body)


SCRIPT = """
const data = JSON.parse(document.getElementById("data").textContent);
const spans = document.getElementById("text").querySelectorAll("span");
function show(unit) {
  const v = data[unit];
  spans.forEach((s, i) => {
    const x = Math.max(-1, Math.min(1, v[i])), f = Math.round(255 * (1 - Math.abs(x)));
    s.style.background = x >= 0 ? `rgb(255,${f},${f})` : `rgb(${f},${f},255)`;
    s.title = s.title.split(" = ")[0] + " = " + v[i].toFixed(3);
  });
  document.getElementById("shown").textContent = "unit " + unit;
  document.querySelectorAll("button").forEach(
    b => b.classList.toggle("on", b.dataset.unit === unit));
}
document.querySelectorAll("button").forEach(b => b.addEventListener("click",
  () => show(b.dataset.unit)));
const first = document.querySelector("button");
if (first) show(first.dataset.unit);
"""


def _json(data):
    """JSON safe inside a <script> element (no '</' to end it early)."""
    return json.dumps(data).replace("</", "<\\/")


def score_html(sc, title="charlm score"):
    """The text shaded by surprisal, each character's bits and top-5 in its tooltip."""
    finite = sc.scored
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    colour = surprise_colour(top)
    tips, colours = [], []
    for i, (ch, b, cands) in enumerate(zip(sc.chars, sc.bits, sc.top, strict=True)):
        likely = ", ".join(f"{visible(s)!r} {p:.3f}" for s, p in cands)
        tips.append(f"{i}: {ch!r} " + ("not scored (no context)" if np.isnan(b)
                                        else f"{b:.2f} bits; likeliest: {likely}"))  # fmt: skip
        colours.append(colour(b) if np.isfinite(b) else (255, 255, 255))
    body = (
        f"<p>{sc.bpc:.4f} bits per character over {sc.scored.size:,} characters. Each "
        f"character's background: its surprisal, -log2 p (white 0, red {top:.1f} bits or "
        "more); hover for its bits and the five likeliest characters there.</p>"
        f'<pre class="shaded">{html_shaded(sc.chars, tips, colours)}</pre>'
    )
    return document(title, body)


def gates_figure(sat):
    """The scatter plot: one panel per layer (rows) and gate (columns), a point per unit at
    (left-saturated fraction, right-saturated fraction)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CharlmError(
            "--png and --html need matplotlib, which charlm installs: pip install matplotlib"
        ) from None
    layers = list(sat)
    gates = list(next(iter(sat.values())))
    if not gates:
        raise CharlmError("this model has no gates (a vanilla RNN); gates needs an LSTM or GRU")
    fig = Figure(figsize=(2.6 * len(gates) + 0.6, 2.5 * len(layers) + 0.4), layout="constrained")
    axes = fig.subplots(len(layers), len(gates), squeeze=False, sharex=True, sharey=True)
    for i, layer in enumerate(layers):
        for j, gate in enumerate(gates):
            ax = axes[i][j]
            left, right = sat[layer][gate]
            ax.plot([0, 1], [1, 0], color="#bbb", lw=0.8)
            ax.scatter(left, right, s=9, alpha=0.6, color="C0", linewidths=0, gid=f"{layer}-{gate}")
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"layer {layer}, {gate} gate", fontsize=9)
            if i == len(layers) - 1:
                ax.set_xlabel("left-saturated (< 0.1)", fontsize=8)
            if j == 0:
                ax.set_ylabel("right-saturated (> 0.9)", fontsize=8)
    return fig
