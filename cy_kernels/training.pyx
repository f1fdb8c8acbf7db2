# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Dense optimizer updates (ApplyAdam, ApplyMomentum): one pass over the variable and its
slots, updated in place, instead of numpy's chain of full-size temporaries.

Each element goes through the same float operations in the same order as in the numpy
reference kernels of hpcflow/ops/training_ops.py (TF1's training_ops.cc formulas), with
one rounding per operation (no fused multiply-add), so results equal the reference's bit
for bit. Callers pass flat, C-contiguous float32/float64 arrays of one length that do not
overlap, and hyper-parameters already in the arrays' dtype.

The loops run on one thread: on the 2-core development machine, two OpenMP threads were
slower than one at every size measured (64k to 4M elements), waking the second thread
costing more than it saves and large updates being bound by memory bandwidth.
"""
cimport cython

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
                                          T alpha, T b1, T one_minus_b1, T one_minus_b2,    \
                                          T eps, int nesterov) {                            \
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
                                          T lr, T momentum, T momentum_lr, int nesterov) {  \
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
                        float alpha, float b1, float one_minus_b1, float one_minus_b2,
                        float eps, int nesterov) noexcept nogil
    void hpcflow_adam_d(double* var, double* m, double* v, const double* grad, Py_ssize_t n,
                        double alpha, double b1, double one_minus_b1, double one_minus_b2,
                        double eps, int nesterov) noexcept nogil
    void hpcflow_momentum_f(float* var, float* accum, const float* grad, Py_ssize_t n,
                            float lr, float momentum, float momentum_lr,
                            int nesterov) noexcept nogil
    void hpcflow_momentum_d(double* var, double* accum, const double* grad, Py_ssize_t n,
                            double lr, double momentum, double momentum_lr,
                            int nesterov) noexcept nogil


def apply_adam(cython.floating[::1] var, cython.floating[::1] m, cython.floating[::1] v,
               const cython.floating[::1] grad, cython.floating alpha, cython.floating beta1,
               cython.floating beta2, cython.floating epsilon, bint use_nesterov):
    """TF1's ApplyAdam, in place: m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2);
    var -= alpha m / (sqrt(v) + epsilon), or with Nesterov's momentum
    var -= (g (1 - beta1) + beta1 m) alpha / (sqrt(v) + epsilon).

    Args:
      var, m, v: the variable and its slots, [n] each, updated in place.
      grad: [n].
      alpha: the bias-corrected step lr sqrt(1 - beta2^t) / (1 - beta1^t).
    """
    cdef Py_ssize_t n = var.shape[0]
    cdef cython.floating one_minus_b1 = 1 - beta1, one_minus_b2 = 1 - beta2
    with nogil:
        if cython.floating is float:
            hpcflow_adam_f(&var[0], &m[0], &v[0], &grad[0], n, alpha, beta1, one_minus_b1,
                           one_minus_b2, epsilon, use_nesterov)
        else:
            hpcflow_adam_d(&var[0], &m[0], &v[0], &grad[0], n, alpha, beta1, one_minus_b1,
                           one_minus_b2, epsilon, use_nesterov)


def apply_momentum(cython.floating[::1] var, cython.floating[::1] accum,
                   const cython.floating[::1] grad, cython.floating lr,
                   cython.floating momentum, bint use_nesterov):
    """TF1's ApplyMomentum, in place: accum = accum momentum + g; var -= accum lr, or with
    Nesterov's momentum var -= g lr + accum (momentum lr).

    Args:
      var, accum: the variable and its slot, [n] each, updated in place.
      grad: [n].
    """
    cdef Py_ssize_t n = var.shape[0]
    cdef cython.floating momentum_lr = momentum * lr
    with nogil:
        if cython.floating is float:
            hpcflow_momentum_f(&var[0], &accum[0], &grad[0], n, lr, momentum, momentum_lr,
                               use_nesterov)
        else:
            hpcflow_momentum_d(&var[0], &accum[0], &grad[0], n, lr, momentum, momentum_lr,
                               use_nesterov)
