"""The machine a run trains on, as its report shows it: CPU, cores, NumPy and its BLAS.

The BLAS kernel (OpenBLAS picks one for the CPU at load time) is asked of threadpoolctl when
it is installed (the bench extra); without it the report names the library only."""

import os
import platform

import numpy as np


def cpu():
    """The CPU's model name (Linux /proc/cpuinfo; elsewhere what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("model name", "Hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas():
    """'library version, kernel K' of NumPy's BLAS, as far as can be told."""
    try:
        info = np.__config__.CONFIG["Build Dependencies"]["blas"]
        name = f"{info.get('name', 'unknown')} {info.get('version', '')}".strip()
    except (AttributeError, KeyError, TypeError):
        name = "unknown"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return name
    kernels = [i.get("architecture") for i in threadpool_info() if i.get("user_api") == "blas"]
    return f"{name}, kernel {kernels[0]}" if kernels and kernels[0] else name


def cores():
    """The cores this process may run on (taskset, a container's CPU set), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows: no affinity call
        return os.cpu_count() or 1


def describe():
    """{"cpu", "cores", "numpy", "blas", "python"} of this machine."""
    return {"cpu": cpu(), "cores": cores(), "numpy": np.__version__, "blas": blas(),
            "python": platform.python_version()}  # fmt: skip
