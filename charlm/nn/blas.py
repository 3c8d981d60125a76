"""How many threads NumPy's BLAS may use, asked of and set on the loaded library itself.

Two threads that each run a GEMM on a two-thread BLAS would ask for four cores of a machine
with two; one_thread() lets each of them have one for a while. OpenBLAS (NumPy's wheels, and
most Linux builds) exports openblas_set_num_threads under one of the names below; where none
is found (MKL, Accelerate), available() is False and callers stay sequential.
"""

import ctypes
import threading
from contextlib import contextmanager

# plain OpenBLAS builds, then NumPy's wheels' scipy-openblas (64-bit and 32-bit integers)
PREFIXES = (("openblas_", ""), ("scipy_openblas_", "64_"), ("scipy_openblas_", ""))
_lock = threading.Lock()
_found = None  # (get, set) once looked up; () when there is none


def loaded():
    """The OpenBLAS libraries this process has loaded (ctypes handles), from /proc/self/maps."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower()})
    except OSError:
        return []
    libs = []
    for path in paths:
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libs


def exported(lib, name):
    """lib's function `name` under the first of PREFIXES it is exported with, or None."""
    for pre, suf in PREFIXES:
        fn = getattr(lib, f"{pre}{name}{suf}", None)
        if fn is not None:
            return fn
    return None


def _library():
    global _found
    if _found is None:
        _found = ()
        for lib in loaded():
            get, put = exported(lib, "get_num_threads"), exported(lib, "set_num_threads")
            if get is not None and put is not None:
                get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                _found = (get, put)
                break
    return _found


def available():
    """True when the BLAS's thread count can be read and set (NumPy, imported by charlm.nn
    before this is called, has loaded its BLAS, so /proc/self/maps lists it)."""
    return bool(_library())


def threads():
    """The BLAS's thread count, or None when it cannot be asked."""
    found = _library()
    return found[0]() if found else None


@contextmanager
def one_thread():
    """The BLAS runs on the calling thread alone inside the block, then as many as before."""
    found = _library()
    if not found:
        yield
        return
    get, put = found
    with _lock:
        before = get()
        put(1)
    try:
        yield
    finally:
        with _lock:
            put(before)
