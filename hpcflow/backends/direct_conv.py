"""Conv2D and its two gradients as direct loops (hpcflow._cy.direct_conv): the geometry side.

The loops read a zero-padded copy of their input at `pixels[i] + taps[t] + c`: output pixel
i's window start plus tap t's offset in it plus the channel. This module builds those
offsets from a window walk (`nn_helpers._Geometry`), the padded copy, and the filter in the
layout the loops read. Each function returns None when the loops do not handle the case
(output channels not a multiple of the vector length, or, for the input gradient, a stride
or a padding the flipped-filter form cannot express); the caller then uses im2col + GEMM.

Why direct loops: see cy_kernels/direct_conv.h. On the benchmark CNN's second layer (5x5,
32 -> 64 channels, 14x14, batch 64) each of the three ops took 0.61-0.65 of the time of
im2col + OpenBLAS, and 0.77-0.89 on wider 3x3 layers (scripts/bench_conv.py).
"""
import functools

import numpy as np

from .._cy import direct_conv as _loops
from .scratch import scratch

def isa():
    """The instruction set of the loops in use: "avx512", "avx2" or "baseline"."""
    return _loops.isa()


def _lanes(dtype):
    return _loops.vector_lanes(np.dtype(dtype).itemsize)


def _read_only(array):
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=32)
def _pixel_offsets(n, out_h, out_w, rows, cols, channels, stride_h, stride_w):
    """Where each output pixel's window starts in a padded input [n, rows, cols, channels],
    in (image, row, column) order."""
    images = np.arange(n, dtype=np.intp) * rows
    ys = np.arange(out_h, dtype=np.intp) * stride_h
    xs = np.arange(out_w, dtype=np.intp) * stride_w
    starts = ((images[:, None, None] + ys[None, :, None]) * cols + xs[None, None, :]) * channels
    return _read_only(starts.ravel())


@functools.lru_cache(maxsize=32)
def _tap_offsets(kernel_h, kernel_w, cols, channels, dilation_h, dilation_w):
    """Each window tap's offset from the window start, taps in (row, column) order."""
    ys = np.arange(kernel_h, dtype=np.intp) * dilation_h
    xs = np.arange(kernel_w, dtype=np.intp) * dilation_w
    return _read_only(((ys[:, None] * cols + xs[None, :]) * channels).ravel())


def _pack(w_taps):
    """[taps, channels, O] -> the loops' layout: O in blocks of `block_vectors()` vectors,
    each block [taps, channels, width], blocks one after another."""
    outs = w_taps.shape[2]
    block = _loops.block_vectors() * _lanes(w_taps.dtype)
    if outs <= block:
        return np.ascontiguousarray(w_taps).ravel()
    return np.concatenate([np.ascontiguousarray(w_taps[:, :, o0:o0 + block]).ravel()
                           for o0 in range(0, outs, block)])


# Images per call of the loops: their padded copy stays within this many bytes (so in the
# last-level cache, 32 MB on the benchmark machine, and the per-thread scratch stays small).
_CHUNK_BYTES = 8 << 20


