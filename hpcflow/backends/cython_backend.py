"""The Cython CPU backend: kernels compiled from cy_kernels/ (hpcflow._cy), registered over the
numpy reference with `registry.register_kernel(op_type, "cython", fn)`.

Each kernel here takes the numpy reference kernel's arguments and returns what it returns.
It runs a compiled loop only for the inputs that loop handles (float32/float64, the usual
ranks, non-empty arrays, window attrs TF allows) and hands everything else, including every
input the reference rejects, to the numpy reference kernel: dtypes like float16 or int32
keep working, and error classes and messages stay the reference's. An op is registered here
only where the compiled kernel measured at least as fast as the reference
(`scripts/bench_kernels.py`). Without a build (or with `HPCFLOW_BACKEND=numpy`) the numpy
kernels run.
"""
import os

import numpy as np

from ..framework import registry
# The ops must be registered before their kernels can be added.
from ..ops import (math_binary_ops, math_reduction_ops, nn_conv_ops, nn_ops,  # noqa: F401
                   segment_ops, state_ops, training_ops)
from ..runtime.rewrites import fused_conv
from . import kernel_for
from .scratch import scratch

try:
    from .._cy import activations as _activations
    from .._cy import bias as _bias
    from .._cy import build_info as _build_info
    from .._cy import conv as _conv
    from .._cy import scatter_add as _scatter_add
    from .._cy import pooling as _pooling
    from .._cy import softmax as _softmax
    from .._cy import training as _training
    from . import direct_conv
except ImportError as _error:  # not built (HPCFLOW_NO_CYTHON=1, or a source checkout)
    _IMPORT_ERROR = _error
else:
    _IMPORT_ERROR = None

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INDICES = (np.dtype(np.int32), np.dtype(np.int64))

# The numpy kernel of each op this backend overrides, captured when registering: the
# fallback for whatever the compiled loops do not handle.
_NUMPY = {}


def _reference(op_type, *args, **attrs):
    return _NUMPY[op_type](*args, **attrs)


def _floats(*arrays):
    """True if all arrays are non-empty numpy arrays of one dtype, float32 or float64."""
    first = arrays[0]
    if not isinstance(first, np.ndarray) or first.dtype not in _FLOATS or first.size == 0:
        return False
    return all(isinstance(a, np.ndarray) and a.dtype == first.dtype and a.size for a in arrays)


def _spatial_window_ok(values, data_format):
    """Batch and channel entries 1 and all entries >= 1: what TF's kernels accept."""
    if len(values) != 4 or min(values) < 1:
        return False
    batch, channel = (values[0], values[1]) if data_format == "NCHW" else (values[0], values[3])
    return batch == 1 and channel == 1


def _nhwc(x, data_format):
    return np.ascontiguousarray(nn_ops._to_nhwc(x, data_format))


# A patch matrix this size stays in the last-level cache (32 MB, shared by the cores, on the
# benchmark machine) between the loop that writes it and the GEMM that reads it: conv2 of
# scripts/bench.py took 4.3 ms per op in 5-10 MB chunks, 6 ms as one 40 MB matrix.
_CHUNK_BYTES = 8 << 20


# Conv2D and its gradients run the direct loops (backends/direct_conv.py) where they apply;
# False sends them to im2col + GEMM (scripts/bench_conv.py compares the two).
DIRECT_CONVOLUTIONS = True


