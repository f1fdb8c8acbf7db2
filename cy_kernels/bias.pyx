# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""BiasAdd and BiasAddGrad for a channels-last ([rows, C]) or channels-first ([N, C, inner])
layout, in parallel over rows (add) or with per-thread partial sums (gradient).

The gradient sums in double, so float32 results are at least as accurate as numpy's
float32 reduction. Callers pass C-contiguous float32/float64 arrays.
"""
cimport cython
from cython.parallel cimport prange
from libc.stdlib cimport calloc, free

from _simd cimport row_sum
from _threads cimport threads_for


def bias_add_last(const cython.floating[:, ::1] value, const cython.floating[::1] bias,
                  cython.floating[:, ::1] out):
    """out[r, c] = value[r, c] + bias[c] (NHWC and every rank-2+ channels-last input).

    Args:
      value: [rows, C].
      bias: [C].
      out: [rows, C], overwritten (may be `value` itself only if the caller owns it).
    """
    cdef Py_ssize_t rows = value.shape[0], c = value.shape[1]
    cdef Py_ssize_t r, j
    cdef const cython.floating* src
    cdef cython.floating* dst
    with nogil:
        for r in prange(rows, schedule="static", num_threads=threads_for(rows * c)):
            src = &value[r, 0]
            dst = &out[r, 0]
            for j in range(c):
                dst[j] = src[j] + bias[j]


def bias_add_middle(const cython.floating[:, :, ::1] value, const cython.floating[::1] bias,
                    cython.floating[:, :, ::1] out):
    """out[n, c, i] = value[n, c, i] + bias[c] (NCHW).

    Args:
      value: [N, C, inner].
      bias: [C].
      out: [N, C, inner], overwritten.
    """
    cdef Py_ssize_t n = value.shape[0], c = value.shape[1], inner = value.shape[2]
    cdef Py_ssize_t task, b, ci, i
    cdef const cython.floating* src
    cdef cython.floating* dst
    cdef cython.floating add
    with nogil:
        for task in prange(n * c, schedule="static", num_threads=threads_for(n * c * inner)):
            b = task // c
            ci = task - b * c
            add = bias[ci]
            src = &value[b, ci, 0]
            dst = &out[b, ci, 0]
            for i in range(inner):
                dst[i] = src[i] + add


def bias_add_grad_last(const cython.floating[:, ::1] grad, cython.floating[::1] out):
    """out[c] = sum over rows of grad[r, c].

    Each thread sums a contiguous block of rows into its own double row, then the partial
    rows are added in thread order (deterministic for a given thread count).

    Args:
      grad: [rows, C].
      out: [C], overwritten.
    """
    cdef Py_ssize_t rows = grad.shape[0], c = grad.shape[1]
    cdef int threads = threads_for(rows * c)
    cdef Py_ssize_t r, j, t, chunk = (rows + threads - 1) // threads
    cdef Py_ssize_t start, stop
    cdef double* partial = <double*>calloc(threads * c + 1, sizeof(double))
    cdef double* mine
    cdef const cython.floating* src
    cdef double total
    if partial == NULL:
        raise MemoryError("BiasAddGrad: cannot allocate %d partial sums" % (threads * c))
    try:
        with nogil:
            for t in prange(threads, schedule="static", num_threads=threads):
                mine = partial + t * c
                start = t * chunk
                stop = start + chunk
                if stop > rows:
                    stop = rows
                for r in range(start, stop):
                    src = &grad[r, 0]
                    for j in range(c):
                        mine[j] = mine[j] + src[j]
            for j in range(c):
                total = 0
                for t in range(threads):
                    total = total + partial[t * c + j]
                out[j] = <cython.floating>total
    finally:
        free(partial)


def bias_add_grad_middle(const cython.floating[:, :, ::1] grad, cython.floating[::1] out):
    """out[c] = sum over n and inner of grad[n, c, i] (NCHW), one channel per task.

    Args:
      grad: [N, C, inner].
      out: [C], overwritten.
    """
    cdef Py_ssize_t n = grad.shape[0], c = grad.shape[1], inner = grad.shape[2]
    cdef Py_ssize_t ci, b
    cdef double total
    with nogil:
        for ci in prange(c, schedule="static", num_threads=threads_for(n * c * inner)):
            total = 0
            for b in range(n):
                total = total + row_sum(&grad[b, ci, 0], inner)
            out[ci] = <cython.floating>total
