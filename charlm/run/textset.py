"""A folder or a glob as one corpus: `--corpus notes/`, `--corpus 'src/**/*.py'`.

The members: every regular file under the folder (or matching the pattern: `*` and `?` within
a name, `**` any number of folders, `[...]` a set; charlm's own matching, the same in every
shell), in sorted order of their paths relative to the root, hidden names (a leading `.`) and
the run's own output folder left out. A member is read only if it is a regular file inside
the root: a link that leads out of it, to a folder (no loops) or to a FIFO or device is
skipped, never opened. A file that does not read as text in the run's encoding (a NUL byte,
or bytes that do not decode) is skipped and counted; with data.encoding: bytes every file
reads.

The text is the members' bytes joined by data.separator (default "\\n": one empty line after
a file that ends with a newline), read as one stream, so memory stays that of one large file.
Its identity is one SHA-256 over each member's relative path, size and SHA-256 (`manifest`),
recorded with the manifest itself, so a resume names what changed. Each pass over the stream
checks its bytes against the scan's: a file that changes while it is read is caught.
"""

import codecs
import fnmatch
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from charlm.errors import CharlmError

MAGIC = "*?["
BLOCK = 1 << 20
SHOWN = 3  # skipped files and changes named in a message


def is_set(name):
    """Whether data.corpus names a folder or a pattern, rather than one file."""
    return Path(name).is_dir() or any(c in str(name) for c in MAGIC)


@dataclass(frozen=True)
class Member:
    rel: str  # the path relative to the root, with "/"
    path: Path  # where it is read from (a link inside the root: its target)
    size: int
    sha256: str


def _split(pattern):
    """(root folder, pattern parts below it): the pattern's leading parts without magic."""
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) - 1 and not any(c in parts[fixed] for c in MAGIC):
        fixed += 1
    return Path(*parts[:fixed]) if fixed else Path("."), list(parts[fixed:])


def _matches(parts, names):
    """Whether the path names (a list) match the pattern parts (`**`: any number of names)."""
    if not parts:
        return not names
    if parts[0] == "**":
        return any(_matches(parts[1:], names[i:]) for i in range(len(names) + 1))
    first = bool(names) and fnmatch.fnmatchcase(names[0], parts[0])
    return first and _matches(parts[1:], names[1:])


def _walk(root, skip):
    """(relative path, path, os.stat_result or None, why skipped) of every file under root,
    without following links to folders; hidden names and the folders in `skip` left out."""
    stack, real_root = [Path(root)], os.path.realpath(root)
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            yield os.path.relpath(folder, root), folder, None, f"unreadable ({e.strerror})"
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if entry.name.startswith(".") or any(_same(path, s) for s in skip):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
                continue
            yield rel, *_target(path, real_root, entry.is_symlink())


def _same(path, folder):
    try:
        return os.path.samefile(path, folder)
    except OSError:
        return False


def _target(path, real_root, link):
    """(path to read, stat, why skipped): a link only to a regular file inside the root."""
    real = Path(os.path.realpath(path)) if link else path
    if link and os.path.commonpath([real_root, str(real)]) != real_root:
        return path, None, "a link out of the folder"
    try:
        st = os.stat(real)
    except OSError as e:
        return path, None, f"unreadable ({e.strerror})"
    if not stat.S_ISREG(st.st_mode):
        kind = "a link to a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        return path, None, kind
    return real, st, None


def _read_text(path, encoding, *digests):
    """Read a member whole, updating each digest; (why it is not text or None, its size)."""
    decoder = None if encoding == "bytes" else codecs.getincrementaldecoder(encoding)()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return f"unreadable ({e.strerror})", 0
    size = 0
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return "not a regular file", 0
        try:
            while True:
                block = f.read(BLOCK)
                size += len(block)
                for digest in digests:
                    digest.update(block)
                if decoder is None:
                    if not block:
                        return None, size
                    continue
                if b"\0" in block:
                    return "binary", size
                decoder.decode(block, final=not block)
                if not block:
                    return None, size
        except OSError as e:
            return f"unreadable ({e.strerror})", size
        except (UnicodeError, ValueError):
            return f"not {encoding}", size


class TextSet:
    """The members of a folder or pattern, scanned: the corpus source data.load reads."""

    def __init__(self, label, members, skipped, separator, stream_sha):
        self.label, self.members, self.skipped = label, members, skipped
        self.separator, self._stream_sha = separator, stream_sha
        self.size = sum(m.size for m in members) + len(separator) * (len(members) - 1)
        self.path = Path(label)

    def __str__(self):
        return self.label

    @property
    def manifest(self):
        return [[m.rel, m.size, m.sha256[:16]] for m in self.members]

    def identity(self):
        digest = hashlib.sha256(json.dumps(self.manifest).encode("utf-8"))
        digest.update(self.separator)
        return {"sha256": digest.hexdigest(), "files": len(self.members), "bytes": self.size}

    def summary(self):
        """One line: how many files were read and which were skipped."""
        n = len(self.members)
        line = f"{self.label}: {n:,} file{'s' if n != 1 else ''} read"
        if self.skipped:
            named = ", ".join(f"{rel} ({why})" for rel, why in self.skipped[:SHOWN])
            more = f" and {len(self.skipped) - SHOWN:,} more" if len(self.skipped) > SHOWN else ""
            line += f", {len(self.skipped):,} skipped: {named}{more}"
        return line

    def open(self):
        return _Stream(self)


