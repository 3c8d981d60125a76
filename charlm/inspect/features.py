"""Features of a text, one number per character, for `charlm neurons --find`: what a unit
could be tracking. Each is the text's state *after reading* the character, as h_t is the
model's state after reading x_t:

    quote          1 inside a quotation: after an opening " or ' up to its closing mark, on
                   one line; a ' between two letters (don't, Romeo's) is an apostrophe,
                   and a mark with no partner on its line opens nothing
    line-position  characters read since the last newline (a newline: 0)
    bracket-depth  brackets ( [ { < opened and not yet closed (a closing one with none open
                   changes nothing)
    indent         the leading spaces of the line so far (a newline: 0)
    uppercase      1 for an uppercase letter
    vowel          1 for a, e, i, o, u (either case)
    space          1 for whitespace (space, newline, tab)
    regex:PATTERN  1 inside a match of PATTERN (Python's re; matches do not overlap; matching
                   gives up, in one line, after REGEX_SECONDS)
"""

import contextlib
import re
import signal
import threading

import numpy as np

from charlm.errors import CharlmError

NAMES = ("quote", "line-position", "bracket-depth", "indent", "uppercase", "vowel", "space")
OPEN, CLOSE = "([{<", ")]}>"
REGEX_SECONDS = 10.0  # a regex: feature's bound on matching (see _time_bound)


def _inner(line, i):
    """Whether the ' at line[i] is an apostrophe: a letter on both sides."""
    return 0 < i < len(line) - 1 and line[i - 1].isalpha() and line[i + 1].isalpha()


def _quote(text):
    """Linear in the text: each mark's partner (the next mark of its kind on the line) is
    found by one backward pass, and the filled spans never overlap."""
    out = np.zeros(len(text))
    start = 0
    for line in text.split("\n"):
        marks = [i for i, ch in enumerate(line) if ch == '"' or (ch == "'" and not _inner(line, i))]
        partner, last = [None] * len(marks), {}
        for k in range(len(marks) - 1, -1, -1):
            partner[k] = last.get(line[marks[k]])
            last[line[marks[k]]] = k
        i = 0
        while i < len(marks):
            j = partner[i]
            if j is None:
                i += 1  # no partner: not a quotation
                continue
            out[start + marks[i] : start + marks[j]] = 1.0  # the opening mark, not the closing
            i = j + 1
        start += len(line) + 1
    return out


def _line_position(text):
    out, n = np.zeros(len(text)), 0
    for i, ch in enumerate(text):
        n = 0 if ch == "\n" else n + 1
        out[i] = n
    return out


def _bracket_depth(text):
    out, depth, stack = np.zeros(len(text)), 0, []
    for i, ch in enumerate(text):
        if ch in OPEN:
            stack.append(ch)
        elif ch in CLOSE and stack:
            stack.pop()
        depth = len(stack)
        out[i] = depth
    return out


def _indent(text):
    out, n, leading = np.zeros(len(text)), 0, True
    for i, ch in enumerate(text):
        if ch == "\n":
            n, leading = 0, True
        elif leading and ch == " ":
            n += 1
        else:
            leading = False
        out[i] = n
    return out


def _regex(pattern, text):
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as e:
        raise CharlmError(f"regex:{pattern}: not a valid regular expression ({e})") from None
    out = np.zeros(len(text))
    with _time_bound(REGEX_SECONDS, f"regex:{pattern}"):
        for m in compiled.finditer(text):
            out[m.start() : m.end()] = 1.0
    return out


class _TimeUp(Exception):
    pass


@contextlib.contextmanager
def _time_bound(seconds, what):
    """Stop the block after `seconds` with a CharlmError: Python's re backtracks, so a pattern
    like (a+)+$ can take longer than the universe on a short text; its engine checks for
    signals, so SIGALRM interrupts it. Only the main thread can take signals: elsewhere the
    block runs unbounded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimeUp:
        raise CharlmError(
            f"{what}: gave up after {seconds:g} s (the pattern backtracks too much on this "
            f"text; nested repeats such as (a+)+ are the usual cause)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def compute(name, text):
    """The feature `name` over text: an array of len(text) floats."""
    simple = {
        "quote": _quote,
        "line-position": _line_position,
        "bracket-depth": _bracket_depth,
        "indent": _indent,
        "uppercase": lambda t: np.array([c.isupper() for c in t], dtype=float),
        "vowel": lambda t: np.array([c in "aeiouAEIOU" for c in t], dtype=float),
        "space": lambda t: np.array([c.isspace() for c in t], dtype=float),
    }
    if name.startswith("regex:"):
        return _regex(name[len("regex:") :], text)
    if name not in simple:
        raise CharlmError(
            f"unknown feature {name!r}; choose from {', '.join(NAMES)} or regex:PATTERN"
        )
    return simple[name](text)
