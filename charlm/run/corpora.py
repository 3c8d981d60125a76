"""The corpus catalog: names that `data.corpus` may use instead of a path.

A catalog corpus is downloaded on first use into the corpora folder (`corpora/` in the current
directory), through the guarded writer (charlm.files): to a temporary file that is renamed
into place only once its size and sha256 match, so an interrupted or corrupted download never
leaves a file that looks whole.
"""

import hashlib
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
    return corpus not in CATALOG and textset.is_set(corpus)


def resolve(corpus, directory=CORPORA_DIR, progress=None):
    """The path of a corpus: `corpus` itself if it names a file (or anything with a path
    separator or suffix), else a catalog name, downloaded into `directory` when missing.

    progress(done_bytes, total_bytes) is called while downloading.
    """
    path = Path(corpus)
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
                f"cannot download corpus '{entry.name}' ({reason}); {how_to_fix}"
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
