"""Two independent computations at once: the two stacks of a bidirectional model.

Each runs in its own thread with a one-thread BLAS (charlm.nn.blas): NumPy's ufuncs and BLAS
release the GIL, so on two cores the stacks' GEMMs and elementwise work overlap instead of
taking turns. Each thread computes exactly what it would alone, on its own arrays, so the
results are bit-identical to running one after the other (tests/test_parallel.py).

Off unless set_enabled(True): on the 2-core machine of docs/speed.md the threads lose more to
handing the GIL back and forth at every NumPy call than they gain (bilstm-256 trains at 0.50x
torch side by side, 0.66x one after the other; benchmarks/throughput.py's threads column).
It also runs sequentially where it cannot be controlled: one core, a BLAS whose threads cannot
be set, or inside a side_by_side already.
"""

import os
import threading

from charlm.nn import blas

_enabled = False  # None: on where the machine allows it
_inside = threading.local()


def cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def enabled():
    """True when side_by_side runs its two calls at once."""
    global _enabled
    if _enabled is None:
        _enabled = cores() >= 2 and blas.available()
    return _enabled and not getattr(_inside, "active", False)


def set_enabled(on):
    """Turn the concurrency on or off (benchmarks, tests); None: on where the machine allows."""
    global _enabled
    _enabled = None if on is None else bool(on and blas.available())


class _Worker(threading.Thread):
    def __init__(self, call):
        super().__init__(daemon=True)
        self.call, self.result, self.error = call, None, None

    def run(self):
        _inside.active = True
        try:
            self.result = self.call()
        except BaseException as e:  # handed to the caller's thread
            self.error = e


def side_by_side(f, g):
    """(f(), g()), computed at once when enabled(), else one after the other."""
    if not enabled():
        return f(), g()
    with blas.one_thread():
        worker = _Worker(g)
        worker.start()
        _inside.active = True
        try:
            a = f()
        finally:
            _inside.active = False
            worker.join()
    if worker.error is not None:
        raise worker.error
    return a, worker.result
