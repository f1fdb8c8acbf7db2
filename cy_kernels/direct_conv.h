/* Direct convolution loops for NHWC float32/float64 tensors: Conv2D and its filter gradient
 * (the input gradient is Conv2D of the output gradient with the filter flipped; see
 * hpcflow/backends/direct_conv.py). No patch matrix is built: a block of output pixels
 * reads its window taps straight from a zero-padded copy of the input.
 *
 * Why not im2col + BLAS: for a layer like conv5x5 32->64 on 14x14 images the patch matrix
 * has 800 columns and only 64 outputs, a GEMM shape on which OpenBLAS reaches ~300 GFLOP/s
 * here against ~450 for large square matrices, and the patch matrix itself costs a copy of
 * 25x the input. These loops keep a block of outputs in vector registers for the whole
 * reduction, which is what oneDNN's direct kernels do.
 *
 * Register blocking:
 *  - forward: P output pixels x V vectors of output channels (V <= MAXV). Per input channel
 *    of a tap the loop loads V filter vectors and broadcasts P input values: P*V
 *    independent FMA chains.
 *  - filter gradient: HPD_CB input channels of one tap x V vectors of output channels,
 *    summed over a run of pixels: per pixel, V output-gradient loads and HPD_CB broadcasts.
 * Output channels must be a multiple of the vector length (callers fall back to im2col
 * otherwise) and, for the filter gradient, the padded input has its channels rounded up
 * to HPD_CB (zeros).
 *
 * Each ISA gets its own copy, picked at run time as in conv.pyx, with its native vectors
 * and its own MAXV (see HPD_DRIVERS below): AVX-512 (64-byte vectors, blocks of 4),
 * AVX2+FMA (32 bytes, blocks of 2) and baseline SSE2 (16 bytes, blocks of 2).
 * hpd_vector_bytes() and hpd_block_vectors() tell callers the layout of the copy in use;
 * hpd_force_isa() lets the tests run every copy.
 */
#ifndef HPCFLOW_DIRECT_CONV_H
#define HPCFLOW_DIRECT_CONV_H

#include <stddef.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef ptrdiff_t hpd_idx;
/* Each copy uses its ISA's native vector width: GCC lowers wider vector types piecewise
   through memory (64-byte vectors under AVX2 ran conv2 50x slower than AVX-512). */
typedef float hpd_f32x16 __attribute__((vector_size(64)));
typedef double hpd_f64x8 __attribute__((vector_size(64)));
typedef float hpd_f32x8 __attribute__((vector_size(32)));
typedef double hpd_f64x4 __attribute__((vector_size(32)));
typedef float hpd_f32x4 __attribute__((vector_size(16)));
typedef double hpd_f64x2 __attribute__((vector_size(16)));

