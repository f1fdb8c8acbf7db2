"""GPU kernels written for the array module `xp` (CuPy, or the numpy stand-in device).

Each entry of KERNELS builds, for one device, the kernel callable of one op type; the
callable takes device arrays (and host arrays for the inputs its memory types put in host
memory) and returns device arrays. Where a fused CUDA kernel pays (cuda_kernels.py) it is
used on a real GPU, and the array-module code below, which the stand-in device runs, is
the reference it is tested against.
"""
import weakref

import numpy as np

from ..framework import errors
from . import cuda_kernels


class Entry:
    """An explicit GPU kernel: build(device) -> callable, plus its memory types."""

    __slots__ = ("build", "host_inputs", "host_outputs")

    def __init__(self, build, host_inputs=(), host_outputs=False):
        self.build = build
        self.host_inputs = tuple(host_inputs)
        self.host_outputs = host_outputs


KERNELS = {}


def kernel(op_type, host_inputs=(), host_outputs=False):
    """Decorator: registers `build(device)` as the GPU kernel builder of `op_type`."""
    def decorate(build):
        if op_type in KERNELS:
            raise KeyError("GPU kernel for %r defined twice" % op_type)
        KERNELS[op_type] = Entry(build, host_inputs, host_outputs)
        return build
    return decorate


def on_gpu(device):
    """True on a real (CuPy) GPU, where the fused CUDA kernels run."""
    return device.kind == "cupy"


# -- constants and plumbing ------------------------------------------------------------------

@kernel("Const")
def _const(device):
    # A constant is uploaded once per value and then reused every step (device arrays are
    # never modified in place by kernels, so sharing one is safe).
    cache = {}

    def run(*, value, dtype):
        key = id(value)
        hit = cache.get(key)
        if hit is not None and hit[0]() is value:
            return hit[1]
        uploaded = device.to_device(np.asarray(value))
        if len(cache) > 4096:
            for k in [k for k, (ref, _) in cache.items() if ref() is None]:
                del cache[k]
        try:
            cache[key] = (weakref.ref(value), uploaded)
        except TypeError:  # a numpy scalar: cannot be weakly referenced, upload each time
            pass
        return uploaded
    return run


@kernel("NoOp")
def _no_op(device):
    return lambda: None


@kernel("_Send")
def _send(device):
    from ..ops import transfer_ops

    def run(ctx, *tensor, peer, tag, edge):
        transport = transfer_ops._transport(ctx)
        if not tensor:  # a control-dependency token
            transport.send_tensor(np.zeros(0, np.uint8), peer, tag)
        else:
            transport.send_tensor(tensor[0], peer, tag, device=device)
        return ()
    return run


@kernel("_Recv")
def _recv(device):
    from ..ops import transfer_ops

    def run(ctx, *, peer, tag, edge, dtype, shape):
        return transfer_ops._transport(ctx).recv_tensor(peer, tag, "tensor %s" % edge,
                                                         device=device)
    return run


# -- fused element-wise chains (the _FusedElementwise op of the fusion rewrite) ----------------

def _where(xp, cond, a, b):
    return xp.where(cond, a, b)


def _fused_steps(xp):
    """opcode -> function(a[, b], param) over whole arrays, the formulas of the ops' kernels."""
    def relu(a, p):
        return xp.maximum(a, 0)

    def sigmoid(a, p):
        return 1 / (1 + xp.exp(-a))

    return {
        0: lambda a, p: a, 1: lambda a, p: -a, 2: lambda a, p: xp.abs(a),
        3: lambda a, p: a * a, 4: lambda a, p: xp.sqrt(a), 5: lambda a, p: 1 / xp.sqrt(a),
        6: lambda a, p: 1 / a, 7: lambda a, p: xp.exp(a), 8: lambda a, p: xp.expm1(a),
        9: lambda a, p: xp.log(a), 10: lambda a, p: xp.log1p(a), 11: lambda a, p: xp.sin(a),
        12: lambda a, p: xp.cos(a), 13: lambda a, p: xp.tan(a), 14: lambda a, p: xp.tanh(a),
        15: sigmoid, 16: relu, 17: lambda a, p: xp.minimum(xp.maximum(a, 0), 6),
        18: lambda a, p: xp.logaddexp(a, 0), 19: lambda a, p: a / (1 + xp.abs(a)),
        20: lambda a, p: xp.floor(a), 21: lambda a, p: xp.ceil(a), 22: lambda a, p: xp.sign(a),
        23: lambda a, p: xp.where(a > 0, a, a * p),
        24: lambda a, p: xp.where(a >= 0, a, xp.expm1(xp.minimum(a, 0))),
        32: lambda a, b, p: a + b, 33: lambda a, b, p: a - b, 34: lambda a, b, p: a * b,
        35: lambda a, b, p: a / b, 36: lambda a, b, p: xp.maximum(a, b),
        37: lambda a, b, p: xp.minimum(a, b), 38: lambda a, b, p: (a - b) * (a - b),
        39: lambda g, f, p: xp.where(f > 0, g, 0),
        40: lambda a, b, p: xp.where(b == 0, 0, a / xp.where(b == 0, 1, b)),
        41: lambda g, f, p: xp.where(f > 0, g, g * p),
        42: lambda g, f, p: xp.where((f > 0) & (f < 6), g, 0),
    }


