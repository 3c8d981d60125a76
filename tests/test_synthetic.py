"""charlm corpus make: seeded generators whose answers check out, written safely."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import charlm
from charlm.cli import app
from charlm.errors import CharlmError
from charlm.run import synthetic
from tests.helpers import refused

runner = CliRunner()


@settings(max_examples=30, deadline=None)
@given(gap=st.integers(1, 60), keys=st.integers(2, 26), seed=st.integers(0, 2**32 - 1))
def test_recall_records(gap, keys, seed):
    text = synthetic.recall(2000, gap, seed, keys)
    assert text == synthetic.recall(2000, gap, seed, keys)  # seeded: the same text again
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == max(1, 2000 // (gap + 4))
    for line in lines[:-1]:
        key, filler, mark, again = line[0], line[1 : gap + 1], line[gap + 1], line[gap + 2 :]
        assert key in synthetic.KEYS[:keys] and again == key and mark == ":"
        assert len(filler) == gap and set(filler) <= set(synthetic.FILLER)
    positions, answers = synthetic.recall_answers(text)
    assert "".join(text[i] for i in positions) == "".join(answers)
    assert all(text[i - 1] == ":" and text[i + 1] == "\n" for i in positions)
    assert answers == [line[0] for line in lines[:-1]]


def test_recall_seeds_differ_and_keys_are_all_used():
    a, b = synthetic.recall(10_000, 10, 1), synthetic.recall(10_000, 10, 2)
    assert a != b and len(a) == len(b)
    assert {line[0] for line in a.splitlines()} == set("ABCDEFGH")


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_bracket_lines_are_balanced_and_exactly_deep(depth, seed):
    text = synthetic.brackets(500, depth, seed)
    assert text == synthetic.brackets(500, depth, seed)
    assert len(text) >= 500 and text.endswith("\n")
    assert all(synthetic.bracket_depth(line) == depth for line in text.splitlines())


def test_bracket_depth_checks_balance():
    assert synthetic.bracket_depth("([]{<>})") == 3
    assert synthetic.bracket_depth("([)]") is None
    assert synthetic.bracket_depth("((") is None
    assert synthetic.bracket_depth("())") is None


@pytest.mark.parametrize(
    "kind, options, message, option",
    [
        ("recall", {"gap": 0}, "gap=0: must be 1 or more", "--gap 0: must be 1 or more"),
        ("recall", {"keys": 27}, "keys=27: must be at most 26", "--keys 27: must be at most 26"),
        ("brackets", {"depth": 0}, "depth=0: must be 1 or more", "--depth 0: must be 1"),
        ("recall", {"size": 0}, "size=0: must be 1 or more", "--size 0: must be 1 or more"),
        ("recall", {"size": 10**10}, "size=10000000000: must be at most 1,000,000,000",
         "--size 10000000000: must be at most 1,000,000,000"),
        ("recall", {"gap": 200}, "gap=200: a record is gap + 4 characters, more than size 100",
         "--gap 200: a record is --gap + 4 characters, more than --size 100; lower --gap"),
        ("parity", {}, "kind='parity': expected recall or brackets", "expected recall or"),
    ],
)  # fmt: skip
def test_errors(tmp_path, kind, options, message, option):
    """Refused by charlm.make_corpus naming its parameters, and by the command its options."""
    options = {"size": 100, **options}
    out = tmp_path / "c.txt"
    with pytest.raises(CharlmError) as e:
        charlm.make_corpus(kind, out=out, **options)
    assert str(e.value).startswith(message)
    args = [a for k, v in options.items() for a in (f"--{k}", str(v))]
    refused(runner.invoke(app, ["corpus", "make", kind, *args, "--out", str(out)]), option)
    assert not out.exists()


def test_cli_writes_under_corpora_and_never_clobbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["corpus", "make", "recall", "--gap", "6", "--size", "1000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    path = tmp_path / "corpora" / "recall-gap6.txt"
    assert path.read_text(encoding="utf-8") == synthetic.recall(1000, 6, 0)
    assert "wrote corpora/recall-gap6.txt: 1,000 characters in 100 lines" in result.output
    assert "charlm train --corpus corpora/recall-gap6.txt" in result.output
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "unchanged corpora/recall-gap6.txt" in result.output
    result = runner.invoke(app, [*args, "--seed", "1"])
    assert result.exit_code == 2
    assert "corpora/recall-gap6.txt already exists; pass --force" in result.output
    assert path.read_text(encoding="utf-8") == synthetic.recall(1000, 6, 0)
    result = runner.invoke(app, [*args, "--seed", "1", "--force"])
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == synthetic.recall(1000, 6, 1)
    out = tmp_path / "b.txt"
    result = runner.invoke(app, ["corpus", "make", "brackets", "--depth", "3", "--out", str(out)])
    lines = out.read_text(encoding="utf-8").splitlines()
    assert result.exit_code == 0 and len(lines) > 1000
    assert {synthetic.bracket_depth(line) for line in lines} == {3}
    assert not list(tmp_path.glob(".*.tmp"))
    assert np.isclose(sum(map(len, lines)) + len(lines), 1_000_000, rtol=1e-3)
