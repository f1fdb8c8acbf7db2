# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""BiasAdd and BiasAddGrad for a channels-last ([rows, C]) or channels-first ([N, C, inner])
layout, in parallel over rows (add) or with per-thread partial sums (gradient).

The gradient sums in double (float32 in groups of 8 rows first), so float32 results are
more accurate than numpy's, which adds rows one by one in float32 for this reduction. Callers pass C-contiguous float32/float64 arrays.
"""
cimport cython
from cython.parallel cimport prange
from libc.stdlib cimport calloc, free

from _simd cimport row_sum
from _threads cimport threads_for

cdef extern from *:
    """
    /* The row loops in C with `restrict`: Cython's loops read the bias and the partial sums
       through pointers the compiler must assume alias the output, so GCC kept them scalar.
       A float32 gradient is summed 8 rows at a time as a float32 tree (2-3 roundings, as
       accurate as a pairwise sum) and each 8-row sum added to the double partial: 8x fewer
       float-to-double conversions and double adds, which bound the plain loop. */
    #define HP_BIAS_ROW_LOOPS(T, SUFFIX)                                                     \\
    static inline void hp_add_bias_row_##SUFFIX(const T *restrict src,                      \\
                                                const T *restrict bias, T *restrict dst,    \\
                                                Py_ssize_t c) {                             \\
        for (Py_ssize_t j = 0; j < c; j++) dst[j] = src[j] + bias[j];                       \\
    }                                                                                       \\
    static inline void hp_accumulate_row_##SUFFIX(double *restrict acc,                     \\
                                                  const T *restrict src, Py_ssize_t c) {     \\
        for (Py_ssize_t j = 0; j < c; j++) acc[j] += (double)src[j];                        \\
    }
    HP_BIAS_ROW_LOOPS(float, f32)
    HP_BIAS_ROW_LOOPS(double, f64)
    static inline void hp_accumulate_8_rows_f32(double *restrict acc, const float *restrict src,
                                                Py_ssize_t c) {
        const float *restrict r0 = src, *restrict r1 = src + c, *restrict r2 = src + 2 * c,
                    *restrict r3 = src + 3 * c, *restrict r4 = src + 4 * c,
                    *restrict r5 = src + 5 * c, *restrict r6 = src + 6 * c,
                    *restrict r7 = src + 7 * c;
        for (Py_ssize_t j = 0; j < c; j++) {
            float s = ((r0[j] + r1[j]) + (r2[j] + r3[j])) + ((r4[j] + r5[j]) + (r6[j] + r7[j]));
            acc[j] += (double)s;
        }
    }
    """
    void hp_add_bias_row_f32(const float* src, const float* bias, float* dst,
                             Py_ssize_t c) noexcept nogil
    void hp_add_bias_row_f64(const double* src, const double* bias, double* dst,
                             Py_ssize_t c) noexcept nogil
    void hp_accumulate_row_f32(double* acc, const float* src, Py_ssize_t c) noexcept nogil
    void hp_accumulate_row_f64(double* acc, const double* src, Py_ssize_t c) noexcept nogil
    void hp_accumulate_8_rows_f32(double* acc, const float* src, Py_ssize_t c) noexcept nogil


cdef inline void _add_bias_row(const cython.floating* src, const cython.floating* bias,
                               cython.floating* dst, Py_ssize_t c) noexcept nogil:
    if cython.floating is float:
        hp_add_bias_row_f32(src, bias, dst, c)
    else:
        hp_add_bias_row_f64(src, bias, dst, c)


cdef inline void _accumulate_rows(double* acc, const cython.floating* src, Py_ssize_t rows,
                                  Py_ssize_t c) noexcept nogil:
    """acc[j] += sum of src[r * c + j] over `rows` contiguous rows."""
    cdef Py_ssize_t r = 0
    if cython.floating is float:
        while r + 8 <= rows:
            hp_accumulate_8_rows_f32(acc, src + r * c, c)
            r += 8
        while r < rows:
            hp_accumulate_row_f32(acc, src + r * c, c)
            r += 1
    else:
        while r < rows:
            hp_accumulate_row_f64(acc, src + r * c, c)
            r += 1


def bias_add_last(const cython.floating[:, ::1] value, const cython.floating[::1] bias,
                  cython.floating[:, ::1] out):
    """out[r, c] = value[r, c] + bias[c] (NHWC and every rank-2+ channels-last input).

    Args:
      value: [rows, C].
      bias: [C].
      out: [rows, C], overwritten (may be `value` itself only if the caller owns it).
    """
    cdef Py_ssize_t rows = value.shape[0], c = value.shape[1]
    cdef Py_ssize_t r
    with nogil:
        for r in prange(rows, schedule="static", num_threads=threads_for(rows * c)):
            _add_bias_row(&value[r, 0], &bias[0], &out[r, 0], c)


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

    Each thread sums a contiguous block of rows into its own double row (float32 rows in
    float32 groups of 8 first), then the partial rows are added in thread order
    (deterministic for a given thread count). Also the kernel of Sum over all axes but the
    last (the gradient of `conv + bias`).

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
                if stop > start:
                    _accumulate_rows(mine, &grad[start, 0], stop - start, c)
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
