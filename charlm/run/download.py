"""Fetching a catalog corpus (run/corpora.py): over HTTP into the corpora folder, and, for an
entry shipped as a zip (enwik8, text8), its one member out of the archive.

Every file goes through the guarded writer (charlm.files): a temporary file renamed into place
only once it is whole and checked, so an interrupted or corrupted download or extraction
never leaves a file that looks whole. The archive is kept until its member is written, so a
failed extraction (a full disk) does not cost the download again.
"""

import hashlib
import http.client
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from charlm import files
from charlm.errors import CharlmError

BLOCK = 1 << 16  # bytes read from the network at a time
TIMEOUT = 30  # seconds without a byte before a download is given up
OFFLINE = "python-stdlib"  # the corpus that needs no network (run/corpora.py)


def advice(entry, target):
    """How to do by hand what the download would have done."""
    return (
        f"download {entry.url} yourself and place it at {target} "
        f"({entry.size:,} bytes, sha256 {entry.sha256})"
    )


def fetch(entry, target, progress=None):
    """Fetch entry.url into target, verifying size and SHA-256 before the temporary file is
    renamed into place. progress(done_bytes, total_bytes) is called as blocks arrive."""
    target = Path(target)

    def network(e):
        reason = getattr(e, "reason", None) or str(e) or e.__class__.__name__
        return CharlmError(
            f"cannot download corpus '{entry.name}' ({reason}); {advice(entry, target)}, or "
            f"train offline on {OFFLINE} (--corpus {OFFLINE}: this Python's own standard "
            f"library)"
        )

    def fill(f):
        digest, done = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(entry.url, timeout=TIMEOUT) as response:
                while done <= entry.size and (block := response.read(BLOCK)):
                    f.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(min(done, entry.size), entry.size)
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                TimeoutError) as e:  # fmt: skip
            raise network(e) from None  # a dropped or stalled connection included
        if done < entry.size:  # the connection closed early: a short body, with or without
            raise CharlmError(  # a Content-Length (urllib returns what came in either case)
                f"the download of corpus '{entry.name}' from {entry.url} stopped after "
                f"{done:,} of {entry.size:,} bytes; run the command again, or "
                f"{advice(entry, target)}"
            )
        if done > entry.size or digest.hexdigest() != entry.sha256:
            got = (
                f"more than {entry.size:,} bytes"
                if done > entry.size
                else f"sha256 {digest.hexdigest()}"
            )
            raise CharlmError(
                f"corpus '{entry.name}' downloaded from {entry.url} does not match the catalog "
                f"({got}); {advice(entry, target)}"
            )

    try:
        files.write(target, fill, "corpus")
    except CharlmError as e:
        if not str(e).startswith("cannot write corpus"):
            raise
        raise CharlmError(f"{e}; {advice(entry, target)}") from None


def verified(entry, archive):
    """Refuse an archive already in the corpora folder (placed there by hand, or left by a
    failed extraction) that is not the catalog's: its size and SHA-256."""
    if not files.is_regular(archive):
        raise CharlmError(f"{archive}: not a regular file; move it away, and charlm downloads "
                          f"the archive there")  # fmt: skip
    digest, size = hashlib.sha256(), 0
    try:
        with files.open_input(archive, "corpus archive") as f:
            while block := f.read(1 << 22):
                digest.update(block)
                size += len(block)
    except OSError as e:
        raise CharlmError(f"{archive}: cannot read the archive ({e.strerror or e})") from None
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise CharlmError(
            f"{archive}: not the catalog's '{entry.name}' ({size:,} bytes, sha256 "
            f"{digest.hexdigest()}); delete it, and charlm downloads it again, or "
            f"{advice(entry, archive)}"
        )


def extract(entry, archive, target):
    """Write the archive's member entry.member to target, through the guarded writer. Its
    size is the catalog's (entry.text_size): a member that claims another size is refused
    before a byte is written, and reading stops at that size whatever the member holds;
    zipfile checks the member's CRC-32 at its end."""

    def fill(f):
        with zipfile.ZipFile(archive) as z:
            info = z.getinfo(entry.member)
            if info.file_size != entry.text_size:
                raise CharlmError(
                    f"{archive}: its '{entry.member}' holds {info.file_size:,} bytes, not the "
                    f"catalog's {entry.text_size:,}; delete it and run again"
                )
            done = 0
            with z.open(info) as member:
                while done <= entry.text_size and (block := member.read(1 << 22)):
                    f.write(block)
                    done += len(block)
            if done != entry.text_size:
                raise CharlmError(
                    f"{archive}: its '{entry.member}' does not hold the {entry.text_size:,} "
                    f"bytes it says; delete it and run again"
                )

    try:
        files.write(target, fill, "corpus")
    except (zipfile.BadZipFile, KeyError, EOFError, zlib.error, NotImplementedError) as e:
        what = f"has no '{entry.member}'" if isinstance(e, KeyError) else f"is damaged ({e})"
        raise CharlmError(f"{archive}: the archive {what}; delete it and run again") from None
