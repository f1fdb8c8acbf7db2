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

The one-channel loops have three compiled copies (AVX-512, AVX2+FMA, baseline), picked at
run time by what the CPU supports; `set_single_channel_isa` forces a lower one (tests run
every copy on a machine that has them all).
"""
cimport cython
from cython.parallel cimport prange, threadid

import numpy as np

from _threads cimport threads_for

cdef extern from *:
    """
    /* Direct convolution loops for a single input channel (a network's first layer on
       grayscale images): there the patch matrix has only KH*KW columns, a GEMM shape BLAS
       runs far below its peak.

       A forward task is one output row of one image, a filter-gradient task a few
       (HP_FILTER_ROWS). A task first copies the input rows its windows read into a
       per-thread scratch, zero-padded left and right (and past the right edge far enough
       for the blocks below to overrun), so that the inner loops never test a border: SAME
       padding costs a few multiplications by zero instead of a slow scalar path for the
       edge pixels. Rows above or below the image are left out by the forward and zeroed
       for the filter gradient (whose blocks span window rows of several output rows).

       Output channels go in blocks of two vectors (one vector for a last block of at most
       one vector's width, which may be partial: the filter, or the output gradient, is then
       read from a copy padded to `ws` columns and only the valid lanes are written). The
       accumulators are arrays indexed only by constants in fully unrolled loops, so the
       compiler keeps them in vector registers across the taps (GCC's vector types: left to
       the auto-vectorizer they were unrolled into scalars). Blocks are sized to give the
       FMAs enough independent chains (an FMA has 4 cycles of latency and two issue per
       cycle: at least 8 chains are needed) while fitting the register file:
       - forward: P output pixels x 2 vectors of outputs; the filter vectors of a tap are
         loaded once and each input value is broadcast once per pixel;
       - filter gradient: R window rows x K taps of a row x 2 vectors, summed over the
         task's output rows; taps past the window's width are computed from the zero
         padding and dropped, so one block shape covers the usual 5-wide (and 3-wide)
         windows.
       The filter gradient sums a task's rows in the input's precision (for float32, float
       vectors at full SIMD width) and adds that to double partials, so a batch's sum
       rounds far less than a float32 GEMM's would.
       Stride 1 and dilation 1 get a copy of the inner loops with those as constants (fewer
       registers for addresses, offsets folded into the loads); other walks take the same
       loops with the stride and dilation as variables.

       On a Zen 5 core (LeNet's conv1, batch 64) the AVX-512 copy runs both ops at ~200
       GFLOP/s, near the two 512-bit FMAs per cycle; the output (forward) and the output
       gradient (filter) are 6.4 MB, so in a training step, where they are not in cache,
       memory traffic adds about as much again. */
    #include <string.h>

    typedef struct {
        Py_ssize_t height, width;                 /* the input image */
        Py_ssize_t kernel_h, kernel_w, outs;      /* the filter [kernel_h * kernel_w, outs] */
        Py_ssize_t out_w, stride_h, stride_w, dilation_h, dilation_w, pad_left;
        Py_ssize_t ws;       /* columns of the padded filter / output-gradient copies */
        Py_ssize_t row_len;  /* values per zero-padded input row in the scratch */
    } hp_conv1_geom;

    /* The largest forward pixel group and the filter-gradient tap blocks of any copy:
       they set how far past the last window the padded rows must reach. */
    #define HP_MAX_PIXELS 8
    #define HP_TAPS 5
    #define HP_FEW_TAPS 3
    /* Padded copies have a multiple of 64 bytes per row: whole vectors of every copy. */
    #define HP_PAD_BYTES 64

    static Py_ssize_t hp_conv1_padded_outs(Py_ssize_t outs, Py_ssize_t itemsize) {
        Py_ssize_t per = HP_PAD_BYTES / itemsize;
        return (outs + per - 1) / per * per;
    }

    /* The forward reads columns up to (out_w - 2 + HP_MAX_PIXELS) * stride_w +
       (kernel_w - 1) * dilation_w; the filter gradient up to (out_w - 1) * stride_w +
       (kernel_w + HP_TAPS - 2) * dilation_w. */
    static Py_ssize_t hp_conv1_row_len(Py_ssize_t out_w, Py_ssize_t kernel_w,
                                       Py_ssize_t stride_w, Py_ssize_t dilation_w) {
        return (out_w + HP_MAX_PIXELS - 2) * stride_w +
               (kernel_w + HP_TAPS - 2) * dilation_w + 1;
    }

    /* dst[c] = row[c - pad_left], 0 outside the row, for c < row_len. */
    #define HP_PAD_ROW(T)                                                                          \
    static void hp_conv1_pad_row_##T(const T *restrict row, const hp_conv1_geom *g,                \
                                     T *restrict dst) {                                            \
        Py_ssize_t lo = g->pad_left < 0 ? 0 : g->pad_left;                                         \
        Py_ssize_t hi = g->pad_left + g->width;                                                    \
        if (lo > g->row_len) lo = g->row_len;                                                      \
        if (hi > g->row_len) hi = g->row_len;                                                      \
        if (hi < lo) hi = lo;                                                                      \
        memset(dst, 0, lo * sizeof(T));                                                            \
        memcpy(dst + lo, row + (lo - g->pad_left), (hi - lo) * sizeof(T));                         \
        memset(dst + hi, 0, (g->row_len - hi) * sizeof(T));                                        \
    }
    HP_PAD_ROW(float)
    HP_PAD_ROW(double)

    /* Copies the image rows that the windows whose tops are at row `top` read into `buf`
       (row_len values each, column c holding image column c - pad_left, 0 outside the
       image); ky_of[r] is the kernel row of copied row r. Returns how many rows. */
    #define HP_FILL_ROWS(T)                                                                        \
    static Py_ssize_t hp_conv1_fill_rows_##T(const T *restrict image, Py_ssize_t top,              \
                                             const hp_conv1_geom *g, T *restrict buf,              \
                                             Py_ssize_t *ky_of) {                                  \
        Py_ssize_t rows = 0;                                                                       \
        for (Py_ssize_t ky = 0; ky < g->kernel_h; ky++) {                                          \
            Py_ssize_t iy = top + ky * g->dilation_h;                                              \
            if (iy < 0 || iy >= g->height) continue;                                               \
            hp_conv1_pad_row_##T(image + iy * g->width, g, buf + rows * g->row_len);               \
            ky_of[rows++] = ky;                                                                    \
        }                                                                                          \
        return rows;                                                                               \
    }
    HP_FILL_ROWS(float)
    HP_FILL_ROWS(double)

    /* Output rows a filter-gradient task sums in T before adding to the double partials.
       The add (a convert and an add per tap and output channel) cost a third of the time
       when done after every output row, ~10% after 4 rows. More rows gain a few % more
       but, for float32, round more: at 4 (LeNet: 112 products per float sum) one
       image's gradient stays closer to the exact one than float32 im2col + GEMM, at 8
       it did not. */
    #define HP_FILTER_ROWS 4

    /* Image rows read by the windows of `count` output rows. */
    static Py_ssize_t hp_conv1_filter_span(const hp_conv1_geom *g, Py_ssize_t count) {
        return (count - 1) * g->stride_h + (g->kernel_h - 1) * g->dilation_h + 1;
    }

    /* Copies image rows top .. top + span - 1 into buf as hp_conv1_fill_rows does, rows
       outside the image as zeros (the filter gradient's blocks span several rows). */
    #define HP_FILL_SPAN(T)                                                                        \
    static void hp_conv1_fill_span_##T(const T *restrict image, Py_ssize_t top,                    \
                                       Py_ssize_t span, const hp_conv1_geom *g,                    \
                                       T *restrict buf) {                                          \
        for (Py_ssize_t r = 0; r < span; r++) {                                                    \
            Py_ssize_t iy = top + r;                                                               \
            T *dst = buf + r * g->row_len;                                                         \
            if (iy < 0 || iy >= g->height) {                                                       \
                memset(dst, 0, g->row_len * sizeof(T));                                            \
                continue;                                                                          \
            }                                                                                      \
            hp_conv1_pad_row_##T(image + iy * g->width, g, dst);                                   \
        }                                                                                          \
    }
    HP_FILL_SPAN(float)
    HP_FILL_SPAN(double)

    /* GCC vector types of every copy; a vector of N floats is summed into N doubles. */
    typedef float hp_f32x4 __attribute__((vector_size(16)));
    typedef float hp_f32x8 __attribute__((vector_size(32)));
    typedef float hp_f32x16 __attribute__((vector_size(64)));
    typedef double hp_f64x2 __attribute__((vector_size(16)));
    typedef double hp_f64x4 __attribute__((vector_size(32)));
    typedef double hp_f64x8 __attribute__((vector_size(64)));
    typedef double hp_f64x16 __attribute__((vector_size(128)));

    #define HP_LOAD(vec, ptr) __builtin_memcpy(&(vec), (ptr), sizeof(vec))
    #define HP_STORE(ptr, vec) __builtin_memcpy((ptr), &(vec), sizeof(vec))
    /* Constant-count loops over accumulators must be unrolled for the accumulators to stay
       in registers (GCC otherwise keeps the arrays on the stack). */
    #define HP_UNROLLED _Pragma("GCC unroll 32")

    /* out[ox + p, o0 : o0 + V vectors] for p < P (pixels past out_w are computed from the
       padding and not stored). SW, DIL: the stride and dilation along the row. */
    #define HP_FWD_GROUP(T, VT, P, V, SW, DIL)                                                     \
    {                                                                                              \
        VT acc[P][V];                                                                              \
        HP_UNROLLED for (int p = 0; p < (P); p++)                                                  \
            HP_UNROLLED for (int j = 0; j < (V); j++) acc[p][j] = (VT){0};                         \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                    \
            const T *src = buf + r * g->row_len + ox * (SW);                                       \
            const T *wrow = w + ky_of[r] * kernel_w * ws + o0;                                     \
            for (Py_ssize_t kx = 0; kx < kernel_w; kx++) {                                         \
                VT wv[V];                                                                          \
                HP_UNROLLED for (int j = 0; j < (V); j++)                                          \
                    HP_LOAD(wv[j], wrow + kx * ws + j * lanes);                                    \
                const T *s = src + kx * (DIL);                                                     \
                HP_UNROLLED for (int p = 0; p < (P); p++) {                                        \
                    T v = s[p * (SW)];                                                             \
                    HP_UNROLLED for (int j = 0; j < (V); j++) acc[p][j] += wv[j] * v;              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        HP_UNROLLED for (int p = 0; p < (P); p++) {                                                \
            if (ox + p >= out_w) break;                                                            \
            T *o = out + (ox + p) * outs + o0;                                                     \
            HP_UNROLLED for (int j = 0; j < (V); j++) {                                            \
                Py_ssize_t n = outs - o0 - j * lanes;                                              \
                if (n >= lanes) { HP_STORE(o + j * lanes, acc[p][j]); }                            \
                else {                                                                             \
                    T part[sizeof(VT) / sizeof(T)];                                                \
                    HP_STORE(part, acc[p][j]);                                                     \
                    for (Py_ssize_t i = 0; i < n; i++) o[j * lanes + i] = part[i];                 \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

    /* The forward group shapes for one walk (SW, DIL) and one block width. */
    #define HP_FWD_GROUPS(T, VT, PMAX, SW, DIL)                                                    \
        if (vecs == 2) {                                                                           \
            if (wide) HP_FWD_GROUP(T, VT, PMAX, 2, SW, DIL)                                        \
            else HP_FWD_GROUP(T, VT, (PMAX) / 2, 2, SW, DIL)                                       \
        } else {                                                                                   \
            if (wide) HP_FWD_GROUP(T, VT, PMAX, 1, SW, DIL)                                        \
            else HP_FWD_GROUP(T, VT, (PMAX) / 2, 1, SW, DIL)                                       \
        }

    /* dw[(ky0 + r, kx0 + t), o0 : o0 + V vectors] += the sum over the task's output rows
       of image[window tap] * grad[oy, ox, o], for r < R, t < K (taps past kernel_w dropped).
       The sum is formed in T vectors and added to dw in double (DVT: V lanes of double). */
    #define HP_FILTER_BLOCK(T, VT, DVT, R, K, V, SW, DIL)                                          \
    {                                                                                              \
        VT acc[R][K][V];                                                                           \
        HP_UNROLLED for (int r = 0; r < (R); r++)                                                  \
            HP_UNROLLED for (int t = 0; t < (K); t++)                                              \
                HP_UNROLLED for (int j = 0; j < (V); j++) acc[r][t][j] = (VT){0};                  \
        for (Py_ssize_t q = 0; q < count; q++) {                                                   \
            /* Window rows outside the image are zeros in buf: skip only all-zero blocks. */       \
            Py_ssize_t iy = top + q * g->stride_h + ky0 * g->dilation_h;                           \
            if (iy >= g->height || iy + ((R) - 1) * g->dilation_h < 0) continue;                   \
            const T *src = buf + (iy - top) * g->row_len + kx0 * (DIL);                            \
            const T *gq = grad + q * out_w * gs + o0;                                              \
            for (Py_ssize_t ox = 0; ox < out_w; ox++) {                                            \
                VT gv[V];                                                                          \
                HP_UNROLLED for (int j = 0; j < (V); j++)                                          \
                    HP_LOAD(gv[j], gq + ox * gs + j * lanes);                                      \
                HP_UNROLLED for (int r = 0; r < (R); r++) {                                        \
                    const T *s = src + r * row_step + ox * (SW);                                   \
                    HP_UNROLLED for (int t = 0; t < (K); t++) {                                    \
                        T v = s[t * (DIL)];                                                        \
                        HP_UNROLLED for (int j = 0; j < (V); j++) acc[r][t][j] += gv[j] * v;       \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        HP_UNROLLED for (int r = 0; r < (R); r++)                                                  \
            HP_UNROLLED for (int t = 0; t < (K); t++) {                                            \
                if (kx0 + t >= kernel_w) break;                                                    \
                double *d = dw + ((ky0 + r) * kernel_w + kx0 + t) * outs + o0;                     \
                HP_UNROLLED for (int j = 0; j < (V); j++) {                                        \
                    Py_ssize_t m = outs - o0 - j * lanes;                                          \
                    DVT sum = __builtin_convertvector(acc[r][t][j], DVT);                          \
                    if (m >= lanes) {                                                              \
                        DVT old;                                                                   \
                        HP_LOAD(old, d + j * lanes);                                               \
                        old += sum;                                                                \
                        HP_STORE(d + j * lanes, old);                                              \
                    } else {                                                                       \
                        double part[sizeof(VT) / sizeof(T)];                                       \
                        HP_STORE(part, sum);                                                       \
                        for (Py_ssize_t i = 0; i < m; i++) d[j * lanes + i] += part[i];            \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
    }

    #define HP_FILTER_BLOCKS_V(T, VT, DVT, R, K, SW, DIL)                                          \
        if (vecs == 2) HP_FILTER_BLOCK(T, VT, DVT, R, K, 2, SW, DIL)                               \
        else HP_FILTER_BLOCK(T, VT, DVT, R, K, 1, SW, DIL)
    #define HP_FILTER_BLOCKS(T, VT, DVT, RMAX, SW, DIL)                                            \
        if (pair) {                                                                                \
            if (few) { HP_FILTER_BLOCKS_V(T, VT, DVT, RMAX, HP_FEW_TAPS, SW, DIL) }                \
            else { HP_FILTER_BLOCKS_V(T, VT, DVT, RMAX, HP_TAPS, SW, DIL) }                        \
        } else {                                                                                   \
            if (few) { HP_FILTER_BLOCKS_V(T, VT, DVT, 1, HP_FEW_TAPS, SW, DIL) }                   \
            else { HP_FILTER_BLOCKS_V(T, VT, DVT, 1, HP_TAPS, SW, DIL) }                           \
        }

    /* One copy of the two row loops. PMAX: forward pixels per group (even); RMAX: window
       rows per filter-gradient block (1 or 2). With V = 2, PMAX * 2 forward accumulators
       plus 2 filter vectors and a broadcast, and RMAX * HP_TAPS * 2 + 2 filter-gradient
       vectors, must fit the register file. */
    #define HP_SINGLE_CHANNEL_LOOPS(T, VT, DVT, SUFFIX, ATTR, PMAX, RMAX)                          \
    /* out[ox, o] = sum over the window taps of image[tap] * w[tap, o] for one output row          \
       whose windows' tops are at image row `top`; w has ws columns. */                            \
    ATTR static void hp_conv1_row_##SUFFIX(                                                        \
            const T *restrict image, const T *restrict w, T *restrict out, Py_ssize_t top,         \
            const hp_conv1_geom *g, T *restrict buf) {                                             \
        const Py_ssize_t lanes = sizeof(VT) / sizeof(T);                                           \
        const Py_ssize_t outs = g->outs, ws = g->ws, kernel_w = g->kernel_w;                       \
        const Py_ssize_t out_w = g->out_w, sw = g->stride_w, dil = g->dilation_w;                  \
        Py_ssize_t ky_of[g->kernel_h];                                                             \
        Py_ssize_t rows = hp_conv1_fill_rows_##T(image, top, g, buf, ky_of);                       \
        int unit = sw == 1 && dil == 1;                                                            \
        Py_ssize_t vecs, step;                                                                     \
        for (Py_ssize_t o0 = 0; o0 < outs; o0 += vecs * lanes) {                                   \
            vecs = outs - o0 > lanes ? 2 : 1;                                                      \
            for (Py_ssize_t ox = 0; ox < out_w; ox += step) {                                      \
                int wide = out_w - ox > (PMAX) / 2;                                                \
                step = wide ? (PMAX) : (PMAX) / 2;                                                 \
                if (unit) { HP_FWD_GROUPS(T, VT, PMAX, 1, 1) }                                     \
                else { HP_FWD_GROUPS(T, VT, PMAX, sw, dil) }                                       \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* dw[tap, o] += sum over `count` output rows of image[tap] * dy[oy, ox, o] (dw [taps,         \
       outs]), the rows' windows' tops at image rows top, top + stride_h, ...; buf has room        \
       for hp_conv1_filter_span rows and, after them, count * out_w * ws values. */                \
    ATTR static void hp_conv1_filter_rows_##SUFFIX(                                                \
            const T *restrict image, const T *restrict dy, Py_ssize_t count,                       \
            double *restrict dw, Py_ssize_t top, const hp_conv1_geom *g, T *restrict buf) {        \
        const Py_ssize_t lanes = sizeof(VT) / sizeof(T);                                           \
        const Py_ssize_t outs = g->outs, ws = g->ws, kernel_w = g->kernel_w;                       \
        const Py_ssize_t out_w = g->out_w, sw = g->stride_w, dil = g->dilation_w;                  \
        const Py_ssize_t row_step = g->dilation_h * g->row_len;                                    \
        Py_ssize_t span = hp_conv1_filter_span(g, count);                                          \
        hp_conv1_fill_span_##T(image, top, span, g, buf);                                          \
        const T *grad = dy;                                                                        \
        Py_ssize_t gs = outs;                                                                      \
        if (ws != outs) {                                                                          \
            /* Whole vectors are read: copy the rows with zeros to ws columns. */                  \
            T *padded = buf + span * g->row_len;                                                   \
            for (Py_ssize_t i = 0; i < count * out_w; i++) {                                       \
                memcpy(padded + i * ws, dy + i * outs, outs * sizeof(T));                          \
                memset(padded + i * ws + outs, 0, (ws - outs) * sizeof(T));                        \
            }                                                                                      \
            grad = padded;                                                                         \
            gs = ws;                                                                               \
        }                                                                                          \
        int unit = sw == 1 && dil == 1;                                                            \
        Py_ssize_t vecs, pace, taps;                                                               \
        for (Py_ssize_t o0 = 0; o0 < outs; o0 += vecs * lanes) {                                   \
            vecs = outs - o0 > lanes ? 2 : 1;                                                      \
            for (Py_ssize_t ky0 = 0; ky0 < g->kernel_h; ky0 += pace) {                             \
                int pair = (RMAX) > 1 && g->kernel_h - ky0 >= (RMAX);                              \
                pace = pair ? (RMAX) : 1;                                                          \
                for (Py_ssize_t kx0 = 0; kx0 < kernel_w; kx0 += taps) {                            \
                    int few = kernel_w - kx0 <= HP_FEW_TAPS;                                       \
                    taps = few ? HP_FEW_TAPS : HP_TAPS;                                            \
                    if (unit) { HP_FILTER_BLOCKS(T, VT, DVT, RMAX, 1, 1) }                         \
                    else { HP_FILTER_BLOCKS(T, VT, DVT, RMAX, sw, dil) }                           \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

    /* GCC's predictive commoning (-O3) keeps the input values a pixel group reads in
       scalar registers to reuse them at the next tap (the windows overlap), and then
       broadcasts them register to register: a shuffle per pixel and tap, which cost the
       AVX-512 forward ~15%. Without it each broadcast is a load, which the load ports
       absorb. */
    #if defined(__GNUC__) && !defined(__clang__)
    #define HP_NO_PCOM __attribute__((optimize("no-predictive-commoning")))
    #else
    #define HP_NO_PCOM
    #endif

    /* Baseline: 16-byte vectors (SSE2 on x86-64, NEON on ARM), 16 vector registers
       without FMA (a multiply and an add need a temporary). */
    HP_SINGLE_CHANNEL_LOOPS(float, hp_f32x4, hp_f64x4, f32_base, HP_NO_PCOM, 4, 1)
    HP_SINGLE_CHANNEL_LOOPS(double, hp_f64x2, hp_f64x2, f64_base, HP_NO_PCOM, 4, 1)

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define HP_HAVE_X86 1
    /* AVX2: 16 ymm registers: 6 pixels x 2 vectors + 2 filter vectors + a broadcast. */
    #define HP_AVX2 __attribute__((target("avx2,fma"))) HP_NO_PCOM
    HP_SINGLE_CHANNEL_LOOPS(float, hp_f32x8, hp_f64x8, f32_avx2, HP_AVX2, 6, 1)
    HP_SINGLE_CHANNEL_LOOPS(double, hp_f64x4, hp_f64x4, f64_avx2, HP_AVX2, 6, 1)
    /* AVX-512: 32 zmm registers: 8 pixels x 2 vectors (the forward), 2 rows x 5 taps x
       2 vectors (the filter gradient). */
    #define HP_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))) HP_NO_PCOM
    HP_SINGLE_CHANNEL_LOOPS(float, hp_f32x16, hp_f64x16, f32_avx512, HP_AVX512, 8, 2)
    HP_SINGLE_CHANNEL_LOOPS(double, hp_f64x8, hp_f64x8, f64_avx512, HP_AVX512, 8, 2)
    #endif

    /* Which copy runs: 0 baseline, 1 AVX2, 2 AVX-512 (-1: not decided yet). */
    static int hp_conv1_level = -1;

    static int hp_conv1_best_level(void) {
    #ifdef HP_HAVE_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                __builtin_cpu_supports("fma"))
            return 2;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    #endif
        return 0;
    }

    static int hp_conv1_get_level(void) {
        if (hp_conv1_level < 0) hp_conv1_level = hp_conv1_best_level();
        return hp_conv1_level;
    }

    static void hp_conv1_set_level(int level) { hp_conv1_level = level; }

    #ifdef HP_HAVE_X86
    #define HP_DISPATCH(NAME, SUFFIX, ...)                                                         \
        if (level >= 2) NAME##_##SUFFIX##_avx512(__VA_ARGS__);                                     \
        else if (level == 1) NAME##_##SUFFIX##_avx2(__VA_ARGS__);                                  \
        else NAME##_##SUFFIX##_base(__VA_ARGS__);
    #else
    #define HP_DISPATCH(NAME, SUFFIX, ...) NAME##_##SUFFIX##_base(__VA_ARGS__);
    #endif
    static void hp_conv1_row_f32(int level, const float *image, const float *w, float *out,
                                 Py_ssize_t top, const hp_conv1_geom *g, float *buf) {
        HP_DISPATCH(hp_conv1_row, f32, image, w, out, top, g, buf) }
    static void hp_conv1_row_f64(int level, const double *image, const double *w, double *out,
                                 Py_ssize_t top, const hp_conv1_geom *g, double *buf) {
        HP_DISPATCH(hp_conv1_row, f64, image, w, out, top, g, buf) }
    static void hp_conv1_filter_rows_f32(int level, const float *image, const float *dy,
                                         Py_ssize_t count, double *dw, Py_ssize_t top,
                                         const hp_conv1_geom *g, float *buf) {
        HP_DISPATCH(hp_conv1_filter_rows, f32, image, dy, count, dw, top, g, buf) }
    static void hp_conv1_filter_rows_f64(int level, const double *image, const double *dy,
                                         Py_ssize_t count, double *dw, Py_ssize_t top,
                                         const hp_conv1_geom *g, double *buf) {
        HP_DISPATCH(hp_conv1_filter_rows, f64, image, dy, count, dw, top, g, buf) }
    """
    ctypedef struct hp_conv1_geom:
        Py_ssize_t height, width, kernel_h, kernel_w, outs
        Py_ssize_t out_w, stride_h, stride_w, dilation_h, dilation_w, pad_left
        Py_ssize_t ws, row_len
    Py_ssize_t hp_conv1_padded_outs(Py_ssize_t outs, Py_ssize_t itemsize) noexcept nogil
    Py_ssize_t hp_conv1_row_len(Py_ssize_t out_w, Py_ssize_t kernel_w, Py_ssize_t stride_w,
                                Py_ssize_t dilation_w) noexcept nogil
    int hp_conv1_best_level() noexcept nogil
    int hp_conv1_get_level() noexcept nogil
    void hp_conv1_set_level(int level) noexcept nogil
    void hp_conv1_row_f32(int level, const float* image, const float* w, float* out,
                          Py_ssize_t top, const hp_conv1_geom* g, float* buf) noexcept nogil
    void hp_conv1_row_f64(int level, const double* image, const double* w, double* out,
                          Py_ssize_t top, const hp_conv1_geom* g, double* buf) noexcept nogil
    enum: HP_FILTER_ROWS
    Py_ssize_t hp_conv1_filter_span(const hp_conv1_geom* g, Py_ssize_t count) noexcept nogil
    void hp_conv1_filter_rows_f32(int level, const float* image, const float* dy,
                                  Py_ssize_t count, double* dw, Py_ssize_t top,
                                  const hp_conv1_geom* g, float* buf) noexcept nogil
    void hp_conv1_filter_rows_f64(int level, const double* image, const double* dy,
                                  Py_ssize_t count, double* dw, Py_ssize_t top,
                                  const hp_conv1_geom* g, double* buf) noexcept nogil


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


_ISA_NAMES = ("base", "avx2", "avx512")


def single_channel_isas():
    """The copies of the one-channel loops this build can run on this CPU, lowest first."""
    return list(_ISA_NAMES[:hp_conv1_best_level() + 1])


def single_channel_isa():
    """The name of the copy of the one-channel loops in use ("avx512", "avx2" or "base")."""
    return _ISA_NAMES[hp_conv1_get_level()]


def set_single_channel_isa(name=None):
    """Makes the one-channel loops run their `name` copy (None: the best this CPU runs).

    For tests and benchmarks, which compare the copies on one machine; not thread-safe
    against loops running at the time. Raises ValueError for a copy this CPU cannot run.
    """
    if name is None:
        hp_conv1_set_level(hp_conv1_best_level())
        return
    supported = single_channel_isas()
    if name not in supported:
        raise ValueError("set_single_channel_isa: %r is not one of %s (what this CPU runs)"
                         % (name, ", ".join(supported)))
    hp_conv1_set_level(_ISA_NAMES.index(name))


cdef hp_conv1_geom _single_channel_geometry(Py_ssize_t height, Py_ssize_t width,
                                            Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                                            Py_ssize_t outs, Py_ssize_t out_w,
                                            Py_ssize_t stride_h, Py_ssize_t stride_w,
                                            Py_ssize_t dilation_h,
                                            Py_ssize_t dilation_w, Py_ssize_t pad_left,
                                            Py_ssize_t itemsize):
    cdef hp_conv1_geom g
    g.height = height
    g.width = width
    g.kernel_h = kernel_h
    g.kernel_w = kernel_w
    g.outs = outs
    g.out_w = out_w
    g.stride_h = stride_h
    g.stride_w = stride_w
    g.dilation_h = dilation_h
    g.dilation_w = dilation_w
    g.pad_left = pad_left
    g.ws = hp_conv1_padded_outs(outs, itemsize)
    g.row_len = hp_conv1_row_len(out_w, kernel_w, stride_w, dilation_w)
    return g


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
    cdef Py_ssize_t task, b, oy, tid
    cdef int level = hp_conv1_get_level()
    cdef hp_conv1_geom g
    cdef const cython.floating[:, ::1] filt = w
    cdef cython.floating[:, ::1] scratch
    if w.shape[0] != kernel_h * kernel_w or w.shape[1] != outs or out.shape[0] != n:
        raise ValueError("conv_single_channel: filter (%d, %d) and output %d x %d do not "
                         "match" % (w.shape[0], w.shape[1], out.shape[0], outs))
    if tasks == 0 or out_w == 0 or outs == 0:
        return
    dtype = np.float32 if cython.floating is float else np.float64
    g = _single_channel_geometry(height, width, kernel_h, kernel_w, outs, out_w, stride_h,
                                 stride_w, dilation_h, dilation_w, pad_left,
                                 sizeof(cython.floating))
    if g.ws != outs:
        # The loops read whole vectors of filter columns: give them zeros past the last.
        padded = np.zeros((kernel_h * kernel_w, g.ws), dtype=dtype)
        padded[:, :outs] = w
        filt = padded
    cdef int threads = threads_for(tasks * out_w * outs * w.shape[0])
    scratch = np.empty((threads, kernel_h * g.row_len), dtype=dtype)
    with nogil:
        for task in prange(tasks, schedule="static", num_threads=threads):
            b = task // out_h
            oy = task - b * out_h
            tid = threadid()
            if cython.floating is float:
                hp_conv1_row_f32(level, &x[b, 0, 0], &filt[0, 0], &out[b, oy, 0, 0],
                                 oy * stride_h - pad_top, &g, &scratch[tid, 0])
            else:
                hp_conv1_row_f64(level, &x[b, 0, 0], &filt[0, 0], &out[b, oy, 0, 0],
                                 oy * stride_h - pad_top, &g, &scratch[tid, 0])


def conv_single_channel_filter_grad(const cython.floating[:, :, ::1] x,
                                    const cython.floating[:, :, :, ::1] dy,
                                    double[:, :, ::1] partials, Py_ssize_t kernel_h,
                                    Py_ssize_t kernel_w, Py_ssize_t stride_h,
                                    Py_ssize_t stride_w, Py_ssize_t dilation_h,
                                    Py_ssize_t dilation_w, Py_ssize_t pad_top,
                                    Py_ssize_t pad_left):
    """Conv2DBackpropFilter of a one-channel input, without a patch matrix.

    Each task sums a few output rows of one image (HP_FILTER_ROWS) in the input's precision
    and adds that to its thread's slice of `partials` (float64); the caller adds the slices
    (in a fixed order, so a given thread count always gives the same result).

    Args:
      x: the input [N, H, W] (NHWC with its one channel dropped).
      dy: the output gradient [N, OH, OW, O].
      partials: float64 [threads, KH*KW, O], zeroed by the caller; `partial_count` gives
        threads.
      kernel_h, ...: the window walk, as for `im2col`.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = dy.shape[1], out_w = dy.shape[2], outs = dy.shape[3]
    cdef Py_ssize_t groups = (out_h + HP_FILTER_ROWS - 1) // HP_FILTER_ROWS
    cdef Py_ssize_t tasks = n * groups
    cdef Py_ssize_t task, b, oy, count, tid
    cdef int threads = partials.shape[0]
    cdef int level = hp_conv1_get_level()
    cdef hp_conv1_geom g
    cdef cython.floating[:, ::1] scratch
    if partials.shape[1] != kernel_h * kernel_w or partials.shape[2] != outs or \
            dy.shape[0] != n:
        raise ValueError("conv_single_channel_filter_grad: partials (%d, %d) and gradient "
                         "%d x %d do not match" % (partials.shape[1], partials.shape[2],
                                                   dy.shape[0], outs))
    if tasks == 0 or out_w == 0 or outs == 0:
        return
    dtype = np.float32 if cython.floating is float else np.float64
    g = _single_channel_geometry(height, width, kernel_h, kernel_w, outs, out_w, stride_h,
                                 stride_w, dilation_h, dilation_w, pad_left,
                                 sizeof(cython.floating))
    # Per thread: the padded input rows, then a padded copy of the output-gradient rows.
    scratch = np.empty((threads, hp_conv1_filter_span(&g, HP_FILTER_ROWS) * g.row_len +
                        HP_FILTER_ROWS * out_w * g.ws), dtype=dtype)
    with nogil:
        for task in prange(tasks, schedule="static", num_threads=threads):
            b = task // groups
            oy = (task - b * groups) * HP_FILTER_ROWS
            count = min(HP_FILTER_ROWS, out_h - oy)
            tid = threadid()
            if cython.floating is float:
                hp_conv1_filter_rows_f32(level, &x[b, 0, 0], &dy[b, oy, 0, 0], count,
                                         &partials[tid, 0, 0], oy * stride_h - pad_top, &g,
                                         &scratch[tid, 0])
            else:
                hp_conv1_filter_rows_f64(level, &x[b, 0, 0], &dy[b, oy, 0, 0], count,
                                         &partials[tid, 0, 0], oy * stride_h - pad_top, &g,
                                         &scratch[tid, 0])


def partial_count(Py_ssize_t work):
    """How many threads (so partial sums) `conv_single_channel_filter_grad` uses for `work`
    multiply-adds."""
    return threads_for(work)
