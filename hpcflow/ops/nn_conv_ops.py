"""Convolution (TF1 `tf.nn`): BiasAdd/BiasAddGrad (bias_add, xw_plus_b) and Conv2D with its
Conv2DBackpropInput/Conv2DBackpropFilter ops (im2col + GEMM in numpy), plus the composites
conv1d, conv2d_transpose, atrous_conv2d and convolution."""
import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor, name_scope
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import array_ops, math_ops
from .nn_helpers import (
    _FLOATS, _Geometry, _check_data_format, _check_dtype, _check_same_dtype,
    _check_window_attrs, _check_window_lists, _compute_dtype, _from_nhwc, _from_nhwc_dims,
    _geometry, _get_sequence, _merge_dims, _normalize_padding, _sizes_shape,
    _static_or_dynamic_shape, _to_nhwc, _to_nhwc_dims, _with_rank, _with_rank_at_least)
from .op_helpers import apply_op, as_tensor


# im2col buffers are built batch-chunk by batch-chunk so that one chunk holds at most this
# many elements (~64 MB of float32): a big batch never materializes one huge patch matrix.
_IM2COL_CHUNK_ELEMENTS = 1 << 24
# Conv2DBackpropInput switches from GEMM + col2im to one GEMM per window offset below this
# many input channels (measured: 10x faster for a 1-channel first layer).
_PER_OFFSET_MAX_CHANNELS = 8


# ---------------------------------------------------------------------------------------------
# bias_add.


def _bias_add_shape(op):
    value, bias = op.inputs
    data_format = op.get_attr("data_format")
    _check_data_format(data_format, op.type)
    _check_same_dtype(op.type, value, "value", bias, "bias")
    _with_rank(bias.shape, 1, "bias of %s" % op.type)
    vs = _with_rank_at_least(value.shape, 2, "value of %s" % op.type)
    if vs.ndims is not None:
        channel = vs[1] if data_format == "NCHW" and vs.ndims >= 3 else vs[-1]
        _merge_dims(channel, bias.shape[0], "the channels of value and bias")
    return [(value.shape, value.dtype)]


def _channel_axis(ndim, data_format):
    return 1 if data_format == "NCHW" and ndim >= 3 else ndim - 1


def _bias_add_kernel(value, bias, *, data_format):
    axis = _channel_axis(value.ndim, data_format)
    if value.shape[axis] != bias.shape[0]:
        raise errors.InvalidArgumentError(
            None, None, "Must provide as many biases as the channel dimension of the input "
            "tensor: %s vs. %d in %s" % (bias.shape, value.shape[axis], value.shape))
    shape = [1] * value.ndim
    shape[axis] = bias.shape[0]
    return (value + bias.reshape(shape)).astype(value.dtype, copy=False)


def _bias_add_grad_shape(op):
    g = op.inputs[0]
    data_format = op.get_attr("data_format")
    _check_data_format(data_format, op.type)
    gs = _with_rank_at_least(g.shape, 2, "out_backprop of %s" % op.type)
    if gs.ndims is None:
        return [(unknown_shape(1), g.dtype)]
    return [(TensorShape([gs[_channel_axis(gs.ndims, data_format)]]), g.dtype)]


def _bias_add_grad_kernel(out_backprop, *, data_format):
    axis = _channel_axis(out_backprop.ndim, data_format)
    others = tuple(i for i in range(out_backprop.ndim) if i != axis)
    dtype = _compute_dtype(out_backprop.dtype)
    return np.sum(out_backprop, axis=others, dtype=dtype).astype(out_backprop.dtype, copy=False)


def _bias_add_gradient(op, grad):
    bias_grad = apply_op("BiasAddGrad", [grad], {"data_format": op.get_attr("data_format")},
                         name="BiasAddGrad")
    return [grad, bias_grad]


