"""Reading corpora into ids, the vocabulary, the split and the batch streams."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charlm.errors import CharlmError
from charlm.run import data


def read_text(tmp_path, text, encoding="utf-8", **kw):
    path = tmp_path / "t.txt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return data.read(path, "utf-8" if encoding == "utf-8" else encoding, **kw)


def test_vocabulary_is_the_sorted_characters_and_ids_round_trip(tmp_path):
    text = "héllo wörld\nÅ→ é\n"
    ids, vocab = read_text(tmp_path, text)
    assert [vocab.symbol(i) for i in range(len(vocab))] == sorted(set(text))
    assert ids.dtype == np.uint8 and len(ids) == len(text)  # characters, not bytes
    assert vocab.decode(ids) == text
    assert vocab.encode(text).tolist() == ids.tolist()


@settings(max_examples=30, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300))
def test_any_text_round_trips_across_block_boundaries(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("rt")
    old, data.BLOCK = data.BLOCK, 7  # blocks end inside multi-byte characters
    try:
        ids, vocab = read_text(tmp, text)
    finally:
        data.BLOCK = old
    assert vocab.decode(ids) == text


def test_a_large_vocabulary_uses_two_bytes_per_character(tmp_path):
    text = "".join(chr(0x4E00 + i) for i in range(300))
    ids, vocab = read_text(tmp_path, text)
    assert ids.dtype == np.uint16 and vocab.decode(ids) == text


def test_invalid_utf8_names_the_byte_offset(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BLOCK", 5)  # the bad byte is in the third block
    with pytest.raises(CharlmError, match=r"not valid utf-8 at byte offset 11 \("):
        read_text(tmp_path, "abcdéfghij".encode() + b"\xff tail")


def test_other_encodings_and_the_byte_level_option(tmp_path):
    ids, vocab = read_text(tmp_path, "café", encoding="latin-1")
    assert vocab.decode(ids) == "café" and len(ids) == 4
    path = tmp_path / "b.bin"
    path.write_bytes("é!".encode())
    ids, vocab = data.read(path, "bytes")
    assert vocab.byte_level and ids.tolist() == [2, 1, 0]  # c3 a9 21; 0x21 < 0xa9 < 0xc3
    assert vocab.decode(ids) == "é!" and vocab.encode("é").tolist() == [2, 1]
    with pytest.raises(CharlmError, match="unknown encoding 'klingon'"):
        data.read(path, "klingon")


def test_reading_with_a_given_vocabulary_names_unknown_characters(tmp_path):
    _, vocab = read_text(tmp_path, "abc")
    with pytest.raises(CharlmError, match=r"2 characters \('x' 'y'\) not in the checkpoint's"):
        read_text(tmp_path, "abxy", vocab=vocab)
    ids, _ = read_text(tmp_path, "cab", vocab=vocab)
    assert ids.tolist() == [2, 0, 1]


def test_missing_empty_and_directory_corpora(tmp_path):
    with pytest.raises(CharlmError, match="corpus file not found"):
        data.read(tmp_path / "none.txt")
    with pytest.raises(CharlmError, match="is a directory"):
        data.read(tmp_path)
    (tmp_path / "e.txt").write_text("")
    with pytest.raises(CharlmError, match="the corpus is empty"):
        data.read(tmp_path / "e.txt")


def test_split_takes_the_last_fraction_as_validation():
    train, val, test = data.split(np.arange(100), 0.1)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))
    assert test.size == 0  # no data.test_fraction: nothing held out beyond validation
    train, val, test = data.split(np.arange(100), 0.1, 0.25)
    assert (train[-1], val[0], val[-1], test[0], test[-1]) == (64, 65, 74, 75, 99)


def test_batches_are_contiguous_streams_that_continue_across_windows():
    ids = np.arange(1000) % 251
    b = data.Batches(ids, batch_size=4, seq_len=10)
    assert b.L == 249 and b.windows == 24
    x0, y0 = b.window(0)
    x1, _ = b.window(1)
    assert x0.shape == (10, 4) and x0.dtype == np.int64
    for s in range(4):  # stream s of window 1 starts where window 0 stopped
        start = s * b.L
        assert x0[:, s].tolist() == (np.arange(start, start + 10) % 251).tolist()
        assert x1[0, s] == (start + 10) % 251
        assert (y0[:, s] == (np.arange(start + 1, start + 11) % 251)).all()
    x_last, y_last = b.window(b.windows - 1)
    assert y_last.max() <= ids.max() and (b.offsets + (b.windows - 1) * 10 + 1).max() < 1000


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 400), st.integers(1, 9), st.integers(1, 12), st.integers(0, 9), st.booleans())
def test_eval_windows_score_every_prediction_once(n, streams, seq_len, warmup, cloze):
    ids = np.arange(n)
    scored_targets, x_streams, masks = [], [], []
    for x, y, scored in data.eval_windows(ids, streams, seq_len, warmup, cloze):
        assert (y == (x if cloze else x + 1)).all()
        keep = np.ones(x.shape, dtype=bool) if scored is None else scored
        scored_targets += y[keep].tolist()
        if not x_streams or x.shape[1] == x_streams[0].shape[1]:  # not the leftover
            x_streams.append(x)
            masks.append(keep)
    first = 0 if cloze else 1
    assert sorted(scored_targets) == list(range(first, n))  # every prediction scored once
    columns, keep = np.concatenate(x_streams), np.concatenate(masks)
    assert (np.diff(columns, axis=0) == 1).all()  # each stream reads consecutive characters
    assert keep[:, 0].all()  # the first stream scores from the text's first prediction
    W = warmup if columns.shape[1] > 1 else 0
    for b in range(1, columns.shape[1]):
        # a later stream reads the W characters before its part, unscored, then scores on
        # from where the stream before it stopped
        assert not keep[:W, b].any() and keep[W:, b].all()
        assert columns[W, b] == columns[-1, b - 1] + 1