def fused_elementwise_xp(xp, inputs, program, num_registers, T):  # noqa: N803
    """Evaluates a fused program over whole arrays (broadcasting like the ops themselves)."""
    steps = _fused_steps(xp)
    dtype = np.dtype(T)
    registers = list(inputs) + [None] * (num_registers - len(inputs))
    result = None
    for opcode, dst, a, b, param in program:
        step = steps[opcode]
        param = dtype.type(param)
        if b < 0:
            result = step(registers[a], param)
        else:
            result = step(registers[a], registers[b], param)
        if dst < len(registers):
            registers[dst] = result
    shape = np.broadcast_shapes(*[np.shape(i) for i in inputs]) if inputs else ()
    result = result.astype(dtype, copy=False)
    if result.shape != shape:
        result = xp.broadcast_to(result, shape).copy()
    return result


@kernel("_FusedElementwise")
def _fused_elementwise(device):
    xp = device.xp
    if on_gpu(device):
        def run(*inputs, program, num_registers, T, out=None):  # noqa: N803
            return cuda_kernels.fused_program(program, num_registers, T, len(inputs))(*inputs)
        return run

    def run(*inputs, program, num_registers, T, out=None):  # noqa: N803
        return fused_elementwise_xp(xp, inputs, program, num_registers, T)
    return run


# -- operands the numpy kernels keep in host memory ------------------------------------------

@kernel("Fill", host_inputs=(0,))
def _fill(device):
    xp = device.xp
    from ..ops import array_ops

    def run(dims, value):
        dims = array_ops._as_index_list(dims, "dims", "Fill")
        if value.ndim != 0:
            raise errors.InvalidArgumentError(None, None, "value must be a scalar, got shape %s"
                                              % list(value.shape))
        if any(d < 0 for d in dims):
            raise errors.InvalidArgumentError(None, None, "dims must be non-negative, got %s"
                                              % list(dims))
        out = xp.empty(tuple(dims), dtype=value.dtype)
        out[...] = value
        return out
    return run


class _HostSpecial:
    """Special functions on the stand-in device (CuPy's come from cupyx.scipy.special)."""

    def __init__(self, device):
        import math
        self._device = device
        self._erf = np.vectorize(math.erf, otypes=[np.float64])
        self._erfc = np.vectorize(math.erfc, otypes=[np.float64])

    def _apply(self, fn, x):
        host = self._device.to_host(x)
        return self._device.to_device(fn(host).astype(x.dtype))

    def erf(self, x):
        return self._apply(self._erf, x)

    def erfc(self, x):
        return self._apply(self._erfc, x)


def special(device):
    """The special-function module of `device` (erf, erfc)."""
    if on_gpu(device):
        import cupyx.scipy.special
        return cupyx.scipy.special
    return _HostSpecial(device)


@kernel("Erf")
def _erf(device):
    functions = special(device)
    return lambda x: functions.erf(x).astype(x.dtype, copy=False)


@kernel("Erfc")
def _erfc(device):
    functions = special(device)
    return lambda x: functions.erfc(x).astype(x.dtype, copy=False)


@kernel("SplitV", host_inputs=(1, 2))
def _split_v(device):
    xp = device.xp
    from ..ops import array_ops

    def run(value, size_splits, split_dim, *, num_split):
        axis = array_ops._kernel_axis(split_dim, value.ndim, "SplitV", "split_dim")
        sizes = array_ops._as_index_list(size_splits, "size_splits", "SplitV")
        if len(sizes) != num_split:
            raise errors.InvalidArgumentError(
                None, None, "size_splits has %d entries, expected num_split = %d"
                % (len(sizes), num_split))
        sizes = array_ops._split_v_sizes(sizes, value.shape[axis], array_ops._invalid)
        cuts = [int(c) for c in np.cumsum(sizes)[:-1]]
        return tuple(xp.split(value, cuts, axis=axis))
    return run


