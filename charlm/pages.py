"""The shell every page charlm writes shares (the report, saliency, neurons, gates, score):
one self-contained HTML document (no script, font, style or image from anywhere else; it
opens offline), its style sheet, escaping, and text shaded a character at a time; and the
one rule for a user's name drawn in a plot (label)."""

import html

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;
 max-width:1400px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:22px 0 8px;
 border-bottom:1px solid #ddd;padding-bottom:3px}
td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;word-break:break-word;font:12.5px/1.4 ui-monospace,Menlo,Consolas,
 monospace;margin:6px 0}
pre.shaded{font-size:15px;line-height:1.7}
button{margin:2px;font:12px monospace}button.on{background:#333;color:#fff}
.muted{color:#777}.target{outline:2px solid #333}
"""


def escape(text):
    """text as HTML text or an attribute's value."""
    return html.escape(str(text), quote=True)


def document(title, body, css=""):
    """The whole page: title as its <title> and heading, body (HTML) under it, the shared
    style sheet and css added to it."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title><style>{CSS}{css}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def visible(ch):
    """A character as it can be seen shaded: newline and tab get a symbol."""
    return {"\n": "⏎", "\t": "⇥"}.get(ch, ch)


def shaded(chars, tips, colours):
    """The text as <span>s, a character each, its background colours[i] = (r, g, b) and its
    tooltip tips[i] (a line break after each newline), for a <pre class="shaded">."""
    out = []
    for ch, tip, (r, g, b) in zip(chars, tips, colours, strict=True):
        out.append(f'<span style="background:rgb({r},{g},{b})" title="{escape(tip)}">'
                   f"{escape(visible(ch))}</span>" + ("\n" if ch == "\n" else ""))  # fmt: skip
    return "".join(out)


def label(text):
    """A user's text (a run's name, a path) as a matplotlib label that is drawn as it is:
    matplotlib reads text between two unescaped "$" as math markup (a "$x^2$" would lose its
    dollars, a "$\\frac$" would stop the plot), and "\\$" is its escape for a literal one."""
    return str(text).replace("$", r"\$")