def _bias_add_grad_gradient(op, grad):
    # BiasAddGrad sums over everything but the channel: its adjoint broadcasts back.
    out_backprop = op.inputs[0]
    return [apply_op("BiasAdd", [array_ops.zeros_like(out_backprop), grad],
                     {"data_format": op.get_attr("data_format")}, name="BiasAdd")]


registry.register_op("BiasAdd", shape=_bias_add_shape, numpy=_bias_add_kernel,
                     gradient=_bias_add_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("BiasAddGrad", shape=_bias_add_grad_shape, numpy=_bias_add_grad_kernel,
                     gradient=_bias_add_grad_gradient,
                     sharding=sharding.Rule(sharding.REDUCTION,
                                            sharding_rules.batch_contraction(0)))


def bias_add(value, bias, data_format=None, name=None):
    """Adds the 1-D `bias` to `value` along its channel dimension.

    Args:
      value: a Tensor of rank >= 2.
      bias: a 1-D Tensor of value's type, as long as value's channel dimension.
      data_format: "NHWC" (default: channels last) or "NCHW" (channels on axis 1). Formats
        starting with "NC" mean channels first, others channels last.
      name: a name for the operation (default "BiasAdd").

    Returns:
      A Tensor of the type and shape of `value`.

    Raises:
      ValueError: if `value` has rank < 2 or the channel sizes differ.
      TypeError: if the dtypes differ.
    """
    if data_format is None:
        data_format = "NHWC"
    elif isinstance(data_format, bytes):
        data_format = data_format.decode()
    data_format = "NCHW" if data_format.startswith("NC") else "NHWC"
    with name_scope(name, "BiasAdd", [value, bias]) as scope:
        value = as_tensor(value, name="input")
        bias = as_tensor(bias, dtype=value.dtype, name="bias")
        return apply_op("BiasAdd", [value, bias], {"data_format": data_format}, name=scope)


def xw_plus_b(x, weights, biases, name=None):
    """Computes `matmul(x, weights) + biases`.

    Args:
      x: a 2-D Tensor [batch, in_units].
      weights: a 2-D Tensor [in_units, out_units].
      biases: a 1-D Tensor [out_units].
      name: a name for the operation (default "xw_plus_b").
    """
    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        x = as_tensor(x, name="x")
        weights = as_tensor(weights, name="weights")
        biases = as_tensor(biases, name="biases")
        mm = math_ops.matmul(x, weights)
        return bias_add(mm, biases, name=scope)


# ---------------------------------------------------------------------------------------------
# conv2d: im2col + GEMM, with TF's Conv2DBackpropInput / Conv2DBackpropFilter ops.

def _windows(xp, geometry):
    """A read-only strided view (N, OH, OW, KH, KW, C) of the padded NHWC input: no copy."""
    n, _, _, c = xp.shape
    s_n, s_h, s_w, s_c = xp.strides
    g = geometry
    return np.lib.stride_tricks.as_strided(
        xp, shape=(n, g.out_h, g.out_w, g.kernel_h, g.kernel_w, c),
        strides=(s_n, s_h * g.stride_h, s_w * g.stride_w, s_h * g.dilation_h,
                 s_w * g.dilation_w, s_c), writeable=False)


def _batch_chunks(n, row_elements):
    step = max(1, _IM2COL_CHUNK_ELEMENTS // max(row_elements, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _conv_attrs(op):
    return {k: op.get_attr(k) for k in ("strides", "padding", "explicit_paddings",
                                         "data_format", "dilations", "use_cudnn_on_gpu")}


def _conv_geometry_from(x_nhwc_shape, filter_shape, attrs, what):
    return _geometry(x_nhwc_shape[1], x_nhwc_shape[2], filter_shape[0], filter_shape[1],
                     attrs["strides"], attrs["dilations"], attrs["padding"],
                     attrs["explicit_paddings"], attrs["data_format"], what)


def _check_conv_op_attrs(op):
    data_format = _check_window_lists(op, ("strides", "dilations"))
    padding = op.get_attr("padding")
    if padding not in ("SAME", "VALID", "EXPLICIT"):
        raise ValueError("Attr 'padding' of '%s' Op passed string %r not in: \"SAME\", "
                         "\"VALID\", \"EXPLICIT\"." % (op.type, padding))
    explicit = op.get_attr("explicit_paddings")
    if (padding == "EXPLICIT") != bool(explicit) or (explicit and len(explicit) != 8):
        raise ValueError("%s: explicit_paddings must hold 8 values exactly when padding is "
                         "EXPLICIT, got %r with padding %s" % (op.type, explicit, padding))
    if explicit:
        batch, channel = (0, 1) if data_format == "NCHW" else (0, 3)
        if any(explicit[2 * d] or explicit[2 * d + 1] for d in (batch, channel)) or \
                min(explicit) < 0:
            raise ValueError("%s: explicit paddings must be non-negative and 0 for the batch "
                             "and channel dimensions, got %s" % (op.type, explicit))
    return data_format


def _conv_output_shape(op, x_shape, filter_shape, what):
    """The static NHWC-or-NCHW output shape of Conv2D with input/filter static shapes."""
    data_format = op.get_attr("data_format")
    xs = _with_rank(x_shape, 4, "input of %s" % what)
    fs = _with_rank(filter_shape, 4, "filter of %s" % what)
    n, h, w, c = _to_nhwc_dims(list(xs), data_format)
    kh, kw, fc, o = list(fs)
    if c is not None and fc is not None and c != fc:
        raise ValueError("Depth of input (%d) does not match the input depth of filter (%d) "
                         "of %s: filter shape is [height, width, in_channels, out_channels] "
                         "and in_channels must equal the input's channels (grouped "
                         "convolutions are not supported)" % (c, fc, what))
    if kh is None or kw is None:
        return TensorShape(_from_nhwc_dims([n, None, None, o], data_format))
    g = _conv_geometry_from([n, h, w, c], [kh, kw], _conv_attrs(op), what)
    return TensorShape(_from_nhwc_dims([n, g.out_h, g.out_w, o], data_format))


def _conv2d_shape(op):
    x, w = op.inputs
    _check_dtype(x, op.type, "input", _FLOATS + ("int32",))
    _check_same_dtype(op.type, x, "input", w, "filter")
    _check_conv_op_attrs(op)
    return [(_conv_output_shape(op, x.shape, w.shape, op.type), x.dtype)]


def _conv2d_forward(x, w, g):
    """NHWC conv of `x` [N,H,W,C] with `w` [KH,KW,C,O] in compute dtype."""
    n = x.shape[0]
    kh, kw, c, o = w.shape
    xp = g.padded(x)
    w_matrix = w.reshape(kh * kw * c, o)
    out = np.empty((n, g.out_h, g.out_w, o), dtype=x.dtype)
    rows = out.reshape(-1, o)
    per_image = g.out_h * g.out_w
    for start, stop in _batch_chunks(n, per_image * kh * kw * c):
        cols = _windows(xp[start:stop], g).reshape(-1, kh * kw * c)
        np.matmul(cols, w_matrix, out=rows[start * per_image:stop * per_image])
    return out


def _conv2d_kernel(x, w, *, strides, padding, explicit_paddings, data_format, dilations,
                   use_cudnn_on_gpu):
    _check_window_attrs("Conv2D", strides, dilations, data_format)
    xn = _to_nhwc(x, data_format)
    if xn.shape[3] != w.shape[2]:
        raise errors.InvalidArgumentError(
            None, None, "input depth must be evenly divisible by filter depth: %d vs %d"
            % (xn.shape[3], w.shape[2]))
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
             "data_format": data_format, "dilations": dilations}
    g = _conv_geometry_from(xn.shape, w.shape, attrs, "Conv2D input")
    dtype = _compute_dtype(x.dtype)
    out = _conv2d_forward(xn.astype(dtype, copy=False), w.astype(dtype, copy=False), g)
    return _from_nhwc(out, data_format).astype(x.dtype, copy=False)


def _conv2d_backprop_input_shape(op):
    sizes, w, dy = op.inputs
    _check_dtype(sizes, op.type, "input_sizes", ("int32", "int64"))
    _check_same_dtype(op.type, w, "filter", dy, "out_backprop")
    _check_conv_op_attrs(op)
    input_shape = _sizes_shape(sizes, "input_sizes of %s" % op.type)
    _with_rank(dy.shape, 4, "out_backprop of %s" % op.type)
    if input_shape.is_fully_defined():
        expected = _conv_output_shape(op, input_shape, w.shape, op.type)
        if not expected.is_compatible_with(dy.shape):
            raise ValueError("%s: out_backprop has shape %s but convolving input_sizes %s "
                             "gives %s" % (op.type, dy.shape, input_shape, expected))
    return [(input_shape, w.dtype)]


def _conv2d_backprop_filter_shape(op):
    x, sizes, dy = op.inputs
    _check_dtype(sizes, op.type, "filter_sizes", ("int32", "int64"))
    _check_same_dtype(op.type, x, "input", dy, "out_backprop")
    _check_conv_op_attrs(op)
    filter_shape = _sizes_shape(sizes, "filter_sizes of %s" % op.type)
    _with_rank(dy.shape, 4, "out_backprop of %s" % op.type)
    expected = _conv_output_shape(op, x.shape, filter_shape, op.type)
    if not expected.is_compatible_with(dy.shape):
        raise ValueError("%s: out_backprop has shape %s but the convolution gives %s"
                         % (op.type, dy.shape, expected))
    return [(filter_shape, x.dtype)]


def _check_out_backprop(op_type, dy, g):
    if dy.shape[1] != g.out_h or dy.shape[2] != g.out_w:
        raise errors.InvalidArgumentError(
            None, None, "%s: size of out_backprop doesn't match computed: actual = %dx%d, "
            "computed = %dx%d" % (op_type, dy.shape[1], dy.shape[2], g.out_h, g.out_w))


def _conv2d_backprop_input_kernel(input_sizes, w, dy, *, strides, padding, explicit_paddings,
                                  data_format, dilations, use_cudnn_on_gpu):
    _check_window_attrs("Conv2DBackpropInput", strides, dilations, data_format)
    n, h, width, c = _to_nhwc_dims([int(v) for v in input_sizes], data_format)
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
             "data_format": data_format, "dilations": dilations}
    g = _conv_geometry_from([n, h, width, c], w.shape, attrs, "Conv2DBackpropInput input")
    dtype = _compute_dtype(w.dtype)
    dyn = _to_nhwc(dy, data_format).astype(dtype, copy=False)
    _check_out_backprop("Conv2DBackpropInput", dyn, g)
    kh, kw, fc, o = w.shape
    if fc != c or dyn.shape[0] != n or dyn.shape[3] != o:
        raise errors.InvalidArgumentError(
            None, None, "Conv2DBackpropInput: input_sizes %s, filter %s and out_backprop %s "
            "do not agree" % (list(input_sizes), w.shape, dy.shape))
    out_dtype = w.dtype
    dx = _conv2d_input_gradient(dyn, w.astype(dtype, copy=False), g, h, width)
    return _from_nhwc(dx, data_format).astype(out_dtype, copy=False)


