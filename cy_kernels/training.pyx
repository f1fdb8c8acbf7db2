# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Dense optimizer updates (ApplyAdam, ApplyMomentum): one pass over the variable and its
slots, updated in place, instead of numpy's chain of full-size temporaries.

Each element goes through the same float operations in the same order as in the numpy
reference kernels of hpcflow/ops/training_ops.py (TF1's training_ops.cc formulas), with
one rounding per operation (no fused multiply-add), so results equal the reference's bit
for bit. Callers pass flat, C-contiguous float32/float64 arrays of one length, and
hyper-parameters in the arrays' dtype; arrays sharing memory are refused (numpy's
whole-array steps and this loop's element-by-element steps would see them at different
stages of the update).

The loops run on one thread: on the 2-core development machine, two OpenMP threads were
slower than one at every size measured (64k to 4M elements), waking the second thread
costing more than it saves and large updates being bound by memory bandwidth.
"""
cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include <math.h>
    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC push_options
    #pragma GCC optimize("fp-contract=off")
    #endif
    /* The loops are bound by the throughput of vector arithmetic (Adam: sqrt and division),
       so wider vectors make them faster: GCC compiles one copy per target and picks the
       one the CPU supports when the module loads. (They vectorize at all only thanks to
       setup.py's -fno-math-errno.) */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define HPCFLOW_WIDE_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define HPCFLOW_WIDE_VECTORS
    #endif

    #define HPCFLOW_ADAM(NAME, T, SQRT)                                                     \
    HPCFLOW_WIDE_VECTORS static void NAME(T* var, T* m, T* v, const T* grad, Py_ssize_t n,  \
                                          T beta1_power, T beta2_power, T lr, T b1, T b2,   \
                                          T eps, int nesterov) {                            \
        T alpha = lr * SQRT(1 - beta2_power) / (1 - beta1_power);                           \
        T one_minus_b1 = 1 - b1, one_minus_b2 = 1 - b2;                                     \
        for (Py_ssize_t i = 0; i < n; i++) {                                                \
            T g = grad[i];                                                                  \
            T mi = m[i] + (g - m[i]) * one_minus_b1;                                        \
            T vi = v[i] + (g * g - v[i]) * one_minus_b2;                                    \
            m[i] = mi;                                                                      \
            v[i] = vi;                                                                      \
            T step = nesterov ? (g * one_minus_b1 + b1 * mi) * alpha : alpha * mi;          \
            var[i] = var[i] - step / (SQRT(vi) + eps);                                      \
        }                                                                                   \
    }
    HPCFLOW_ADAM(hpcflow_adam_f, float, sqrtf)
    HPCFLOW_ADAM(hpcflow_adam_d, double, sqrt)

    #define HPCFLOW_MOMENTUM(NAME, T)                                                       \
    HPCFLOW_WIDE_VECTORS static void NAME(T* var, T* accum, const T* grad, Py_ssize_t n,    \
                                          T lr, T momentum, int nesterov) {                 \
        T momentum_lr = momentum * lr;                                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                                \
            T a = accum[i] * momentum + grad[i];                                            \
            accum[i] = a;                                                                   \
            var[i] = var[i] - (nesterov ? grad[i] * lr + a * momentum_lr : a * lr);         \
        }                                                                                   \
    }
    HPCFLOW_MOMENTUM(hpcflow_momentum_f, float)
    HPCFLOW_MOMENTUM(hpcflow_momentum_d, double)
    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC pop_options
    #endif
    """
    void hpcflow_adam_f(float* var, float* m, float* v, const float* grad, Py_ssize_t n,
                        float beta1_power, float beta2_power, float lr, float b1, float b2,
                        float eps, int nesterov) noexcept nogil
    void hpcflow_adam_d(double* var, double* m, double* v, const double* grad, Py_ssize_t n,
                        double beta1_power, double beta2_power, double lr, double b1,
                        double b2, double eps, int nesterov) noexcept nogil
    void hpcflow_momentum_f(float* var, float* accum, const float* grad, Py_ssize_t n,
                            float lr, float momentum, int nesterov) noexcept nogil
    void hpcflow_momentum_d(double* var, double* accum, const double* grad, Py_ssize_t n,
                            double lr, double momentum, int nesterov) noexcept nogil


cdef bint _overlap(const char* a, const char* b, Py_ssize_t nbytes) noexcept nogil:
    """Whether two buffers of `nbytes` bytes share a byte."""
    return a < b + nbytes and b < a + nbytes


