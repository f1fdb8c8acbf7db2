# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Row scatter-add, for UnsortedSegmentSum, ScatterAdd and SparseApplyGradientDescent.

Rows are added in index order (repeated indices accumulate one after the other, as numpy's
`np.add.at` does, but a row at a time instead of an element at a time), and the columns,
not the rows, are split between threads, so no two threads ever write the same element.
Callers pass C-contiguous 2-D arrays.

(GatherV2 has no kernel here: a compiled row copy measured no faster than np.take, which
already copies whole rows.)
"""
cimport cython
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

from _threads cimport threads_for

ctypedef fused index_t:
    int32_t
    int64_t

# Below this many columns, splitting columns between threads only shares cache lines.
cdef enum:
    MIN_COLUMNS_PER_THREAD = 64


def scatter_add_rows(cython.floating[:, ::1] target, const index_t[::1] indices,
                     const cython.floating[:, ::1] updates, cython.floating scale=1):
    """target[indices[i], :] += scale * updates[i, :] for each i in order; negative indices
    are skipped.

    Args:
      target: [rows, cols], updated in place.
      indices: [n] row indices, < rows (negative ones are dropped, as UnsortedSegmentSum does).
      updates: [n, cols].
      scale: a factor applied to each update (1 adds the updates exactly as they are).

    Returns:
      -1, or the first position whose index is >= rows: then nothing is written.
    """
    cdef Py_ssize_t n = indices.shape[0], rows = target.shape[0], cols = target.shape[1]
    cdef Py_ssize_t i, j, block, blocks, width, start, stop, row
    cdef cython.floating* dst
    cdef const cython.floating* src
    for i in range(n):
        if indices[i] >= rows:
            return i
    blocks = threads_for(n * cols)
    if blocks > cols // MIN_COLUMNS_PER_THREAD:
        blocks = cols // MIN_COLUMNS_PER_THREAD
    if blocks < 1:
        blocks = 1
    width = (cols + blocks - 1) // blocks
    with nogil:
        for block in prange(blocks, schedule="static", num_threads=blocks):
            start = block * width
            stop = start + width
            if stop > cols:
                stop = cols
            for i in range(n):
                row = indices[i]
                if row < 0:
                    continue
                dst = &target[row, 0]
                src = &updates[i, 0]
                if scale == 1:
                    for j in range(start, stop):
                        dst[j] = dst[j] + src[j]
                else:
                    for j in range(start, stop):
                        dst[j] = dst[j] + scale * src[j]
    return -1
