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
from libc.math cimport exp, log
from libc.stdint cimport int32_t, int64_t

from _threads cimport threads_for

ctypedef fused label_t:
    int32_t
    int64_t

# exp costs about as much as a dozen adds: weight the work so small batches still split.
cdef enum:
    EXP_COST = 8


cdef extern from *:
    """
    /* exp for float32 that the compiler can vectorize (no call, no branch): Cephes' expf,
       2^n * p(r) with n = round(x / ln 2), |r| <= ln(2) / 2, within 2 ulp of libm's.
       Beyond the float range it saturates as expf does: +inf above, 0 below (numpy's
       expf returns subnormals there, under 1.2e-38). NaN stays NaN. */
    static inline float hpcflow_expf(float x) {
        const float high = 88.3762626647949f, low = -87.3365447505531f;
        float xc = x > high ? high : x;
        xc = xc < low ? low : xc;
        /* n from a finite value: converting NaN to int is undefined (r keeps the NaN). */
        float fx = (xc == xc ? xc : 0.0f) * 1.44269504088896341f + 0.5f;
        float n = (float)(int)fx;
        n = n > fx ? n - 1.0f : n;
        float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        unsigned int bits = (unsigned int)((int)n + 127) << 23;
        float scale;
        __builtin_memcpy(&scale, &bits, sizeof(scale));
        p = p * scale;
        p = x > high ? __builtin_inff() : p;
        return x < low ? 0.0f : p;
    }
    """
    float hpcflow_expf(float x) noexcept nogil


cdef inline cython.floating _row_max(const cython.floating* row, Py_ssize_t n) noexcept nogil:
    # NaN in a row makes every output of the row NaN either way, so `>` may skip it here.
    # Four running maxima: independent selects instead of one dependent chain.
    cdef cython.floating m0 = row[0], m1 = row[0], m2 = row[0], m3 = row[0]
    cdef Py_ssize_t j = 0
    while j + 4 <= n:
        m0 = row[j] if row[j] > m0 else m0
        m1 = row[j + 1] if row[j + 1] > m1 else m1
        m2 = row[j + 2] if row[j + 2] > m2 else m2
        m3 = row[j + 3] if row[j + 3] > m3 else m3
        j = j + 4
    while j < n:
        m0 = row[j] if row[j] > m0 else m0
        j = j + 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


cdef inline double _exp_shifted(const cython.floating* row, cython.floating* out,
                                cython.floating shift, Py_ssize_t n) noexcept nogil:
    """out[j] = exp(row[j] - shift); returns their sum (in double)."""
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t j
    # First the exponentials alone (a loop the compiler vectorizes for float32)...
    if cython.floating is float:
        for j in range(n):
            out[j] = hpcflow_expf(row[j] - shift)
    else:
        for j in range(n):
            out[j] = exp(row[j] - shift)
    # ...then their sum, in four independent double chains.
    j = 0
    while j + 4 <= n:
        s0 = s0 + out[j]
        s1 = s1 + out[j + 1]
        s2 = s2 + out[j + 2]
        s3 = s3 + out[j + 3]
        j = j + 4
    while j < n:
        s0 = s0 + out[j]
        j = j + 1
    return (s0 + s1) + (s2 + s3)


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
