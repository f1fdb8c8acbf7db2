"""Keeps large buffers in the heap, so kernels and MPI receives do not page-fault.

glibc serves allocations above 128 KiB with fresh mmap'ed pages and returns them on free:
every large kernel temporary and every received tensor then pays a page fault per 4 KiB
page. That halved the bandwidth of 4 MiB transfers against raw mpi4py reusing one buffer,
and cost a third of the CNN training step (2,900 faults a step). Raising the mmap and trim
thresholds makes freed blocks reusable, as TensorFlow's own allocator keeps its memory.
The first Session of a process (and every rank of an MPI job) does it;
HPCFLOW_MALLOC_TUNING=0 leaves the allocator alone.
"""
import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 256 << 20
TRIM_THRESHOLD_BYTES = 512 << 20


_tuned = None  # the result of the first call: the settings are process-wide


def tune_allocator():
    """Raises glibc's mmap/trim thresholds once; returns True if applied (glibc only)."""
    global _tuned
    if _tuned is None:
        _tuned = _tune()
    return _tuned


def _tune():
    if os.environ.get("HPCFLOW_MALLOC_TUNING", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
