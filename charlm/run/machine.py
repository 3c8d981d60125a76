"""The machine a run trains on, as its report shows it: CPU, cores, NumPy and its BLAS.

The BLAS kernel (OpenBLAS picks one for the CPU at load time) is asked of the loaded library
itself through ctypes (charlm.nn.blas finds it); threadpoolctl is not needed for it."""

import ctypes
import os
import platform

import numpy as np

from charlm.nn import blas as blas_libraries


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
    kernel = None
    for lib in blas_libraries.loaded():  # the kernel OpenBLAS picked for this CPU at load time
        fn = blas_libraries.exported(lib, "get_corename")
        if fn is not None:
            fn.restype = ctypes.c_char_p
            kernel = fn().decode("ascii", "replace")
            break
    return f"{name}, kernel {kernel}" if kernel else name


def describe():
    """{"cpu", "cores", "numpy", "blas", "python"} of this machine."""
    return {"cpu": cpu(), "cores": os.cpu_count(), "numpy": np.__version__, "blas": blas(),
            "python": platform.python_version()}  # fmt: skip
