"""Text to character ids, the vocabulary, the train/validation split and the batch stream.

A corpus is read in blocks and held only as its ids: one byte per character when the
vocabulary has at most 256 symbols, two up to 65,536 (a 100 MB corpus costs about 100 MB).

Batches, as char-rnn's loader: the training ids (N of them) are cut into B contiguous
streams of L = (N - 1) // B characters, and window w of T steps is
    x[t, b] = ids[b*L + w*T + t]        y[t, b] = ids[b*L + w*T + t + 1]
for w = 0 .. L // T - 1, one epoch. Stream b of window w+1 continues where stream b of window w
stopped, so the hidden state carries from one window to the next.
"""

import codecs
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm import files, memory
from charlm.errors import CharlmError
from charlm.run.rules import check_text_encoding
from charlm.run.textset import TextSet

BLOCK = 1 << 22  # bytes read at a time
UNICODE = 0x110000  # code points


def valid_codes(codes, byte_level):
    """Whether codes (an integer array, e.g. read from a file) can be a vocabulary: one
    dimension, not empty, strictly ascending, within Unicode (or bytes), no lone surrogates
    (U+D800..U+DFFF are not characters: no text can hold them)."""
    codes = np.asarray(codes)
    return bool(
        codes.ndim == 1
        and len(codes)
        and codes.dtype.kind in "iu"
        and codes.min() >= 0
        and codes.max() < (256 if byte_level else UNICODE)
        and (np.diff(codes.astype(np.int64)) > 0).all()
        and (byte_level or not ((codes >= 0xD800) & (codes < 0xE000)).any())
    )


@dataclass(frozen=True)
class Vocab:
    """The sorted symbols of a corpus: Unicode code points, or byte values (byte_level)."""

    codes: np.ndarray  # (V,) uint32, ascending
    byte_level: bool = False

    def __len__(self):
        return len(self.codes)

    @property
    def dtype(self):
        return np.uint8 if len(self) <= 256 else np.uint16 if len(self) <= 65536 else np.uint32

    def symbol(self, i):
        """Symbol i as text (a byte shows as itself if printable ASCII, else as \\xNN)."""
        code = int(self.codes[i])
        if self.byte_level:
            return chr(code) if 32 <= code < 127 or code in (9, 10) else f"\\x{code:02x}"
        return chr(code)

    def unknown(self, codes):
        """The symbols of `codes` (an array) missing from the vocabulary, sorted and quoted."""
        missing = np.setdiff1d(np.unique(codes), self.codes)
        return [repr(chr(c)) if not self.byte_level else f"'\\x{c:02x}'" for c in missing.tolist()]

    def encode(self, text, skip_unknown=False):
        """Ids (n,) of a str (UTF-8 encoded first for a byte-level vocabulary) or bytes."""
        if self.byte_level and isinstance(text, str):
            # surrogateescape: an argument that was not UTF-8 gives back its own bytes
            text = text.encode("utf-8", "surrogateescape")
        codes = _codes(text)
        missing = self.unknown(codes)
        if missing and not skip_unknown:
            raise CharlmError(f"{_describe(missing)} not in the model's vocabulary")
        codes = codes[np.isin(codes, self.codes)]
        return np.searchsorted(self.codes, codes).astype(np.int64)

    def decoder(self):
        """A function ids -> text; for bytes, stateful, so a UTF-8 sequence split over two
        calls still decodes (invalid bytes show as U+FFFD)."""
        if not self.byte_level:
            return lambda ids: "".join(chr(c) for c in self.codes[np.asarray(ids)].tolist())
        inc = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return lambda ids: inc.decode(self.codes[np.asarray(ids)].astype(np.uint8).tobytes())

    def decode(self, ids):
        return self.decoder()(ids)


def _codes(text):
    if isinstance(text, bytes | bytearray):
        return np.frombuffer(bytes(text), dtype=np.uint8).astype(np.uint32)
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.uint32)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _describe(symbols, limit=10):
    shown = " ".join(symbols[:limit])  # already quoted by Vocab.unknown
    more = f" and {len(symbols) - limit} more" if len(symbols) > limit else ""
    noun = "character" if len(symbols) == 1 else "characters"
    return f"{len(symbols)} {noun} ({shown}{more})"


