"""The one way charlm writes a file, and the one way it opens a file to read.

Writing (write): every file charlm makes, checkpoints, metrics, exports, imports, corpora,
pages, plots, goes through the same checks on its target path, then the same atomic write.
    - a symbolic link is refused: charlm never writes through a link (replacing it would
      break the link; writing through it would write where the path does not say);
    - anything that exists and is not a regular file (a folder, a device such as /dev/full,
      a FIFO, a socket) is refused;
    - a file that the same command reads is refused, --force or not;
    - an existing regular file is replaced only with --force, or when it is one of a run's own
      files that the run itself keeps up to date (owned=True: latest.npz, best.npz, ...).
The write: a temporary file beside the target, created exclusively, written, flushed to disk
and renamed over the target, then the folder flushed: at every moment the target holds either
its old content or the whole new one.

Reading (open_input, read_bytes): a FIFO is opened without waiting for a writer (one with no
writer reads as empty instead of hanging), a folder is refused by name, and read_bytes reads
an input once, so a pipe (`--text /dev/stdin`) is never read twice.
"""

import contextlib
import os
import stat
from pathlib import Path

from charlm import memory
from charlm.errors import CharlmError

try:
    import fcntl
except ImportError:  # Windows: no FIFOs to unblock
    fcntl = None

_KINDS = {
    stat.S_ISDIR: "a folder",
    stat.S_ISCHR: "a device",
    stat.S_ISBLK: "a device",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISSOCK: "a socket",
}


def kind(st):
    """'a folder', 'a device', ... for a stat result that is not a regular file."""
    return next((name for test, name in _KINDS.items() if test(st.st_mode)), "not a file")


def _same(st, path):
    try:
        other = os.stat(path)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def same_file(a, b):
    """Whether two paths name one existing file (hard links and links included)."""
    try:
        return _same(os.stat(a), b)
    except (OSError, ValueError):
        return False


def check_target(path, what, force=False, inputs=(), owned=False):
    """Refuse to write `what` to path (module docstring's rules); returns the path."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as e:
        raise CharlmError(f"cannot write {what} {path} ({e.strerror or e})") from None
    if stat.S_ISLNK(st.st_mode):
        raise CharlmError(
            f"{path} is a symbolic link; charlm does not write through links: "
            f"give the path of a regular file (the link's target, or a new name)"
        )
    if not stat.S_ISREG(st.st_mode):
        raise CharlmError(f"{path} is {kind(st)}, not a regular file; cannot write {what} there")
    if any(_same(st, p) for p in inputs):
        raise CharlmError(
            f"{path} is a file this command reads; write {what} to another path "
            f"(--force never replaces a command's own input)"
        )
    if not owned and not force:
        raise CharlmError(f"{path} already exists; pass --force to replace it")
    return path


def write(path, fill, what, force=False, inputs=(), owned=False):
    """Write a file through fill(f) (f a binary file object), atomically, after check_target.

    what names the file in errors ('checkpoint', 'HTML page', ...)."""
    path = check_target(path, what, force, inputs, owned)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        check_target(path, what, force, inputs, owned)  # still true just before the rename
        os.replace(tmp, path)
    except OSError as e:
        raise CharlmError(
            f"cannot write {what} {path} ({e.strerror or e}); "
            f"the previous {what} there, if any, is unchanged"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    _sync_dir(path.parent)
    return path


def write_bytes(path, data, what, **rules):
    """write() of a bytes object."""
    return write(path, lambda f: f.write(data), what, **rules)


def open_append(path, what, binary=False):
    """A run's own append-only file (metrics.jsonl, .lock, TensorBoard events), opened for
    appending as text (binary: as bytes); a link or anything but a regular file there is
    refused."""
    path = check_target(path, what, owned=True)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as e:
        raise CharlmError(f"cannot write {what} {path} ({e.strerror or e})") from None
    return os.fdopen(fd, "ab+") if binary else os.fdopen(fd, "a+", encoding="utf-8")


def append(f, data, path):
    """Append data to a run's file opened by open_append, flushed; a failure (a full disk)
    stops training in one line."""
    try:
        f.write(data)
        f.flush()
    except OSError as e:
        raise CharlmError(
            f"cannot append to {path} ({e.strerror or e}); training stopped, and the last "
            f"checkpoint in {Path(path).parent} is whole"
        ) from None


def _sync_dir(folder):
    """Make the rename itself durable (POSIX); harmless where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_input(path, what):
    """A binary file object to read `what` from. A FIFO is opened without blocking for a
    writer (then read normally); a directory or a missing path is refused in one line."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise CharlmError(f"{path}: {what} not found; check the path") from None
    except OSError as e:
        raise CharlmError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        os.close(fd)
        raise CharlmError(f"{path}: is a directory; the {what} must be a file")
    if os.isatty(fd):  # reading would wait for typing: a terminal is not an input here
        os.close(fd)
        raise CharlmError(
            f"{path}: is a terminal; pipe the {what} in (cat FILE | charlm ...) or give its path"
        )
    if fcntl is not None:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    return os.fdopen(fd, "rb")


def is_regular(path):
    """Whether path is a regular file (which can be read twice and seeked)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


PIPE_LIMIT = 2 << 30  # what read_bytes holds at most: a larger text belongs in a file


def read_bytes(path, what, share=0.25, limit=PIPE_LIMIT):
    """All of an input, read once. An endless input (/dev/zero) stops with a one-line error
    once it passes `limit` bytes or `share` of the memory available (joining the blocks at
    the end takes as much again, and the caller needs room for what it makes of them)."""
    limit = min(limit, int(memory.available() * share))
    chunks, size = [], 0
    with open_input(path, what) as f:
        try:
            while block := f.read(1 << 22):
                size += len(block)
                if size > limit:
                    raise CharlmError(
                        f"{path}: the {what} is larger than the {memory.human(limit)} that "
                        f"charlm reads of it; "
                        + ("save it to a file and give that path" if limit == PIPE_LIMIT
                           else f"no {what} is that large")
                    )  # fmt: skip
                chunks.append(block)
        except OSError as e:
            raise CharlmError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    return b"".join(chunks)