# -- convolution: cuDNN when CuPy has it and HPCFLOW_CUDNN=1, else im2col + GEMM --------------

def _nn():
    from ..ops import nn_ops
    return nn_ops


def _pad(xp, x, g, value=0):
    if not (g.pad_top or g.pad_bottom or g.pad_left or g.pad_right):
        return x
    return xp.pad(x, ((0, 0), (g.pad_top, g.pad_bottom), (g.pad_left, g.pad_right), (0, 0)),
                  mode="constant", constant_values=value)


def _crop(xp, xpad, g, height, width):
    return xp.ascontiguousarray(xpad[:, g.pad_top:g.pad_top + height,
                                     g.pad_left:g.pad_left + width, :])


def _columns(xp, xpad, g):
    """im2col: (N * OH * OW, KH * KW * C) rows of window values, (kh, kw, c) order."""
    patches = [xpad[window] for _, window in g.offsets()]
    stacked = xp.stack(patches, axis=3)  # N, OH, OW, KH*KW, C
    return stacked.reshape(-1, g.kernel_h * g.kernel_w * xpad.shape[3])


def _to_nhwc(x, data_format):
    return x.transpose(0, 2, 3, 1) if data_format == "NCHW" else x


def _from_nhwc(xp, x, data_format):
    return xp.ascontiguousarray(x.transpose(0, 3, 1, 2)) if data_format == "NCHW" else x


def _conv_attrs(strides, padding, explicit_paddings, data_format, dilations):
    return {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
            "data_format": data_format, "dilations": dilations}


def conv2d_forward_xp(xp, x, w, g):
    """NHWC convolution by im2col + GEMM (cupy.matmul: cuBLAS), chunked over the batch."""
    nn = _nn()
    n = x.shape[0]
    kh, kw, c, o = w.shape
    xpad = _pad(xp, x, g)
    w_matrix = w.reshape(kh * kw * c, o)
    parts = []
    for start, stop in nn._batch_chunks(n, g.out_h * g.out_w * kh * kw * c):
        cols = _columns(xp, xpad[start:stop], g)
        parts.append(xp.matmul(cols, w_matrix).reshape(stop - start, g.out_h, g.out_w, o))
    if not parts:
        return xp.zeros((n, g.out_h, g.out_w, o), dtype=x.dtype)
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=0)