class _Stream:
    """The members joined by the separator, as a binary file object (read(n) only); at the
    end, its bytes are checked against the scan's."""

    def __init__(self, textset):
        self.set, self.i, self.f = textset, -1, None
        self.digest, self.pending = hashlib.sha256(), b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.f is not None:
            self.f.close()

    def read(self, n):
        """Up to n bytes, across files: a block is n bytes but at the very end, however
        small the files (a pass costs per block, not per file)."""
        out = bytearray()
        while len(out) < n:
            if not self.pending and not self._next(n - len(out)):
                break
            take, self.pending = self.pending[: n - len(out)], self.pending[n - len(out) :]
            out += take
            self.digest.update(take)
        return bytes(out)

    def _next(self, n):
        """Fill self.pending from the open file, or the separator and the next file; False
        at the end (checked against the scan)."""
        while True:
            if self.f is not None:
                self.pending = self.f.read(n)
                if self.pending:
                    return True
                self.f.close()
                self.f = None
            self.i += 1
            if self.i >= len(self.set.members):
                if self.digest.copy().hexdigest() != self.set._stream_sha:
                    raise CharlmError(
                        f"{self.set.label}: a file changed while charlm read it; run the "
                        f"command again"
                    )
                return False
            member = self.set.members[self.i]
            try:
                self.f = open(member.path, "rb")  # noqa: SIM115 (closed at its end or on exit)
            except OSError as e:
                raise CharlmError(
                    f"{self.set.label}: {member.rel} changed while charlm read it "
                    f"({e.strerror}); run the command again"
                ) from None
            if self.i:
                self.pending = self.set.separator
                return True


def scan(name, encoding, separator, skip=()):
    """The TextSet of a folder or pattern `name` (module docstring), refused in one line
    when it holds no text."""
    try:
        sep = separator.encode("utf-8" if encoding == "bytes" else encoding)
    except (UnicodeError, LookupError):
        raise CharlmError(f"data.separator cannot be written in {encoding}") from None
    if encoding != "bytes" and "\n".encode(encoding) != b"\n":
        raise CharlmError(
            f"{name}: a folder or pattern is read in an encoding where a newline is the byte "
            f"\\n (utf-8, latin-1, cp1252, bytes ...); data.encoding {encoding} is not one"
        )
    path = Path(name)
    if path.is_dir():
        root, parts = path, ["**", "*"]
    else:
        root, parts = _split(name)
        if not root.is_dir():
            raise CharlmError(f"{name}: no folder {root} to match the pattern in")
        itself = [os.path.relpath(path, root).replace(os.sep, "/")]
        if path.is_file() and [f[0] for f in _found(root, parts, skip)] != itself:
            raise CharlmError(
                f"{name}: names a file and is also a pattern matching other files; rename the "
                f"file, or give a pattern that does not name it"
            )
    for folder in skip:
        inside = Path(os.path.realpath(root)).is_relative_to(os.path.realpath(folder))
        if Path(folder).is_dir() and inside:
            raise CharlmError(
                f"{name}: is in {folder}, where runs are written (output.dir): a run's files "
                f"are not a corpus; point data.corpus at your texts"
            )
    members, skipped, stream = [], [], hashlib.sha256()
    for rel, where, _, why in _found(root, parts, skip):
        before, content = stream.copy(), hashlib.sha256()
        if why is None:
            if members:
                stream.update(sep)
            why, size = _read_text(where, encoding, content, stream)
        if why is not None:
            skipped.append((rel, why))
            stream = before  # what was read of it is not part of the text
            continue
        members.append(Member(rel, where, size, content.hexdigest()))
    if not members:
        what = "holds no file" if path.is_dir() else "matches no file"
        what = what if not skipped else f"holds no {encoding} text"
        found = TextSet(name, [], skipped, sep, "").summary() if skipped else name
        raise CharlmError(f"{found}: {what}; point data.corpus at text files")
    return TextSet(name, members, skipped, sep, stream.hexdigest())


def _found(root, parts, skip):
    found = [f for f in _walk(root, skip) if _matches(parts, f[0].split("/"))]
    return sorted(found, key=lambda f: f[0])


def changes(old, new):
    """What differs between two manifests ([[rel, size, sha], ...]), the first few named:
    '2 added (a.txt, b.txt); 1 modified (c.txt)'."""
    a, b = {m[0]: m[1:] for m in old}, {m[0]: m[1:] for m in new}
    found = [
        ("added", [r for r in b if r not in a]),
        ("removed", [r for r in a if r not in b]),
        ("modified", [r for r in b if r in a and a[r] != b[r]]),
    ]
    said = [
        f"{len(names):,} {word} ({', '.join(names[:SHOWN])}{', ...' if len(names) > SHOWN else ''})"
        for word, names in found
        if names
    ]
    return "; ".join(said) or "the same files, joined differently"


def valid_manifest(manifest):
    """Whether a manifest read back from a checkpoint has the shape scan() gives it."""
    return isinstance(manifest, list) and all(
        isinstance(m, list) and len(m) == 3 and isinstance(m[0], str)
        and type(m[1]) is int and m[1] >= 0 and isinstance(m[2], str)
        for m in manifest
    )  # fmt: skip