def _conv2d_input_gradient(dy, w, g, height, width):
    """NHWC dx of a convolution from dy [N,OH,OW,O] and w [KH,KW,C,O], by the strategy that
    measured fastest: one GEMM per window offset for few channels; for stride 1, a forward
    convolution of dy with the flipped filter; else GEMM to patch gradients + col2im."""
    n = dy.shape[0]
    kh, kw, c, o = w.shape
    effective_h = (kh - 1) * g.dilation_h + 1
    effective_w = (kw - 1) * g.dilation_w + 1
    flipped_pads = (effective_h - 1 - g.pad_top, effective_h - 1 - g.pad_bottom,
                    effective_w - 1 - g.pad_left, effective_w - 1 - g.pad_right)
    if (c >= _PER_OFFSET_MAX_CHANNELS and g.stride_h == g.stride_w == 1
            and min(flipped_pads) >= 0):
        # The transposed correlation is itself a correlation: of dy, padded by (window - 1 -
        # pad), with the spatially flipped filter whose in/out channels are swapped.
        flipped = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))
        transposed = _Geometry(1, 1, g.dilation_h, g.dilation_w, kh, kw, height, width,
                               *flipped_pads)
        return _conv2d_forward(dy, flipped, transposed)
    dxp = np.zeros((n, height + g.pad_top + g.pad_bottom, width + g.pad_left + g.pad_right, c),
                   dtype=dy.dtype)
    if c < _PER_OFFSET_MAX_CHANNELS:
        # Few input channels: col2im's strided adds would move c values at a time; one
        # GEMM per window offset writes contiguous blocks instead.
        dy_rows = dy.reshape(-1, o)
        block = np.empty((dy_rows.shape[0], c), dtype=dy.dtype)
        for k, window in g.offsets():
            np.matmul(dy_rows, w[k // kw, k % kw].T, out=block)
            dxp[window] += block.reshape(n, g.out_h, g.out_w, c)
    else:
        # GEMM to patch gradients, then col2im: scatter each offset's patch back.
        w_t = w.reshape(kh * kw * c, o).T
        for start, stop in _batch_chunks(n, g.out_h * g.out_w * kh * kw * c):
            dcols = (dy[start:stop].reshape(-1, o) @ w_t).reshape(
                stop - start, g.out_h, g.out_w, kh, kw, c)
            target = dxp[start:stop]
            for k, window in g.offsets():
                target[window] += dcols[:, :, :, k // kw, k % kw, :]
    return g.crop(dxp, height, width)


def _conv2d_backprop_filter_kernel(x, filter_sizes, dy, *, strides, padding, explicit_paddings,
                                   data_format, dilations, use_cudnn_on_gpu):
    _check_window_attrs("Conv2DBackpropFilter", strides, dilations, data_format)
    kh, kw, c, o = [int(v) for v in filter_sizes]
    dtype = _compute_dtype(x.dtype)
    xn = _to_nhwc(x, data_format).astype(dtype, copy=False)
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
             "data_format": data_format, "dilations": dilations}
    g = _conv_geometry_from(xn.shape, [kh, kw], attrs, "Conv2DBackpropFilter input")
    dyn = _to_nhwc(dy, data_format).astype(dtype, copy=False)
    _check_out_backprop("Conv2DBackpropFilter", dyn, g)
    if xn.shape[3] != c or dyn.shape[3] != o or dyn.shape[0] != xn.shape[0]:
        raise errors.InvalidArgumentError(
            None, None, "Conv2DBackpropFilter: input %s, filter_sizes %s and out_backprop %s "
            "do not agree" % (x.shape, list(filter_sizes), dy.shape))
    xp = g.padded(xn)
    dw = np.zeros((kh * kw * c, o), dtype=dtype)
    for start, stop in _batch_chunks(xn.shape[0], g.out_h * g.out_w * kh * kw * c):
        cols = _windows(xp[start:stop], g).reshape(-1, kh * kw * c)
        dw += cols.T @ dyn[start:stop].reshape(-1, o)
    return dw.reshape(kh, kw, c, o).astype(x.dtype, copy=False)


def _conv2d_grad(op, grad):
    x, w = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv2DBackpropInput", [_static_or_dynamic_shape(x), w, grad], attrs,
                     name="Conv2DBackpropInput"),
            apply_op("Conv2DBackpropFilter", [x, _static_or_dynamic_shape(w), grad], attrs,
                     name="Conv2DBackpropFilter")]