def _chunks(n, rows, cols, channels, itemsize):
    """(start, stop) image ranges whose padded copies fit in _CHUNK_BYTES (at least one)."""
    step = max(1, _CHUNK_BYTES // max(1, rows * cols * channels * itemsize))
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def _padded(x, rows, cols, channels, top, left):
    """x [n, h, w, c] in a scratch [n, rows, cols, channels] at (top, left), zeros around,
    or x itself when that is the same array."""
    n, height, width, c = x.shape
    if (rows, cols, channels, top, left) == (height, width, c, 0, 0):
        return x
    padded = scratch((n, rows, cols, channels), x.dtype)
    _loops.pad_into(x, padded, top, left)
    return padded


def _padded_extent(out, kernel, stride, dilation):
    """Rows (or columns) of padded input the windows read."""
    return (out - 1) * stride + (kernel - 1) * dilation + 1


def _convolve(x, w_taps, g, rows, cols, top, left, out_h, out_w, stride_h, stride_w,
              bias=None, relu=False):
    """out [n, out_h, out_w, O] of the window walk (kernel and dilations from g, strides
    given) over x [n, h, w, C] padded to [rows, cols] at (top, left), filter w_taps
    [taps, C, O]; plus bias [O] and Relu if asked."""
    n, _, _, channels = x.shape
    outs = w_taps.shape[2]
    packed = _pack(w_taps)
    out = np.empty((n, out_h, out_w, outs), dtype=x.dtype)
    taps = _tap_offsets(g.kernel_h, g.kernel_w, cols, channels, g.dilation_h, g.dilation_w)
    for start, stop in _chunks(n, rows, cols, channels, x.itemsize):
        xp = _padded(x[start:stop], rows, cols, channels, top, left)
        pixels = _pixel_offsets(stop - start, out_h, out_w, rows, cols, channels, stride_h,
                                stride_w)
        _loops.forward(xp.reshape(-1), pixels, taps, channels, packed,
                       out[start:stop].reshape(-1, outs), bias, relu)
    return out


def forward(x, w, g, bias=None, relu=False):
    """Conv2D of C-contiguous NHWC x [n, h, w, c] with filter w [kh, kw, c, o], or None;
    with a bias [o] (C-contiguous, x's dtype) added and Relu applied if asked (the fused
    `_FusedConv2D` op)."""
    kh, kw, c, o = w.shape
    if o % _lanes(x.dtype):
        return None
    rows = _padded_extent(g.out_h, kh, g.stride_h, g.dilation_h)
    cols = _padded_extent(g.out_w, kw, g.stride_w, g.dilation_w)
    return _convolve(x, w.reshape(kh * kw, c, o), g, rows, cols, g.pad_top, g.pad_left,
                     g.out_h, g.out_w, g.stride_h, g.stride_w, bias, relu)


def input_gradient(dy, w, g, input_shape):
    """Conv2DBackpropInput for stride 1, or None: the forward loops run over dy, padded so
    that every input pixel sees all the outputs its value reached, with the filter flipped
    and its channel axes swapped."""
    n, height, width, c = input_shape
    kh, kw, _, o = w.shape
    top = (kh - 1) * g.dilation_h - g.pad_top
    left = (kw - 1) * g.dilation_w - g.pad_left
    if (g.stride_h, g.stride_w) != (1, 1) or c % _lanes(dy.dtype) or top < 0 or left < 0:
        return None
    rows = height + (kh - 1) * g.dilation_h
    cols = width + (kw - 1) * g.dilation_w
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2).reshape(kh * kw, o, c)
    return _convolve(dy, flipped, g, rows, cols, top, left, height, width, 1, 1)


# The filter gradient's per-thread sums are reloaded from cache for every run of pixels;
# larger than this (L2 is 1 MB per core on the benchmark machine) and im2col + GEMM was
# faster: 3x3, 256 -> 256 channels (2.4 MB of sums) ran 1.35x slower direct, 64 -> 128
# (0.3 MB) 0.8x (scripts/bench_conv.py).
_MAX_FILTER_BYTES = 512 << 10


def _run_pixels(channels, itemsize):
    """Pixels per filter-gradient run: 96 (conv2 of the benchmark: 32 channels) measured
    best while a run's input rows are narrow; wider rows leave L1 unless runs are short
    (64 channels: 305 GFLOP/s with 96, 430 with 32)."""
    return 96 if channels * itemsize <= 128 else 32


def filter_gradient(x, dy, g, filter_shape):
    """Conv2DBackpropFilter of C-contiguous NHWC x and dy, or None."""
    kh, kw, c, o = filter_shape
    if o % _lanes(x.dtype) or kh * kw * c * o * x.itemsize > _MAX_FILTER_BYTES:
        return None
    n = x.shape[0]
    block = _loops.CHANNEL_BLOCK
    channels = -(-c // block) * block
    rows = _padded_extent(g.out_h, kh, g.stride_h, g.dilation_h)
    cols = _padded_extent(g.out_w, kw, g.stride_w, g.dilation_w)
    taps = _tap_offsets(kh, kw, cols, channels, g.dilation_h, g.dilation_w)
    threads = _loops.thread_count(n * g.out_h * g.out_w * taps.size * c * o)
    # Each thread adds its pixels of every chunk into its own partial sum.
    partials = np.zeros((threads, taps.size * channels, o), dtype=x.dtype)
    for start, stop in _chunks(n, rows, cols, channels, x.itemsize):
        xp = _padded(x[start:stop], rows, cols, channels, g.pad_top, g.pad_left)
        pixels = _pixel_offsets(stop - start, g.out_h, g.out_w, rows, cols, channels,
                                g.stride_h, g.stride_w)
        _loops.filter_grad(xp.reshape(-1), pixels, taps, channels,
                           dy[start:stop].reshape(-1, o), partials,
                           _run_pixels(channels, x.itemsize))
    dw = partials[0] if threads == 1 else partials.sum(axis=0)
    return np.ascontiguousarray(dw.reshape(kh, kw, channels, o)[:, :, :c, :])
