/* Direct convolution loops for NHWC float32/float64 tensors: Conv2D and its filter gradient
 * (the input gradient is Conv2D of the output gradient with the filter flipped; see
 * hpcflow/backends/direct_conv.py). No patch matrix is built: a block of output pixels reads its window
 * taps straight from a zero-padded copy of the input.
 *
 * Why not im2col + BLAS: for a layer like conv5x5 32->64 on 14x14 images the patch matrix
 * has 800 columns and only 64 outputs, a GEMM shape on which OpenBLAS reaches ~300 GFLOP/s
 * here against ~450 for large square matrices, and the patch matrix itself costs a copy of
 * 25x the input. These loops keep a block of outputs in vector registers for the whole
 * reduction, which is what oneDNN's direct kernels do.
 *
 * Register blocking:
 *  - forward: HPD_P output pixels x V vectors of output channels (V <= 4; a vector is 64
 *    bytes, 16 floats or 8 doubles). Per input channel of a tap the loop loads V filter
 *    vectors and broadcasts HPD_P input values: HPD_P*V independent FMA chains.
 *  - filter gradient: HPD_CB input channels of one tap x V vectors of output channels,
 *    summed over a run of pixels: per pixel, V output-gradient loads and HPD_CB broadcasts.
 * Channel counts must be multiples of the vector length on the output side (callers fall
 * back to im2col otherwise) and, for the filter gradient, the padded input has its
 * channels rounded up to HPD_CB (zeros).
 *
 * Each ISA gets its own copy (AVX-512, AVX2+FMA, baseline) picked at run time, as in
 * conv.pyx: GCC's 64-byte vector types become one zmm register under AVX-512 and pairs or
 * quads of narrower registers otherwise, so the baseline copies use fewer pixels per block
 * to stay near their register count. hpd_force_isa() lets the tests run every copy.
 */
#ifndef HPCFLOW_DIRECT_CONV_H
#define HPCFLOW_DIRECT_CONV_H

#include <stddef.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef ptrdiff_t hpd_idx;
typedef float hpd_f32v __attribute__((vector_size(64)));
typedef double hpd_f64v __attribute__((vector_size(64)));

#define HPD_LANES(T) ((hpd_idx)(64 / sizeof(T)))
#define HPD_MAX_V 4  /* output-channel vectors per block: 64 floats, 32 doubles */
#define HPD_CB 4     /* input channels per filter-gradient block */

#define HPD_LOAD(vec, ptr) __builtin_memcpy(&(vec), (ptr), sizeof(vec))
#define HPD_STORE(ptr, vec) __builtin_memcpy((ptr), &(vec), sizeof(vec))
/* Constant-count loops over accumulators must be unrolled for the accumulators to stay in
   registers (GCC otherwise keeps the arrays on the stack). */
#define HPD_UNROLLED _Pragma("GCC unroll 16")

/* out[i, 0:V*LANES] = sum over taps t and channels c of x[pix[i] + taps[t] + c] *
   w[t, c, 0:V*LANES], for pixels i < npix; out rows are out_stride apart. Then, while the
   sums are still in registers (the epilogue of a fused Conv2D + BiasAdd + Relu), bias[0:
   V*LANES] is added if bias is not NULL, and if relu, values neither > 0 nor NaN become
   +0 (the Relu kernels' semantics: NaN passes, -0 becomes +0). */