cdef bint _updatable(cnp.ndarray grad, tuple updated) noexcept:
    """Whether the loop may update the arrays `updated` from `grad`: all of one float dtype
    in native byte order and of one shape, non-empty, C-contiguous and aligned, the updated
    ones writeable, and no two sharing memory."""
    cdef cnp.ndarray a, b
    cdef int dtype = cnp.PyArray_TYPE(grad)
    cdef Py_ssize_t i, j, nbytes = cnp.PyArray_NBYTES(grad)
    if (dtype != cnp.NPY_FLOAT32 and dtype != cnp.NPY_FLOAT64) or nbytes == 0 or \
            not cnp.PyArray_ISCARRAY_RO(grad) or not cnp.PyArray_ISNOTSWAPPED(grad):
        return False
    for i in range(len(updated)):
        a = updated[i]
        if not (cnp.PyArray_TYPE(a) == dtype and cnp.PyArray_SAMESHAPE(a, grad) and
                cnp.PyArray_ISCARRAY(a) and cnp.PyArray_ISNOTSWAPPED(a)) or \
                _overlap(<char*>cnp.PyArray_DATA(a), <char*>cnp.PyArray_DATA(grad), nbytes):
            return False
        for j in range(i):
            b = updated[j]
            if _overlap(<char*>cnp.PyArray_DATA(a), <char*>cnp.PyArray_DATA(b), nbytes):
                return False
    return True


def apply_adam(cnp.ndarray var, cnp.ndarray m, cnp.ndarray v, cnp.ndarray grad,
               double beta1_power, double beta2_power, double lr, double beta1, double beta2,
               double epsilon, bint use_nesterov):
    """TF1's ApplyAdam, in place: alpha = lr sqrt(1 - beta2_power) / (1 - beta1_power);
    m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2); var -= alpha m / (sqrt(v) + epsilon),
    or with Nesterov's momentum var -= (g (1 - beta1) + beta1 m) alpha / (sqrt(v) + epsilon).

    Args:
      var, m, v: the variable and its slots, updated in place.
      grad: the gradient, of var's shape.
      beta1_power...epsilon: the hyper-parameters, in the arrays' dtype (float32 values
        pass through double exactly).

    Returns:
      True; False, changing nothing, if the arrays are not all of one float dtype and
      shape, C-contiguous, the updated ones writeable, and not overlapping.
    """
    if not _updatable(grad, (var, m, v)):
        return False
    cdef Py_ssize_t n = cnp.PyArray_SIZE(grad)
    with nogil:
        if cnp.PyArray_TYPE(grad) == cnp.NPY_FLOAT32:
            hpcflow_adam_f(<float*>cnp.PyArray_DATA(var), <float*>cnp.PyArray_DATA(m),
                           <float*>cnp.PyArray_DATA(v), <const float*>cnp.PyArray_DATA(grad),
                           n, <float>beta1_power, <float>beta2_power, <float>lr, <float>beta1,
                           <float>beta2, <float>epsilon, use_nesterov)
        else:
            hpcflow_adam_d(<double*>cnp.PyArray_DATA(var), <double*>cnp.PyArray_DATA(m),
                           <double*>cnp.PyArray_DATA(v), <const double*>cnp.PyArray_DATA(grad),
                           n, beta1_power, beta2_power, lr, beta1, beta2, epsilon,
                           use_nesterov)
    return True


def apply_momentum(cnp.ndarray var, cnp.ndarray accum, cnp.ndarray grad, double lr,
                   double momentum, bint use_nesterov):
    """TF1's ApplyMomentum, in place: accum = accum momentum + g; var -= accum lr, or with
    Nesterov's momentum var -= g lr + accum (momentum lr).

    Args:
      var, accum: the variable and its slot, updated in place.
      grad: the gradient, of var's shape.
      lr, momentum: in the arrays' dtype.

    Returns:
      True; False, changing nothing, if the arrays are not as apply_adam needs them.
    """
    if not _updatable(grad, (var, accum)):
        return False
    cdef Py_ssize_t n = cnp.PyArray_SIZE(grad)
    with nogil:
        if cnp.PyArray_TYPE(grad) == cnp.NPY_FLOAT32:
            hpcflow_momentum_f(<float*>cnp.PyArray_DATA(var), <float*>cnp.PyArray_DATA(accum),
                               <const float*>cnp.PyArray_DATA(grad), n, <float>lr,
                               <float>momentum, use_nesterov)
        else:
            hpcflow_momentum_d(<double*>cnp.PyArray_DATA(var), <double*>cnp.PyArray_DATA(accum),
                               <const double*>cnp.PyArray_DATA(grad), n, lr, momentum,
                               use_nesterov)
    return True
