# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Direct NHWC convolutions (no patch matrix): the loops of direct_conv.h and the zero-padded
input copy they read.

The caller (hpcflow/backends/direct_conv.py) describes a convolution as offsets into a
padded input: `pixels[i]`, where output pixel i's window starts, and `taps[t]`, how far
tap t of the window is from that start. Strides, dilations and paddings are all in those
two arrays, so the loops themselves know nothing about geometry.
"""
cimport cython
from cython.parallel cimport prange
from libc.string cimport memcpy, memset

from _threads cimport threads_for

cdef extern from "direct_conv.h":
    void hpd_forward_f32(const float* x, const Py_ssize_t* pix, Py_ssize_t npix,
                         const Py_ssize_t* taps, Py_ssize_t ntaps, Py_ssize_t channels,
                         const float* packed, Py_ssize_t outs, float* out,
                         const float* bias, int relu, int threads) noexcept nogil
    void hpd_forward_f64(const double* x, const Py_ssize_t* pix, Py_ssize_t npix,
                         const Py_ssize_t* taps, Py_ssize_t ntaps, Py_ssize_t channels,
                         const double* packed, Py_ssize_t outs, double* out,
                         const double* bias, int relu, int threads) noexcept nogil
    void hpd_filter_f32(const float* x, const Py_ssize_t* pix, Py_ssize_t npix,
                        const Py_ssize_t* taps, Py_ssize_t ntaps, Py_ssize_t channels,
                        const float* dy, Py_ssize_t outs, float* partials,
                        Py_ssize_t run_pixels, int threads) noexcept nogil
    void hpd_filter_f64(const double* x, const Py_ssize_t* pix, Py_ssize_t npix,
                        const Py_ssize_t* taps, Py_ssize_t ntaps, Py_ssize_t channels,
                        const double* dy, Py_ssize_t outs, double* partials,
                        Py_ssize_t run_pixels, int threads) noexcept nogil
    int hpd_force_isa(int isa) noexcept nogil
    int hpd_isa() noexcept nogil
    int hpd_vector_bytes() noexcept nogil
    int hpd_block_vectors() noexcept nogil
    int HPD_ISA_BASE, HPD_ISA_AVX2, HPD_ISA_AVX512, HPD_CB

ISA_NAMES = {HPD_ISA_BASE: "baseline", HPD_ISA_AVX2: "avx2", HPD_ISA_AVX512: "avx512"}
# Input channels of the padded copy the filter gradient reads are a multiple of this.
CHANNEL_BLOCK = HPD_CB


def vector_lanes(dtype_size):
    """Values per vector of the loops in use: output channels must be a multiple of this."""
    return hpd_vector_bytes() // dtype_size


def block_vectors():
    """Vectors per output-channel block of the loops in use (`forward`'s packed filter)."""
    return hpd_block_vectors()


def isa():
    """The instruction set of the loops in use: "avx512", "avx2" or "baseline"."""
    return ISA_NAMES[hpd_isa()]


def force_isa(name):
    """Uses the loops of at most instruction set `name` (None: the best this CPU runs), so
    tests can run every copy; returns the name of the copy now in use."""
    codes = {v: k for k, v in ISA_NAMES.items()}
    return ISA_NAMES[hpd_force_isa(-1 if name is None else codes[name])]


def thread_count(Py_ssize_t work):
    """Threads the loops use for `work` multiply-adds (so partial sums `filter_grad` needs)."""
    return threads_for(work)


def pad_into(const cython.floating[:, :, :, ::1] x, cython.floating[:, :, :, ::1] dst,
             Py_ssize_t top, Py_ssize_t left):
    """dst = zeros with x's [H, W, C] block at rows top.., columns left.., channels 0..;
    what falls outside dst is dropped. `top`, `left` >= 0."""
    cdef Py_ssize_t n = x.shape[0], height = x.shape[1], width = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t rows = dst.shape[1], cols = dst.shape[2], dc = dst.shape[3]
    cdef Py_ssize_t task, b, r, iy, ix, copy_w = min(width, cols - left)
    cdef cython.floating* line
    if dst.shape[0] != n or dc < c or top < 0 or left < 0:
        raise ValueError("pad_into: [%d, %d, %d, %d] does not hold [%d, %d, %d, %d] at (%d, %d)"
                         % (dst.shape[0], rows, cols, dc, n, height, width, c, top, left))
    with nogil:
        for task in prange(n * rows, schedule="static",
                           num_threads=threads_for(dst.shape[0] * rows * cols * dc)):
            b = task // rows
            r = task - b * rows
            line = &dst[b, r, 0, 0]
            iy = r - top
            if iy < 0 or iy >= height or copy_w <= 0:
                memset(line, 0, cols * dc * sizeof(cython.floating))
                continue
            memset(line, 0, left * dc * sizeof(cython.floating))
            if dc == c:
                memcpy(line + left * dc, &x[b, iy, 0, 0], copy_w * c * sizeof(cython.floating))
            else:
                for ix in range(copy_w):
                    memcpy(line + (left + ix) * dc, &x[b, iy, ix, 0],
                           c * sizeof(cython.floating))
                    memset(line + (left + ix) * dc + c, 0, (dc - c) * sizeof(cython.floating))
            memset(line + (left + copy_w) * dc, 0,
                   (cols - left - copy_w) * dc * sizeof(cython.floating))


cdef _check_offsets(const Py_ssize_t[::1] pixels, const Py_ssize_t[::1] taps,
                    Py_ssize_t channels, Py_ssize_t size, str what):
    """Every read x[pixel + tap + c] must lie inside the padded input of `size` values."""
    cdef Py_ssize_t i, low, high, tap_low, tap_high
    if pixels.shape[0] == 0 or taps.shape[0] == 0:
        return
    low = high = pixels[0]
    for i in range(pixels.shape[0]):
        low = min(low, pixels[i])
        high = max(high, pixels[i])
    tap_low = tap_high = taps[0]
    for i in range(taps.shape[0]):
        tap_low = min(tap_low, taps[i])
        tap_high = max(tap_high, taps[i])
    if low + tap_low < 0 or high + tap_high + channels > size:
        raise ValueError("%s: window offsets reach outside the padded input" % what)


def forward(const cython.floating[::1] x, const Py_ssize_t[::1] pixels,
            const Py_ssize_t[::1] taps, Py_ssize_t channels,
            const cython.floating[::1] packed, cython.floating[:, ::1] out,
            const cython.floating[::1] bias=None, bint relu=False):
    """out[i, o] = sum over taps t and channels c of x[pixels[i] + taps[t] + c] * w[t, c, o],
    plus bias[o] if a bias is given, then max(., 0) if relu (NaN kept, as Relu does).

    Args:
      x: the padded input, flat, with `channels` values per position.
      pixels, taps: offsets (see the module docstring).
      packed: the filter [taps, channels, O] as the loops read it: output channels in blocks
        of `block_vectors()` vectors of `vector_lanes` values, each block [taps, channels,
        block width].
      out: [len(pixels), O], overwritten; O a multiple of `vector_lanes`.
      bias: None, or [O] added to every output pixel.
      relu: applies Relu to the result.
    """
    cdef Py_ssize_t npix = pixels.shape[0], ntaps = taps.shape[0], outs = out.shape[1]
    cdef int threads = threads_for(npix * ntaps * channels * outs)
    cdef const cython.floating* bias_ptr = NULL
    if out.shape[0] != npix or outs % (hpd_vector_bytes() // sizeof(cython.floating)) or \
            packed.shape[0] != ntaps * channels * outs:
        raise ValueError("direct_conv.forward: output [%d, %d] and filter of %d values do "
                         "not match %d pixels x %d taps x %d channels"
                         % (out.shape[0], outs, packed.shape[0], npix, ntaps, channels))
    if bias is not None:
        if bias.shape[0] != outs:
            raise ValueError("direct_conv.forward: bias of %d values for %d output channels"
                             % (bias.shape[0], outs))
        bias_ptr = &bias[0]
    _check_offsets(pixels, taps, channels, x.shape[0], "direct_conv.forward")
    if npix == 0 or outs == 0:
        return
    with nogil:
        if cython.floating is float:
            hpd_forward_f32(&x[0], &pixels[0], npix, &taps[0], ntaps, channels, &packed[0],
                            outs, &out[0, 0], bias_ptr, relu, threads)
        else:
            hpd_forward_f64(&x[0], &pixels[0], npix, &taps[0], ntaps, channels, &packed[0],
                            outs, &out[0, 0], bias_ptr, relu, threads)


def filter_grad(const cython.floating[::1] x, const Py_ssize_t[::1] pixels,
                const Py_ssize_t[::1] taps, Py_ssize_t channels,
                const cython.floating[:, ::1] dy, cython.floating[:, :, ::1] partials,
                Py_ssize_t run_pixels=96):
    """partials[k, t * channels + c, o] += sum over thread k's pixels i of
    x[pixels[i] + taps[t] + c] * dy[i, o]; the caller sums over k (a fixed order, so a given
    thread count always gives the same result).

    Args:
      x: the padded input, flat, `channels` (a multiple of CHANNEL_BLOCK) values per position.
      pixels, taps: offsets (see the module docstring).
      dy: the output gradient [len(pixels), O], O a multiple of `vector_lanes`.
      partials: [threads, taps * channels, O], zeroed; threads from `thread_count`.
      run_pixels: pixels summed per pass over the taps and channel blocks (>= 1).
    """
    cdef Py_ssize_t npix = pixels.shape[0], ntaps = taps.shape[0], outs = dy.shape[1]
    cdef int threads = partials.shape[0]
    if dy.shape[0] != npix or outs % (hpd_vector_bytes() // sizeof(cython.floating)) or \
            channels % HPD_CB or partials.shape[1] != ntaps * channels or \
            partials.shape[2] != outs or threads < 1 or run_pixels < 1:
        raise ValueError("direct_conv.filter_grad: gradient [%d, %d] and partials [%d, %d, "
                         "%d] do not match %d pixels x %d taps x %d channels"
                         % (dy.shape[0], outs, partials.shape[0], partials.shape[1],
                            partials.shape[2], npix, ntaps, channels))
    _check_offsets(pixels, taps, channels, x.shape[0], "direct_conv.filter_grad")
    if npix == 0 or outs == 0:
        return
    with nogil:
        if cython.floating is float:
            hpd_filter_f32(&x[0], &pixels[0], npix, &taps[0], ntaps, channels, &dy[0, 0], outs,
                           &partials[0, 0, 0], run_pixels, threads)
        else:
            hpd_filter_f64(&x[0], &pixels[0], npix, &taps[0], ntaps, channels, &dy[0, 0], outs,
                           &partials[0, 0, 0], run_pixels, threads)