#define HPD_FORWARD_KERNEL(T, VT, SUFFIX, ATTR, P, V)                                        \
ATTR static void hpd_forward_##SUFFIX##_v##V(                                                \
        const T *restrict x, const hpd_idx *restrict pix, hpd_idx npix,                      \
        const hpd_idx *restrict taps, hpd_idx ntaps, hpd_idx channels,                       \
        const T *restrict w, T *restrict out, hpd_idx out_stride,                           \
        const T *restrict bias, int relu) {                                                  \
    VT bv[V];                                                                                \
    HPD_UNROLLED for (int j = 0; j < (V); j++) {                                             \
        bv[j] = (VT){0};                                                                     \
        if (bias) HPD_LOAD(bv[j], bias + j * HPD_LANES(T));                                  \
    }                                                                                        \
    for (hpd_idx p0 = 0; p0 < npix; p0 += (P)) {                                             \
        int valid = npix - p0 < (P) ? (int)(npix - p0) : (P);                                \
        /* A short last block repeats its last pixel (computed, not stored). */              \
        const T *base[P];                                                                    \
        HPD_UNROLLED for (int p = 0; p < (P); p++)                                           \
            base[p] = x + pix[p0 + (p < valid ? p : valid - 1)];                             \
        VT acc[P][V];                                                                        \
        HPD_UNROLLED for (int p = 0; p < (P); p++)                                           \
            HPD_UNROLLED for (int j = 0; j < (V); j++) acc[p][j] = (VT){0};                  \
        const T *wp = w;                                                                     \
        for (hpd_idx t = 0; t < ntaps; t++) {                                                \
            const T *row[P];                                                                 \
            HPD_UNROLLED for (int p = 0; p < (P); p++) row[p] = base[p] + taps[t];           \
            for (hpd_idx c = 0; c < channels; c++, wp += (V) * HPD_LANES(T)) {               \
                VT wv[V];                                                                    \
                HPD_UNROLLED for (int j = 0; j < (V); j++)                                   \
                    HPD_LOAD(wv[j], wp + j * HPD_LANES(T));                                  \
                HPD_UNROLLED for (int p = 0; p < (P); p++) {                                 \
                    T v = row[p][c];                                                         \
                    HPD_UNROLLED for (int j = 0; j < (V); j++) acc[p][j] += wv[j] * v;       \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        HPD_UNROLLED for (int p = 0; p < (P); p++) {                                         \
            if (p >= valid) break;                                                           \
            HPD_UNROLLED for (int j = 0; j < (V); j++) {                                     \
                VT v = acc[p][j];                                                            \
                if (bias) v += bv[j];                                                        \
                if (relu) {                                                                  \
                    __typeof__(v > v) keep = (v > 0) | (v != v);                             \
                    v = (VT)((__typeof__(keep))v & keep);                                    \
                }                                                                            \
                HPD_STORE(out + (p0 + p) * out_stride + j * HPD_LANES(T), v);                \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}

/* dw[c, 0:V*LANES] += sum over pixels i < npix of x[pix[i] + offset + c] * dy[i, 0:V*LANES]
   for c < HPD_CB; dw rows are dw_stride apart, dy rows dy_stride apart. */
#define HPD_FILTER_KERNEL(T, VT, SUFFIX, ATTR, V)                                            \
ATTR static void hpd_filter_##SUFFIX##_v##V(                                                 \
        const T *restrict x, const hpd_idx *restrict pix, hpd_idx npix, hpd_idx offset,      \
        const T *restrict dy, hpd_idx dy_stride, T *restrict dw, hpd_idx dw_stride) {        \
    VT acc[HPD_CB][V];                                                                       \
    HPD_UNROLLED for (int c = 0; c < HPD_CB; c++)                                            \
        HPD_UNROLLED for (int j = 0; j < (V); j++)                                           \
            HPD_LOAD(acc[c][j], dw + c * dw_stride + j * HPD_LANES(T));                      \
    for (hpd_idx i = 0; i < npix; i++) {                                                     \
        const T *xi = x + pix[i] + offset;                                                   \
        VT g[V];                                                                             \
        HPD_UNROLLED for (int j = 0; j < (V); j++)                                           \
            HPD_LOAD(g[j], dy + i * dy_stride + j * HPD_LANES(T));                           \
        HPD_UNROLLED for (int c = 0; c < HPD_CB; c++) {                                      \
            T v = xi[c];                                                                     \
            HPD_UNROLLED for (int j = 0; j < (V); j++) acc[c][j] += g[j] * v;                \
        }                                                                                    \
    }                                                                                        \
    HPD_UNROLLED for (int c = 0; c < HPD_CB; c++)                                            \
        HPD_UNROLLED for (int j = 0; j < (V); j++)                                           \
            HPD_STORE(dw + c * dw_stride + j * HPD_LANES(T), acc[c][j]);                     \
}

/* The thread's share [lo, hi) of `count` items, in whole blocks of `block`. */
static inline void hpd_share(hpd_idx count, hpd_idx block, int tid, int threads,
                             hpd_idx *lo, hpd_idx *hi) {
    hpd_idx blocks = (count + block - 1) / block;
    *lo = blocks * tid / threads * block;
    *hi = blocks * (tid + 1) / threads * block;
    if (*hi > count) *hi = count;
}

#ifdef _OPENMP
#define HPD_THREAD_ID() omp_get_thread_num()
#define HPD_THREAD_COUNT() omp_get_num_threads()
#define HPD_PARALLEL(threads) _Pragma("omp parallel num_threads(threads)")
#else
#define HPD_THREAD_ID() 0
#define HPD_THREAD_COUNT() 1
#define HPD_PARALLEL(threads)
#endif

/* Drivers. Output channels go in blocks of HPD_MAX_V vectors, the last block narrower;
   packed filters hold each block as [taps, channels, block width], blocks one after
   another. */
#define HPD_DRIVERS(T, VT, SUFFIX, ATTR, P)                                                  \
HPD_FORWARD_KERNEL(T, VT, SUFFIX, ATTR, P, 1)                                                \
HPD_FORWARD_KERNEL(T, VT, SUFFIX, ATTR, P, 2)                                                \
HPD_FORWARD_KERNEL(T, VT, SUFFIX, ATTR, P, 3)                                                \
HPD_FORWARD_KERNEL(T, VT, SUFFIX, ATTR, P, 4)                                                \
HPD_FILTER_KERNEL(T, VT, SUFFIX, ATTR, 1)                                                    \
HPD_FILTER_KERNEL(T, VT, SUFFIX, ATTR, 2)                                                    \
HPD_FILTER_KERNEL(T, VT, SUFFIX, ATTR, 3)                                                    \
HPD_FILTER_KERNEL(T, VT, SUFFIX, ATTR, 4)                                                    \
ATTR static void hpd_forward_##SUFFIX(                                                       \
        const T *x, const hpd_idx *pix, hpd_idx npix, const hpd_idx *taps, hpd_idx ntaps,    \
        hpd_idx channels, const T *packed, hpd_idx outs, T *out, const T *bias, int relu,    \
        int threads) {                                                                       \
    const hpd_idx block = HPD_MAX_V * HPD_LANES(T);                                          \
    HPD_PARALLEL(threads)                                                                    \
    {                                                                                        \
        hpd_idx lo, hi;                                                                      \
        hpd_share(npix, (P), HPD_THREAD_ID(), HPD_THREAD_COUNT(), &lo, &hi);                 \
        for (hpd_idx o0 = 0; o0 < outs && lo < hi; o0 += block) {                            \
            hpd_idx width = outs - o0 < block ? outs - o0 : block;                           \
            const T *w = packed + o0 * ntaps * channels;                                     \
            const T *b = bias ? bias + o0 : NULL;                                            \
            T *dst = out + lo * outs + o0;                                                   \
            switch (width / HPD_LANES(T)) {                                                  \
            case 1: hpd_forward_##SUFFIX##_v1(x, pix + lo, hi - lo, taps, ntaps, channels,   \
                                              w, dst, outs, b, relu); break;                 \
            case 2: hpd_forward_##SUFFIX##_v2(x, pix + lo, hi - lo, taps, ntaps, channels,   \
                                              w, dst, outs, b, relu); break;                 \
            case 3: hpd_forward_##SUFFIX##_v3(x, pix + lo, hi - lo, taps, ntaps, channels,   \
                                              w, dst, outs, b, relu); break;                 \
            default: hpd_forward_##SUFFIX##_v4(x, pix + lo, hi - lo, taps, ntaps, channels,  \
                                               w, dst, outs, b, relu); break;                \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
/* partials[thread, t, c, o] += that thread's pixels' sums (the caller zeroes them: OpenMP \
   may run fewer threads than asked). Pixels go in runs of run_pixels: one output-channel  \
   block of a run's gradient rows and the input rows its windows cover should stay in L1   \
   while every tap and channel block of the run reads them. */                    \
ATTR static void hpd_filter_##SUFFIX(                                                        \
        const T *x, const hpd_idx *pix, hpd_idx npix, const hpd_idx *taps, hpd_idx ntaps,    \
        hpd_idx channels, const T *dy, hpd_idx outs, T *partials, hpd_idx run_pixels,        \
        int threads) {                                                                       \
    const hpd_idx block = HPD_MAX_V * HPD_LANES(T);                                          \
    const hpd_idx part_size = ntaps * channels * outs;                                       \
    HPD_PARALLEL(threads)                                                                    \
    {                                                                                        \
        int tid = HPD_THREAD_ID();                                                           \
        hpd_idx lo, hi;                                                                      \
        hpd_share(npix, run_pixels, tid, HPD_THREAD_COUNT(), &lo, &hi);                      \
        T *dw = partials + tid * part_size;                                                  \
        for (hpd_idx r0 = lo; r0 < hi; r0 += run_pixels) {                                   \
            hpd_idx run = hi - r0 < run_pixels ? hi - r0 : run_pixels;                       \
            /* Output blocks outermost: one block of the run's output gradient stays in L1   \
               while every tap and channel block reads it. */                                \
            for (hpd_idx o0 = 0; o0 < outs; o0 += block)                                     \
                for (hpd_idx t = 0; t < ntaps; t++)                                          \
                    for (hpd_idx c0 = 0; c0 < channels; c0 += HPD_CB) {                      \
                        hpd_idx width = outs - o0 < block ? outs - o0 : block;               \
                        const T *g = dy + r0 * outs + o0;                                    \
                        T *acc = dw + (t * channels + c0) * outs + o0;                       \
                        hpd_idx at = taps[t] + c0;                                           \
                        switch (width / HPD_LANES(T)) {                                      \
                        case 1: hpd_filter_##SUFFIX##_v1(x, pix + r0, run, at, g, outs,      \
                                                         acc, outs); break;                  \
                        case 2: hpd_filter_##SUFFIX##_v2(x, pix + r0, run, at, g, outs,      \
                                                         acc, outs); break;                  \
                        case 3: hpd_filter_##SUFFIX##_v3(x, pix + r0, run, at, g, outs,      \
                                                         acc, outs); break;                  \
                        default: hpd_filter_##SUFFIX##_v4(x, pix + r0, run, at, g, outs,     \
                                                          acc, outs); break;                 \
                        }                                                                    \
                    }                                                                        \
        }                                                                                    \
    }                                                                                        \
}