def _conv2d_backprop_input_grad(op, grad):
    # dx = A^T(w) dy is bilinear in (w, dy): its adjoints are the filter backprop and a
    # forward convolution.
    _, w, dy = op.inputs
    attrs = _conv_attrs(op)
    return [None,
            apply_op("Conv2DBackpropFilter", [grad, _static_or_dynamic_shape(w), dy], attrs,
                     name="Conv2DBackpropFilter"),
            apply_op("Conv2D", [grad, w], attrs, name="Conv2D")]


def _conv2d_backprop_filter_grad(op, grad):
    x, _, dy = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv2DBackpropInput", [_static_or_dynamic_shape(x), grad, dy], attrs,
                     name="Conv2DBackpropInput"),
            None,
            apply_op("Conv2D", [x, grad], attrs, name="Conv2D")]


# Sharding: Conv2D splits with its input's batch. The backprop-to-input op carries the batch
# in its third input (the first is a shape), so it asks for a gather (safe); the filter
# backprop sums over the batch: a partial result to combine.
registry.register_op("Conv2D", shape=_conv2d_shape, numpy=_conv2d_kernel,
                     gradient=_conv2d_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("Conv2DBackpropInput", shape=_conv2d_backprop_input_shape,
                     numpy=_conv2d_backprop_input_kernel, gradient=_conv2d_backprop_input_grad,
                     sharding=sharding.Rule(sharding.GATHER,
                                            sharding_rules.local_shape_input(0, 2)))
registry.register_op("Conv2DBackpropFilter", shape=_conv2d_backprop_filter_shape,
                     numpy=_conv2d_backprop_filter_kernel, gradient=_conv2d_backprop_filter_grad,
                     sharding=sharding.Rule(sharding.REDUCTION,
                                            sharding_rules.batch_contraction(0, 2)))


def _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu, op_type):
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    data_format = data_format or "NHWC"
    _check_data_format(data_format, op_type)
    channel_index = 1 if data_format == "NCHW" else 3
    padding, explicit = _normalize_padding(padding, op_type, allow_explicit=True)
    return {"strides": _get_sequence(strides, 2, channel_index, "strides"),
            "padding": padding, "explicit_paddings": explicit, "data_format": data_format,
            "dilations": _get_sequence(dilations, 2, channel_index, "dilations"),
            "use_cudnn_on_gpu": bool(use_cudnn_on_gpu)}


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    """Computes a 2-D convolution of a 4-D `input` with a 4-D `filter`.

    Args:
      input: [batch, height, width, channels] (NHWC) or [batch, channels, height, width].
      filter: [filter_height, filter_width, in_channels, out_channels], input's type.
        `filters` is its TF2 alias.
      strides: an int or a list of 1, 2 or 4 ints (4: in data_format order, batch and
        channel entries 1).
      padding: "SAME" (output = ceil(input / stride), the odd padding pixel at the end),
        "VALID", or a list of 4 [before, after] pairs in data_format order.
      use_cudnn_on_gpu: accepted for compatibility.
      data_format: "NHWC" (default) or "NCHW".
      dilations: like strides: the dilation rate of the filter.
      name: a name for the operation (default "Conv2D").

    Returns:
      A Tensor of input's type.

    Raises:
      ValueError: at build time, for a bad padding string, filter depth not matching the
        input's channels, or a window larger than the padded input.
      TypeError: if input and filter have different types.
    """
    if filter is None:
        filter = filters  # noqa: A001
    elif filters is not None:
        raise ValueError("Cannot specify both 'filter' and 'filters'")
    if filter is None or strides is None or padding is None:
        raise ValueError("conv2d needs filter, strides and padding")
    attrs = _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu, "Conv2D")
    x = as_tensor(input, name="input")
    w = as_tensor(filter, dtype=None if isinstance(filter, Tensor) else x.dtype, name="filter")
    return apply_op("Conv2D", [x, w], attrs, name=name or "Conv2D")


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None,  # noqa: A002
                          padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
                          dilations=(1, 1, 1, 1), name=None, filters=None):
    """The gradient of conv2d with respect to its input (op Conv2DBackpropInput).

    Args:
      input_sizes: int32 1-D Tensor, the shape of conv2d's input (data_format order).
      filter: the conv2d filter. `filters` is its alias.
      out_backprop: the gradient w.r.t. conv2d's output.
      Other args as `conv2d`.
    """
    filter = filter if filter is not None else filters  # noqa: A001
    attrs = _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu,
                           "Conv2DBackpropInput")
    input_sizes = as_tensor(input_sizes, dtype=None if isinstance(input_sizes, Tensor)
                            else dtypes.int32, name="input_sizes")
    w = as_tensor(filter, name="filter")
    dy = as_tensor(out_backprop, dtype=None if isinstance(out_backprop, Tensor) else w.dtype,
                   name="out_backprop")
    return apply_op("Conv2DBackpropInput", [input_sizes, w, dy], attrs,
                    name=name or "Conv2DBackpropInput")


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding,  # noqa: A002
                           use_cudnn_on_gpu=True, data_format="NHWC", dilations=(1, 1, 1, 1),
                           name=None):
    """The gradient of conv2d with respect to its filter (op Conv2DBackpropFilter).

    Args:
      input: conv2d's input.
      filter_sizes: int32 1-D Tensor, the filter's shape [kh, kw, in, out].
      out_backprop: the gradient w.r.t. conv2d's output.
      Other args as `conv2d`.
    """
    attrs = _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu,
                           "Conv2DBackpropFilter")
    x = as_tensor(input, name="input")
    filter_sizes = as_tensor(filter_sizes, dtype=None if isinstance(filter_sizes, Tensor)
                             else dtypes.int32, name="filter_sizes")
    dy = as_tensor(out_backprop, dtype=None if isinstance(out_backprop, Tensor) else x.dtype,
                   name="out_backprop")
    return apply_op("Conv2DBackpropFilter", [x, filter_sizes, dy], attrs,
                    name=name or "Conv2DBackpropFilter")


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None,  # noqa: A002
                     padding="SAME", data_format="NHWC", name=None, input=None,  # noqa: A002
                     filters=None, dilations=None):
    """The transpose ("deconvolution") of conv2d: conv2d's gradient w.r.t. its input.

    Args:
      value: [batch, height, width, in_channels] (NHWC). `input` is its alias.
      filter: [height, width, output_channels, in_channels]: the filter of the conv2d this
        is the transpose of. `filters` is its alias.
      output_shape: 1-D shape of the result (4 ints, data_format order).
      strides, padding, data_format, dilations: as conv2d's.
      name: a name for the operation (default "conv2d_transpose").

    Raises:
      ValueError: if output_shape's channels differ from the filter's output channels.
    """
    value = value if value is not None else input
    filter = filter if filter is not None else filters  # noqa: A001
    with name_scope(name, "conv2d_transpose", [value, filter, output_shape]) as scope:
        value = as_tensor(value, name="value")
        w = as_tensor(filter, name="filter")
        output_shape = as_tensor(output_shape, dtype=None if isinstance(output_shape, Tensor)
                                 else dtypes.int32, name="output_shape")
        static = tensor_util.constant_value(output_shape)
        fmt = data_format.decode() if isinstance(data_format, bytes) else (data_format or "NHWC")
        if static is not None and w.shape.ndims == 4 and w.shape[2] is not None:
            channels = int(static[1] if fmt == "NCHW" else static[3])
            if channels != w.shape[2]:
                raise ValueError("output_shape does not match filter's output channels, %d != "
                                 "%d" % (channels, w.shape[2]))
        return conv2d_backprop_input(output_shape, w, value, strides=strides, padding=padding,
                                     data_format=fmt, dilations=dilations or 1, name=scope)