def conv2d_input_grad_xp(xp, dy, w, g, height, width):
    """NHWC dx from dy and w: GEMM to patch gradients, then col2im."""
    nn = _nn()
    n = dy.shape[0]
    kh, kw, c, o = w.shape
    dxp = xp.zeros((n, height + g.pad_top + g.pad_bottom, width + g.pad_left + g.pad_right, c),
                   dtype=dy.dtype)
    w_t = w.reshape(kh * kw * c, o).T
    for start, stop in nn._batch_chunks(n, g.out_h * g.out_w * kh * kw * c):
        dcols = xp.matmul(dy[start:stop].reshape(-1, o), w_t).reshape(
            stop - start, g.out_h, g.out_w, kh, kw, c)
        target = dxp[start:stop]
        for k, window in g.offsets():
            target[window] += dcols[:, :, :, k // kw, k % kw, :]
    return _crop(xp, dxp, g, height, width)


def conv2d_filter_grad_xp(xp, x, dy, g, kh, kw):
    nn = _nn()
    c, o = x.shape[3], dy.shape[3]
    xpad = _pad(xp, x, g)
    dw = xp.zeros((kh * kw * c, o), dtype=x.dtype)
    for start, stop in nn._batch_chunks(x.shape[0], g.out_h * g.out_w * kh * kw * c):
        cols = _columns(xp, xpad[start:stop], g)
        dw += xp.matmul(cols.T, dy[start:stop].reshape(-1, o))
    return dw.reshape(kh, kw, c, o)


@kernel("Conv2D")
def _conv2d(device):
    xp = device.xp
    nn = _nn()

    def run(x, w, *, strides, padding, explicit_paddings, data_format, dilations,
            use_cudnn_on_gpu):
        nn._check_window_attrs("Conv2D", strides, dilations, data_format)
        xn = _to_nhwc(x, data_format)
        if xn.shape[3] != w.shape[2]:
            raise errors.InvalidArgumentError(
                None, None, "input depth must be evenly divisible by filter depth: %d vs %d"
                % (xn.shape[3], w.shape[2]))
        attrs = _conv_attrs(strides, padding, explicit_paddings, data_format, dilations)
        g = nn._conv_geometry_from(xn.shape, w.shape, attrs, "Conv2D input")
        dtype = nn._compute_dtype(x.dtype)
        if use_cudnn_on_gpu and cudnn_enabled(device):
            out = cuda_kernels.cudnn_conv2d_forward(xn.astype(dtype, copy=False),
                                                    w.astype(dtype, copy=False), g)
        else:
            out = conv2d_forward_xp(xp, xn.astype(dtype, copy=False),
                                    w.astype(dtype, copy=False), g)
        return _from_nhwc(xp, out, data_format).astype(x.dtype, copy=False)
    return run


@kernel("Conv2DBackpropInput", host_inputs=(0,))
def _conv2d_backprop_input(device):
    xp = device.xp
    nn = _nn()

    def run(input_sizes, w, dy, *, strides, padding, explicit_paddings, data_format, dilations,
            use_cudnn_on_gpu):
        nn._check_window_attrs("Conv2DBackpropInput", strides, dilations, data_format)
        n, h, width, c = nn._to_nhwc_dims([int(v) for v in input_sizes], data_format)
        attrs = _conv_attrs(strides, padding, explicit_paddings, data_format, dilations)
        g = nn._conv_geometry_from([n, h, width, c], w.shape, attrs,
                                   "Conv2DBackpropInput input")
        dtype = nn._compute_dtype(w.dtype)
        dyn = _to_nhwc(dy, data_format).astype(dtype, copy=False)
        nn._check_out_backprop("Conv2DBackpropInput", dyn, g)
        kh, kw, fc, o = w.shape
        if fc != c or dyn.shape[0] != n or dyn.shape[3] != o:
            raise errors.InvalidArgumentError(
                None, None, "Conv2DBackpropInput: input_sizes %s, filter %s and out_backprop %s "
                "do not agree" % (list(input_sizes), w.shape, dy.shape))
        if use_cudnn_on_gpu and cudnn_enabled(device):
            dx = cuda_kernels.cudnn_conv2d_backward_data(dyn, w.astype(dtype, copy=False), g,
                                                         (n, h, width, c))
        else:
            dx = conv2d_input_grad_xp(xp, dyn, w.astype(dtype, copy=False), g, h, width)
        return _from_nhwc(xp, dx, data_format).astype(w.dtype, copy=False)
    return run


@kernel("Conv2DBackpropFilter", host_inputs=(1,))
def _conv2d_backprop_filter(device):
    xp = device.xp
    nn = _nn()

    def run(x, filter_sizes, dy, *, strides, padding, explicit_paddings, data_format,
            dilations, use_cudnn_on_gpu):
        nn._check_window_attrs("Conv2DBackpropFilter", strides, dilations, data_format)
        kh, kw, c, o = [int(v) for v in filter_sizes]
        dtype = nn._compute_dtype(x.dtype)
        xn = _to_nhwc(x, data_format).astype(dtype, copy=False)
        attrs = _conv_attrs(strides, padding, explicit_paddings, data_format, dilations)
        g = nn._conv_geometry_from(xn.shape, [kh, kw], attrs, "Conv2DBackpropFilter input")
        dyn = _to_nhwc(dy, data_format).astype(dtype, copy=False)
        nn._check_out_backprop("Conv2DBackpropFilter", dyn, g)
        if xn.shape[3] != c or dyn.shape[3] != o or dyn.shape[0] != xn.shape[0]:
            raise errors.InvalidArgumentError(
                None, None, "Conv2DBackpropFilter: input %s, filter_sizes %s and out_backprop "
                "%s do not agree" % (x.shape, list(filter_sizes), dy.shape))
        if use_cudnn_on_gpu and cudnn_enabled(device):
            dw = cuda_kernels.cudnn_conv2d_backward_filter(xn, dyn, g, (kh, kw, c, o))
        else:
            dw = conv2d_filter_grad_xp(xp, xn, dyn, g, kh, kw)
        return dw.astype(x.dtype, copy=False)
    return run


def cudnn_enabled(device):
    """cuDNN convolutions: only on a real GPU, when CuPy has cuDNN and HPCFLOW_CUDNN=1.

    Opt-in because this path has never run (CuPy 14 dropped cuDNN; no GPU here): see README.
    """
    return on_gpu(device) and cuda_kernels.cudnn_available()


# -- pooling: fused CUDA kernels on a GPU, window walks over the array module otherwise -------

def _lowest(dtype):
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _argmax_offsets(xp, xpad, g):
    """For each output cell, the window offset of its max (the first on ties, as TF)."""
    best = None
    index = None
    for k, window in g.offsets():
        values = xpad[window]
        if best is None:
            best = values
            index = xp.zeros(values.shape, dtype=np.int32)
            continue
        better = values > best
        best = xp.where(better, values, best)
        index = xp.where(better, np.int32(k), index)
    return index


def max_pool_xp(xp, xn, g):
    xpad = _pad(xp, xn, g, _lowest(xn.dtype))
    out = None
    for _, window in g.offsets():
        out = xpad[window].copy() if out is None else xp.maximum(out, xpad[window])
    return out


def max_pool_grad_xp(xp, xn, gn, g):
    index = _argmax_offsets(xp, _pad(xp, xn, g, _lowest(xn.dtype)), g)
    dxp = xp.zeros((xn.shape[0], xn.shape[1] + g.pad_top + g.pad_bottom,
                    xn.shape[2] + g.pad_left + g.pad_right, xn.shape[3]), dtype=gn.dtype)
    for k, window in g.offsets():
        dxp[window] += xp.where(index == k, gn, 0)
    return _crop(xp, dxp, g, xn.shape[1], xn.shape[2])


def max_pool_grad_grad_xp(xp, xn, grad_n, g):
    index = _argmax_offsets(xp, _pad(xp, xn, g, _lowest(xn.dtype)), g)
    gp = _pad(xp, grad_n, g)
    out = xp.zeros(index.shape, dtype=grad_n.dtype)
    for k, window in g.offsets():
        out = xp.where(index == k, gp[window], out)
    return out


def _avg_divisor(xp, g, height, width, dtype):
    # How many real (non-padding) inputs each output cell averages (TF excludes padding):
    # computed on the host from the geometry, then uploaded.
    nn = _nn()
    divisor = nn._avg_divisor(g, height, width).astype(dtype)
    return xp.asarray(divisor)


def avg_pool_xp(xp, xn, g):
    xpad = _pad(xp, xn, g)
    total = xp.zeros((xn.shape[0], g.out_h, g.out_w, xn.shape[3]), dtype=xn.dtype)
    for _, window in g.offsets():
        total += xpad[window]
    return total / _avg_divisor(xp, g, xn.shape[1], xn.shape[2], xn.dtype)


def avg_pool_grad_xp(xp, gn, g, shape):
    n, h, w, c = shape
    share = gn / _avg_divisor(xp, g, h, w, gn.dtype)
    dxp = xp.zeros((n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c),
                   dtype=gn.dtype)
    for _, window in g.offsets():
        dxp[window] += share
    return _crop(xp, dxp, g, h, w)


@kernel("MaxPool")
def _max_pool(device):
    xp = device.xp
    nn = _nn()

    def run(x, *, ksize, strides, padding, data_format):
        nn._check_pool_window("MaxPool", ksize, strides, data_format)
        xn = _to_nhwc(x, data_format)
        g = nn._pool_geometry(xn.shape, ksize, strides, padding, data_format, "MaxPool input")
        if on_gpu(device) and x.size:
            out = cuda_kernels.max_pool(xp, xp.ascontiguousarray(xn), g)
        else:
            out = max_pool_xp(xp, xn, g)
        return _from_nhwc(xp, out, data_format)
    return run


@kernel("MaxPoolGrad")
def _max_pool_grad(device):
    xp = device.xp
    nn = _nn()

    def run(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
        nn._check_pool_window("MaxPoolGrad", ksize, strides, data_format)
        xn = _to_nhwc(orig_input, data_format)
        g = nn._pool_geometry(xn.shape, ksize, strides, padding, data_format,
                              "MaxPoolGrad input")
        gn = _to_nhwc(grad, data_format)
        if tuple(gn.shape[1:3]) != (g.out_h, g.out_w):
            raise errors.InvalidArgumentError(
                None, None, "MaxPoolGrad: grad has spatial shape %s, expected %s"
                % (tuple(gn.shape[1:3]), (g.out_h, g.out_w)))
        dtype = nn._compute_dtype(grad.dtype)
        gn = gn.astype(dtype, copy=False)
        if on_gpu(device) and xn.size:
            dx = cuda_kernels.max_pool_grad(xp, xp.ascontiguousarray(xn),
                                            xp.ascontiguousarray(gn), g)
        else:
            dx = max_pool_grad_xp(xp, xn, gn, g)
        return _from_nhwc(xp, dx, data_format).astype(grad.dtype, copy=False)
    return run


@kernel("MaxPoolGradGrad")
def _max_pool_grad_grad(device):
    xp = device.xp
    nn = _nn()

    def run(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
        nn._check_pool_window("MaxPoolGradGrad", ksize, strides, data_format)
        xn = _to_nhwc(orig_input, data_format)
        g = nn._pool_geometry(xn.shape, ksize, strides, padding, data_format,
                              "MaxPoolGradGrad input")
        out = max_pool_grad_grad_xp(xp, xn, _to_nhwc(grad, data_format), g)
        return _from_nhwc(xp, out, data_format)
    return run


@kernel("AvgPool")
def _avg_pool(device):
    xp = device.xp
    nn = _nn()

    def run(x, *, ksize, strides, padding, data_format):
        nn._check_pool_window("AvgPool", ksize, strides, data_format)
        xn = _to_nhwc(x, data_format)
        g = nn._pool_geometry(xn.shape, ksize, strides, padding, data_format, "AvgPool input")
        dtype = nn._compute_dtype(x.dtype)
        xn = xn.astype(dtype, copy=False)
        if on_gpu(device) and x.size:
            out = cuda_kernels.avg_pool(xp, xp.ascontiguousarray(xn), g)
        else:
            out = avg_pool_xp(xp, xn, g)
        return _from_nhwc(xp, out, data_format).astype(x.dtype, copy=False)
    return run


@kernel("AvgPoolGrad", host_inputs=(0,))
def _avg_pool_grad(device):
    xp = device.xp
    nn = _nn()

    def run(orig_input_shape, grad, *, ksize, strides, padding, data_format):
        nn._check_pool_window("AvgPoolGrad", ksize, strides, data_format)
        n, h, w, c = nn._to_nhwc_dims([int(v) for v in orig_input_shape], data_format)
        g = nn._pool_geometry([n, h, w, c], ksize, strides, padding, data_format,
                              "AvgPoolGrad input")
        dtype = nn._compute_dtype(grad.dtype)
        gn = _to_nhwc(grad, data_format).astype(dtype, copy=False)
        if tuple(gn.shape) != (n, g.out_h, g.out_w, c):
            raise errors.InvalidArgumentError(
                None, None, "AvgPoolGrad: grad has shape %s, expected %s"
                % (tuple(grad.shape), nn._from_nhwc_dims([n, g.out_h, g.out_w, c],
                                                         data_format)))
        if on_gpu(device) and gn.size:
            dx = cuda_kernels.avg_pool_grad(xp, xp.ascontiguousarray(gn), g, (n, h, w, c))
        else:
            dx = avg_pool_grad_xp(xp, gn, g, (n, h, w, c))
        return _from_nhwc(xp, dx, data_format).astype(grad.dtype, copy=False)
    return run


# -- kernels fused on a real GPU; the adapted numpy kernel is the stand-in's reference --------

def _adapted(numpy_fn, device):
    from . import xp_adapt
    return xp_adapt.adapt(numpy_fn, device.xp)


@kernel("SoftmaxCrossEntropyWithLogits")
def _softmax_xent(device):
    nn = _nn()
    reference = _adapted(nn._softmax_xent_kernel, device)
    if not on_gpu(device):
        return reference
    xp = device.xp

    def run(features, labels):
        if features.dtype not in (np.float32, np.float64) or features.ndim != 2 or \
                features.shape[1] == 0 or labels.shape != features.shape:
            return reference(features, labels)
        return cuda_kernels.softmax_xent(xp, features, labels.astype(features.dtype,
                                                                      copy=False))
    return run


@kernel("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent(device):
    nn = _nn()
    reference = _adapted(nn._sparse_xent_kernel, device)
    if not on_gpu(device):
        return reference
    xp = device.xp

    def run(features, labels):
        if features.dtype not in (np.float32, np.float64) or features.ndim != 2 or \
                features.shape[1] == 0 or labels.ndim != 1:
            return reference(features, labels)
        num_classes = features.shape[1]
        if bool(((labels < 0) | (labels >= num_classes)).any()):
            return reference(features, labels)  # raises TF's message naming the label
        return cuda_kernels.sparse_xent(xp, features, labels)
    return run


@kernel("UnsortedSegmentSum", host_inputs=(2,))
def _unsorted_segment_sum(device):
    from ..ops import segment_ops
    reference = _adapted(segment_ops._unsorted_segment_sum_kernel, device)
    if not on_gpu(device):
        return reference
    xp = device.xp

    def run(data, segment_ids, num_segments):
        if data.dtype not in (np.float32, np.float64) or \
                segment_ids.dtype not in (np.int32, np.int64):
            return reference(data, segment_ids, num_segments)
        count = int(num_segments)
        ids = xp.ascontiguousarray(segment_ids).reshape(-1)
        if ids.size and int(ids.max()) >= count:
            return reference(data, segment_ids, num_segments)  # raises TF's message
        inner = data.shape[segment_ids.ndim:]
        out = xp.zeros((count,) + tuple(inner), dtype=data.dtype)
        updates = xp.ascontiguousarray(data).reshape((ids.size,) + tuple(inner))
        return cuda_kernels.scatter_add_rows(out, ids, updates)
    return run


@kernel("ApplyAdam")
def _apply_adam(device):
    from ..ops import training_ops
    reference = _adapted(training_ops._apply_adam, device)
    if not on_gpu(device):
        return reference
    helpers = _adapted(training_ops._adam_lr, device).__globals__

    def run(ctx, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, var_name,
            slot_names, var_shape, sparse):
        var = ctx.state.read_variable(var_name)
        m = ctx.state.read_variable(slot_names[0])
        v = ctx.state.read_variable(slot_names[1])
        helpers["_check_dense"](var, grad, var_name)
        dtype = var.dtype
        if dtype not in (np.float32, np.float64):
            return reference(ctx, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
                             var_name=var_name, slot_names=slot_names, var_shape=var_shape,
                             sparse=sparse)
        scalar = helpers["_scalar"]
        alpha = helpers["_adam_lr"](lr, beta1_power, beta2_power, dtype)
        cuda_kernels.ADAM_UPDATE.cupy_kernel()(
            grad, alpha, scalar(beta1, dtype), scalar(beta2, dtype), scalar(epsilon, dtype),
            var, m, v)
        return var
    return run


# -- scatter updates of variables: CuPy's ufunc.at covers add and subtract only ---------------

def scatter_in_rounds(xp, var, indices, updates, combine):
    """var[indices[k]] = combine(var[indices[k]], updates[k]) for every k in order, repeated
    indices included (as numpy's ufunc.at): each round updates the first pending occurrence
    of every distinct index at once; there are as many rounds as the largest multiplicity."""
    indices = indices.reshape(-1)
    pending = xp.arange(indices.size)
    while pending.size:
        unique, first = xp.unique(indices[pending], return_index=True)
        chosen = pending[first]
        value = updates if updates.ndim == 0 else updates[chosen]
        var[unique] = combine(var[unique], value)
        keep = xp.ones(pending.size, dtype=bool)
        keep[first] = False
        pending = pending[keep]


def _truncating_divide(xp):
    def divide(a, b):
        if a.dtype.kind in "iu":  # C++ integer division truncates toward zero; numpy floors
            q = xp.abs(a) // xp.abs(b)
            return xp.where((a < 0) != (b < 0), -q, q).astype(a.dtype, copy=False)
        return (a / b).astype(a.dtype, copy=False)
    return divide


def _scatter_variable_kernel(op_type, combine_for):
    def build(device):
        from ..ops import state_ops
        xp = device.xp
        combine = combine_for(xp)

        def apply(var, indices, updates):
            scatter_in_rounds(xp, var, indices, updates, combine)
        return _adapted(state_ops._scatter_kernel(apply), device)
    KERNELS[op_type] = Entry(build)


_scatter_variable_kernel("ScatterMul", lambda xp: lambda a, b: a * b)
_scatter_variable_kernel("ScatterDiv", _truncating_divide)
_scatter_variable_kernel("ScatterMax", lambda xp: xp.maximum)
_scatter_variable_kernel("ScatterMin", lambda xp: xp.minimum)
