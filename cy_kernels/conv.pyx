# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""im2col and col2im for NHWC convolutions: the copies around the GEMMs of Conv2D and its
two backprop ops (the GEMMs themselves stay in numpy's matmul, i.e. OpenBLAS); and, for an
input of one channel, Conv2D and Conv2DBackpropFilter as direct loops with no GEMM.

numpy builds the patch matrix from a 6-D strided view, moving C values at a time on one core;
these loops write each patch row once, in parallel over (image, output row). Patch columns are
ordered (kernel row, kernel column, channel), as the filter [KH, KW, C, O] reshaped to
[KH*KW*C, O]. Callers pass C-contiguous arrays of one dtype (float32 or float64) and a
geometry already validated by the op's shape rules.
"""
cimport cython
from cython.parallel cimport prange, threadid

from _threads cimport threads_for

cdef extern from *:
    """
    /* Direct convolution loops for a single input channel (a network's first layer on
       grayscale images): there the patch matrix has only KH*KW columns, a GEMM shape
       BLAS runs far below its peak. Output channels go in blocks of HP_OUT_BLOCK whose
       accumulators, indexed only by constants, the compiler keeps in vector registers
       across the taps; a last partial block takes a plain loop. On x86-64 a copy compiled
       for AVX2+FMA is picked at run time, as in fused_elementwise.pyx. */
    #define HP_OUT_BLOCK 16
    typedef float hp_f32x8 __attribute__((vector_size(32)));
    typedef double hp_f64x4 __attribute__((vector_size(32)));

    /* Full blocks use GCC's vector types (HP_OUT_BLOCK values = HP_VECTORS(T) vectors of
       32 bytes: ymm registers under AVX2, register pairs on baseline SSE2): left to the
       auto-vectorizer, the accumulators were unrolled into scalar registers. Several
       pixels (forward) or taps (filter gradient) at once give the FMAs independent
       accumulator chains: one chain per block left them waiting on each other. */
    #define HP_VECTORS(T) (HP_OUT_BLOCK * sizeof(T) / 32)
    #define HP_LANES(T) (32 / sizeof(T))
    #define HP_LOAD(vec, ptr) __builtin_memcpy(&(vec), (ptr), sizeof(vec))
    #define HP_STORE(ptr, vec) __builtin_memcpy((ptr), &(vec), sizeof(vec))
    /* Constant-count loops over accumulators must be unrolled for the accumulators to stay
       in registers (GCC otherwise keeps the arrays on the stack). */
    #define HP_UNROLLED _Pragma("GCC unroll 16")
    /* Forward pixels computed together, filter-gradient taps summed together. */
    #define HP_GROUP 4

    /* out[ox + p, o0:o0+HP_OUT_BLOCK] for p < P: the window taps of P output pixels of one
       row. P > 1 only where every tap of every pixel lies inside the row. */
    #define HP_PIXELS_FULL(T, VT, P)                                                               \
        VT acc[P][HP_VECTORS(T)];                                                                  \
        HP_UNROLLED for (int p = 0; p < (P); p++)                                                  \
            HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++) acc[p][j] = (VT){0};          \
        for (Py_ssize_t ky = 0; ky < kernel_h; ky++) {                                             \
            Py_ssize_t iy = top + ky * dilation_h;                                                 \
            if (iy < 0 || iy >= height) continue;                                                  \
            const T *irow = image + iy * width;                                                    \
            for (Py_ssize_t kx = 0; kx < kernel_w; kx++) {                                         \
                Py_ssize_t ix = left + kx * dilation_w;                                            \
                if ((P) == 1 && (ix < 0 || ix >= width)) continue;                                 \
                const T *wrow = w + (ky * kernel_w + kx) * outs + o0;                              \
                VT wv[HP_VECTORS(T)];                                                              \
                HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++)                           \
                    HP_LOAD(wv[j], wrow + j * HP_LANES(T));                                        \
                HP_UNROLLED for (int p = 0; p < (P); p++) {                                        \
                    T v = irow[ix + p * stride_w];                                                 \
                    HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++)                       \
                        acc[p][j] += wv[j] * v;                                                    \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        HP_UNROLLED for (int p = 0; p < (P); p++)                                                  \
            HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++)                               \
                HP_STORE(out + (ox + p) * outs + o0 + j * HP_LANES(T), acc[p][j]);

    /* out[ox, o0:o0+n] for a last block of n < HP_OUT_BLOCK columns, one pixel. */
    #define HP_PIXEL_PART(T, n)                                                                    \
        T acc[HP_OUT_BLOCK] = {0};                                                                 \
        for (Py_ssize_t ky = 0; ky < kernel_h; ky++) {                                             \
            Py_ssize_t iy = top + ky * dilation_h;                                                 \
            if (iy < 0 || iy >= height) continue;                                                  \
            for (Py_ssize_t kx = 0; kx < kernel_w; kx++) {                                         \
                Py_ssize_t ix = left + kx * dilation_w;                                            \
                if (ix < 0 || ix >= width) continue;                                               \
                T v = image[iy * width + ix];                                                      \
                const T *wrow = w + (ky * kernel_w + kx) * outs + o0;                              \
                for (Py_ssize_t i = 0; i < (n); i++) acc[i] += v * wrow[i];                        \
            }                                                                                      \
        }                                                                                          \
        for (Py_ssize_t i = 0; i < (n); i++) out[ox * outs + o0 + i] = acc[i];

    /* dst[kx0 + t, o0:o0+HP_OUT_BLOCK] += one output row's sums for taps kx0 + t, t < K. */
    #define HP_TAPS_FULL(T, VT, K)                                                                 \
        VT acc[K][HP_VECTORS(T)];                                                                  \
        HP_UNROLLED for (int t = 0; t < (K); t++)                                                  \
            HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++) acc[t][j] = (VT){0};          \
        for (Py_ssize_t ox = 0; ox < out_w; ox++) {                                                \
            Py_ssize_t ix = ox * stride_w - pad_left + kx0 * dilation_w;                           \
            int inside = ix >= 0 && ix + ((K) - 1) * dilation_w < width;                           \
            VT gv[HP_VECTORS(T)];                                                                  \
            HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++)                               \
                HP_LOAD(gv[j], dy + ox * outs + o0 + j * HP_LANES(T));                             \
            HP_UNROLLED for (int t = 0; t < (K); t++) {                                            \
                Py_ssize_t at = ix + t * dilation_w;                                               \
                if (!inside && (at < 0 || at >= width)) continue;                                  \
                T v = line[at];                                                                    \
                HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++) acc[t][j] += gv[j] * v;   \
            }                                                                                      \
        }                                                                                          \
        HP_UNROLLED for (int t = 0; t < (K); t++)                                                  \
            HP_UNROLLED for (int j = 0; j < (int)HP_VECTORS(T); j++)                               \
                HP_UNROLLED for (int i = 0; i < (int)HP_LANES(T); i++)                             \
                    dst[(kx0 + t) * outs + o0 + j * HP_LANES(T) + i] += acc[t][j][i];

    /* The same for one tap and a last block of n < HP_OUT_BLOCK columns. */
    #define HP_TAP_PART(T, n)                                                                      \
        T acc[HP_OUT_BLOCK] = {0};                                                                 \
        for (Py_ssize_t ox = 0; ox < out_w; ox++) {                                                \
            Py_ssize_t ix = ox * stride_w - pad_left + kx0 * dilation_w;                           \
            if (ix < 0 || ix >= width) continue;                                                   \
            T v = line[ix];                                                                        \
            const T *g = dy + ox * outs + o0;                                                      \
            for (Py_ssize_t i = 0; i < (n); i++) acc[i] += v * g[i];                               \
        }                                                                                          \
        for (Py_ssize_t i = 0; i < (n); i++) dst[kx0 * outs + o0 + i] += acc[i];

    #define HP_SINGLE_CHANNEL_LOOPS(T, VT, SUFFIX, ATTR)                                           \
    /* out[ox, o] = sum over the window's taps of image[tap] * w[tap, o], for one output           \
       row whose window tops are at image row `top`. */                                            \
    ATTR static void hp_conv1_row_##SUFFIX(                                                        \
            const T *restrict image, Py_ssize_t height, Py_ssize_t width,                          \
            const T *restrict w, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t outs,        \
            T *restrict out, Py_ssize_t out_w, Py_ssize_t top, Py_ssize_t stride_w,                \
            Py_ssize_t dilation_h, Py_ssize_t dilation_w, Py_ssize_t pad_left) {                   \
        Py_ssize_t step;                                                                           \
        for (Py_ssize_t ox = 0; ox < out_w; ox += step) {                                          \
            Py_ssize_t left = ox * stride_w - pad_left;                                            \
            int group = outs % HP_OUT_BLOCK == 0 && ox + HP_GROUP <= out_w && left >= 0 &&         \
                left + (HP_GROUP - 1) * stride_w + (kernel_w - 1) * dilation_w < width;            \
            step = group ? HP_GROUP : 1;                                                           \
            for (Py_ssize_t o0 = 0; o0 < outs; o0 += HP_OUT_BLOCK) {                               \
                Py_ssize_t n = outs - o0 < HP_OUT_BLOCK ? outs - o0 : HP_OUT_BLOCK;                \
                if (group) { HP_PIXELS_FULL(T, VT, HP_GROUP) }                                     \
                else if (n == HP_OUT_BLOCK) { HP_PIXELS_FULL(T, VT, 1) }                           \
                else { HP_PIXEL_PART(T, n) }                                                       \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* dw[tap, o] += sum over one output row of image[tap] * dy[ox, o]; dw in double, so           \
       a float32 sum over a whole batch only rounds each row's short sum to float. */              \
    ATTR static void hp_conv1_filter_row_##SUFFIX(                                                 \
            const T *restrict image, Py_ssize_t height, Py_ssize_t width,                          \
            const T *restrict dy, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t outs,       \
            double *restrict dw, Py_ssize_t out_w, Py_ssize_t top, Py_ssize_t stride_w,            \
            Py_ssize_t dilation_h, Py_ssize_t dilation_w, Py_ssize_t pad_left) {                   \
        for (Py_ssize_t ky = 0; ky < kernel_h; ky++) {                                             \
            Py_ssize_t iy = top + ky * dilation_h;                                                 \
            if (iy < 0 || iy >= height) continue;                                                  \
            const T *line = image + iy * width;                                                    \
            double *dst = dw + ky * kernel_w * outs;                                               \
            for (Py_ssize_t o0 = 0; o0 < outs; o0 += HP_OUT_BLOCK) {                               \
                Py_ssize_t n = outs - o0 < HP_OUT_BLOCK ? outs - o0 : HP_OUT_BLOCK;                \
                Py_ssize_t taps;                                                                   \
                for (Py_ssize_t kx0 = 0; kx0 < kernel_w; kx0 += taps) {                            \
                    taps = n == HP_OUT_BLOCK && kernel_w - kx0 >= HP_GROUP ? HP_GROUP : 1;         \
                    if (taps == HP_GROUP) { HP_TAPS_FULL(T, VT, HP_GROUP) }                        \
                    else if (n == HP_OUT_BLOCK) { HP_TAPS_FULL(T, VT, 1) }                         \
                    else { HP_TAP_PART(T, n) }                                                     \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define HP_HAVE_AVX2 1
    HP_SINGLE_CHANNEL_LOOPS(float, hp_f32x8, f32_avx2, __attribute__((target("avx2,fma"))))
    HP_SINGLE_CHANNEL_LOOPS(double, hp_f64x4, f64_avx2, __attribute__((target("avx2,fma"))))
    #endif
    HP_SINGLE_CHANNEL_LOOPS(float, hp_f32x8, f32_base, )
    HP_SINGLE_CHANNEL_LOOPS(double, hp_f64x4, f64_base, )

    static int hp_avx2(void) {
    #ifdef HP_HAVE_AVX2
        static int use = -1;
        if (use < 0) {
            __builtin_cpu_init();
            use = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        }
        return use;
    #else
        return 0;
    #endif
    }

    #ifdef HP_HAVE_AVX2
    #define HP_DISPATCH(NAME, SUFFIX, ...)                                                         \
        if (hp_avx2()) NAME##_##SUFFIX##_avx2(__VA_ARGS__);                                        \
        else NAME##_##SUFFIX##_base(__VA_ARGS__);
    #else
    #define HP_DISPATCH(NAME, SUFFIX, ...) NAME##_##SUFFIX##_base(__VA_ARGS__);
    #endif

    #define HP_ROW_PARAMS(T, DW_T) const T *image, Py_ssize_t height, Py_ssize_t width,            \
        const T *w, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t outs, DW_T *out,          \
        Py_ssize_t out_w, Py_ssize_t top, Py_ssize_t stride_w, Py_ssize_t dilation_h,              \
        Py_ssize_t dilation_w, Py_ssize_t pad_left
    #define HP_ROW_ARGS image, height, width, w, kernel_h, kernel_w, outs, out, out_w, top,        \
        stride_w, dilation_h, dilation_w, pad_left
    static void hp_conv1_row_f32(HP_ROW_PARAMS(float, float)) {
        HP_DISPATCH(hp_conv1_row, f32, HP_ROW_ARGS) }
    static void hp_conv1_row_f64(HP_ROW_PARAMS(double, double)) {
        HP_DISPATCH(hp_conv1_row, f64, HP_ROW_ARGS) }
    static void hp_conv1_filter_row_f32(HP_ROW_PARAMS(float, double)) {
        HP_DISPATCH(hp_conv1_filter_row, f32, HP_ROW_ARGS) }
    static void hp_conv1_filter_row_f64(HP_ROW_PARAMS(double, double)) {
        HP_DISPATCH(hp_conv1_filter_row, f64, HP_ROW_ARGS) }
    """
    void hp_conv1_row_f32(const float* image, Py_ssize_t height, Py_ssize_t width,
                          const float* w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                          Py_ssize_t outs, float* out, Py_ssize_t out_w, Py_ssize_t top,
                          Py_ssize_t stride_w, Py_ssize_t dilation_h, Py_ssize_t dilation_w,
                          Py_ssize_t pad_left) noexcept nogil
    void hp_conv1_row_f64(const double* image, Py_ssize_t height, Py_ssize_t width,
                          const double* w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                          Py_ssize_t outs, double* out, Py_ssize_t out_w, Py_ssize_t top,
                          Py_ssize_t stride_w, Py_ssize_t dilation_h, Py_ssize_t dilation_w,
                          Py_ssize_t pad_left) noexcept nogil
    void hp_conv1_filter_row_f32(const float* image, Py_ssize_t height, Py_ssize_t width,
                                 const float* dy, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                                 Py_ssize_t outs, double* dw, Py_ssize_t out_w, Py_ssize_t top,
                                 Py_ssize_t stride_w, Py_ssize_t dilation_h,
                                 Py_ssize_t dilation_w, Py_ssize_t pad_left) noexcept nogil
    void hp_conv1_filter_row_f64(const double* image, Py_ssize_t height, Py_ssize_t width,
                                 const double* dy, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                                 Py_ssize_t outs, double* dw, Py_ssize_t out_w,
                                 Py_ssize_t top, Py_ssize_t stride_w, Py_ssize_t dilation_h,
                                 Py_ssize_t dilation_w, Py_ssize_t pad_left) noexcept nogil


def im2col(const cython.floating[:, :, :, ::1] x, cython.floating[:, ::1] cols,
           Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
           Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t dilation_h,
           Py_ssize_t dilation_w, Py_ssize_t pad_top, Py_ssize_t pad_left):
    """Fills `cols` [N*OH*OW, KH*KW*C] with the windows of `x` [N, H, W, C]; padding is 0.

    Args:
      x: the (unpadded) NHWC input.
      cols: the output patch matrix, row (n, oy, ox), column (ky, kx, c).
      out_h, out_w, kernel_h, ...: the window walk (pads before; pads after are implied).
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t tasks = n * out_h, run = kernel_w * c
    cdef Py_ssize_t task, b, oy, ox, ky, kx, iy, ix, ci, row, col, left
    cdef const cython.floating* src
    cdef cython.floating* dst
    if cols.shape[0] != tasks * out_w or cols.shape[1] != kernel_h * kernel_w * c:
        raise ValueError("im2col: cols has shape (%d, %d), expected (%d, %d)"
                         % (cols.shape[0], cols.shape[1], tasks * out_w,
                            kernel_h * kernel_w * c))
    with nogil:
        for task in prange(tasks, schedule="static",
                           num_threads=threads_for(cols.shape[0] * cols.shape[1])):
            b = task // out_h
            oy = task - b * out_h
            for ox in range(out_w):
                row = task * out_w + ox
                col = 0
                left = ox * stride_w - pad_left
                for ky in range(kernel_h):
                    iy = oy * stride_h - pad_top + ky * dilation_h
                    if (0 <= iy < height and dilation_w == 1 and left >= 0 and
                            left + kernel_w <= width):
                        # The window row is kernel_w * c contiguous values: one run.
                        dst = &cols[row, col]
                        src = &x[b, iy, left, 0]
                        for ci in range(run):
                            dst[ci] = src[ci]
                        col = col + run
                        continue
                    for kx in range(kernel_w):
                        ix = left + kx * dilation_w
                        dst = &cols[row, col]
                        if 0 <= iy < height and 0 <= ix < width:
                            src = &x[b, iy, ix, 0]
                            for ci in range(c):
                                dst[ci] = src[ci]
                        else:
                            for ci in range(c):
                                dst[ci] = 0
                        col = col + c


def col2im(const cython.floating[:, ::1] cols, cython.floating[:, :, :, ::1] dx,
           Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
           Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t dilation_h,
           Py_ssize_t dilation_w, Py_ssize_t pad_top, Py_ssize_t pad_left):
    """The adjoint of `im2col`: dx[n, iy, ix, c] = sum of the patch entries that read it.

    Written per input row (each task owns one row of one image and sums into it the patch
    entries that cover it, in kernel order), so tasks never write the same element and the
    loop runs in parallel with no atomics.

    Args:
      cols: patch gradients [N*OH*OW, KH*KW*C], laid out as `im2col` writes patches.
      dx: the output [N, H, W, C]; every element is overwritten.
    """
    cdef Py_ssize_t n = dx.shape[0], height = dx.shape[1], width = dx.shape[2], c = dx.shape[3]
    cdef Py_ssize_t tasks = n * height
    cdef Py_ssize_t task, b, iy, ix, ky, kx, ty, oy, ox, ci, row
    cdef const cython.floating* src
    cdef cython.floating* dst
    cdef cython.floating* line
    if cols.shape[0] != n * out_h * out_w or cols.shape[1] != kernel_h * kernel_w * c:
        raise ValueError("col2im: cols has shape (%d, %d), expected (%d, %d)"
                         % (cols.shape[0], cols.shape[1], n * out_h * out_w,
                            kernel_h * kernel_w * c))
    with nogil:
        for task in prange(tasks, schedule="static",
                           num_threads=threads_for(cols.shape[0] * cols.shape[1])):
            b = task // height
            iy = task - b * height
            line = &dx[b, iy, 0, 0]
            for ix in range(width * c):
                line[ix] = 0
            # Sum in (ky, kx) order, as im2col lays patches out; one division per kernel row.
            for ky in range(kernel_h):
                ty = iy + pad_top - ky * dilation_h
                if ty < 0 or ty % stride_h != 0:
                    continue
                oy = ty // stride_h
                if oy >= out_h:
                    continue
                for kx in range(kernel_w):
                    for ox in range(out_w):
                        ix = ox * stride_w - pad_left + kx * dilation_w
                        if ix < 0 or ix >= width:
                            continue
                        row = (b * out_h + oy) * out_w + ox
                        src = &cols[row, (ky * kernel_w + kx) * c]
                        dst = line + ix * c
                        for ci in range(c):
                            dst[ci] = dst[ci] + src[ci]


def conv_single_channel(const cython.floating[:, :, ::1] x, const cython.floating[:, ::1] w,
                        cython.floating[:, :, :, ::1] out, Py_ssize_t kernel_h,
                        Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w,
                        Py_ssize_t dilation_h, Py_ssize_t dilation_w, Py_ssize_t pad_top,
                        Py_ssize_t pad_left):
    """Conv2D of a one-channel input, without a patch matrix: out = x (*) w.

    Args:
      x: the input [N, H, W] (NHWC with its one channel dropped).
      w: the filter [KH*KW, O].
      out: the output [N, OH, OW, O], overwritten.
      kernel_h, ...: the window walk, as for `im2col`.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2], outs = out.shape[3]
    cdef Py_ssize_t tasks = n * out_h
    cdef Py_ssize_t task, b, oy
    if w.shape[0] != kernel_h * kernel_w or w.shape[1] != outs or out.shape[0] != n:
        raise ValueError("conv_single_channel: filter (%d, %d) and output %d x %d do not "
                         "match" % (w.shape[0], w.shape[1], out.shape[0], outs))
    with nogil:
        for task in prange(tasks, schedule="static",
                           num_threads=threads_for(tasks * out_w * outs * w.shape[0])):
            b = task // out_h
            oy = task - b * out_h
            if cython.floating is float:
                hp_conv1_row_f32(&x[b, 0, 0], height, width, &w[0, 0], kernel_h, kernel_w,
                                 outs, &out[b, oy, 0, 0], out_w, oy * stride_h - pad_top,
                                 stride_w, dilation_h, dilation_w, pad_left)
            else:
                hp_conv1_row_f64(&x[b, 0, 0], height, width, &w[0, 0], kernel_h, kernel_w,
                                 outs, &out[b, oy, 0, 0], out_w, oy * stride_h - pad_top,
                                 stride_w, dilation_h, dilation_w, pad_left)


def conv_single_channel_filter_grad(const cython.floating[:, :, ::1] x,
                                    const cython.floating[:, :, :, ::1] dy,
                                    double[:, :, ::1] partials, Py_ssize_t kernel_h,
                                    Py_ssize_t kernel_w, Py_ssize_t stride_h,
                                    Py_ssize_t stride_w, Py_ssize_t dilation_h,
                                    Py_ssize_t dilation_w, Py_ssize_t pad_top,
                                    Py_ssize_t pad_left):
    """Conv2DBackpropFilter of a one-channel input, without a patch matrix.

    Each thread sums its output rows into its own slice of `partials`; the caller adds the
    slices (in a fixed order, so a given thread count always gives the same result).

    Args:
      x: the input [N, H, W] (NHWC with its one channel dropped).
      dy: the output gradient [N, OH, OW, O].
      partials: float64 [threads, KH*KW, O], zeroed by the caller; `partial_count` gives
        threads.
      kernel_h, ...: the window walk, as for `im2col`.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = dy.shape[1], out_w = dy.shape[2], outs = dy.shape[3]
    cdef Py_ssize_t tasks = n * out_h
    cdef Py_ssize_t task, b, oy, tid
    cdef int threads = partials.shape[0]
    if partials.shape[1] != kernel_h * kernel_w or partials.shape[2] != outs or                    \
            dy.shape[0] != n:
        raise ValueError("conv_single_channel_filter_grad: partials (%d, %d) and gradient "
                         "%d x %d do not match" % (partials.shape[1], partials.shape[2],
                                                   dy.shape[0], outs))
    with nogil:
        for task in prange(tasks, schedule="static", num_threads=threads):
            b = task // out_h
            oy = task - b * out_h
            tid = threadid()
            if cython.floating is float:
                hp_conv1_filter_row_f32(&x[b, 0, 0], height, width, &dy[b, oy, 0, 0],
                                        kernel_h, kernel_w, outs, &partials[tid, 0, 0],
                                        out_w, oy * stride_h - pad_top, stride_w, dilation_h,
                                        dilation_w, pad_left)
            else:
                hp_conv1_filter_row_f64(&x[b, 0, 0], height, width, &dy[b, oy, 0, 0],
                                        kernel_h, kernel_w, outs, &partials[tid, 0, 0],
                                        out_w, oy * stride_h - pad_top, stride_w, dilation_h,
                                        dilation_w, pad_left)


def partial_count(Py_ssize_t work):
    """How many threads (so partial sums) `conv_single_channel_filter_grad` uses for `work`
    multiply-adds."""
    return threads_for(work)
