# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Row-wise softmax, log-softmax and the fused softmax cross-entropies with their gradients.

Each row is read once for its max and once for exp (kept in the output buffer), then
scaled: numpy's reference needs about ten full-array temporaries for the same result. The
exponential sum is accumulated in double. Callers pass C-contiguous 2-D float32/float64
arrays with at least one column.
"""
cimport cython
from cython.parallel cimport prange
from libc.math cimport exp, expf, log
from libc.stdint cimport int32_t, int64_t

from _threads cimport threads_for

ctypedef fused label_t:
    int32_t
    int64_t

# exp costs about as much as a dozen adds: weight the work so small batches still split.
cdef enum:
    EXP_COST = 8


cdef inline cython.floating _exp(cython.floating v) noexcept nogil:
    if cython.floating is float:
        return expf(v)
    else:
        return exp(v)


cdef inline cython.floating _row_max(const cython.floating* row, Py_ssize_t n) noexcept nogil:
    # NaN in a row makes every output of the row NaN either way, so `>` may skip it here.
    cdef cython.floating m = row[0]
    cdef Py_ssize_t j
    for j in range(1, n):
        if row[j] > m:
            m = row[j]
    return m


cdef inline double _exp_shifted(const cython.floating* row, cython.floating* out,
                                cython.floating shift, Py_ssize_t n) noexcept nogil:
    """out[j] = exp(row[j] - shift); returns their sum (in double)."""
    cdef double total = 0
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = _exp(row[j] - shift)
        total += out[j]
    return total


def softmax(const cython.floating[:, ::1] logits, cython.floating[:, ::1] out, bint log_softmax):
    """out = softmax(logits) (or log_softmax) along each row.

    Args:
      logits: [rows, classes], classes >= 1.
      out: [rows, classes], overwritten.
      log_softmax: if true, out = logits - max - log(sum(exp(logits - max))).
    """
    cdef Py_ssize_t rows = logits.shape[0], classes = logits.shape[1]
    cdef Py_ssize_t r, j
    cdef const cython.floating* src
    cdef cython.floating* dst
    cdef cython.floating m, total, log_total
    with nogil:
        for r in prange(rows, schedule="static",
                        num_threads=threads_for(rows * classes * EXP_COST)):
            src = &logits[r, 0]
            dst = &out[r, 0]
            m = _row_max(src, classes)
            total = <cython.floating>_exp_shifted(src, dst, m, classes)
            if log_softmax:
                log_total = <cython.floating>log(total)
                for j in range(classes):
                    dst[j] = (src[j] - m) - log_total
            else:
                for j in range(classes):
                    dst[j] = dst[j] / total


def softmax_cross_entropy(const cython.floating[:, ::1] logits,
                          const cython.floating[:, ::1] labels, cython.floating[::1] loss,
                          cython.floating[:, ::1] backprop):
    """loss[r] = -sum(labels * log_softmax(logits)), backprop = softmax(logits) - labels.

    Args:
      logits, labels: [rows, classes], classes >= 1.
      loss: [rows], overwritten.
      backprop: [rows, classes], overwritten.
    """
    cdef Py_ssize_t rows = logits.shape[0], classes = logits.shape[1]
    cdef Py_ssize_t r, j
    cdef const cython.floating* src
    cdef const cython.floating* z
    cdef cython.floating* dst
    cdef cython.floating m, total, log_total
    cdef double row_loss
    with nogil:
        for r in prange(rows, schedule="static",
                        num_threads=threads_for(rows * classes * EXP_COST)):
            src = &logits[r, 0]
            z = &labels[r, 0]
            dst = &backprop[r, 0]
            m = _row_max(src, classes)
            total = <cython.floating>_exp_shifted(src, dst, m, classes)
            log_total = <cython.floating>log(total)
            row_loss = 0
            for j in range(classes):
                # As the reference: labels * log_softmax, so 0 * -inf gives NaN as it does.
                row_loss = row_loss - z[j] * ((src[j] - m) - log_total)
                dst[j] = dst[j] / total - z[j]
            loss[r] = <cython.floating>row_loss


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
    cdef Py_ssize_t r, j, label
    cdef const cython.floating* src
    cdef cython.floating* dst
    cdef cython.floating m, total
    for r in range(rows):
        if labels[r] < 0 or labels[r] >= classes:
            return r
    with nogil:
        for r in prange(rows, schedule="static",
                        num_threads=threads_for(rows * classes * EXP_COST)):
            src = &logits[r, 0]
            dst = &backprop[r, 0]
            label = labels[r]
            m = _row_max(src, classes)
            total = <cython.floating>_exp_shifted(src, dst, m, classes)
            loss[r] = -((src[label] - m) - <cython.floating>log(total))
            for j in range(classes):
                dst[j] = dst[j] / total
            dst[label] = dst[label] - 1
    return -1