def _chunk(n, elements_per_image, itemsize):
    """Images per im2col chunk: a cache-sized patch matrix, and never more than the
    reference's chunk."""
    limit = min(nn_conv_ops._IM2COL_CHUNK_ELEMENTS, _CHUNK_BYTES // itemsize)
    return max(1, min(n, limit // max(elements_per_image, 1)))


def _window_args(g):
    return (g.out_h, g.out_w, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.dilation_h,
            g.dilation_w, g.pad_top, g.pad_left)


def _single_channel_args(g):
    """The window walk for the direct one-input-channel loops (their output sets its size)."""
    return (g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
            g.pad_top, g.pad_left)


def _is_pointwise(g, height, width):
    """A 1x1 window walk that reads every pixel once: the convolution is one GEMM."""
    return (g.kernel_h == g.kernel_w == 1 and g.stride_h == g.stride_w == 1 and
            g.out_h == height and g.out_w == width and g.pad_top == g.pad_left == 0)


# -- Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter ----------------------------------------

def _conv_attrs(strides, padding, explicit_paddings, data_format, dilations):
    return {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
            "data_format": data_format, "dilations": dilations}


def _conv_arrays_ok(a, b, strides, dilations, data_format):
    """Two 4-D float arrays and a window walk the compiled kernels handle (else numpy)."""
    return (_floats(a, b) and a.ndim == 4 and b.ndim == 4 and
            _spatial_window_ok(strides, data_format) and
            _spatial_window_ok(dilations, data_format))


def _conv_forward_nhwc(x, w, g):
    n, height, width, c = x.shape
    kh, kw, _, o = w.shape
    patch = kh * kw * c
    per_image = g.out_h * g.out_w
    w_matrix = w.reshape(patch, o)
    out = np.empty((n, g.out_h, g.out_w, o), dtype=x.dtype)
    rows = out.reshape(-1, o)
    if _is_pointwise(g, height, width):
        np.matmul(x.reshape(-1, c), w_matrix, out=rows)
        return out
    if c == 1:
        _conv.conv_single_channel(x.reshape(n, height, width), w_matrix, out,
                                  *_single_channel_args(g))
        return out
    direct = direct_conv.forward(x, w, g) if DIRECT_CONVOLUTIONS else None
    if direct is not None:
        return direct
    step = _chunk(n, per_image * patch, x.itemsize)
    cols = scratch((step * per_image, patch), x.dtype)
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = cols[:(stop - start) * per_image]
        _conv.im2col(x[start:stop], block, *_window_args(g))
        np.matmul(block, w_matrix, out=rows[start * per_image:stop * per_image])
    return out


def _conv2d(x, w, *, strides, padding, explicit_paddings, data_format, dilations,
            use_cudnn_on_gpu):
    attrs = _conv_attrs(strides, padding, explicit_paddings, data_format, dilations)
    if not _conv_arrays_ok(x, w, strides, dilations, data_format):
        return _reference("Conv2D", x, w, use_cudnn_on_gpu=use_cudnn_on_gpu, **attrs)
    xn = _nhwc(x, data_format)
    if xn.shape[3] != w.shape[2]:
        return _reference("Conv2D", x, w, use_cudnn_on_gpu=use_cudnn_on_gpu, **attrs)
    g = nn_ops._conv_geometry_from(xn.shape, w.shape, attrs, "Conv2D input")
    out = _conv_forward_nhwc(xn, np.ascontiguousarray(w), g)
    return nn_ops._from_nhwc(out, data_format)


def _conv_input_gradient_nhwc(dy, w, g, input_shape):
    n, height, width, c = input_shape
    kh, kw, _, o = w.shape
    patch = kh * kw * c
    per_image = g.out_h * g.out_w
    w_t = w.reshape(patch, o).T
    dy_rows = dy.reshape(-1, o)
    dx = np.empty(input_shape, dtype=dy.dtype)
    if _is_pointwise(g, height, width):
        np.matmul(dy_rows, w_t, out=dx.reshape(-1, c))
        return dx
    direct = (direct_conv.input_gradient(dy, w, g, input_shape) if DIRECT_CONVOLUTIONS
              else None)
    if direct is not None:
        return direct
    step = _chunk(n, per_image * patch, dy.itemsize)
    dcols = scratch((step * per_image, patch), dy.dtype)
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = dcols[:(stop - start) * per_image]
        np.matmul(dy_rows[start * per_image:stop * per_image], w_t, out=block)
        _conv.col2im(block, dx[start:stop], *_window_args(g))
    return dx


def _conv2d_backprop_input(input_sizes, w, dy, *, strides, padding, explicit_paddings,
                           data_format, dilations, use_cudnn_on_gpu):
    attrs = _conv_attrs(strides, padding, explicit_paddings, data_format, dilations)

    def reference():
        return _reference("Conv2DBackpropInput", input_sizes, w, dy,
                          use_cudnn_on_gpu=use_cudnn_on_gpu, **attrs)

    if not (_conv_arrays_ok(w, dy, strides, dilations, data_format) and
            np.size(input_sizes) == 4):
        return reference()
    input_shape = tuple(nn_ops._to_nhwc_dims([int(v) for v in np.ravel(input_sizes)],
                                             data_format))
    dyn = _nhwc(dy, data_format)
    if min(input_shape) < 1 or input_shape[3] != w.shape[2] or \
            dyn.shape[0] != input_shape[0] or dyn.shape[3] != w.shape[3]:
        return reference()
    g = nn_ops._conv_geometry_from(input_shape, w.shape, attrs, "Conv2DBackpropInput input")
    if dyn.shape[1:3] != (g.out_h, g.out_w):
        return reference()
    dx = _conv_input_gradient_nhwc(dyn, np.ascontiguousarray(w), g, input_shape)
    return nn_ops._from_nhwc(dx, data_format)


def _conv_filter_gradient_nhwc(x, dy, g, filter_shape):
    n, height, width, c = x.shape
    kh, kw, _, o = filter_shape
    patch = kh * kw * c
    per_image = g.out_h * g.out_w
    dy_rows = dy.reshape(-1, o)
    if _is_pointwise(g, height, width):
        return (x.reshape(-1, c).T @ dy_rows).reshape(filter_shape)
    if c == 1:
        partials = np.zeros((_conv.partial_count(dy.size * patch), patch, o))
        _conv.conv_single_channel_filter_grad(x.reshape(n, height, width), dy, partials,
                                              *_single_channel_args(g))
        return partials.sum(axis=0).astype(x.dtype).reshape(filter_shape)
    direct = (direct_conv.filter_gradient(x, dy, g, filter_shape) if DIRECT_CONVOLUTIONS
              else None)
    if direct is not None:
        return direct
    step = _chunk(n, per_image * patch, x.itemsize)
    cols = scratch((step * per_image, patch), x.dtype)
    dw = np.empty((patch, o), dtype=x.dtype)
    part = np.empty_like(dw) if step < n else None
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = cols[:(stop - start) * per_image]
        _conv.im2col(x[start:stop], block, *_window_args(g))
        dy_block = dy_rows[start * per_image:stop * per_image]
        if start == 0:
            np.matmul(block.T, dy_block, out=dw)
        else:
            np.matmul(block.T, dy_block, out=part)
            dw += part
    return dw.reshape(filter_shape)


def _conv2d_backprop_filter(x, filter_sizes, dy, *, strides, padding, explicit_paddings,
                            data_format, dilations, use_cudnn_on_gpu):
    attrs = _conv_attrs(strides, padding, explicit_paddings, data_format, dilations)

    def reference():
        return _reference("Conv2DBackpropFilter", x, filter_sizes, dy,
                          use_cudnn_on_gpu=use_cudnn_on_gpu, **attrs)

    if not (_conv_arrays_ok(x, dy, strides, dilations, data_format) and
            np.size(filter_sizes) == 4):
        return reference()
    filter_shape = tuple(int(v) for v in np.ravel(filter_sizes))
    xn = _nhwc(x, data_format)
    dyn = _nhwc(dy, data_format)
    if min(filter_shape) < 1 or xn.shape[3] != filter_shape[2] or \
            dyn.shape[3] != filter_shape[3] or dyn.shape[0] != xn.shape[0]:
        return reference()
    g = nn_ops._conv_geometry_from(xn.shape, filter_shape, attrs, "Conv2DBackpropFilter input")
    if dyn.shape[1:3] != (g.out_h, g.out_w):
        return reference()
    return _conv_filter_gradient_nhwc(xn, dyn, g, filter_shape)


def _cpu_kernel(op_type):
    """The kernel an op runs with on the CPU (HPCFLOW_BACKEND, else this backend, else numpy)."""
    return kernel_for(registry.get(op_type))[1]


def _fused_conv2d(x, w, bias, *, activation, **conv_attrs):
    """_FusedConv2D: the direct loops, adding the bias and applying Relu to each block of
    outputs in registers; for what they do not handle, the Conv2D, AddV2 and Relu kernels
    one after another (results equal the unfused ops' either way)."""
    if (DIRECT_CONVOLUTIONS and activation in fused_conv.ACTIVATIONS and
            conv_attrs["data_format"] == "NHWC" and
            _conv_arrays_ok(x, w, conv_attrs["strides"], conv_attrs["dilations"], "NHWC") and
            _floats(x, w, bias) and bias.ndim == 1 and x.shape[3] == w.shape[2] and
            bias.shape[0] == w.shape[3]):
        g = nn_ops._conv_geometry_from(x.shape, w.shape, conv_attrs, "Conv2D input")
        # A 1x1 convolution stays one GEMM (Conv2D's kernel), followed by the other two.
        if not _is_pointwise(g, x.shape[1], x.shape[2]):
            out = direct_conv.forward(np.ascontiguousarray(x), np.ascontiguousarray(w), g,
                                      np.ascontiguousarray(bias), activation == "Relu")
            if out is not None:
                return out
    y = _cpu_kernel("Conv2D")(x, w, **conv_attrs)
    return fused_conv.apply_activation(_cpu_kernel("AddV2")(y, bias), activation, _cpu_kernel)


# -- MaxPool, MaxPoolGrad, MaxPoolGradGrad, AvgPool, AvgPoolGrad -------------------------------

def _pool_window_ok(ksize, strides, data_format):
    return _spatial_window_ok(ksize, data_format) and _spatial_window_ok(strides, data_format)


def _pool_args(g):
    return (g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left)


def _pool_forward(op_type, x, attrs, run):
    """MaxPool/AvgPool: `run(xn, out, g)` fills the NHWC output; numpy's kernel for what the
    loops do not handle."""
    if not (_floats(x) and x.ndim == 4 and
            _pool_window_ok(attrs["ksize"], attrs["strides"], attrs["data_format"])):
        return _reference(op_type, x, **attrs)
    xn = _nhwc(x, attrs["data_format"])
    g = nn_ops._pool_geometry(xn.shape, what="%s input" % op_type, **attrs)
    out = np.empty((xn.shape[0], g.out_h, g.out_w, xn.shape[3]), dtype=x.dtype)
    run(xn, out, g)
    return nn_ops._from_nhwc(out, attrs["data_format"])


def _max_pool(x, *, ksize, strides, padding, data_format):
    def run(xn, out, g):
        if _tiles_exactly_2x2(g, xn.shape):
            _pooling.max_pool_2x2(xn, out)
        else:
            _pooling.max_pool(xn, out, *_pool_args(g))
    return _pool_forward("MaxPool", x, {"ksize": ksize, "strides": strides, "padding": padding,
                                        "data_format": data_format}, run)


def _tiles_exactly_2x2(g, input_shape):
    """2x2 windows at stride 2 covering the NHWC input exactly: no padding, no remainder."""
    return (g.kernel_h == g.kernel_w == g.stride_h == g.stride_w == 2 and
            g.pad_top == g.pad_left == 0 and
            g.out_h * 2 == input_shape[1] and g.out_w * 2 == input_shape[2])


def _max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
    attrs = {"ksize": ksize, "strides": strides, "padding": padding, "data_format": data_format}
    if not (_floats(orig_input, grad) and orig_input.ndim == 4 and grad.ndim == 4 and
            _pool_window_ok(ksize, strides, data_format)):
        return _reference("MaxPoolGrad", orig_input, orig_output, grad, **attrs)
    xn = _nhwc(orig_input, data_format)
    gn = _nhwc(grad, data_format)
    g = nn_ops._pool_geometry(xn.shape, what="MaxPoolGrad input", **attrs)
    if gn.shape != (xn.shape[0], g.out_h, g.out_w, xn.shape[3]):
        return _reference("MaxPoolGrad", orig_input, orig_output, grad, **attrs)
    dx = np.empty(xn.shape, dtype=grad.dtype)
    if _tiles_exactly_2x2(g, xn.shape):
        _pooling.max_pool_grad_2x2(xn, gn, dx)
    elif g.stride_h == g.kernel_h and g.stride_w == g.kernel_w:
        _pooling.max_pool_grad_tiled(xn, gn, dx, g.kernel_h, g.kernel_w, g.pad_top, g.pad_left)
    else:
        _pooling.max_pool_grad(xn, gn, dx, *_pool_args(g))
    return nn_ops._from_nhwc(dx, data_format)


def _max_pool_grad_grad(orig_input, orig_output, grad, *, ksize, strides, padding,
                        data_format):
    attrs = {"ksize": ksize, "strides": strides, "padding": padding, "data_format": data_format}
    if not (_floats(orig_input, grad) and orig_input.ndim == 4 and
            grad.shape == orig_input.shape and _pool_window_ok(ksize, strides, data_format)):
        return _reference("MaxPoolGradGrad", orig_input, orig_output, grad, **attrs)
    xn = _nhwc(orig_input, data_format)
    g = nn_ops._pool_geometry(xn.shape, what="MaxPoolGradGrad input", **attrs)
    out = np.empty((xn.shape[0], g.out_h, g.out_w, xn.shape[3]), dtype=grad.dtype)
    _pooling.max_pool_grad_grad(xn, _nhwc(grad, data_format), out, *_pool_args(g))
    return nn_ops._from_nhwc(out, data_format)


def _avg_pool(x, *, ksize, strides, padding, data_format):
    def run(xn, out, g):
        _pooling.avg_pool(xn, out, *_pool_args(g))
    return _pool_forward("AvgPool", x, {"ksize": ksize, "strides": strides, "padding": padding,
                                        "data_format": data_format}, run)


def _avg_pool_grad(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    attrs = {"ksize": ksize, "strides": strides, "padding": padding, "data_format": data_format}
    if not (_floats(grad) and grad.ndim == 4 and np.size(orig_input_shape) == 4 and
            _pool_window_ok(ksize, strides, data_format)):
        return _reference("AvgPoolGrad", orig_input_shape, grad, **attrs)
    input_shape = tuple(nn_ops._to_nhwc_dims([int(v) for v in np.ravel(orig_input_shape)],
                                             data_format))
    gn = _nhwc(grad, data_format)
    if min(input_shape) < 1:
        return _reference("AvgPoolGrad", orig_input_shape, grad, **attrs)
    g = nn_ops._pool_geometry(input_shape, what="AvgPoolGrad input", **attrs)
    if gn.shape != (input_shape[0], g.out_h, g.out_w, input_shape[3]):
        return _reference("AvgPoolGrad", orig_input_shape, grad, **attrs)
    dx = np.empty(input_shape, dtype=grad.dtype)
    _pooling.avg_pool_grad(gn, dx, *_pool_args(g))
    return nn_ops._from_nhwc(dx, data_format)


# -- Relu, ReluGrad ----------------------------------------------------------------------------

def _relu(features):
    if not _floats(features):
        return _reference("Relu", features)
    x = np.ascontiguousarray(features)
    out = np.empty(x.shape, dtype=x.dtype)
    _activations.relu(x.reshape(-1), out.reshape(-1))
    return out


def _relu_grad(gradients, features):
    if not (_floats(gradients, features) and gradients.shape == features.shape):
        return _reference("ReluGrad", gradients, features)
    grad = np.ascontiguousarray(gradients)
    out = np.empty(grad.shape, dtype=grad.dtype)
    _activations.relu_grad(grad.reshape(-1), np.ascontiguousarray(features).reshape(-1),
                           out.reshape(-1))
    return out


# -- Softmax, LogSoftmax and the fused cross-entropies -----------------------------------------

def _softmax_rows(op_type, logits, log):
    if not (_floats(logits) and logits.shape[-1] > 0):
        return _reference(op_type, logits)
    rows = np.ascontiguousarray(logits).reshape(-1, logits.shape[-1])
    out = np.empty_like(rows)
    _softmax.softmax(rows, out, log)
    return out.reshape(logits.shape)


def _softmax_kernel(logits):
    return _softmax_rows("Softmax", logits, False)


def _log_softmax_kernel(logits):
    return _softmax_rows("LogSoftmax", logits, True)


def _softmax_cross_entropy(features, labels):
    if not (_floats(features, labels) and features.ndim == 2 and
            labels.shape == features.shape):
        return _reference("SoftmaxCrossEntropyWithLogits", features, labels)
    loss = np.empty(features.shape[0], dtype=features.dtype)
    backprop = np.empty(features.shape, dtype=features.dtype)
    _softmax.softmax_cross_entropy(np.ascontiguousarray(features),
                                   np.ascontiguousarray(labels), loss, backprop)
    return loss, backprop


def _sparse_softmax_cross_entropy(features, labels):
    if not (_floats(features) and features.ndim == 2 and isinstance(labels, np.ndarray) and
            labels.dtype in _INDICES and labels.shape == features.shape[:1]):
        return _reference("SparseSoftmaxCrossEntropyWithLogits", features, labels)
    loss = np.empty(features.shape[0], dtype=features.dtype)
    backprop = np.empty(features.shape, dtype=features.dtype)
    bad_row = _softmax.sparse_softmax_cross_entropy(
        np.ascontiguousarray(features), np.ascontiguousarray(labels), loss, backprop)
    if bad_row >= 0:  # the reference names every bad label
        return _reference("SparseSoftmaxCrossEntropyWithLogits", features, labels)
    return loss, backprop


# -- UnsortedSegmentSum, ScatterAdd, SparseApplyGradientDescent (GatherV2 stays numpy's) -----

def _unsorted_segment_sum(data, segment_ids, num_segments):
    ids = segment_ids
    if not (_floats(data) and isinstance(ids, np.ndarray) and ids.dtype in _INDICES and
            np.ndim(num_segments) == 0 and data.shape[:ids.ndim] == ids.shape and
            int(num_segments) >= 0):
        return _reference("UnsortedSegmentSum", data, segment_ids, num_segments)
    count = int(num_segments)
    inner_shape = data.shape[ids.ndim:]
    inner = int(np.prod(inner_shape, dtype=np.int64))
    out = np.zeros((count,) + inner_shape, dtype=data.dtype)
    bad = _scatter_add.scatter_add_rows(
        out.reshape(count, inner), np.ascontiguousarray(ids).reshape(-1),
        np.ascontiguousarray(data).reshape(ids.size, inner))
    if bad >= 0:
        return _reference("UnsortedSegmentSum", data, segment_ids, num_segments)
    return out


def _scatter_add_at(var, flat_indices, updates):
    """np.add.at(var, flat_indices, updates) for validated indices, rows at a time."""
    if (var.dtype in _FLOATS and var.ndim >= 1 and var.flags.c_contiguous and var.size and
            isinstance(updates, np.ndarray) and updates.ndim and updates.dtype == var.dtype
            and flat_indices.dtype in _INDICES and flat_indices.size):
        inner = var.size // var.shape[0]
        bad = _scatter_add.scatter_add_rows(
            var.reshape(var.shape[0], inner), np.ascontiguousarray(flat_indices),
            np.ascontiguousarray(updates).reshape(flat_indices.size, inner))
        if bad < 0:
            return
    np.add.at(var, flat_indices, updates)


def _sparse_apply_gradient_descent(ctx, alpha, grad, indices, *, var_name, slot_names,
                                   var_shape, sparse):
    """var[indices] -= alpha * grad, rows at a time, in place.

    The reference first sums the gradients of repeated indices (np.unique + np.add.at);
    subtracting each row in turn is the same update for this linear rule, up to rounding.
    """
    var = ctx.state.read_variable(var_name)
    flat = np.asarray(indices).reshape(-1)
    if (var.dtype in _FLOATS and var.ndim >= 1 and var.flags.c_contiguous and var.size and
            isinstance(grad, np.ndarray) and grad.dtype == var.dtype and
            grad.shape == flat.shape + var.shape[1:] and flat.dtype in _INDICES and
            flat.size and np.ndim(alpha) == 0 and flat.min() >= 0):
        inner = var.size // var.shape[0]
        bad = _scatter_add.scatter_add_rows(
            var.reshape(var.shape[0], inner), np.ascontiguousarray(flat),
            np.ascontiguousarray(grad).reshape(flat.size, inner),
            -np.asarray(alpha, dtype=var.dtype)[()])
        if bad < 0:
            return var
    return _reference("SparseApplyGradientDescent", ctx, alpha, grad, indices,
                      var_name=var_name, slot_names=slot_names, var_shape=var_shape,
                      sparse=sparse)


# -- ApplyAdam, ApplyMomentum: one pass over the variable and its slots ----------------------

def _all_scalars(values):
    return all(getattr(x, "ndim", None) == 0 for x in values)


# The compiled updates check the arrays themselves (dtype, shape, layout, overlap) and
# return False, changing nothing, for what their loop does not take.

def _apply_adam(ctx, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, var_name,
                slot_names, var_shape, sparse, use_nesterov=False):
    var = ctx.state.read_variable(var_name)
    hyper = (beta1_power, beta2_power, lr, beta1, beta2, epsilon)
    if not (type(grad) is np.ndarray and _all_scalars(hyper) and _training.apply_adam(
            var, ctx.state.read_variable(slot_names[0]), ctx.state.read_variable(slot_names[1]),
            grad, *hyper, use_nesterov)):
        return _reference("ApplyAdam", ctx, beta1_power, beta2_power, lr, beta1, beta2, epsilon,
                          grad, var_name=var_name, slot_names=slot_names, var_shape=var_shape,
                          sparse=sparse, use_nesterov=use_nesterov)
    return var


def _apply_momentum(ctx, lr, grad, momentum, *, var_name, slot_names, var_shape, sparse,
                    use_nesterov):
    var = ctx.state.read_variable(var_name)
    if not (type(grad) is np.ndarray and _all_scalars((lr, momentum)) and
            _training.apply_momentum(var, ctx.state.read_variable(slot_names[0]), grad, lr,
                                     momentum, use_nesterov)):
        return _reference("ApplyMomentum", ctx, lr, grad, momentum, var_name=var_name,
                          slot_names=slot_names, var_shape=var_shape, sparse=sparse,
                          use_nesterov=use_nesterov)
    return var


# -- BiasAdd, BiasAddGrad ---------------------------------------------------------------------

def _bias_add(value, bias, *, data_format):
    if not (_floats(value, bias) and value.ndim >= 2 and bias.ndim == 1):
        return _reference("BiasAdd", value, bias, data_format=data_format)
    axis = nn_ops._channel_axis(value.ndim, data_format)
    if value.shape[axis] != bias.shape[0]:
        return _reference("BiasAdd", value, bias, data_format=data_format)
    out = np.empty(value.shape, dtype=value.dtype)
    value = np.ascontiguousarray(value)
    bias = np.ascontiguousarray(bias)
    channels = bias.shape[0]
    if axis == value.ndim - 1:
        _bias.bias_add_last(value.reshape(-1, channels), bias, out.reshape(-1, channels))
    else:
        shape = (value.shape[0], channels, -1)
        _bias.bias_add_middle(value.reshape(shape), bias, out.reshape(shape))
    return out


# Below this many elements numpy's reduction (and broadcasting add) is as fast (the call
# overhead dominates).
_BIAS_GRAD_MIN_ELEMENTS = 1 << 16


def _bias_add_grad(out_backprop, *, data_format):
    if not (_floats(out_backprop) and out_backprop.ndim >= 2 and
            out_backprop.size >= _BIAS_GRAD_MIN_ELEMENTS):
        return _reference("BiasAddGrad", out_backprop, data_format=data_format)
    axis = nn_ops._channel_axis(out_backprop.ndim, data_format)
    channels = out_backprop.shape[axis]
    grad = np.ascontiguousarray(out_backprop)
    out = np.empty(channels, dtype=grad.dtype)
    if axis == grad.ndim - 1:
        _bias.bias_add_grad_last(grad.reshape(-1, channels), out)
    else:
        _bias.bias_add_grad_middle(grad.reshape(grad.shape[0], channels, -1), out)
    return out


# -- AddV2 of a bias vector, Sum over all axes but the last ------------------------------------
# `tf.nn.conv2d(...) + b` is an AddV2 that broadcasts b over the last axis, and its gradient
# for b is Sum(grad, axes=all but the last) (then a Reshape): BiasAdd and BiasAddGrad under
# other op types. These kernels take that one pattern to the bias loops and hand every other
# call to numpy unchanged. AddV2 and Sum also run thousands of times a step on scalars in
# other graphs, so the test that rejects them is a few attribute checks, size first.

def _is_bias_vector_add(value, bias):
    """True if value + bias adds a [C] (or [1, .., 1, C]) vector along value's last axis,
    value being a large C-contiguous float array of bias's dtype: the result is value-shaped."""
    return (value.size >= _BIAS_GRAD_MIN_ELEMENTS and value.ndim >= 2 and
            value.dtype in _FLOATS and bias.dtype == value.dtype and
            bias.ndim <= value.ndim and bias.size == value.shape[-1] and
            bias.shape[-1] == bias.size and value.flags.c_contiguous)


def _add_bias_vector(value, bias):
    channels = value.shape[-1]
    out = np.empty(value.shape, dtype=value.dtype)
    _bias.bias_add_last(value.reshape(-1, channels),
                        np.ascontiguousarray(bias).reshape(channels), out.reshape(-1, channels))
    return out


_NDARRAY = np.ndarray  # one global lookup instead of two on the per-call path


def _add_v2(x, y):
    if (type(x) is _NDARRAY and type(y) is _NDARRAY and
            (x.size >= _BIAS_GRAD_MIN_ELEMENTS or y.size >= _BIAS_GRAD_MIN_ELEMENTS)):
        # Float addition commutes exactly, so b + x takes the same loop as x + b.
        if _is_bias_vector_add(x, y):
            return _add_bias_vector(x, y)
        if _is_bias_vector_add(y, x):
            return _add_bias_vector(y, x)
    return _NUMPY["AddV2"](x, y)


def _reduces_all_but_last(axes, ndim):
    """True if `axes` (any form the Sum kernel takes) names each axis but the last once."""
    axes = np.asarray(axes)
    if axes.dtype.kind not in "iu" or axes.size != ndim - 1:
        return False
    values = axes.reshape(-1).tolist()
    if not all(-ndim <= a < ndim for a in values):
        return False  # the reference raises TF's error
    return sorted(a % ndim for a in values) == list(range(ndim - 1))


def _sum(x, axes, *, keep_dims):
    if not (type(x) is _NDARRAY and x.size >= _BIAS_GRAD_MIN_ELEMENTS and x.ndim >= 2 and
            x.dtype in _FLOATS and x.flags.c_contiguous and _reduces_all_but_last(axes, x.ndim)):
        return _NUMPY["Sum"](x, axes, keep_dims=keep_dims)
    channels = x.shape[-1]
    out = np.empty(channels, dtype=x.dtype)
    _bias.bias_add_grad_last(x.reshape(-1, channels), out)
    return out.reshape((1,) * (x.ndim - 1) + (channels,)) if keep_dims else out


# -- Registration -----------------------------------------------------------------------------

# Op type -> kernel. Each entry measured at least as fast as the numpy reference on the
# shapes of scripts/bench_kernels.py; see that script's output for the numbers.
KERNELS = {
    "Conv2D": _conv2d,
    "Conv2DBackpropInput": _conv2d_backprop_input,
    "Conv2DBackpropFilter": _conv2d_backprop_filter,
    "_FusedConv2D": _fused_conv2d,
    "MaxPool": _max_pool,
    "MaxPoolGrad": _max_pool_grad,
    "MaxPoolGradGrad": _max_pool_grad_grad,
    "AvgPool": _avg_pool,
    "AvgPoolGrad": _avg_pool_grad,
    "Relu": _relu,
    "ReluGrad": _relu_grad,
    "Softmax": _softmax_kernel,
    "LogSoftmax": _log_softmax_kernel,
    "SoftmaxCrossEntropyWithLogits": _softmax_cross_entropy,
    "SparseSoftmaxCrossEntropyWithLogits": _sparse_softmax_cross_entropy,
    "UnsortedSegmentSum": _unsorted_segment_sum,
    "ScatterAdd": state_ops._scatter_kernel(_scatter_add_at),
    "SparseApplyGradientDescent": _sparse_apply_gradient_descent,
    "ApplyAdam": _apply_adam,
    "ApplyMomentum": _apply_momentum,
    "BiasAdd": _bias_add,
    "BiasAddGrad": _bias_add_grad,
    "AddV2": _add_v2,
    "Sum": _sum,
}


def available():
    """True if the compiled kernels were built and import."""
    return _IMPORT_ERROR is None


def register():
    """Registers every kernel of `KERNELS` as the "cython" kernel of its op (idempotent).

    Raises:
      ImportError: if the compiled kernels are not built.
    """
    if _IMPORT_ERROR is not None:
        raise ImportError("hpcflow's Cython kernels are not built: %s" % _IMPORT_ERROR)
    for op_type, kernel in KERNELS.items():
        record = registry.get(op_type)
        _NUMPY.setdefault(op_type, record.kernels["numpy"])
        registry.register_kernel(op_type, "cython", kernel)


def describe():
    """The one-line summary `python -m hpcflow info` prints: built or not, OpenMP, ops."""
    if _IMPORT_ERROR is not None:
        return ("Cython kernels: not built (%s); numpy reference kernels in use"
                % _IMPORT_ERROR)
    count = _build_info.max_threads()
    threads = ("OpenMP, %d thread%s" % (count, "" if count == 1 else "s")
               if _build_info.openmp_enabled() else "no OpenMP, 1 thread")
    forced = os.environ.get("HPCFLOW_BACKEND")
    if forced and forced != "cython":
        return ("Cython kernels: built (%s) but not used: HPCFLOW_BACKEND=%s"
                % (threads, forced))
    return "Cython kernels: built (%s; direct convolutions: %s loops), used for %d ops: %s" % (
        threads, direct_conv.isa(), len(KERNELS), ", ".join(sorted(KERNELS)))


if _IMPORT_ERROR is None:
    register()