def conv1d(value=None, filters=None, stride=None, padding=None, use_cudnn_on_gpu=None,
           data_format=None, name=None, input=None, dilations=None):  # noqa: A002
    """A 1-D convolution of a 3-D input [batch, width, channels] ("NWC", default) or
    [batch, channels, width] ("NCW") with filters [width, in_channels, out_channels],
    computed as a conv2d of height 1."""
    value = value if value is not None else input
    if data_format in (None, "NWC", "NHWC"):
        data_format_2d, spatial_start = "NHWC", 1
    elif data_format in ("NCW", "NCHW"):
        data_format_2d, spatial_start = "NCHW", 2
    else:
        raise ValueError("data_format must be \"NWC\" or \"NCW\", got %r" % (data_format,))
    with name_scope(name, "conv1d", [value, filters]) as scope:
        value = as_tensor(value, name="value")
        filters = as_tensor(filters, name="filters")
        # TF's 1-D sequences: 1 or 3 entries, the channel at index 2 (NWC) or 1 (NCW).
        channel_1d, spatial_1d = (2, 1) if data_format_2d == "NHWC" else (1, 2)
        stride_w = _get_sequence(stride, 1, channel_1d, "stride")[spatial_1d]
        dilation_w = _get_sequence(dilations, 1, channel_1d, "dilations")[spatial_1d]
        if data_format_2d == "NHWC":
            strides_2d, dilations_2d = [1, 1, stride_w, 1], [1, 1, dilation_w, 1]
        else:
            strides_2d, dilations_2d = [1, 1, 1, stride_w], [1, 1, 1, dilation_w]
        expanded = array_ops.expand_dims(value, spatial_start)
        w = array_ops.expand_dims(filters, 0)
        result = conv2d(expanded, w, strides_2d, padding, data_format=data_format_2d,
                        dilations=dilations_2d)
        return array_ops.squeeze(result, [spatial_start], name=scope)


