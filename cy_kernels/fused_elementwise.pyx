# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython kernel of `_FusedElementwise`: one pass over memory for a chain of element-wise ops.

A fused program (hpcflow/runtime/rewrites/fused_elementwise.py writes it) is a list of
instructions `(opcode, dst, a, b)` over registers: registers 0..n_inputs-1 are the inputs,
the others are temporaries, and the last instruction writes the output. The output is cut
into blocks of BLOCK elements; each OpenMP thread runs the whole program on one block at a
time, its temporaries being BLOCK-sized scratch buffers that stay in L1/L2 cache. So the
chain reads its inputs once and writes its output once, with no full-size temporaries.

The per-block loops are C (below) so that the compiler vectorizes them; on x86-64 a second
copy is compiled for AVX2+FMA and picked at run time. float32 `exp`, `tanh` and `sigmoid`
use branch-free polynomials (Cephes' expf/tanhf, within 2 ulp) that vectorize; other
transcendental functions call libm. float64 always calls libm.
"""
import numpy as np

cimport numpy as cnp
from cython.parallel cimport parallel, prange, threadid

cnp.import_array()

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>
    #ifdef _OPENMP
    #include <omp.h>
    static int fe_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fe_max_threads(void) { return 1; }
    #endif

    #define FE_BLOCK 1024

    /* Opcodes: the numbers are the OPCODES table of fused_elementwise.py. */
    enum {
        FE_COPY = 0, FE_NEG = 1, FE_ABS = 2, FE_SQUARE = 3, FE_SQRT = 4, FE_RSQRT = 5,
        FE_RECIPROCAL = 6, FE_EXP = 7, FE_EXPM1 = 8, FE_LOG = 9, FE_LOG1P = 10, FE_SIN = 11,
        FE_COS = 12, FE_TAN = 13, FE_TANH = 14, FE_SIGMOID = 15, FE_RELU = 16, FE_RELU6 = 17,
        FE_SOFTPLUS = 18, FE_SOFTSIGN = 19, FE_FLOOR = 20, FE_CEIL = 21, FE_SIGN = 22,
        FE_LEAKY_RELU = 23, FE_ELU = 24,
        FE_ADD = 32, FE_SUB = 33, FE_MUL = 34, FE_DIV = 35, FE_MAXIMUM = 36, FE_MINIMUM = 37,
        FE_SQUARED_DIFFERENCE = 38, FE_RELU_GRAD = 39, FE_DIV_NO_NAN = 40,
        FE_LEAKY_RELU_GRAD = 41, FE_RELU6_GRAD = 42
    };

    /* The conditionals below (clamps, selects) compile to vector blends only when the
       compiler may ignore floating-point exception flags, which nothing here reads. */
    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC push_options
    #pragma GCC optimize("no-trapping-math")
    #endif

    /* exp for float32: exp(x) = 2^n * exp(r), |r| <= ln2/2, r's exp by Cephes' polynomial.
       2^n is applied in two halves so that results in the subnormal range and overflow to
       inf come out as libm's. Branch-free, so loops calling it vectorize. */
    static inline float fe_expf(float x) {
        float xc = x < -104.0f ? -104.0f : x;
        xc = xc > 89.0f ? 89.0f : xc;
        /* Round to nearest by adding and subtracting 1.5 * 2^23. */
        float fn = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
        int32_t n = (int32_t)fn;
        float r = xc - fn * 0.693359375f;
        r = r - fn * -2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        int32_t n1 = n >> 1;
        int32_t n2 = n - n1;
        int32_t bits1 = (n1 + 127) << 23, bits2 = (n2 + 127) << 23;
        float s1, s2;
        memcpy(&s1, &bits1, sizeof s1);
        memcpy(&s2, &bits2, sizeof s2);
        float result = (p * s1) * s2;
        return x != x ? x : result;
    }

    /* tanh for float32: Cephes' odd polynomial below 0.625, else 1 - 2 / (exp(2|x|) + 1). */
    static inline float fe_tanhf(float x) {
        float ax = x < 0.0f ? -x : x;
        float z = x * x;
        float small = (((( -5.70498872745e-3f * z + 2.06390887954e-2f) * z
                         - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z
                       - 3.33332819422e-1f) * z * x + x;
        float e = fe_expf(2.0f * ax);
        float large = 1.0f - 2.0f / (e + 1.0f);
        large = x < 0.0f ? -large : large;
        float result = ax < 0.625f ? small : large;
        /* NaN stays NaN and -0.0 stays -0.0, as in libm. */
        return (x != x || x == 0.0f) ? x : result;
    }

    static inline float fe_sigmoidf(float x) { return 1.0f / (1.0f + fe_expf(-x)); }
    static inline double fe_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

    /* One loop per opcode over `len` elements; `d` may alias an operand (in-place output). */
    #define FE_UNARY(EXPR) for (int i = 0; i < len; i++) { fe_t x = a[i]; d[i] = (EXPR); } break;
    #define FE_BINARY(EXPR) for (int i = 0; i < len; i++) { fe_t x = a[i]; fe_t y = b[i]; d[i] = (EXPR); } break;

    #define FE_DEFINE_BLOCK(NAME, T, ATTR, EXP, EXPM1, LOG, LOG1P, SIN, COS, TAN, TANH, SIGMOID, SQRT, FABS, FLOOR, CEIL) \
    ATTR static void NAME(int n_instr, const int32_t *prog, const double *params,             \
                          T **regs, int len) {                                                \
        typedef T fe_t;                                                                       \
        for (int k = 0; k < n_instr; k++) {                                                   \
            const int32_t *ins = prog + 4 * k;                                                \
            T *d = regs[ins[1]];                                                              \
            const T *a = regs[ins[2]];                                                        \
            const T *b = ins[3] >= 0 ? regs[ins[3]] : a;                                      \
            const T p = (T)params[k];                                                         \
            switch (ins[0]) {                                                                 \
            case FE_COPY: FE_UNARY(x)                                                         \
            case FE_NEG: FE_UNARY(-x)                                                         \
            case FE_ABS: FE_UNARY(FABS(x))                                                    \
            case FE_SQUARE: FE_UNARY(x * x)                                                   \
            case FE_SQRT: FE_UNARY(SQRT(x))                                                   \
            case FE_RSQRT: FE_UNARY((T)1 / SQRT(x))                                           \
            case FE_RECIPROCAL: FE_UNARY((T)1 / x)                                            \
            case FE_EXP: FE_UNARY(EXP(x))                                                     \
            case FE_EXPM1: FE_UNARY(EXPM1(x))                                                 \
            case FE_LOG: FE_UNARY(LOG(x))                                                     \
            case FE_LOG1P: FE_UNARY(LOG1P(x))                                                 \
            case FE_SIN: FE_UNARY(SIN(x))                                                     \
            case FE_COS: FE_UNARY(COS(x))                                                     \
            case FE_TAN: FE_UNARY(TAN(x))                                                     \
            case FE_TANH: FE_UNARY(TANH(x))                                                   \
            case FE_SIGMOID: FE_UNARY(SIGMOID(x))                                             \
            case FE_RELU: FE_UNARY((x >= 0 || x != x) ? x : (T)0)                             \
            case FE_RELU6: FE_UNARY(x != x ? x : (x < 0 ? (T)0 : (x > 6 ? (T)6 : x)))         \
            case FE_SOFTPLUS: FE_UNARY((x > 0 ? x : (T)0) + LOG1P(EXP(-FABS(x))))             \
            case FE_SOFTSIGN: FE_UNARY(x / ((T)1 + FABS(x)))                                  \
            case FE_FLOOR: FE_UNARY(FLOOR(x))                                                 \
            case FE_CEIL: FE_UNARY(CEIL(x))                                                   \
            case FE_SIGN: FE_UNARY(x > 0 ? (T)1 : (x < 0 ? (T)-1 : (x == 0 ? (T)0 : x)))      \
            case FE_LEAKY_RELU: FE_UNARY(x > 0 ? x : x * p)                                   \
            case FE_ELU: FE_UNARY(x < 0 ? EXPM1(x) : x)                                       \
            case FE_ADD: FE_BINARY(x + y)                                                     \
            case FE_SUB: FE_BINARY(x - y)                                                     \
            case FE_MUL: FE_BINARY(x * y)                                                     \
            case FE_DIV: FE_BINARY(x / y)                                                     \
            case FE_MAXIMUM: FE_BINARY((x >= y || x != x) ? x : y)                            \
            case FE_MINIMUM: FE_BINARY((x <= y || x != x) ? x : y)                            \
            case FE_SQUARED_DIFFERENCE: FE_BINARY((x - y) * (x - y))                          \
            case FE_RELU_GRAD: FE_BINARY(y > 0 ? x : (T)0)                                    \
            case FE_DIV_NO_NAN: FE_BINARY(y == 0 ? (T)0 : x / y)                              \
            case FE_LEAKY_RELU_GRAD: FE_BINARY(y > 0 ? x : x * p)                             \
            case FE_RELU6_GRAD: FE_BINARY((y > 0 && y < 6) ? x : (T)0)                        \
            default: break;                                                                   \
            }                                                                                 \
        }                                                                                     \
    }

    /* One level of indirection so that the MATH list expands into separate arguments. */
    #define FE_DEFINE(...) FE_DEFINE_BLOCK(__VA_ARGS__)
    #define FE_F32_MATH fe_expf, expm1f, logf, log1pf, sinf, cosf, tanf, fe_tanhf, fe_sigmoidf, sqrtf, fabsf, floorf, ceilf
    #define FE_F64_MATH exp, expm1, log, log1p, sin, cos, tan, tanh, fe_sigmoid, sqrt, fabs, floor, ceil

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define FE_HAVE_AVX2 1
    FE_DEFINE(fe_block_f32_avx2, float, __attribute__((target("avx2,fma"))), FE_F32_MATH)
    FE_DEFINE(fe_block_f64_avx2, double, __attribute__((target("avx2,fma"))), FE_F64_MATH)
    #endif
    FE_DEFINE(fe_block_f32_base, float, , FE_F32_MATH)
    FE_DEFINE(fe_block_f64_base, double, , FE_F64_MATH)

    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC pop_options
    #endif

    static int fe_use_avx2 = -1;

    static int fe_avx2(void) {
    #ifdef FE_HAVE_AVX2
        if (fe_use_avx2 < 0) {
            __builtin_cpu_init();
            fe_use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        }
        return fe_use_avx2;
    #else
        return 0;
    #endif
    }

    static void fe_block_f32(int n, const int32_t *prog, const double *params, float **regs,
                             int len, int avx2) {
    #ifdef FE_HAVE_AVX2
        if (avx2) { fe_block_f32_avx2(n, prog, params, regs, len); return; }
    #endif
        fe_block_f32_base(n, prog, params, regs, len);
    }

    static void fe_block_f64(int n, const int32_t *prog, const double *params, double **regs,
                             int len, int avx2) {
    #ifdef FE_HAVE_AVX2
        if (avx2) { fe_block_f64_avx2(n, prog, params, regs, len); return; }
    #endif
        fe_block_f64_base(n, prog, params, regs, len);
    }
    """
    int FE_BLOCK
    int fe_max_threads() noexcept nogil
    int fe_avx2() noexcept nogil
    void fe_block_f32(int n, const cnp.int32_t *prog, const double *params, float **regs,
                      int len, int avx2) noexcept nogil
    void fe_block_f64(int n, const cnp.int32_t *prog, const double *params, double **regs,
                      int len, int avx2) noexcept nogil

# Below this many elements the program runs on the calling thread: an OpenMP region costs a
# few microseconds, more than a small chain takes.
cdef Py_ssize_t PARALLEL_MIN_ELEMENTS = 65536

ctypedef fused real:
    float
    double


cdef void _run(real *scratch_all, real **regs_all, int n_instr, const cnp.int32_t *prog,
               const double *params, int n_inputs, int n_regs, real **in_ptrs,
               const char *in_scalar, real *out, Py_ssize_t size, int threads) noexcept nogil:
    """Runs the program over `size` elements, thread t using scratch/register table t."""
    cdef Py_ssize_t n_blocks = (size + FE_BLOCK - 1) // FE_BLOCK
    cdef Py_ssize_t block, start, i
    cdef int length, r, q, tid
    cdef int avx2 = fe_avx2()
    cdef int stride = n_regs + 1
    cdef real *scratch
    cdef real **regs
    with parallel(num_threads=threads):
        # Per thread: one block per temporary and per scalar input (filled once), and the
        # register table pointing into inputs, scratch and output for the current block.
        tid = threadid()
        scratch = scratch_all + <Py_ssize_t> tid * stride * FE_BLOCK
        regs = regs_all + <Py_ssize_t> tid * stride
        for r in range(n_inputs):
            if in_scalar[r]:
                for i in range(FE_BLOCK):
                    scratch[r * FE_BLOCK + i] = in_ptrs[r][0]
                regs[r] = scratch + r * FE_BLOCK
        for r in range(n_inputs, n_regs):
            regs[r] = scratch + r * FE_BLOCK
        for block in prange(n_blocks, schedule="static"):
            start = block * FE_BLOCK
            length = <int> (size - start if size - start < FE_BLOCK else FE_BLOCK)
            for q in range(n_inputs):
                if not in_scalar[q]:
                    regs[q] = in_ptrs[q] + start
            regs[n_regs] = out + start
            if real is float:
                fe_block_f32(n_instr, prog, params, <float **> regs, length, avx2)
            else:
                fe_block_f64(n_instr, prog, params, <double **> regs, length, avx2)


def run_program(tuple inputs, cnp.ndarray program, cnp.ndarray params, int n_regs,
                cnp.ndarray out):
    """Evaluates a fused program into `out`.

    Args:
      inputs: C-contiguous arrays of out's dtype (float32 or float64), each either of out's
        size or of size 1 (broadcast). The caller checked shapes.
      program: int32 array (n_instr, 4) of (opcode, dst, a, b); register `n_regs` is `out`.
      params: float64 array (n_instr,): each instruction's constant (e.g. leaky_relu alpha).
      n_regs: the number of registers (inputs first, then temporaries).
      out: the C-contiguous output array; it may be one of the inputs (in-place).

    Returns:
      `out`.

    Raises:
      TypeError: if out's dtype is not float32 or float64.
    """
    cdef Py_ssize_t size = out.size
    cdef int n_inputs = len(inputs)
    cdef int n_instr = program.shape[0]
    cdef cnp.ndarray prog = np.ascontiguousarray(program, dtype=np.int32)
    cdef cnp.ndarray prm = np.ascontiguousarray(params, dtype=np.float64)
    cdef int threads = 1 if size < PARALLEL_MIN_ELEMENTS else fe_max_threads()
    cdef int k
    if out.dtype != np.float32 and out.dtype != np.float64:
        raise TypeError("_FusedElementwise: dtype %s is not float32 or float64" % out.dtype)
    # Scratch blocks and register tables for every thread, sized before the parallel region.
    cdef cnp.ndarray scratch = np.empty(threads * (n_regs + 1) * FE_BLOCK, dtype=out.dtype)
    cdef cnp.ndarray regs = np.empty(threads * (n_regs + 1), dtype=np.uintp)
    cdef cnp.ndarray ptrs = np.empty(n_inputs + 1, dtype=np.uintp)
    cdef cnp.ndarray scalar = np.zeros(n_inputs + 1, dtype=np.int8)
    cdef size_t *ptr_data = <size_t *> cnp.PyArray_DATA(ptrs)
    cdef char *scalar_data = <char *> cnp.PyArray_DATA(scalar)
    cdef cnp.ndarray a
    for k in range(n_inputs):
        a = inputs[k]
        ptr_data[k] = <size_t> cnp.PyArray_DATA(a)
        scalar_data[k] = a.size == 1 and size != 1
    if out.dtype == np.float32:
        with nogil:
            _run(<float *> cnp.PyArray_DATA(scratch), <float **> cnp.PyArray_DATA(regs),
                 n_instr, <cnp.int32_t *> cnp.PyArray_DATA(prog),
                 <double *> cnp.PyArray_DATA(prm), n_inputs, n_regs,
                 <float **> ptr_data, scalar_data, <float *> cnp.PyArray_DATA(out), size,
                 threads)
    else:
        with nogil:
            _run(<double *> cnp.PyArray_DATA(scratch), <double **> cnp.PyArray_DATA(regs),
                 n_instr, <cnp.int32_t *> cnp.PyArray_DATA(prog),
                 <double *> cnp.PyArray_DATA(prm), n_inputs, n_regs,
                 <double **> ptr_data, scalar_data, <double *> cnp.PyArray_DATA(out), size,
                 threads)
    return out
