"""Synthetic corpora that test memory over a controlled distance (charlm corpus make).

recall, one record per line: a key, `gap` random filler letters, a colon, the key again.
    Cxqzmbwoeua:C
    Ahtrvkpqaaz:A
The filler is unpredictable; the character after the colon is predictable only by a model that
remembered the key across gap + 1 steps. Keys are the first `keys` capital letters, so guessing
is right 1/keys of the time.

brackets, one balanced string per line, nesting exactly `depth` deep at its deepest:
    ([{}]<()>)
Every closing bracket is determined by the unclosed opening bracket nearest to it; how far back
that one is depends on what was nested in between.

Both are seeded: the same arguments always give the same text.
"""

import numpy as np

from charlm.errors import ArgumentError

KINDS = ("recall", "brackets")
FILLER = "abcdefghijklmnopqrstuvwxyz"
KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MARK = ":"
PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}


def recall(size, gap, seed=0, keys=8):
    """size // (gap + 4) records (at least one) of key, gap filler letters, ':', key, newline."""
    if gap + 4 > size:
        raise ArgumentError(
            "gap",
            gap,
            f"a record is {{gap}} + 4 characters, more than {{size}} {size:,}; lower {{gap}} "
            f"or raise {{size}}",
        )
    rng = np.random.default_rng(seed)
    n = max(1, size // (gap + 4))
    key = rng.integers(0, keys, size=n)
    filler = rng.integers(0, len(FILLER), size=(n, gap))
    # the records as one (n, gap + 4) array of ASCII bytes: key, filler, ':', key, newline
    rows = np.empty((n, gap + 4), dtype=np.uint8)
    rows[:, 0] = rows[:, gap + 2] = np.frombuffer(KEYS.encode(), np.uint8)[key]
    rows[:, 1 : gap + 1] = np.frombuffer(FILLER.encode(), np.uint8)[filler]
    rows[:, gap + 1], rows[:, gap + 3] = ord(MARK), ord("\n")
    return rows.tobytes().decode("ascii")


def recall_answers(text):
    """(positions, keys): where in text each recalled key stands, and what it must be."""
    positions, answers, start = [], [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        if len(body) >= 3 and body[-2] == MARK:
            positions.append(start + len(body) - 1)
            answers.append(body[0])
        start += len(line)
    return np.array(positions, dtype=np.int64), answers


def brackets(size, depth, seed=0):
    """Lines of balanced brackets of four kinds, each reaching exactly `depth` at its deepest,
    until the text has at least `size` characters (at least one line).

    A random walk on the nesting level: open (a random kind) or close with even odds, always open
    at level 0 until the line has reached `depth`, never deeper than `depth`; the line ends when
    it is back at level 0 after reaching `depth`."""
    if 2 * depth * depth > size:  # the walk's lines average about 2 depth^2 characters
        raise ArgumentError(
            "depth",
            depth,
            f"its lines are about 2 x depth^2 = {2 * depth * depth:,} characters long, more "
            f"than {{size}} {size:,}; lower {{depth}} or raise {{size}}",
        )
    rng = np.random.default_rng(seed)
    opening = list(PAIRS)
    lines, total = [], 0
    while total < size or not lines:
        line, stack, reached = [], [], False
        while True:
            level = len(stack)
            if level == 0 and reached:
                break
            if level < depth and (level == 0 or rng.random() < 0.5):
                stack.append(opening[rng.integers(len(opening))])
                line.append(stack[-1])
                reached = reached or len(stack) == depth
            else:
                line.append(PAIRS[stack.pop()])
        lines.append("".join(line) + "\n")
        total += len(lines[-1])
    return "".join(lines)


def bracket_depth(line):
    """The deepest nesting of a line of brackets, or None if it is not balanced."""
    closing = {v: k for k, v in PAIRS.items()}
    stack, deepest = [], 0
    for ch in line:
        if ch in PAIRS:
            stack.append(ch)
            deepest = max(deepest, len(stack))
        elif ch in closing and (not stack or stack.pop() != closing[ch]):
            return None
    return deepest if not stack else None


def make(kind, size, seed=0, gap=20, depth=8, keys=8):
    """The text of a synthetic corpus (kind one of KINDS; the arguments' ranges are checked
    by charlm.api.make_corpus)."""
    if kind == "recall":
        return recall(size, gap, seed, keys)
    return brackets(size, depth, seed)


def default_name(kind, gap=20, depth=8):
    """The file name `corpus make` writes under corpora/ unless told otherwise."""
    return f"recall-gap{gap}.txt" if kind == "recall" else f"brackets-depth{depth}.txt"