def atrous_conv2d(value, filters, rate, padding, name=None):
    """Dilated ("atrous") 2-D convolution: conv2d of NHWC `value` with `filters` dilated by
    `rate` (an int >= 1), stride 1.

    Raises:
      ValueError: if rate < 1.
    """
    if int(rate) < 1:
        raise ValueError("rate %s cannot be less than one" % (rate,))
    with name_scope(name, "atrous_conv2d", [value, filters]) as scope:
        return conv2d(value, filters, 1, padding, dilations=int(rate), name=scope)


def convolution(input, filter=None, padding=None, strides=None, dilation_rate=None,  # noqa: A002
                name=None, data_format=None, filters=None, dilations=None):
    """N-D convolution for N = 1 (input [batch, width, channels]) or N = 2 (conv2d).

    Args:
      input: rank 3 (1-D convolution) or rank 4 (2-D) Tensor.
      filter: [spatial..., in_channels, out_channels]. `filters` is its alias.
      padding: "SAME" or "VALID".
      strides: an int or N ints (default 1).
      dilation_rate: an int or N ints (default 1). `dilations` is its alias.
      name: name scope (default "convolution").
      data_format: "NWC"/"NCW" or "NHWC"/"NCHW" (default channels last).

    Raises:
      ValueError: for other ranks, or strides > 1 together with dilation_rate > 1.
    """
    filter = filter if filter is not None else filters  # noqa: A001
    dilation_rate = dilation_rate if dilation_rate is not None else dilations
    with name_scope(name, "convolution", [input, filter]) as scope:
        x = as_tensor(input, name="input")
        rank = x.shape.ndims
        if rank not in (3, 4):
            raise ValueError("convolution supports 1-D and 2-D convolutions (input rank 3 or "
                             "4), got input shape %s" % x.shape)
        n = rank - 2
        stride_list = _get_sequence(strides, n, n + 1, "strides")[1:-1]
        dilation_list = _get_sequence(dilation_rate, n, n + 1, "dilation_rate")[1:-1]
        if max(stride_list) > 1 and max(dilation_list) > 1:
            raise ValueError("strides > 1 not supported in conjunction with dilation_rate > 1")
        if n == 1:
            return conv1d(x, filter, stride_list, padding, data_format=data_format,
                          dilations=dilation_list, name=scope)
        return conv2d(x, filter, stride_list, padding, data_format=data_format or "NHWC",
                      dilations=dilation_list, name=scope)
