# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Row-wise softmax, log-softmax and the fused softmax cross-entropies with their gradients.

Three passes over the output buffer and no temporaries (numpy's reference makes four or five
full-size temporaries): shift each row by its max (in parallel over rows), exponentiate the
whole buffer in place with numpy's SIMD exp (a C exp loop stays scalar: several times
slower), then sum and scale each row (in parallel), the sums accumulated in double.
Callers pass C-contiguous 2-D float32/float64 arrays with at least one column.
"""
cimport cython
from cython.parallel cimport prange
from libc.math cimport log
from libc.stdint cimport int32_t, int64_t

import numpy as np

from _simd cimport row_max, row_sum
from _threads cimport threads_for

ctypedef fused label_t:
    int32_t
    int64_t


cdef void _shift_rows(const cython.floating[:, ::1] logits,
                      cython.floating[:, ::1] shifted) noexcept nogil:
    """shifted[r, :] = logits[r, :] - max(logits[r, :])."""
    cdef Py_ssize_t rows = logits.shape[0], classes = logits.shape[1]
    cdef Py_ssize_t r, j
    cdef const cython.floating* src
    cdef cython.floating* dst
    cdef cython.floating m
    for r in prange(rows, schedule="static", num_threads=threads_for(rows * classes)):
        src = &logits[r, 0]
        dst = &shifted[r, 0]
        m = row_max(src, classes)
        for j in range(classes):
            dst[j] = src[j] - m


def softmax(const cython.floating[:, ::1] logits, cython.floating[:, ::1] out, bint log_softmax):
    """out = softmax(logits) (or log_softmax) along each row.

    Args:
      logits: [rows, classes], classes >= 1.
      out: [rows, classes], overwritten.
      log_softmax: if true, out = logits - max - log(sum(exp(logits - max))).
    """
    cdef Py_ssize_t rows = logits.shape[0], classes = logits.shape[1]
    cdef Py_ssize_t r, j
    cdef cython.floating* dst
    cdef const cython.floating* e
    cdef cython.floating total, log_total
    cdef cython.floating[:, ::1] exps
    result = np.asarray(out)
    with nogil:
        _shift_rows(logits, out)
    if log_softmax:
        exps = np.exp(result)
    else:
        np.exp(result, out=result)
        exps = out
    with nogil:
        for r in prange(rows, schedule="static", num_threads=threads_for(rows * classes)):
            dst = &out[r, 0]
            e = &exps[r, 0]
            total = <cython.floating>row_sum(e, classes)
            if log_softmax:
                log_total = <cython.floating>log(total)
                for j in range(classes):
                    dst[j] = dst[j] - log_total
            else:
                for j in range(classes):
                    dst[j] = dst[j] / total


def softmax_cross_entropy(const cython.floating[:, ::1] logits,
                          const cython.floating[:, ::1] labels, cython.floating[::1] loss,
                          cython.floating[:, ::1] backprop):
    """loss[r] = -sum(labels * log_softmax(logits)), backprop = softmax(logits) - labels.

    The loss is computed as log(sum exp) * sum(labels) - sum(labels * shifted), which is the
    same sum regrouped (0 * -inf still gives NaN, as in the reference).

    Args:
      logits, labels: [rows, classes], classes >= 1.
      loss: [rows], overwritten.
      backprop: [rows, classes], overwritten.
    """
    cdef Py_ssize_t rows = logits.shape[0], classes = logits.shape[1]
    cdef Py_ssize_t r, j
    cdef const cython.floating* z
    cdef cython.floating* dst
    cdef cython.floating m, total
    cdef double weighted, label_sum
    # Per row: sum(labels * shifted) and sum(labels), kept in double until the loss is formed.
    row_sums = np.empty((2, rows), dtype=np.float64)
    cdef double[:, ::1] sums = row_sums
    exps = np.asarray(backprop)
    with nogil:
        for r in prange(rows, schedule="static", num_threads=threads_for(rows * classes)):
            z = &labels[r, 0]
            dst = &backprop[r, 0]
            m = row_max(&logits[r, 0], classes)
            weighted = 0
            label_sum = 0
            for j in range(classes):
                dst[j] = logits[r, j] - m
                weighted = weighted + z[j] * dst[j]
                label_sum = label_sum + z[j]
            sums[0, r] = weighted
            sums[1, r] = label_sum
    np.exp(exps, out=exps)
    with nogil:
        for r in prange(rows, schedule="static", num_threads=threads_for(rows * classes)):
            z = &labels[r, 0]
            dst = &backprop[r, 0]
            total = <cython.floating>row_sum(dst, classes)
            loss[r] = <cython.floating>(log(total) * sums[1, r] - sums[0, r])
            for j in range(classes):
                dst[j] = dst[j] / total - z[j]


def sparse_softmax_cross_entropy(const cython.floating[:, ::1] logits,
                                 const label_t[::1] labels, cython.floating[::1] loss,
                                 cython.floating[:, ::1] backprop):
    """loss[r] = -log_softmax(logits)[r, labels[r]], backprop = softmax - one_hot(labels).

    Args:
      logits: [rows, classes], classes >= 1.
      labels: [rows] class indices.
      loss: [rows], overwritten.
      backprop: [rows, classes], overwritten.

    Returns:
      -1, or the first row whose label is outside [0, classes): then nothing is written.
    """
    cdef Py_ssize_t rows = logits.shape[0], classes = logits.shape[1]
    cdef Py_ssize_t r, j
    cdef cython.floating* dst
    cdef cython.floating total
    for r in range(rows):
        if labels[r] < 0 or labels[r] >= classes:
            return r
    with nogil:
        _shift_rows(logits, backprop)
        for r in range(rows):
            loss[r] = backprop[r, labels[r]]
    exps = np.asarray(backprop)
    np.exp(exps, out=exps)
    with nogil:
        for r in prange(rows, schedule="static", num_threads=threads_for(rows * classes)):
            dst = &backprop[r, 0]
            total = <cython.floating>row_sum(dst, classes)
            loss[r] = <cython.floating>log(total) - loss[r]
            for j in range(classes):
                dst[j] = dst[j] / total
            dst[labels[r]] = dst[labels[r]] - 1
    return -1
