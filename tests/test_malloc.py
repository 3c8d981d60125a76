"""Training and evaluation keep freed memory for reuse (charlm/memory.py), so window-sized
arrays allocated step after step cost no page faults; importing charlm changes nothing."""

import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc malloc setting")

ROUNDS = """
import resource, sys
import numpy as np
{setup}
def window():
    arrays = [np.ones((2048, 1024), np.float32) for _ in range(3)]
    return sum(float(a[0, 0]) for a in arrays)
window()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    assert window() == 3.0
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def faults_per_round(setup):
    """Page faults per round of three 8 MiB arrays made and freed, in a fresh interpreter."""
    code = ROUNDS.format(setup=setup)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


@glibc
def test_window_sized_arrays_reuse_their_pages_once_asked():
    """Without the setting glibc hands the arrays back to the kernel each time (about 1,000
    page faults per round here); with it, their pages are reused."""
    setup = "from charlm.memory import keep_freed_memory\nassert keep_freed_memory() is True"
    assert faults_per_round(setup) < 50


@glibc
def test_importing_charlm_leaves_malloc_as_it_was():
    assert faults_per_round("import charlm, charlm.nn.model, charlm.api") > 500
