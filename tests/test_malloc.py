"""The engine keeps freed memory for reuse (charlm/nn/malloc.py), so window-sized arrays
allocated step after step cost no page faults."""

import platform
import resource

import numpy as np
import pytest

import charlm.nn
from charlm.nn.malloc import keep_freed_memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc malloc setting")


@glibc
def test_glibc_accepts_the_settings():
    assert charlm.nn.KEEPS_FREED_MEMORY is True
    assert keep_freed_memory() is True


@glibc
def test_window_sized_arrays_reuse_their_pages():
    """Three 8 MiB arrays at once, freed and made again: without the setting glibc hands them
    back to the kernel each time, and this costs about 1,000 page faults per round here."""

    def window():
        arrays = [np.ones((2048, 1024), np.float32) for _ in range(3)]
        return sum(float(a[0, 0]) for a in arrays)

    window()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        assert window() == 3.0
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
    assert faults < 50, f"{faults:.0f} page faults per round"