#define HPD_ISA_BASE 0
#define HPD_ISA_AVX2 1
#define HPD_ISA_AVX512 2

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define HPD_X86 1
/* AVX-512: 32 zmm registers, 6 pixels x 4 vectors = 24 accumulators. */
HPD_DRIVERS(float, hpd_f32v, f32_avx512, __attribute__((target("avx512f,fma"))), 6)
HPD_DRIVERS(double, hpd_f64v, f64_avx512, __attribute__((target("avx512f,fma"))), 6)
/* AVX2: 16 ymm registers, a 64-byte vector is two of them: 2 pixels x 4 vectors. */
HPD_DRIVERS(float, hpd_f32v, f32_avx2, __attribute__((target("avx2,fma"))), 2)
HPD_DRIVERS(double, hpd_f64v, f64_avx2, __attribute__((target("avx2,fma"))), 2)
#endif
HPD_DRIVERS(float, hpd_f32v, f32_base, , 2)
HPD_DRIVERS(double, hpd_f64v, f64_base, , 2)

static int hpd_forced_isa = -1;

/* The best copy this CPU runs, or a lower one forced by hpd_force_isa. */
static int hpd_isa(void) {
    int best = HPD_ISA_BASE;
#ifdef HPD_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) best = HPD_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = HPD_ISA_AVX2;
#endif
    return hpd_forced_isa >= 0 && hpd_forced_isa < best ? hpd_forced_isa : best;
}

