# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Max pooling and its gradients, average pooling forward and backward, over NHWC windows,
in one pass each.

numpy's reference walks the window offsets, reading the whole tensor once per offset (and,
for MaxPoolGrad, building an argmax map with masked copies); these loops visit each window
once. The usual 2x2 stride-2 pooling over an even H and W has its own loops
(max_pool_2x2, max_pool_grad_2x2): one pass over each pair of input rows, all in
registers. MaxPool's general window loop measured 0.6-0.7x numpy's time (3x3/2 SAME and
odd-sized 2x2/2 SAME in scripts/bench_kernels.py; an earlier version with a Cython channel
loop was no faster than numpy's SIMD np.maximum). Semantics follow the reference exactly: padding cells take part
in max pooling as -inf (a window's argmax is its first maximum in (row, column) order, and
a padding argmax drops the gradient, as TF does), MaxPool's max propagates NaN as
np.maximum, average pooling divides by the count of real cells. Callers pass C-contiguous
float32/float64 arrays and a validated geometry.
"""
cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc

from _threads cimport threads_for


cdef inline Py_ssize_t _valid_count(Py_ssize_t start, Py_ssize_t kernel,
                                    Py_ssize_t size) noexcept nogil:
    """How many of [start, start + kernel) lie in [0, size)."""
    cdef Py_ssize_t stop = start + kernel
    if start < 0:
        start = 0
    if stop > size:
        stop = size
    return stop - start if stop > start else 0


cdef extern from *:
    """
    /* The channel loops of the max pooling kernels, in C: Cython writes `a if c else b`
       as an if statement, which GCC leaves scalar (a mispredicted branch per value).
       Written as GCC's vectorizer needs them for baseline x86-64 (SSE2): every operand
       loaded unconditionally, the argmax select as integer mask arithmetic (a float
       compare selecting an int is not vectorized). `restrict`: the rows never overlap. */
    #define HP_POOL_CHANNEL_LOOPS(T, SUFFIX)                                                 \
    static inline void hp_take_first_##SUFFIX(T *restrict best, int *restrict arg,          \
                                              const T *restrict src, int at, Py_ssize_t c) { \
        for (Py_ssize_t i = 0; i < c; i++) { best[i] = src[i]; arg[i] = at; }              \
    }                                                                                       \
    static inline void hp_take_greater_##SUFFIX(T *restrict best, int *restrict arg,        \
                                                const T *restrict src, int at,              \
                                                Py_ssize_t c) {                             \
        for (Py_ssize_t i = 0; i < c; i++) {                                                \
            T v = src[i], b = best[i];                                                      \
            int take = -(v > b);                                                            \
            best[i] = v > b ? v : b;                                                        \
            arg[i] = (at & take) | (arg[i] & ~take);                                        \
        }                                                                                   \
    }                                                                                       \
    static inline void hp_grad_at_##SUFFIX(T *restrict dst, const T *restrict grad,         \
                                           const int *restrict arg, int at, Py_ssize_t c) { \
        for (Py_ssize_t i = 0; i < c; i++) { T g = grad[i]; dst[i] = arg[i] == at ? g : 0; } \
    }
    HP_POOL_CHANNEL_LOOPS(float, f32)
    HP_POOL_CHANNEL_LOOPS(double, f64)
    """
    void hp_take_first_f32(float* best, int* arg, const float* src, int at,
                           Py_ssize_t c) noexcept nogil
    void hp_take_first_f64(double* best, int* arg, const double* src, int at,
                           Py_ssize_t c) noexcept nogil
    void hp_take_greater_f32(float* best, int* arg, const float* src, int at,
                             Py_ssize_t c) noexcept nogil
    void hp_take_greater_f64(double* best, int* arg, const double* src, int at,
                             Py_ssize_t c) noexcept nogil
    void hp_grad_at_f32(float* dst, const float* grad, const int* arg, int at,
                        Py_ssize_t c) noexcept nogil
    void hp_grad_at_f64(double* dst, const double* grad, const int* arg, int at,
                        Py_ssize_t c) noexcept nogil


cdef extern from *:
    """
    /* The 2x2 loops below walk an image two rows at a time, each row a short run (28x32
       floats: 3.5 KB), and the hardware prefetcher kept few of them ahead: from DRAM (as in a
       training step, where the input was written long before) they ran 4x slower than from
       cache. Each window therefore asks for its cells two output rows on, which the same
       thread takes two tasks later (addresses past the arrays are harmless: a prefetch
       never faults). Measured from DRAM: MaxPool 0.76 -> 0.23 ms, MaxPoolGrad 1.0 -> 0.4 ms
       on 64x28x28x32. */
    #if defined(__GNUC__) || defined(__clang__)
    #define HP_PREFETCH(address, for_write) __builtin_prefetch((address), (for_write))
    #else
    #define HP_PREFETCH(address, for_write) ((void)0)
    #endif
    static inline void hp_prefetch_span(const void *start, Py_ssize_t bytes) {
        for (Py_ssize_t at = 0; at < bytes; at += 64) HP_PREFETCH((const char *)start + at, 0);
    }
    static inline void hp_prefetch_span_for_write(void *start, Py_ssize_t bytes) {
        for (Py_ssize_t at = 0; at < bytes; at += 64) HP_PREFETCH((char *)start + at, 1);
    }

    /* MaxPool's channel loops: copy the first cell, then keep the max of the later ones.
       NaN propagates as in np.maximum, the reference's max: a NaN cell makes the output
       NaN, and a NaN output stays NaN (no number compares greater than it). */
    #define HP_MAX_POOL_LOOPS(T, SUFFIX)                                                     \
    static inline void hp_copy_##SUFFIX(T *restrict dst, const T *restrict src,             \
                                        Py_ssize_t c) {                                     \
        for (Py_ssize_t i = 0; i < c; i++) dst[i] = src[i];                                 \
    }                                                                                       \
    static inline void hp_max_into_##SUFFIX(T *restrict best, const T *restrict src,        \
                                            Py_ssize_t c) {                                 \
        for (Py_ssize_t i = 0; i < c; i++) {                                                \
            T v = src[i], b = best[i];                                                      \
            best[i] = (v > b || v != v) ? v : b;                                            \
        }                                                                                   \
    }
    HP_MAX_POOL_LOOPS(float, f32)
    HP_MAX_POOL_LOOPS(double, f64)

    /* MaxPool for one output row of 2x2 windows at stride 2 over the input rows `top` and
       `bottom`: the same max in the same cell order as hp_max_into, all in registers. */
    #define HP_MAX_POOL_2X2(T, SUFFIX)                                                       \
    static inline T hp_nan_max_##SUFFIX(T best, T v) {                                      \
        return (v > best || v != v) ? v : best;                                             \
    }                                                                                       \
    static inline void hp_max_pool_2x2_row_##SUFFIX(const T *restrict top,                  \
                                                    const T *restrict bottom,               \
                                                    T *restrict out, Py_ssize_t out_w,      \
                                                    Py_ssize_t c) {                         \
        Py_ssize_t ahead = 8 * out_w * c;  /* four input rows: two tasks on */              \
        for (Py_ssize_t ox = 0; ox < out_w; ox++) {                                         \
            Py_ssize_t left = 2 * ox * c, right = left + c;                                 \
            T *restrict dst = out + ox * c;                                                 \
            hp_prefetch_span(top + ahead + left, 2 * c * sizeof(T));                         \
            hp_prefetch_span(bottom + ahead + left, 2 * c * sizeof(T));                      \
            for (Py_ssize_t i = 0; i < c; i++) {                                            \
                T m = hp_nan_max_##SUFFIX(top[left + i], top[right + i]);                   \
                m = hp_nan_max_##SUFFIX(m, bottom[left + i]);                               \
                dst[i] = hp_nan_max_##SUFFIX(m, bottom[right + i]);                         \
            }                                                                               \
        }                                                                                   \
    }
    HP_MAX_POOL_2X2(float, f32)
    HP_MAX_POOL_2X2(double, f64)

    /* MaxPoolGrad for one output row of 2x2 windows at stride 2 that tile the input: the
       two input rows `top` and `bottom` (width 2 * out_w) get the gradient at each window's
       first max in (row, column) order and 0 at its other three cells, in one pass. The
       argmax is a chain of strict compares (a later cell wins only if greater, so NaN wins
       only in the first cell, as the reference's), and the gradient is handed down the chain
       as float selects: no integer argmax, so GCC vectorizes the channel loop. */
    #define HP_MAX_POOL_GRAD_2X2(T, SUFFIX)                                                  \
    static inline void hp_max_pool_grad_2x2_row_##SUFFIX(                                   \
            const T *restrict top, const T *restrict bottom, const T *restrict grad,        \
            T *restrict dtop, T *restrict dbottom, Py_ssize_t out_w, Py_ssize_t c) {        \
        Py_ssize_t ahead = 8 * out_w * c;  /* four input rows: two tasks on */              \
        for (Py_ssize_t ox = 0; ox < out_w; ox++) {                                         \
            Py_ssize_t left = 2 * ox * c, right = left + c;                                 \
            const T *restrict g = grad + ox * c;                                            \
            hp_prefetch_span(top + ahead + left, 2 * c * sizeof(T));                         \
            hp_prefetch_span(bottom + ahead + left, 2 * c * sizeof(T));                      \
            hp_prefetch_span(g + 2 * out_w * c, c * sizeof(T));                             \
            hp_prefetch_span_for_write(dtop + ahead + left, 2 * c * sizeof(T));              \
            hp_prefetch_span_for_write(dbottom + ahead + left, 2 * c * sizeof(T));           \
            for (Py_ssize_t i = 0; i < c; i++) {                                            \
                T v0 = top[left + i], v1 = top[right + i];                                  \
                T v2 = bottom[left + i], v3 = bottom[right + i];                            \
                int beat1 = v1 > v0;                                                        \
                T m = beat1 ? v1 : v0;                                                      \
                int beat2 = v2 > m;                                                         \
                m = beat2 ? v2 : m;                                                         \
                int beat3 = v3 > m;                                                         \
                T rest = g[i];                                                              \
                dbottom[right + i] = beat3 ? rest : (T)0;                                   \
                rest = beat3 ? (T)0 : rest;                                                 \
                dbottom[left + i] = beat2 ? rest : (T)0;                                    \
                rest = beat2 ? (T)0 : rest;                                                 \
                dtop[right + i] = beat1 ? rest : (T)0;                                      \
                dtop[left + i] = beat1 ? (T)0 : rest;                                       \
            }                                                                               \
        }                                                                                   \
    }
    HP_MAX_POOL_GRAD_2X2(float, f32)
    HP_MAX_POOL_GRAD_2X2(double, f64)
    """
    void hp_copy_f32(float* dst, const float* src, Py_ssize_t c) noexcept nogil
    void hp_copy_f64(double* dst, const double* src, Py_ssize_t c) noexcept nogil
    void hp_max_into_f32(float* best, const float* src, Py_ssize_t c) noexcept nogil
    void hp_max_into_f64(double* best, const double* src, Py_ssize_t c) noexcept nogil
    void hp_max_pool_2x2_row_f32(const float* top, const float* bottom, float* out,
                                 Py_ssize_t out_w, Py_ssize_t c) noexcept nogil
    void hp_max_pool_2x2_row_f64(const double* top, const double* bottom, double* out,
                                 Py_ssize_t out_w, Py_ssize_t c) noexcept nogil
    void hp_max_pool_grad_2x2_row_f32(const float* top, const float* bottom, const float* grad,
                                      float* dtop, float* dbottom, Py_ssize_t out_w,
                                      Py_ssize_t c) noexcept nogil
    void hp_max_pool_grad_2x2_row_f64(const double* top, const double* bottom,
                                      const double* grad, double* dtop, double* dbottom,
                                      Py_ssize_t out_w, Py_ssize_t c) noexcept nogil


cdef inline void _window_argmax(const cython.floating* image, Py_ssize_t height,
                                Py_ssize_t width, Py_ssize_t c, Py_ssize_t top,
                                Py_ssize_t left, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                                cython.floating* best, int* arg) noexcept nogil:
    """arg[ci] = the pixel (iy * width + ix) of the window's first max in channel ci, or -1
    when that is a padding cell.

    Padding counts as -inf and a later cell must be strictly greater to win: the reference's
    rule (so NaN never wins unless it comes first). `best` and `arg` are scratch rows of c
    values.
    """
    cdef Py_ssize_t ky, kx, iy, ix, ci
    cdef int at
    cdef bint first = True
    cdef const cython.floating* src
    for ky in range(kernel_h):
        iy = top + ky
        for kx in range(kernel_w):
            ix = left + kx
            if 0 <= iy < height and 0 <= ix < width:
                at = <int>(iy * width + ix)
                src = image + at * c
                if cython.floating is float:
                    if first:
                        hp_take_first_f32(best, arg, src, at, c)
                    else:
                        hp_take_greater_f32(best, arg, src, at, c)
                else:
                    if first:
                        hp_take_first_f64(best, arg, src, at, c)
                    else:
                        hp_take_greater_f64(best, arg, src, at, c)
            elif first:
                # A later -inf never compares greater: only a first padding cell matters.
                for ci in range(c):
                    best[ci] = -INFINITY
                    arg[ci] = -1
            first = False


cdef inline void _grad_at(cython.floating* dst, const cython.floating* grad, const int* arg,
                          int at, Py_ssize_t c) noexcept nogil:
    """dst[ci] = grad[ci] where cell `at` is channel ci's argmax, else 0."""
    if cython.floating is float:
        hp_grad_at_f32(dst, grad, arg, at, c)
    else:
        hp_grad_at_f64(dst, grad, arg, at, c)


