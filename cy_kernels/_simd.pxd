# Reductions along contiguous rows that the compiler vectorizes, written in C because an
# OpenMP SIMD pragma is what lets it.
cimport cython

cdef extern from *:
    """
    /* Row max and row sum as OpenMP SIMD reductions: the compiler vectorizes them (a plain
       C reduction stays a scalar dependent chain, ~3x slower). Without OpenMP the pragma
       is ignored and the loops are plain. NaN in a row makes every output of the row NaN
       whichever max is found, so the max may ignore it. */
    #if defined(_OPENMP)
    #define HPCFLOW_SIMD_MAX_M _Pragma("omp simd reduction(max:m)")
    #define HPCFLOW_SIMD_SUM_S _Pragma("omp simd reduction(+:s)")
    #else
    #define HPCFLOW_SIMD_MAX_M
    #define HPCFLOW_SIMD_SUM_S
    #endif
    static inline float hpcflow_row_max_f(const float* x, Py_ssize_t n) {
        float m = x[0];
        HPCFLOW_SIMD_MAX_M
        for (Py_ssize_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
        return m;
    }
    static inline double hpcflow_row_max_d(const double* x, Py_ssize_t n) {
        double m = x[0];
        HPCFLOW_SIMD_MAX_M
        for (Py_ssize_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
        return m;
    }
    static inline double hpcflow_row_sum_f(const float* x, Py_ssize_t n) {
        double s = 0;
        HPCFLOW_SIMD_SUM_S
        for (Py_ssize_t j = 0; j < n; j++) s += x[j];
        return s;
    }
    static inline double hpcflow_row_sum_d(const double* x, Py_ssize_t n) {
        double s = 0;
        HPCFLOW_SIMD_SUM_S
        for (Py_ssize_t j = 0; j < n; j++) s += x[j];
        return s;
    }
    """
    float hpcflow_row_max_f(const float* x, Py_ssize_t n) noexcept nogil
    double hpcflow_row_max_d(const double* x, Py_ssize_t n) noexcept nogil
    double hpcflow_row_sum_f(const float* x, Py_ssize_t n) noexcept nogil
    double hpcflow_row_sum_d(const double* x, Py_ssize_t n) noexcept nogil


cdef inline cython.floating row_max(const cython.floating* row, Py_ssize_t n) noexcept nogil:
    if cython.floating is float:
        return hpcflow_row_max_f(row, n)
    else:
        return hpcflow_row_max_d(row, n)


cdef inline double row_sum(const cython.floating* row, Py_ssize_t n) noexcept nogil:
    """Sum of a row, accumulated in double."""
    if cython.floating is float:
        return hpcflow_row_sum_f(row, n)
    else:
        return hpcflow_row_sum_d(row, n)

