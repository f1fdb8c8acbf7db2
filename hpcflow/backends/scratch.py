"""Per-thread scratch arrays for the compiled convolution kernels (patch matrices, padded
copies of inputs).

A fresh multi-megabyte array is mapped anew by malloc and pays a page fault per 4 KiB on
first touch: allocating conv2's patch matrix per call cost more (4-5 ms per op) than
filling it. Kept per thread because ops may run concurrently. Each thread holds one buffer
per dtype, grown to the largest request so far, and every request reuses it: a kernel
must be done with its scratch before it returns, and must never return a view of it.
"""
import threading

import numpy as np

_local = threading.local()


def scratch(shape, dtype):
    """An uninitialized array of `shape` and `dtype`, reused by the next call on this
    thread (so: overwritten by it)."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    buffer = buffers.get(dtype)
    if buffer is None or buffer.size < size:
        buffer = buffers[dtype] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)
