"""Cost linear in the input: every text feature is one pass over the text (the quote feature
once rescanned each line's marks, quadratic in a line of quotes), and a user's regex: runs
under a time bound that says, in one line, when it gives up."""

import signal
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from charlm.inspect import features
from tests.helpers import TINY, invoke, refused, tree_state


def quote_spec(text):
    """The quote feature as its docstring defines it, by the most direct search: at each
    mark, the next mark of its kind on the line closes it; one with none opens nothing."""
    out, start = np.zeros(len(text)), 0
    for line in text.split("\n"):
        marks = [
            i for i, c in enumerate(line) if c == '"' or (c == "'" and not features._inner(line, i))
        ]
        i = 0
        while i < len(marks):
            closing = [k for k in range(i + 1, len(marks)) if line[marks[k]] == line[marks[i]]]
            if not closing:
                i += 1
                continue
            out[start + marks[i] : start + marks[closing[0]]] = 1.0
            i = closing[0] + 1
        start += len(line) + 1
    return out


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab\"' \n", max_size=60))
def test_the_linear_quote_feature_is_the_definitions(text):
    assert np.array_equal(features.compute("quote", text), quote_spec(text))


def test_quote_examples():
    text = "say \"hi\" don't 'go'\n\"open"
    got = "".join(str(int(v)) for v in features.compute("quote", text))
    assert got == "0000111000000001110000000"


# A million characters of each feature's worst case: at one pass each, a few seconds in all;
# the old quote feature took about 240 s on 200,000 marks (four minutes, growing as n^2).
WORST = """
import sys
from charlm.inspect import features
n = 10**6
texts = ["'" + '"' * n, "'\\"" * (n // 2), "(" * n, " " * n, "a" * n]
for text in texts:
    for name in (*features.NAMES, "regex:a+", "regex:(a|b)*"):
        assert len(features.compute(name, text)) == len(text)
print("ok")
"""


def test_every_feature_reads_a_million_hostile_characters_in_one_pass():
    done = subprocess.run([sys.executable, "-c", WORST], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.stdout == "ok\n", done.stderr


def test_a_catastrophic_regex_gives_up_in_one_line(workdir, monkeypatch):
    result = invoke("train", "--corpus", "corpus.txt", "--steps", 2, "--run", "m", *TINY)
    assert result.exit_code == 0, result.output
    (workdir / "t.txt").write_text("a" * 40 + " ")  # (a+)+$ backtracks 2^40 ways here
    monkeypatch.setattr(features, "REGEX_SECONDS", 0.5)
    before = tree_state(workdir)
    result = invoke("neurons", "--checkpoint", "checkpoints/m", "--file", "t.txt",
                    "--skip-unknown", "--find", "regex:(a+)+$", "--html", "n.html")  # fmt: skip
    refused(result, "regex:(a+)+$: gave up after 0.5 s (the pattern backtracks too much")
    assert tree_state(workdir) == before
    # the bound leaves no timer or handler behind, and a pattern that ends is not bounded
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    found = features.compute("regex:a+!", "a" * 40 + "!")
    assert found.sum() == 41
