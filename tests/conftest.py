"""Fixtures shared by the tests; the helper functions they use are in tests/helpers.py."""

import pytest

from tests.helpers import write_corpus


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A project folder as the current one: corpus.txt (3,000 characters), and checkpoints/
    made by the runs."""
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "corpus.txt", 3000)
    return tmp_path
