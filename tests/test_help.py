"""--help is the first screen a newcomer reads: at 80 columns every line fits, a command's
summary is one sentence and no paragraph is broken by a hard line break in its docstring,
and a flag shows no type beside it, as if it took a value."""

import os
import subprocess
import sys

import pytest
import typer.main

from charlm.cli import app


def command_paths():
    """Every command and group, as the words that name it ([] is charlm itself)."""
    found = []

    def walk(cmd, words):
        found.append(words)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return found


def _help(words):
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    done = subprocess.run([sys.executable, "-m", "charlm", *words, "--help"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


@pytest.mark.parametrize("words", command_paths(), ids=lambda w: " ".join(w) or "charlm")
def test_help_fits_80_columns_and_shows_no_type_for_a_flag(words):
    text = _help(words)
    assert "Usage:" in text and "--help" in text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "<bool>" not in text and "BOOLEAN" not in text
    for line in text.splitlines():  # a flag's row: its name, then straight to its help
        if "--help " in line:
            assert "Show this message and exit." in line


def test_every_summary_is_one_sentence_on_one_line():
    groups = [app] + [g.typer_instance for g in app.registered_groups]
    docs = [c.callback.__doc__ for g in groups for c in g.registered_commands]
    assert len(docs) >= 14  # every command: train ... import, corpus make
    for doc in docs:
        first = doc.strip().split("\n\n")[0]
        assert "\n" not in first and first.endswith("."), first
        for paragraph in doc.strip().split("\n\n"):  # rich keeps a docstring's line breaks
            assert "\n" not in paragraph.strip(), paragraph


def test_the_command_list_reads_each_summary_whole():
    text = _help([])
    listed = text[text.index("Commands") :]
    for name in ("neurons", "gates", "corpus"):
        row = listed[listed.index(f" {name} ") :].split("\n")
        # the summary's lines up to the next command end the sentence with a full stop
        lines = [row[0]] + [r for r in row[1:4] if r.startswith("│" + " " * 6)]
        assert "".join(lines).rstrip(" │").endswith("."), lines