/* Forces a copy no better than `isa` (-1: the best again); returns the one now in use. */
static int hpd_force_isa(int isa) {
    hpd_forced_isa = isa;
    return hpd_isa();
}

#ifdef HPD_X86
#define HPD_DISPATCH(NAME, T, ...)                                                           \
    switch (hpd_isa()) {                                                                     \
    case HPD_ISA_AVX512: NAME##_##T##_avx512(__VA_ARGS__); break;                           \
    case HPD_ISA_AVX2: NAME##_##T##_avx2(__VA_ARGS__); break;                               \
    default: NAME##_##T##_base(__VA_ARGS__);                                                 \
    }
#else
#define HPD_DISPATCH(NAME, T, ...) NAME##_##T##_base(__VA_ARGS__);
#endif

#define HPD_FORWARD_ARGS x, pix, npix, taps, ntaps, channels, packed, outs, out, bias, relu, \
    threads
#define HPD_FILTER_ARGS x, pix, npix, taps, ntaps, channels, dy, outs, partials, run_pixels, \
    threads
static void hpd_forward_f32(const float *x, const hpd_idx *pix, hpd_idx npix,
                            const hpd_idx *taps, hpd_idx ntaps, hpd_idx channels,
                            const float *packed, hpd_idx outs, float *out,
                            const float *bias, int relu, int threads) {
    HPD_DISPATCH(hpd_forward, f32, HPD_FORWARD_ARGS)
}
static void hpd_forward_f64(const double *x, const hpd_idx *pix, hpd_idx npix,
                            const hpd_idx *taps, hpd_idx ntaps, hpd_idx channels,
                            const double *packed, hpd_idx outs, double *out,
                            const double *bias, int relu, int threads) {
    HPD_DISPATCH(hpd_forward, f64, HPD_FORWARD_ARGS)
}
static void hpd_filter_f32(const float *x, const hpd_idx *pix, hpd_idx npix,
                           const hpd_idx *taps, hpd_idx ntaps, hpd_idx channels,
                           const float *dy, hpd_idx outs, float *partials,
                           hpd_idx run_pixels, int threads) {
    HPD_DISPATCH(hpd_filter, f32, HPD_FILTER_ARGS)
}
static void hpd_filter_f64(const double *x, const hpd_idx *pix, hpd_idx npix,
                           const hpd_idx *taps, hpd_idx ntaps, hpd_idx channels,
                           const double *dy, hpd_idx outs, double *partials,
                           hpd_idx run_pixels, int threads) {
    HPD_DISPATCH(hpd_filter, f64, HPD_FILTER_ARGS)
}

#endif
