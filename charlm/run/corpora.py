"""The corpus catalog: names that `data.corpus` may use instead of a path.

A catalog corpus is downloaded on first use into the corpora folder (`corpora/` in the current
directory), through the guarded writer (charlm.files): to a temporary file that is renamed
into place only once its size and sha256 match, so an interrupted or corrupted download never
leaves a file that looks whole.
"""

import hashlib
import json
import os
import platform
import sysconfig
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from charlm import files
from charlm.errors import CharlmError
from charlm.run import textset

CORPORA_DIR = Path("corpora")


@dataclass(frozen=True)
class Entry:
    name: str
    url: str
    size: int  # bytes
    sha256: str
    about: str

    @property
    def filename(self):
        return f"{self.name}.txt"


CATALOG = {
    "tinyshakespeare": Entry(
        name="tinyshakespeare",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        size=1_115_394,
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        about="40,000 lines of Shakespeare's plays, as in Karpathy's char-rnn",
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
    if not target.exists():
        download(entry, target, progress)
    return target


def download(entry, target, progress=None, timeout=30):
    """Fetch entry.url into target through the guarded writer, verifying size and sha256
    before the temporary file is renamed into place."""
    target = Path(target)
    how_to_fix = (
        f"download {entry.url} yourself and place it at {target} "
        f"({entry.size:,} bytes, sha256 {entry.sha256})"
    )

    def fetch(f):
        digest, done = hashlib.sha256(), 0
        try:
            response = urllib.request.urlopen(entry.url, timeout=timeout)
            with response:
                while block := response.read(1 << 16):
                    f.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, entry.size)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            reason = getattr(e, "reason", None) or e
            raise CharlmError(
                f"cannot download corpus '{entry.name}' ({reason}); {how_to_fix}, or train "
                f"offline on {PYTHON_STDLIB} (--corpus {PYTHON_STDLIB}: this Python's own "
                f"standard library)"
            ) from None
        if done != entry.size or digest.hexdigest() != entry.sha256:
            raise CharlmError(
                f"corpus '{entry.name}' downloaded from {entry.url} does not match the catalog "
                f"({done:,} bytes, sha256 {digest.hexdigest()}); {how_to_fix}"
            )

    try:
        files.write(target, fetch, "corpus")
    except CharlmError as e:
        if not str(e).startswith("cannot write corpus"):
            raise
        raise CharlmError(f"{e}; {how_to_fix}") from None
