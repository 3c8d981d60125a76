"""How much memory there is, and refusing work that would need more, before allocating it.

available() is the kernel's MemAvailable (what can be had without swapping), lowered to what
an address-space limit (ulimit -v) still allows this process. require(n, what) refuses in one
line, with the estimate and what is available, e.g.
    model.hidden_size 100000 needs about 1.2 TB for parameters and optimiser state; this
    machine has 22 GB available
The estimates are the callers' (charlm.nn.model.memory for a model); they aim to be within a
factor of two of the truth, which is all a refusal needs.
"""

import os
import resource

from charlm.errors import CharlmError


def human(n):
    """1536 -> '1.5 KB' (powers of 1024, as free -h)."""
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


def _meminfo():
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 1 << 62  # unknown: refuse nothing on this ground


def _address_space_left():
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return 1 << 62
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(0, soft - used)


def available():
    """Bytes this process can still allocate without swapping (an estimate)."""
    return min(_meminfo(), _address_space_left())


def require(nbytes, what):
    """Refuse (CharlmError) when nbytes is more than available(); what: 'X needs'."""
    have = available()
    if nbytes > have:
        raise CharlmError(f"{what} about {human(nbytes)}; this machine has {human(have)} available")


# Keeping freed memory in the process, so each window's arrays reuse pages already mapped.
# A training step allocates the same few dozen window-sized arrays (0.1 to 30 MB) at every step.
# glibc's malloc serves blocks that size with a fresh mmap() and hands them back to the kernel
# on free, so every step pays the kernel again to map and zero those pages: on lstm-256 about
# 7,500 page faults and a fifth of the step's time. Fixing M_MMAP_THRESHOLD at its maximum
# (32 MiB) and M_TRIM_THRESHOLD at 1 GiB keeps such blocks in malloc's heap for the next step.
# The cost is that the process keeps its peak memory until it exits, which a run does anyway,
# so training and evaluation ask for it when they start, never an import.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers, from glibc's malloc.h
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30
_kept = None


def keep_freed_memory():
    """Tell glibc's malloc to keep freed blocks up to 32 MiB (once per process). True when it
    accepted; False where the C library is not glibc (macOS, musl, Windows)."""
    global _kept
    if _kept is None:
        import ctypes

        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, TypeError, AttributeError):  # no C library symbols, or not glibc
            _kept = False
            return _kept
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        _kept = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1 and (
            mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        )
    return _kept
