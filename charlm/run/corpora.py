"""The corpus catalog: names that `data.corpus` may use instead of a path.

A catalog corpus is downloaded on first use into the corpora folder (`corpora/` in the current
directory) and checked against its size and SHA-256 (run/download.py); python-stdlib is built
there from the running Python's own sources, with no network. Sources and licences:
corpora/README.md.
"""

import contextlib
import hashlib
import json
import os
import platform
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from charlm import files
from charlm.errors import CharlmError
from charlm.run import download, textset

CORPORA_DIR = Path("corpora")


@dataclass(frozen=True)
class Entry:
    name: str
    url: str
    size: int  # bytes
    sha256: str
    about: str
    member: str | None = None  # a zip download: the file in it that is the corpus
    text_size: int | None = None  # that file's bytes

    @property
    def filename(self):
        return f"{self.name}.txt"


# The sizes and SHA-256 of the two zips are those pinned by other projects that download
# them, and their sizes those of TensorFlow's word2vec tutorial (text8) and Hugging Face's
# enwik8 dataset card; neither can be checked from a machine without network (corpora/README.md).
MAHONEY = "https://mattmahoney.net/dc"


CATALOG = {
    "tinyshakespeare": Entry(
        name="tinyshakespeare",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        size=1_115_394,
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        about="40,000 lines of Shakespeare's plays, as in Karpathy's char-rnn",
    ),
    "enwik8": Entry(
        name="enwik8",
        url=f"{MAHONEY}/enwik8.zip",
        size=36_445_475,
        sha256="547994d9980ebed1288380d652999f38a14fe291a6247c157c3d33d4932534bc",
        about="the first 10^8 bytes of an English Wikipedia XML dump (the Hutter Prize's)",
        member="enwik8",
        text_size=100_000_000,
    ),
    "text8": Entry(
        name="text8",
        url=f"{MAHONEY}/text8.zip",
        size=31_344_016,
        sha256="a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
        about="English Wikipedia cleaned to the 26 lower-case letters and the space",
        member="text8",
        text_size=100_000_000,
    ),
}


def is_set(corpus):
    """Whether data.corpus names a folder or a pattern (run/textset.py), not a catalog name."""
    return corpus not in (*CATALOG, PYTHON_STDLIB) and textset.is_set(corpus)


# A corpus every machine has: the running Python's standard library, built with no network.
PYTHON_STDLIB = "python-stdlib"
STDLIB_LIMIT = 4 << 20  # bytes: the first files in path order up to this
STDLIB_LEFT_OUT = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
GENERATED = b"with gencodec.py"  # the mark of a generated codec table


def stdlib_files(root=None):
    """[(relative path, path)] of the standard library's .py files, sorted, without tests,
    site-packages and hidden folders."""
    root = Path(root or sysconfig.get_paths()["stdlib"])
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in STDLIB_LEFT_OUT and d[0] != "."]
        for name in names:
            if name.endswith(".py"):
                path = Path(folder) / name
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def build_python_stdlib(target, root=None, limit=STDLIB_LIMIT):
    """Write python-stdlib: the stdlib's UTF-8 .py files in path order (less the generated
    codec tables), each followed by an empty line, until `limit` bytes; beside it,
    target.json records the Python version, the files read and the SHA-256 of the text.
    Returns that record."""
    parts, size = [], 0
    for rel, path in stdlib_files(root):
        try:
            data = path.read_bytes()
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # unreadable or not UTF-8: not part of the corpus
        if GENERATED in data[:1000]:
            continue  # a codec's character table (encodings/cp1252.py ...): data, not code
        if size + len(data) + 1 > limit:
            break
        parts.append((rel, data + b"\n"))
        size += len(data) + 1
    text = b"".join(data for _, data in parts)
    record = {
        "python": platform.python_version(),
        "files": [rel for rel, _ in parts],
        "bytes": len(text),
        "sha256": hashlib.sha256(text).hexdigest(),
    }
    files.write_bytes(target, text, "corpus")
    files.write_bytes(Path(target).with_suffix(".json"), json.dumps(record, indent=1).encode(),
                      "corpus record", force=True)  # fmt: skip
    return record


def resolve(corpus, directory=CORPORA_DIR, progress=None):
    """The path of a corpus: `corpus` itself if it names a file (or anything with a path
    separator or suffix), else a catalog name, downloaded into `directory` when missing (a
    local one, python-stdlib, built there).

    progress(done_bytes, total_bytes) is called while downloading.
    """
    path = Path(corpus)
    if corpus == PYTHON_STDLIB and not path.exists():
        target = Path(directory) / f"{PYTHON_STDLIB}.txt"
        if not target.exists():
            build_python_stdlib(target)
        return target
    if corpus not in CATALOG or path.exists():
        return path
    entry = CATALOG[corpus]
    target = Path(directory) / entry.filename
    if os.path.lexists(target):
        return target
    try:
        _fetch(entry, target, progress)
    except CharlmError:
        if not os.path.lexists(target):
            raise
        # another charlm finished the same download first: its file is checked and whole
    return target


def _fetch(entry, target, progress):
    """Download entry to target: the file itself, or its zip and then the zip's member."""
    if entry.member is None:
        download.fetch(entry, target, progress)
        return
    archive = target.with_name(f"{entry.name}.zip")
    if os.path.lexists(archive):
        download.verified(entry, archive)  # placed by hand, or kept from a failed extraction
    else:
        download.fetch(entry, archive, progress)
    download.extract(entry, archive, target)
    with contextlib.suppress(OSError):  # the corpus is whole; the archive is 36 MB of no use
        archive.unlink()
