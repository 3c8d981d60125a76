"""A folder or a glob as a corpus: the text is the members in sorted path order joined by
data.separator; what is not text, hidden, a link out of the folder, a FIFO or the run's own
folder is skipped (and never opened); the set is known by its files, so a resume names what
changed; every bad input is one line and writes nothing."""

import os

import numpy as np
import pytest

import charlm
from charlm.errors import CharlmError
from charlm.run import data, textset
from tests.helpers import TINY, invoke, refused, tree_state


def _text(name, sep="\n", encoding="utf-8", skip=()):
    found = textset.scan(str(name), encoding, sep, skip=skip)
    loaded = data.load(found, encoding)
    return found, loaded.vocab.decode(loaded.ids)


@pytest.fixture
def notes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "notes"
    (root / "b").mkdir(parents=True)
    (root / "a.txt").write_text("alpha one\n" * 60)
    (root / "b" / "c.md").write_text("charlie two\n" * 60)
    (root / "b-d.txt").write_text("delta three\n" * 60)
    (root / ".hidden.txt").write_text("never read\n")
    (root / "img.bin").write_bytes(bytes(range(256)))
    (root / "latin.txt").write_bytes("café\n".encode("latin-1"))
    (root / "out").symlink_to("/etc/hostname")
    (root / "loop").symlink_to(".")
    (root / "same.txt").symlink_to("a.txt")
    os.mkfifo(root / "pipe")  # opened, it would block: it must be skipped unopened
    return root


def test_a_folder_is_its_text_files_in_path_order_joined_by_the_separator(notes):
    found, text = _text(notes)
    order = ["a.txt", "b-d.txt", "b/c.md", "same.txt"]  # sorted as paths: "b-d" < "b/"
    assert [m.rel for m in found.members] == order
    parts = [(notes / rel).read_text() for rel in order]
    assert text == "\n".join(parts)
    assert dict(found.skipped) == {
        "img.bin": "binary", "latin.txt": "not utf-8", "out": "a link out of the folder",
        "loop": "a link to a folder", "pipe": "not a regular file",
    }  # fmt: skip
    _, joined = _text(notes, sep="\n---\n")
    assert joined == "\n---\n".join(parts)
    found, _ = _text(notes, encoding="bytes")  # as bytes, every regular file reads
    assert [m.rel for m in found.members] == ["a.txt", "b-d.txt", "b/c.md", "img.bin",
                                              "latin.txt", "same.txt"]  # fmt: skip


def test_a_glob_is_charlms_own(notes):
    found, _ = _text("notes/**/*.md")
    assert [m.rel for m in found.members] == ["b/c.md"]
    found, _ = _text("notes/*.txt")
    assert [m.rel for m in found.members] == ["a.txt", "b-d.txt", "same.txt"]
    found, _ = _text("notes/**/*.txt")  # ** is any number of folders, none included
    assert [m.rel for m in found.members] == ["a.txt", "b-d.txt", "same.txt"]


def test_the_identity_is_the_files(notes):
    first = textset.scan(str(notes), "utf-8", "\n").identity()
    assert first == textset.scan(str(notes), "utf-8", "\n").identity()
    (notes / "a.txt").write_text("alpha one\n" * 61)
    changed = textset.scan(str(notes), "utf-8", "\n")
    assert changed.identity()["sha256"] != first["sha256"]
    assert textset.scan(str(notes), "utf-8", "\n\n").identity()["sha256"] != first["sha256"]


def test_a_file_that_changes_while_it_is_read_is_caught(notes):
    found = textset.scan(str(notes), "utf-8", "\n")
    (notes / "b" / "c.md").write_text("charlie TWO\n" * 60)  # same size, new bytes
    with pytest.raises(CharlmError, match="a file changed while charlm read it"):
        data.load(found, "utf-8")
    (notes / "b" / "c.md").unlink()
    with pytest.raises(CharlmError, match="b/c.md changed while charlm read it"):
        data.load(found, "utf-8")