cdef inline Py_ssize_t _scratch_stride(Py_ssize_t c) noexcept nogil:
    """Values between two threads' scratch rows: c plus 16 (at least a cache line), so the
    threads never write the same line (sharing one made 2 threads 2x slower than 1)."""
    return c + 16


cdef int _scratch(Py_ssize_t threads, Py_ssize_t c, void** best, int** arg,
                  size_t item) except -1:
    cdef Py_ssize_t values = threads * _scratch_stride(c)
    best[0] = malloc(values * item)
    arg[0] = <int*>malloc(values * sizeof(int))
    if best[0] == NULL or arg[0] == NULL:
        free(best[0])
        free(arg[0])
        raise MemoryError("max pooling: cannot allocate %d scratch values" % values)
    return 0


def max_pool(const cython.floating[:, :, :, ::1] x, cython.floating[:, :, :, ::1] out,
             Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w,
             Py_ssize_t pad_top, Py_ssize_t pad_left):
    """out = max of x over each window's real cells (MaxPool), NaN propagating.

    Padding cells are left out: as -inf they never change a max (nor a NaN). A window with
    no real cell (no TF geometry makes one) gives -inf, as the reference.

    Args:
      x: input [N, H, W, C].
      out: output [N, OH, OW, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t task, b, oy, ox, ky, kx, iy, ix, ci, top, left
    cdef bint first
    cdef cython.floating* dst
    cdef const cython.floating* src
    with nogil:
        for task in prange(n * out_h, schedule="static",
                           num_threads=threads_for(n * height * width * c)):
            b = task // out_h
            oy = task - b * out_h
            top = oy * stride_h - pad_top
            for ox in range(out_w):
                left = ox * stride_w - pad_left
                dst = &out[b, oy, ox, 0]
                first = True
                for ky in range(kernel_h):
                    iy = top + ky
                    if iy < 0 or iy >= height:
                        continue
                    for kx in range(kernel_w):
                        ix = left + kx
                        if ix < 0 or ix >= width:
                            continue
                        src = &x[b, iy, ix, 0]
                        if cython.floating is float:
                            if first:
                                hp_copy_f32(dst, src, c)
                            else:
                                hp_max_into_f32(dst, src, c)
                        else:
                            if first:
                                hp_copy_f64(dst, src, c)
                            else:
                                hp_max_into_f64(dst, src, c)
                        first = False
                if first:
                    for ci in range(c):
                        dst[ci] = -INFINITY


def max_pool_2x2(const cython.floating[:, :, :, ::1] x, cython.floating[:, :, :, ::1] out):
    """MaxPool for 2x2 windows at stride 2 without padding over an even H and W: `max_pool`
    with the window walk unrolled, one output row per task.

    Args:
      x: input [N, H, W, C], H and W even.
      out: output [N, H / 2, W / 2, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t task, b, oy
    if height != 2 * out_h or width != 2 * out_w:
        raise ValueError("max_pool_2x2: input %dx%d is not twice the output's %dx%d"
                         % (height, width, out_h, out_w))
    with nogil:
        for task in prange(n * out_h, schedule="static",
                           num_threads=threads_for(n * height * width * c)):
            b = task // out_h
            oy = task - b * out_h
            if cython.floating is float:
                hp_max_pool_2x2_row_f32(&x[b, 2 * oy, 0, 0], &x[b, 2 * oy + 1, 0, 0],
                                        &out[b, oy, 0, 0], out_w, c)
            else:
                hp_max_pool_2x2_row_f64(&x[b, 2 * oy, 0, 0], &x[b, 2 * oy + 1, 0, 0],
                                        &out[b, oy, 0, 0], out_w, c)


def max_pool_grad_2x2(const cython.floating[:, :, :, ::1] x,
                      const cython.floating[:, :, :, ::1] grad,
                      cython.floating[:, :, :, ::1] dx):
    """MaxPoolGrad for 2x2 windows at stride 2 without padding over an even H and W (the
    usual pooling): the windows tile x exactly, so each pair of input rows is written once,
    in parallel over (image, output row), with no scratch rows and no zeroing pass.

    Args:
      x: the forward input [N, H, W, C], H and W even.
      grad: the gradient of the pooled output [N, H / 2, W / 2, C].
      dx: output [N, H, W, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = grad.shape[1], out_w = grad.shape[2]
    cdef Py_ssize_t task, b, oy
    if height != 2 * out_h or width != 2 * out_w:
        raise ValueError("max_pool_grad_2x2: input %dx%d is not twice the gradient's %dx%d"
                         % (height, width, out_h, out_w))
    with nogil:
        for task in prange(n * out_h, schedule="static",
                           num_threads=threads_for(n * height * width * c * 2)):
            b = task // out_h
            oy = task - b * out_h
            if cython.floating is float:
                hp_max_pool_grad_2x2_row_f32(&x[b, 2 * oy, 0, 0], &x[b, 2 * oy + 1, 0, 0],
                                             &grad[b, oy, 0, 0], &dx[b, 2 * oy, 0, 0],
                                             &dx[b, 2 * oy + 1, 0, 0], out_w, c)
            else:
                hp_max_pool_grad_2x2_row_f64(&x[b, 2 * oy, 0, 0], &x[b, 2 * oy + 1, 0, 0],
                                             &grad[b, oy, 0, 0], &dx[b, 2 * oy, 0, 0],
                                             &dx[b, 2 * oy + 1, 0, 0], out_w, c)


def max_pool_grad(const cython.floating[:, :, :, ::1] x, const cython.floating[:, :, :, ::1] grad,
                  cython.floating[:, :, :, ::1] dx, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                  Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_top,
                  Py_ssize_t pad_left):
    """dx = each output cell's grad added at its window's argmax in x (MaxPoolGrad).

    Args:
      x: the forward input [N, H, W, C].
      grad: the gradient of the pooled output [N, OH, OW, C].
      dx: output [N, H, W, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = grad.shape[1], out_w = grad.shape[2]
    cdef Py_ssize_t b, oy, ox, ci, i
    cdef int threads = threads_for(n * height * width * c * 2)
    cdef void* best_rows = NULL
    cdef int* arg_rows = NULL
    cdef cython.floating* best
    cdef int* arg
    cdef const cython.floating* g
    cdef cython.floating* target
    _scratch(threads, c, &best_rows, &arg_rows, sizeof(cython.floating))
    try:
        with nogil:
            # One image per task: an image's windows overlap, different images never do.
            for b in prange(n, schedule="static", num_threads=threads):
                best = <cython.floating*>best_rows + threadid() * _scratch_stride(c)
                arg = arg_rows + threadid() * _scratch_stride(c)
                target = &dx[b, 0, 0, 0]
                for i in range(height * width * c):
                    target[i] = 0
                for oy in range(out_h):
                    for ox in range(out_w):
                        _window_argmax(&x[b, 0, 0, 0], height, width, c,
                                       oy * stride_h - pad_top, ox * stride_w - pad_left,
                                       kernel_h, kernel_w, best, arg)
                        g = &grad[b, oy, ox, 0]
                        for ci in range(c):
                            if arg[ci] >= 0:
                                target[arg[ci] * c + ci] = target[arg[ci] * c + ci] + g[ci]
    finally:
        free(best_rows)
        free(arg_rows)


def max_pool_grad_tiled(const cython.floating[:, :, :, ::1] x,
                        const cython.floating[:, :, :, ::1] grad,
                        cython.floating[:, :, :, ::1] dx, Py_ssize_t kernel_h,
                        Py_ssize_t kernel_w, Py_ssize_t pad_top, Py_ssize_t pad_left):
    """MaxPoolGrad when the stride equals the window (the usual 2x2/2 pooling).

    The windows tile the input, so each cell lies in at most one window: each window writes
    its cells outright (the gradient at its argmax, 0 elsewhere) as a vectorizable select,
    with no zeroing pass over dx and no scatter-add. Cells no window covers (padding rows
    and columns, a VALID remainder) are zeroed first, by the task owning their row band.

    Args:
      x: the forward input [N, H, W, C].
      grad: the gradient of the pooled output [N, OH, OW, C].
      dx: output [N, H, W, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = grad.shape[1], out_w = grad.shape[2]
    cdef Py_ssize_t tasks = n * out_h
    cdef Py_ssize_t task, b, oy, ox, ky, kx, iy, ix, ci, i, top, left, first_row, end_row
    cdef bint covers_all = (pad_top == 0 and pad_left == 0 and out_h * kernel_h == height
                            and out_w * kernel_w == width)
    cdef int at
    cdef int threads = threads_for(n * height * width * c * 2)
    cdef void* best_rows = NULL
    cdef int* arg_rows = NULL
    cdef cython.floating* best
    cdef int* arg
    cdef const cython.floating* g
    cdef cython.floating* dst
    _scratch(threads, c, &best_rows, &arg_rows, sizeof(cython.floating))
    try:
        with nogil:
            for task in prange(tasks, schedule="static", num_threads=threads):
                best = <cython.floating*>best_rows + threadid() * _scratch_stride(c)
                arg = arg_rows + threadid() * _scratch_stride(c)
                b = task // out_h
                oy = task - b * out_h
                top = oy * kernel_h - pad_top
                if not covers_all:
                    # This task's band of rows; the first and last bands reach the edges.
                    first_row = 0 if oy == 0 else top
                    end_row = height if oy == out_h - 1 else min(top + kernel_h, height)
                    if end_row > first_row:
                        dst = &dx[b, first_row, 0, 0]
                        for i in range((end_row - first_row) * width * c):
                            dst[i] = 0
                g = &grad[b, oy, 0, 0]
                for ox in range(out_w):
                    left = ox * kernel_w - pad_left
                    _window_argmax(&x[b, 0, 0, 0], height, width, c, top, left,
                                   kernel_h, kernel_w, best, arg)
                    for ky in range(kernel_h):
                        iy = top + ky
                        if iy < 0 or iy >= height:
                            continue
                        for kx in range(kernel_w):
                            ix = left + kx
                            if ix < 0 or ix >= width:
                                continue
                            at = <int>(iy * width + ix)
                            _grad_at(&dx[b, iy, ix, 0], g, arg, at, c)
                    g = g + c
    finally:
        free(best_rows)
        free(arg_rows)


def max_pool_grad_grad(const cython.floating[:, :, :, ::1] x,
                       const cython.floating[:, :, :, ::1] grad,
                       cython.floating[:, :, :, ::1] out, Py_ssize_t kernel_h,
                       Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w,
                       Py_ssize_t pad_top, Py_ssize_t pad_left):
    """out[n, oy, ox, c] = grad at the window's argmax in x, 0 for a padding argmax.

    Args:
      x: the forward input [N, H, W, C].
      grad: a gradient shaped like x.
      out: output [N, OH, OW, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t tasks = n * out_h
    cdef Py_ssize_t task, b, oy, ox, ci
    cdef int threads = threads_for(n * height * width * c)
    cdef void* best_rows = NULL
    cdef int* arg_rows = NULL
    cdef cython.floating* best
    cdef int* arg
    cdef const cython.floating* g
    cdef cython.floating* dst
    _scratch(threads, c, &best_rows, &arg_rows, sizeof(cython.floating))
    try:
        with nogil:
            for task in prange(tasks, schedule="static", num_threads=threads):
                best = <cython.floating*>best_rows + threadid() * _scratch_stride(c)
                arg = arg_rows + threadid() * _scratch_stride(c)
                b = task // out_h
                oy = task - b * out_h
                g = &grad[b, 0, 0, 0]
                for ox in range(out_w):
                    _window_argmax(&x[b, 0, 0, 0], height, width, c,
                                   oy * stride_h - pad_top, ox * stride_w - pad_left,
                                   kernel_h, kernel_w, best, arg)
                    dst = &out[b, oy, ox, 0]
                    for ci in range(c):
                        dst[ci] = g[arg[ci] * c + ci] if arg[ci] >= 0 else 0
    finally:
        free(best_rows)
        free(arg_rows)

def avg_pool(const cython.floating[:, :, :, ::1] x, cython.floating[:, :, :, ::1] out,
             Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w,
             Py_ssize_t pad_top, Py_ssize_t pad_left):
    """out = mean of x over each window's real (non-padding) cells, summed in window order.

    Args:
      x: input [N, H, W, C].
      out: output [N, OH, OW, C], overwritten.
    """
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t tasks = n * out_h
    cdef Py_ssize_t task, b, oy, ox, ky, kx, iy, ix, ci, top, left
    cdef cython.floating* dst
    cdef const cython.floating* src
    cdef cython.floating count
    with nogil:
        for task in prange(tasks, schedule="static",
                           num_threads=threads_for(n * height * width * c)):
            b = task // out_h
            oy = task - b * out_h
            top = oy * stride_h - pad_top
            for ox in range(out_w):
                left = ox * stride_w - pad_left
                dst = &out[b, oy, ox, 0]
                for ci in range(c):
                    dst[ci] = 0
                for ky in range(kernel_h):
                    iy = top + ky
                    if iy < 0 or iy >= height:
                        continue
                    for kx in range(kernel_w):
                        ix = left + kx
                        if ix < 0 or ix >= width:
                            continue
                        src = &x[b, iy, ix, 0]
                        for ci in range(c):
                            dst[ci] = dst[ci] + src[ci]
                count = <cython.floating>(_valid_count(top, kernel_h, height) *
                                          _valid_count(left, kernel_w, width))
                for ci in range(c):
                    dst[ci] = dst[ci] / count


def avg_pool_grad(const cython.floating[:, :, :, ::1] grad, cython.floating[:, :, :, ::1] dx,
                  Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
                  Py_ssize_t stride_w, Py_ssize_t pad_top, Py_ssize_t pad_left):
    """dx[n, iy, ix, c] = sum over the windows covering the pixel of grad / window count.

    A gather in kernel-offset order (the order the reference adds in), so pixels are
    independent and the loop runs in parallel.

    Args:
      grad: the gradient of the pooled output [N, OH, OW, C].
      dx: output [N, H, W, C], overwritten.
    """
    cdef Py_ssize_t n = dx.shape[0], height = dx.shape[1], width = dx.shape[2], c = dx.shape[3]
    cdef Py_ssize_t out_h = grad.shape[1], out_w = grad.shape[2]
    cdef Py_ssize_t tasks = n * height
    cdef Py_ssize_t task, b, iy, ix, ky, kx, ty, tx, oy, ox, ci
    cdef cython.floating* dst
    cdef const cython.floating* src
    cdef cython.floating count
    with nogil:
        for task in prange(tasks, schedule="static",
                           num_threads=threads_for(n * height * width * c)):
            b = task // height
            iy = task - b * height
            for ix in range(width):
                dst = &dx[b, iy, ix, 0]
                for ci in range(c):
                    dst[ci] = 0
                for ky in range(kernel_h):
                    ty = iy + pad_top - ky
                    if ty < 0 or ty % stride_h != 0:
                        continue
                    oy = ty // stride_h
                    if oy >= out_h:
                        continue
                    for kx in range(kernel_w):
                        tx = ix + pad_left - kx
                        if tx < 0 or tx % stride_w != 0:
                            continue
                        ox = tx // stride_w
                        if ox >= out_w:
                            continue
                        count = <cython.floating>(
                            _valid_count(oy * stride_h - pad_top, kernel_h, height) *
                            _valid_count(ox * stride_w - pad_left, kernel_w, width))
                        src = &grad[b, oy, ox, 0]
                        for ci in range(c):
                            dst[ci] = dst[ci] + src[ci] / count
