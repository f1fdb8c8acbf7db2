# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""im2col and col2im for NHWC convolutions: the copies around the GEMMs of Conv2D and its
two backprop ops (the GEMMs themselves stay in numpy's matmul, i.e. OpenBLAS).

numpy builds the patch matrix from a 6-D strided view, moving C values at a time on one core;
these loops write each patch row once, in parallel over (image, output row). Patch columns are
ordered (kernel row, kernel column, channel), as the filter [KH, KW, C, O] reshaped to
[KH*KW*C, O]. Callers pass C-contiguous arrays of one dtype (float32 or float64) and a
geometry already validated by the op's shape rules.
"""
cimport cython
from cython.parallel cimport prange

from _threads cimport threads_for


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