def test_training_on_a_folder_and_resuming_names_what_changed(notes):
    result = invoke("train", "--corpus", "notes/", "--steps", 3, *TINY)
    assert result.exit_code == 0, result.output
    assert "notes/: 4 files read, 5 skipped: img.bin (binary), latin.txt (not utf-8), loop" in (
        result.stdout
    )
    model = charlm.load("checkpoints/lstm")
    corpus = model.checkpoint.corpus
    assert corpus["files"] == 4 and corpus["path"] == str(notes)
    assert [m[0] for m in corpus["manifest"]] == ["a.txt", "b-d.txt", "b/c.md", "same.txt"]
    assert model.evaluate()["bpc"] > 0  # the validation split is found again from the folder
    (notes / "one.txt").write_text("alpha one\n" * 60)
    refused(invoke("train", "--resume", "--corpus", "notes/one.txt", "--steps", 5),
            f"one.txt: this run trained on the 4 files of {notes}, not on one file")  # fmt: skip
    (notes / "one.txt").unlink()
    (notes / "new.txt").write_text("echo four\n" * 10)
    (notes / "b-d.txt").unlink()
    (notes / "b" / "c.md").write_text("changed\n")
    before = tree_state(notes.parent)
    refused(invoke("train", "--resume", "--steps", 5),
            "notes/: not the files this run trained on (1 added (new.txt); 1 removed (b-d.txt); "
            "1 modified (b/c.md))")  # fmt: skip
    assert tree_state(notes.parent) == before


def test_the_run_folder_inside_the_corpus_folder_is_not_read(notes, monkeypatch):
    monkeypatch.chdir(notes)
    result = invoke("train", "--corpus", ".", "--steps", 2, *TINY)
    assert result.exit_code == 0, result.output
    result = invoke("train", "--resume", "--steps", 4)  # its metrics and report grew
    assert result.exit_code == 0, result.output
    assert charlm.load("checkpoints/lstm").checkpoint.corpus["files"] == 4


@pytest.mark.parametrize(
    "make, corpus, message",
    [
        (lambda r: (r / "empty").mkdir(), "empty/", "empty/: holds no file"),
        (lambda r: None, "nowhere/*.txt", "nowhere/*.txt: no folder nowhere to match"),
        (lambda r: (r / "x").mkdir(), "x/*.zzz", "x/*.zzz: matches no file"),
        (
            lambda r: ((r / "bin").mkdir(), (r / "bin" / "a.bin").write_bytes(b"\0\1")),
            "bin/",
            "bin/: 0 files read, 1 skipped: a.bin (binary): holds no utf-8 text",
        ),
        (
            lambda r: (
                (r / "p").mkdir(),
                (r / "p" / "[a].txt").write_text("x" * 99),
                (r / "p" / "a.txt").write_text("y" * 99),
            ),  # fmt: skip
            "p/[a].txt",
            "p/[a].txt: names a file and is also a pattern matching other files",
        ),
    ],
)
def test_bad_folders_are_one_line_and_write_nothing(tmp_path, monkeypatch, make, corpus, message):
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    before = tree_state(tmp_path)
    refused(invoke("train", "--corpus", corpus, "--steps", 2, *TINY), message)
    assert tree_state(tmp_path) == before


def test_a_deep_tree_is_walked_without_recursion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    deep = tmp_path / "deep"
    leaf = deep.joinpath(*["d"] * 300)
    leaf.mkdir(parents=True)
    (leaf / "t.txt").write_text("down here\n" * 100)
    found, text = _text("deep")
    assert [m.rel.count("/") for m in found.members] == [300] and text == "down here\n" * 100


def test_the_manifest_survives_the_checkpoint_and_a_damaged_one_is_one_line(notes):
    assert invoke("train", "--corpus", "notes/", "--steps", 2, *TINY).exit_code == 0
    path = notes.parent / "checkpoints" / "lstm" / "latest.npz"
    with np.load(path) as z:
        arrays = dict(z)
    arrays["meta/corpus_files"] = np.frombuffer(b"not zlib at all", dtype=np.uint8)
    np.savez(path, **arrays)
    refused(invoke("train", "--resume", "--steps", 4), "corrupted metadata (meta/corpus_files)")
