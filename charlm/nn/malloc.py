"""Keep freed memory in the process, so each window's arrays reuse pages already mapped.

A training step allocates the same few dozen window-sized arrays (0.1 to 30 MB) at every step.
glibc's malloc serves blocks that size with a fresh mmap() and hands them back to the kernel on
free, so every step pays the kernel again to map and zero those pages: on lstm-256 about 7,500
page faults and a fifth of the step's time. Fixing M_MMAP_THRESHOLD at its maximum (32 MiB) and
M_TRIM_THRESHOLD at 1 GiB keeps such blocks in malloc's heap for the next step instead. The cost
is that the process keeps its peak memory until it exits, which a training run does anyway.

charlm.nn calls keep_freed_memory() when it is imported. Where the C library is not glibc
(macOS, musl, Windows) it does nothing.
"""

import ctypes

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30


def keep_freed_memory():
    """Tell glibc's malloc to keep freed blocks up to 32 MiB. True when it accepted."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, TypeError, AttributeError):  # no C library symbols, or not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1 and (
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )
