"""Pooling (TF1 `tf.nn`): MaxPool with MaxPoolGrad/MaxPoolGradGrad, AvgPool with AvgPoolGrad,
and their wrappers max_pool(2d) and avg_pool(2d)."""
import numpy as np

from ..framework import errors, registry, sharding, sharding_rules
from ..framework.tensor_shape import TensorShape, unknown_shape
from .nn_helpers import (
    _FLOATS, _REALS, _check_data_format, _check_dtype, _check_same_dtype, _check_window_lists,
    _compute_dtype, _from_nhwc, _from_nhwc_dims, _geometry, _get_sequence, _normalize_padding,
    _sizes_shape, _spatial, _static_or_dynamic_shape, _to_nhwc, _to_nhwc_dims, _with_rank)
from .op_helpers import apply_op, as_tensor


# ---------------------------------------------------------------------------------------------
# Pooling: MaxPool / AvgPool with MaxPoolGrad(/GradGrad) and AvgPoolGrad.

def _pool_attrs(op):
    return {k: op.get_attr(k) for k in ("ksize", "strides", "padding", "data_format")}


def _pool_geometry(x_nhwc_shape, ksize, strides, padding, data_format, what):
    kernel_h, kernel_w = _spatial(ksize, data_format)
    return _geometry(x_nhwc_shape[1], x_nhwc_shape[2], kernel_h, kernel_w, strides,
                     [1, 1, 1, 1], padding, [], data_format, what)


def _pool_output_shape(op, x_shape):
    data_format = _check_window_lists(op, ("ksize", "strides"))
    if op.get_attr("padding") not in ("SAME", "VALID"):
        raise ValueError("Attr 'padding' of '%s' Op passed string %r not in: \"SAME\", "
                         "\"VALID\"." % (op.type, op.get_attr("padding")))
    xs = _with_rank(x_shape, 4, "input of %s" % op.type)
    n, h, w, c = _to_nhwc_dims(list(xs), data_format)
    g = _pool_geometry([n, h, w, c], what=op.type + " input", **_pool_attrs(op))
    return TensorShape(_from_nhwc_dims([n, g.out_h, g.out_w, c], data_format))


def _check_pool_window(op_type, ksize, strides, data_format):
    for name, values in (("ksize", ksize), ("strides", strides)):
        batch, channel = (values[0], values[1]) if data_format == "NCHW" else (values[0],
                                                                                values[3])
        if batch != 1 or channel != 1:
            raise errors.UnimplementedError(
                None, None, "%s: pooling over the batch or depth dimension is not supported "
                "(%s = %s)" % (op_type, name, values))


def _lowest(dtype):
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _max_pool_shape(op):
    x = op.inputs[0]
    _check_dtype(x, op.type, "input", _REALS)
    return [(_pool_output_shape(op, x.shape), x.dtype)]


def _max_pool_kernel(x, *, ksize, strides, padding, data_format):
    _check_pool_window("MaxPool", ksize, strides, data_format)
    xn = _to_nhwc(x, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "MaxPool input")
    xp = g.padded(xn, _lowest(x.dtype))
    out = None
    for _, window in g.offsets():
        if out is None:
            out = xp[window].copy()
        else:
            np.maximum(out, xp[window], out=out)
    return _from_nhwc(out, data_format)


def _argmax_offsets(xp, g):
    """For each output cell, the window offset k of its max (the first one on ties, as TF)."""
    best = None
    index = np.zeros((xp.shape[0], g.out_h, g.out_w, xp.shape[3]), dtype=np.int32)
    for k, window in g.offsets():
        values = xp[window]
        if best is None:
            best = values.copy()
            continue
        better = values > best  # strict: an earlier equal max keeps the gradient
        np.copyto(best, values, where=better)
        np.copyto(index, k, where=better)
    return index


def _max_pool_grad_shape(op):
    x, y, grad = op.inputs
    _check_dtype(x, op.type, "orig_input", _REALS)
    _check_same_dtype(op.type, x, "orig_input", y, "orig_output")
    _check_same_dtype(op.type, x, "orig_input", grad, "grad")
    out = _pool_output_shape(op, x.shape)
    if not out.is_compatible_with(y.shape) or not out.is_compatible_with(grad.shape):
        raise ValueError("%s: orig_output %s and grad %s must have the pooled shape %s"
                         % (op.type, y.shape, grad.shape, out))
    return [(x.shape, x.dtype)]


def _max_pool_grad_kernel(orig_input, orig_output, grad, *, ksize, strides, padding,
                          data_format):
    _check_pool_window("MaxPoolGrad", ksize, strides, data_format)
    xn = _to_nhwc(orig_input, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "MaxPoolGrad input")
    gn = _to_nhwc(grad, data_format)
    if gn.shape[1:3] != (g.out_h, g.out_w):
        raise errors.InvalidArgumentError(
            None, None, "MaxPoolGrad: grad has spatial shape %s, expected %s"
            % (gn.shape[1:3], (g.out_h, g.out_w)))
    index = _argmax_offsets(g.padded(xn, _lowest(orig_input.dtype)), g)
    dtype = _compute_dtype(grad.dtype)
    dxp = np.zeros((xn.shape[0], xn.shape[1] + g.pad_top + g.pad_bottom,
                    xn.shape[2] + g.pad_left + g.pad_right, xn.shape[3]), dtype=dtype)
    for k, window in g.offsets():
        dxp[window] += np.where(index == k, gn, 0)
    dx = g.crop(dxp, xn.shape[1], xn.shape[2])
    return _from_nhwc(dx, data_format).astype(grad.dtype, copy=False)


def _max_pool_grad_grad_shape(op):
    x, y, grad = op.inputs
    _check_same_dtype(op.type, x, "orig_input", y, "orig_output")
    _check_same_dtype(op.type, x, "orig_input", grad, "grad")
    out = _pool_output_shape(op, x.shape)
    if not x.shape.is_compatible_with(grad.shape):
        raise ValueError("%s: grad %s must have orig_input's shape %s"
                         % (op.type, grad.shape, x.shape))
    return [(out.merge_with(y.shape), x.dtype)]


def _max_pool_grad_grad_kernel(orig_input, orig_output, grad, *, ksize, strides, padding,
                               data_format):
    _check_pool_window("MaxPoolGradGrad", ksize, strides, data_format)
    xn = _to_nhwc(orig_input, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "MaxPoolGradGrad input")
    index = _argmax_offsets(g.padded(xn, _lowest(orig_input.dtype)), g)
    gp = g.padded(_to_nhwc(grad, data_format))
    out = np.zeros(index.shape, dtype=grad.dtype)
    for k, window in g.offsets():
        np.copyto(out, gp[window], where=index == k)
    return _from_nhwc(out, data_format)


def _max_pool_gradient(op, grad):
    return [apply_op("MaxPoolGrad", [op.inputs[0], op.outputs[0], grad], _pool_attrs(op),
                     name="MaxPoolGrad")]


def _max_pool_grad_gradient(op, grad):
    # Linear in `grad` (routes it to the argmax cells); the argmax itself is piecewise constant.
    x, y, _ = op.inputs
    return [None, None, apply_op("MaxPoolGradGrad", [x, y, grad], _pool_attrs(op),
                                 name="MaxPoolGradGrad")]


def _max_pool_grad_grad_gradient(op, grad):
    x, y, _ = op.inputs
    return [None, None, apply_op("MaxPoolGrad", [x, y, grad], _pool_attrs(op),
                                 name="MaxPoolGrad")]


def _valid_counts(size, g_out, stride, kernel, pad_before):
    starts = np.arange(g_out) * stride - pad_before
    return np.clip(starts + kernel, 0, size) - np.clip(starts, 0, size)


def _avg_divisor(g, height, width):
    """How many real (non-padding) inputs each output cell averages: TF excludes padding."""
    rows = _valid_counts(height, g.out_h, g.stride_h, g.kernel_h, g.pad_top)
    cols = _valid_counts(width, g.out_w, g.stride_w, g.kernel_w, g.pad_left)
    return np.outer(rows, cols)[None, :, :, None]


def _avg_pool_shape(op):
    x = op.inputs[0]
    _check_dtype(x, op.type, "value", _FLOATS)
    return [(_pool_output_shape(op, x.shape), x.dtype)]


def _avg_pool_kernel(x, *, ksize, strides, padding, data_format):
    _check_pool_window("AvgPool", ksize, strides, data_format)
    xn = _to_nhwc(x, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "AvgPool input")
    dtype = _compute_dtype(x.dtype)
    xp = g.padded(xn.astype(dtype, copy=False))
    total = np.zeros((xn.shape[0], g.out_h, g.out_w, xn.shape[3]), dtype=dtype)
    for _, window in g.offsets():
        total += xp[window]
    out = total / _avg_divisor(g, xn.shape[1], xn.shape[2]).astype(dtype)
    return _from_nhwc(out, data_format).astype(x.dtype, copy=False)


def _avg_pool_grad_shape(op):
    sizes, grad = op.inputs
    _check_dtype(sizes, op.type, "orig_input_shape", ("int32",))
    _check_dtype(grad, op.type, "grad", _FLOATS)
    input_shape = _sizes_shape(sizes, "orig_input_shape of %s" % op.type)
    if input_shape.is_fully_defined():
        out = _pool_output_shape(op, input_shape)
        if not out.is_compatible_with(grad.shape):
            raise ValueError("%s: grad has shape %s, expected the pooled shape %s"
                             % (op.type, grad.shape, out))
    else:
        _pool_output_shape(op, unknown_shape(4))
    return [(input_shape, grad.dtype)]


def _avg_pool_grad_kernel(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    _check_pool_window("AvgPoolGrad", ksize, strides, data_format)
    n, h, w, c = _to_nhwc_dims([int(v) for v in orig_input_shape], data_format)
    g = _pool_geometry([n, h, w, c], ksize, strides, padding, data_format,
                       "AvgPoolGrad input")
    dtype = _compute_dtype(grad.dtype)
    gn = _to_nhwc(grad, data_format).astype(dtype, copy=False)
    if gn.shape != (n, g.out_h, g.out_w, c):
        raise errors.InvalidArgumentError(
            None, None, "AvgPoolGrad: grad has shape %s, expected %s"
            % (grad.shape, _from_nhwc_dims([n, g.out_h, g.out_w, c], data_format)))
    share = gn / _avg_divisor(g, h, w).astype(dtype)
    dxp = np.zeros((n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c),
                   dtype=dtype)
    for _, window in g.offsets():
        dxp[window] += share
    dx = g.crop(dxp, h, w)
    return _from_nhwc(dx, data_format).astype(grad.dtype, copy=False)


def _avg_pool_gradient(op, grad):
    x = op.inputs[0]
    return [apply_op("AvgPoolGrad", [_static_or_dynamic_shape(x), grad], _pool_attrs(op),
                     name="AvgPoolGrad")]


def _avg_pool_grad_gradient(op, grad):
    # AvgPoolGrad is the adjoint of the linear AvgPool: its adjoint is AvgPool again.
    return [None, apply_op("AvgPool", [grad], _pool_attrs(op), name="AvgPool")]


registry.register_op("MaxPool", shape=_max_pool_shape, numpy=_max_pool_kernel,
                     gradient=_max_pool_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("MaxPoolGrad", shape=_max_pool_grad_shape, numpy=_max_pool_grad_kernel,
                     gradient=_max_pool_grad_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1, 2)))
registry.register_op("MaxPoolGradGrad", shape=_max_pool_grad_grad_shape,
                     numpy=_max_pool_grad_grad_kernel, gradient=_max_pool_grad_grad_gradient,
                     sharding=sharding.ROW_WISE)
registry.register_op("AvgPool", shape=_avg_pool_shape, numpy=_avg_pool_kernel,
                     gradient=_avg_pool_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
# The batch of AvgPoolGrad is in its second input (the first is a shape): gather (safe).
registry.register_op("AvgPoolGrad", shape=_avg_pool_grad_shape, numpy=_avg_pool_grad_kernel,
                     gradient=_avg_pool_grad_gradient,
                     sharding=sharding.Rule(sharding.GATHER,
                                            sharding_rules.local_shape_input(0, 1)))


def _pool(op_type, value, ksize, strides, padding, data_format, name):
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    data_format = data_format or "NHWC"
    _check_data_format(data_format, op_type)
    channel_index = 1 if data_format == "NCHW" else 3
    padding, _ = _normalize_padding(padding, op_type, allow_explicit=False)
    attrs = {"ksize": _get_sequence(ksize, 2, channel_index, "ksize"),
             "strides": _get_sequence(strides, 2, channel_index, "strides"),
             "padding": padding, "data_format": data_format}
    value = as_tensor(value, name="input")
    return apply_op(op_type, [value], attrs, name=name or op_type)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None,
             input=None):  # noqa: A002 - TF's argument name
    """Max pooling of a 4-D input.

    Args:
      value: [batch, height, width, channels] (NHWC) or NCHW. `input` is its alias.
      ksize: window size: an int or 1, 2 or 4 ints (4: data_format order, batch and channel
        entries 1).
      strides: like ksize.
      padding: "SAME" (padding never wins the max) or "VALID".
      data_format: "NHWC" (default) or "NCHW".
      name: a name for the operation (default "MaxPool").

    Raises:
      ValueError: for a bad padding string or a window larger than the input (VALID).
    """
    return _pool("MaxPool", value if value is not None else input, ksize, strides, padding,
                 data_format, name)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """`max_pool` under its TF2 name."""
    return max_pool(input, ksize, strides, padding, data_format, name)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None,
             input=None):  # noqa: A002 - TF's argument name
    """Average pooling of a 4-D input; with "SAME" padding each output averages only the
    real (non-padding) inputs of its window, as TF. Args as `max_pool`."""
    return _pool("AvgPool", value if value is not None else input, ksize, strides, padding,
                 data_format, name)


avg_pool2d = avg_pool