/* Values per vector of type VT. */
#define HPD_LANES(VT, T) ((hpd_idx)(sizeof(VT) / sizeof(T)))
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
        if (bias) HPD_LOAD(bv[j], bias + j * HPD_LANES(VT, T));                                  \
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
            for (hpd_idx c = 0; c < channels; c++, wp += (V) * HPD_LANES(VT, T)) {               \
                VT wv[V];                                                                    \
                HPD_UNROLLED for (int j = 0; j < (V); j++)                                   \
                    HPD_LOAD(wv[j], wp + j * HPD_LANES(VT, T));                                  \
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
                HPD_STORE(out + (p0 + p) * out_stride + j * HPD_LANES(VT, T), v);                \
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
            HPD_LOAD(acc[c][j], dw + c * dw_stride + j * HPD_LANES(VT, T));                      \
    for (hpd_idx i = 0; i < npix; i++) {                                                     \
        const T *xi = x + pix[i] + offset;                                                   \
        VT g[V];                                                                             \
        HPD_UNROLLED for (int j = 0; j < (V); j++)                                           \
            HPD_LOAD(g[j], dy + i * dy_stride + j * HPD_LANES(VT, T));                           \
        HPD_UNROLLED for (int c = 0; c < HPD_CB; c++) {                                      \
            T v = xi[c];                                                                     \
            HPD_UNROLLED for (int j = 0; j < (V); j++) acc[c][j] += g[j] * v;                \
        }                                                                                    \
    }                                                                                        \
    HPD_UNROLLED for (int c = 0; c < HPD_CB; c++)                                            \
        HPD_UNROLLED for (int j = 0; j < (V); j++)                                           \
            HPD_STORE(dw + c * dw_stride + j * HPD_LANES(VT, T), acc[c][j]);                     \
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

/* Drivers. Output channels go in blocks of MAXV vectors, the last block narrower; packed
   filters hold each block as [taps, channels, block width], blocks one after another. */
#define HPD_DRIVERS(T, VT, SUFFIX, ATTR, P, MAXV)                                            \
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
    const hpd_idx block = (MAXV) * HPD_LANES(VT, T);                                             \
    HPD_PARALLEL(threads)                                                                    \
    {                                                                                        \
        hpd_idx lo, hi;                                                                      \
        hpd_share(npix, (P), HPD_THREAD_ID(), HPD_THREAD_COUNT(), &lo, &hi);                 \
        for (hpd_idx o0 = 0; o0 < outs && lo < hi; o0 += block) {                            \
            hpd_idx width = outs - o0 < block ? outs - o0 : block;                           \
            const T *w = packed + o0 * ntaps * channels;                                     \
            const T *b = bias ? bias + o0 : NULL;                                            \
            T *dst = out + lo * outs + o0;                                                   \
            switch (width / HPD_LANES(VT, T)) {                                                  \
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
    const hpd_idx block = (MAXV) * HPD_LANES(VT, T);                                             \
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
                        switch (width / HPD_LANES(VT, T)) {                                      \
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
/* Register budgets (forward: P pixels x MAXV vectors of accumulators; filter gradient:
   4 channels x MAXV). AVX-512, 32 zmm: 6 x 4 = 24, and 16. AVX2, 16 ymm: 6 x 2 = 12, and
   8. Baseline SSE2, 16 xmm, no FMA: the same as AVX2. */
HPD_DRIVERS(float, hpd_f32x16, f32_avx512, __attribute__((target("avx512f,fma"))), 6, 4)
HPD_DRIVERS(double, hpd_f64x8, f64_avx512, __attribute__((target("avx512f,fma"))), 6, 4)
HPD_DRIVERS(float, hpd_f32x8, f32_avx2, __attribute__((target("avx2,fma"))), 6, 2)
HPD_DRIVERS(double, hpd_f64x4, f64_avx2, __attribute__((target("avx2,fma"))), 6, 2)
#endif
HPD_DRIVERS(float, hpd_f32x4, f32_base, , 6, 2)
HPD_DRIVERS(double, hpd_f64x2, f64_base, , 6, 2)

static int hpd_forced_isa = -1;

/* The best copy this CPU runs (detected once), or a lower one forced by hpd_force_isa. */
static int hpd_isa(void) {
    static int best = -1;
    if (best < 0) {
        int found = HPD_ISA_BASE;
#ifdef HPD_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) found = HPD_ISA_AVX512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            found = HPD_ISA_AVX2;
#endif
        best = found;
    }
    return hpd_forced_isa >= 0 && hpd_forced_isa < best ? hpd_forced_isa : best;
}

/* Bytes per vector and vectors per output-channel block of the copy in use: callers pack
   filters in blocks of their product and need channel counts that are multiples of the
   vector. */
static int hpd_vector_bytes(void) {
    int isa = hpd_isa();
    return isa == HPD_ISA_AVX512 ? 64 : isa == HPD_ISA_AVX2 ? 32 : 16;
}
static int hpd_block_vectors(void) { return hpd_isa() == HPD_ISA_AVX512 ? 4 : 2; }

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
