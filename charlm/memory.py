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