class _Source:
    """A corpus file, opened once per pass. A regular file is read from disk each time; any
    other input (a pipe, /dev/stdin, a FIFO) is read once into memory, as it cannot be read
    twice. Each pass hashes the bytes, so a file that changes between passes is caught."""

    def __init__(self, path):
        self.path = Path(path)
        regular = files.is_regular(self.path)
        self.data = None if regular else files.read_bytes(path, "corpus file")

    @property
    def size(self):
        """Its size in bytes (a regular file's on disk: 0 if it cannot be told)."""
        return len(self.data) if self.data is not None else _size(self.path)

    def open(self):
        if self.data is not None:
            return io.BytesIO(self.data)
        return files.open_input(self.path, "corpus file")


def _blocks(source, encoding, digest):
    """Yield the corpus's code points (uint32 arrays) block by block, updating digest (a
    hashlib object) with the bytes read. encoding "bytes" yields byte values. A leading
    byte-order mark (U+FEFF) is not text and is dropped. A decoding error names its offset."""
    path = source.path
    with source.open() as f:
        if encoding == "bytes":
            while block := _read(f, path):
                digest.update(block)
                yield np.frombuffer(block, dtype=np.uint8).astype(np.uint32)
            return
        decoder = codecs.getincrementaldecoder(encoding)()
        offset, first = 0, True  # bytes read before this block
        while True:
            block = _read(f, path)
            digest.update(block)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                at = offset - pending + e.start
                raise CharlmError(
                    f"{path}: not valid {encoding} at byte offset {at:,} ({e.reason}); "
                    f"convert the file to {encoding}, set data.encoding to its encoding, "
                    f"or use data.encoding: bytes"
                ) from None
            except (ValueError, TypeError) as e:  # UnicodeError and the codecs' own errors
                raise CharlmError(
                    f"{path}: cannot decode as {encoding} ({str(e)[:80]}); "
                    f"set data.encoding to the file's encoding, or use data.encoding: bytes"
                ) from None
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            if text:
                yield _codes(text)
            if not block:
                return
            offset += len(block)


def _read(f, path):
    try:
        return f.read(BLOCK)
    except OSError as e:
        raise CharlmError(f"{path}: cannot read the corpus ({e.strerror or e})") from None


def check_encoding(encoding):
    """Refuse a name that is not a text encoding (charlm.run.rules.check_text_encoding)."""
    check_text_encoding(encoding, "data.encoding")


@dataclass
class Text:
    """A corpus read: its ids, vocabulary, and identity (size in bytes and SHA-256)."""

    ids: np.ndarray
    vocab: Vocab
    size: int
    sha256: str


def read(path, encoding="utf-8", vocab=None):
    """(ids (N,), vocab) of a corpus file (load())."""
    text = load(path, encoding, vocab)
    return text.ids, text.vocab


def load(path, encoding="utf-8", vocab=None, check=None):
    """A Text of a corpus file, in two passes over it: count symbols, then encode.

    vocab: encode with this vocabulary (a checkpoint's) instead of the file's own; a symbol
    outside it is an error that names it. check(size, sha256): called after the first pass,
    to refuse a text by its identity first. Sizes are checked before the ids are allocated.
    """
    check_encoding(encoding)
    source = path if isinstance(path, TextSet) else _Source(path)
    counts = np.zeros(256 if encoding == "bytes" else UNICODE, dtype=np.int64)
    first = hashlib.sha256()
    for codes in _blocks(source, encoding, first):
        counts += np.bincount(codes, minlength=len(counts))
    n = int(counts.sum())
    size = source.size
    if check is not None and n:
        check(size, first.hexdigest())
    if n == 0:
        raise CharlmError(f"{path}: the corpus is empty; point data.corpus at a text file")
    if encoding != "bytes" and counts[0xD800:0xE000].any():
        raise CharlmError(
            f"{path}: decoded as {encoding}, it holds surrogate code points (U+D800..U+DFFF), "
            f"which are not characters; use the file's real encoding (utf-8?) or bytes"
        )
    present = np.flatnonzero(counts).astype(np.uint32)
    if vocab is None:
        vocab = Vocab(present, byte_level=encoding == "bytes")
    else:
        missing = vocab.unknown(present)
        if missing:
            raise CharlmError(
                f"{path}: {_describe(missing)} not in the checkpoint's vocabulary; "
                f"the model can only read text made of the characters it was trained on"
            )
    table = np.zeros(len(counts), dtype=vocab.dtype)
    table[vocab.codes] = np.arange(len(vocab), dtype=vocab.dtype)
    memory.require(n * np.dtype(vocab.dtype).itemsize, f"{path}: its {n:,} characters need")
    ids = np.empty(n, dtype=vocab.dtype)
    at, second = 0, hashlib.sha256()
    for codes in _blocks(source, encoding, second):
        if at + len(codes) > n:
            break
        ids[at : at + len(codes)] = table[codes]
        at += len(codes)
    if at != n or second.digest() != first.digest():
        raise CharlmError(f"{path}: the file changed while charlm read it; run the command again")
    return Text(ids, vocab, size, first.hexdigest())


def _size(path):
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def split(ids, val_fraction, test_fraction=0.0):
    """(train, val, test) views: the last test_fraction of the characters is the test split,
    the val_fraction before it the validation split, each a fraction of the whole text (so
    0.05 and 0.05 of enwik8's 10^8 bytes are its standard 90M/5M/5M split)."""
    n_test, n_val = int(len(ids) * test_fraction), int(len(ids) * val_fraction)
    end = len(ids) - n_test
    return ids[: end - n_val], ids[end - n_val : end], ids[end:]


class Batches:
    """B contiguous streams through `ids`, read as windows of T steps (module docstring)."""

    def __init__(self, ids, batch_size, seq_len):
        self.ids, self.B, self.T = ids, batch_size, seq_len
        self.L = (len(ids) - 1) // batch_size  # characters per stream
        self.windows = self.L // seq_len  # windows per epoch
        self._offsets = None  # made on first use: the caller checks the sizes first

    @property
    def offsets(self):
        """offsets[t, b] of window 0; window w adds w*T."""
        if self._offsets is None:
            self._offsets = np.add.outer(np.arange(self.T), np.arange(self.B) * self.L)
        return self._offsets

    def window(self, w):
        """(x, y), each (T, B) int64 ids, of window w of an epoch."""
        at = self.offsets + w * self.T
        return self.ids[at].astype(np.int64), self.ids[at + 1].astype(np.int64)


def eval_windows(ids, streams, seq_len, warmup=0, cloze=False):
    """Every prediction of a text, once, read as `streams` streams side by side (fewer for a
    short text) in windows of seq_len steps, the last one shorter; then the fewer than B
    predictions left over, as one stream (t, 1) that continues the last stream, so a caller
    carrying state keeps only that stream's column.

    A prediction is ids[i] -> ids[i + 1]; for a cloze model (cloze=True) it is position i
    itself, so x = y and the text's every character is one.
    warmup: each stream but the first starts this many steps before the first prediction it
    scores, so it does not predict from a cold (zero) state: those steps' predictions belong
    to the stream before, and `scored` leaves them out. Stream 0 starts at the text's start.
    Yields (x, y, scored): x, y (t, B) or (t, 1) ids; scored a (t, B) bool mask, or None when
    every prediction of the window counts.
    """
    n = len(ids) - (0 if cloze else 1)  # predictions
    shift = 0 if cloze else 1
    B = max(1, min(streams, n // (seq_len + warmup)))
    W = warmup if B > 1 else 0
    L = (n - W) // B  # the predictions each stream but the first scores; the first, L + W
    starts = np.arange(B) * L  # stream b reads from b L and scores from b L + W (b > 0)
    for t0 in range(0, L + W, seq_len):
        steps = np.arange(t0, min(t0 + seq_len, L + W))
        at = np.add.outer(steps, starts)
        scored = None
        if t0 < W:
            scored = np.ones(at.shape, dtype=bool)
            scored[steps < W, 1:] = False
        yield ids[at].astype(np.int64), ids[at + shift].astype(np.int64), scored
    for t0 in range(B * L + W, n, seq_len):
        at = np.arange(t0, min(t0 + seq_len, n))[:, None]
        yield ids[at].astype(np.int64), ids[at + shift].astype(np.int64), None
