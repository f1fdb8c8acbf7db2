# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Relu and ReluGrad in one parallel, vectorized pass each.

numpy's reference ReluGrad builds a boolean mask array and multiplies by it (two passes,
one core); Relu is np.maximum on one core. The element loops are C so that GCC turns the
selects into vector blends (a Cython `a if c else b` stays a branch). Semantics are the
reference's to the bit: Relu passes NaN through and maps -0.0 to +0.0 as np.maximum(x, 0)
does; ReluGrad multiplies by 1 or 0, so an infinite or NaN gradient masked off gives NaN
as in TF. Callers pass C-contiguous float32/float64 arrays of one size.
"""
cimport cython
from cython.parallel cimport prange

from _threads cimport threads_for

cdef extern from *:
    """
    #define HP_RELU_LOOPS(T, SUFFIX)                                                        \\
    static inline void hp_relu_##SUFFIX(const T *restrict x, T *restrict out,             \\
                                        Py_ssize_t n) {                                   \\
        for (Py_ssize_t i = 0; i < n; i++) {                                              \\
            T v = x[i];                                                                   \\
            out[i] = (v > 0 || v != v) ? v : (T)0;                                        \\
        }                                                                                 \\
    }                                                                                     \\
    static inline void hp_relu_grad_##SUFFIX(const T *restrict grad,                      \\
                                             const T *restrict features,                  \\
                                             T *restrict out, Py_ssize_t n) {             \\
        for (Py_ssize_t i = 0; i < n; i++) {                                              \\
            T mask = features[i] > 0 ? (T)1 : (T)0;                                       \\
            out[i] = grad[i] * mask;                                                      \\
        }                                                                                 \\
    }
    HP_RELU_LOOPS(float, f32)
    HP_RELU_LOOPS(double, f64)
    """
    void hp_relu_f32(const float* x, float* out, Py_ssize_t n) noexcept nogil
    void hp_relu_f64(const double* x, double* out, Py_ssize_t n) noexcept nogil
    void hp_relu_grad_f32(const float* grad, const float* features, float* out,
                          Py_ssize_t n) noexcept nogil
    void hp_relu_grad_f64(const double* grad, const double* features, double* out,
                          Py_ssize_t n) noexcept nogil

# Elements per parallel task: large enough that a task amortizes its scheduling, small
# enough that both threads get work on a mid-sized activation.
cdef enum:
    BLOCK = 16384


def relu(const cython.floating[::1] x, cython.floating[::1] out):
    """out = max(x, 0), NaN kept.

    Args:
      x: the features, flattened.
      out: same size, overwritten; must not overlap x.
    """
    cdef Py_ssize_t size = x.shape[0]
    cdef Py_ssize_t block, start, count
    if out.shape[0] != size:
        raise ValueError("relu: out has %d elements, expected %d" % (out.shape[0], size))
    with nogil:
        for block in prange((size + BLOCK - 1) // BLOCK, schedule="static",
                            num_threads=threads_for(size)):
            start = block * BLOCK
            count = min(BLOCK, size - start)
            if cython.floating is float:
                hp_relu_f32(&x[start], &out[start], count)
            else:
                hp_relu_f64(&x[start], &out[start], count)


def relu_grad(const cython.floating[::1] grad, const cython.floating[::1] features,
              cython.floating[::1] out):
    """out = grad * (features > 0).

    Args:
      grad: the gradient of Relu's output, flattened.
      features: Relu's input or output (the same sign pattern), flattened, grad's size.
      out: grad's size, overwritten; must not overlap the inputs.
    """
    cdef Py_ssize_t size = grad.shape[0]
    cdef Py_ssize_t block, start, count
    if features.shape[0] != size or out.shape[0] != size:
        raise ValueError("relu_grad: sizes %d, %d and %d differ"
                         % (size, features.shape[0], out.shape[0]))
    with nogil:
        for block in prange((size + BLOCK - 1) // BLOCK, schedule="static",
                            num_threads=threads_for(size * 2)):
            start = block * BLOCK
            count = min(BLOCK, size - start)
            if cython.floating is float:
                hp_relu_grad_f32(&grad[start], &features[start], &out[start], count)
            else:
                hp_relu_grad_f64(&grad[start], &features[start], &out[start], count)
