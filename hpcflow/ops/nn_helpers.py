"""Helpers shared by the nn op modules (nn_*_ops.py): TF's dtype groups, dtype and rank
checks with TF's messages, data formats, argument aliases, and the spatial geometry (strides,
padding, NHWC/NCHW layout, output sizes) that convolution and pooling share."""
import collections
import numbers

import numpy as np

from ..framework import dtypes, errors, tensor_util
from ..framework.graph import Tensor
from ..framework.tensor_shape import unknown_shape
from . import array_ops, constant_op, math_ops


_FLOATS = ("float16", "bfloat16", "float32", "float64")
_REALS = _FLOATS + ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_INDEX_TYPES = ("int32", "int64")


# ---------------------------------------------------------------------------------------------
# Helpers shared by the shape functions and wrappers.

def _check_dtype(tensor, op_type, param, allowed):
    if tensor.dtype.name not in allowed:
        raise TypeError("Value passed to parameter '%s' of op %s has DataType %s not in list of "
                        "allowed values: %s" % (param, op_type, tensor.dtype.name,
                                                ", ".join(allowed)))


def _check_same_dtype(op_type, a, a_name, b, b_name):
    if a.dtype != b.dtype:
        raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                        "argument '%s'." % (b_name, op_type, b.dtype.name, a.dtype.name, a_name))


def _with_rank(shape, rank, what):
    if shape.ndims is not None and shape.ndims != rank:
        raise ValueError("Shape must be rank %d but is rank %d for %s (shape %s)"
                         % (rank, shape.ndims, what, shape))
    return shape if shape.ndims is not None else unknown_shape(rank)


def _with_rank_at_least(shape, rank, what):
    if shape.ndims is not None and shape.ndims < rank:
        raise ValueError("Shape must be at least rank %d but is rank %d for %s (shape %s)"
                         % (rank, shape.ndims, what, shape))
    return shape


def _merge_dims(a, b, what):
    if a is not None and b is not None and a != b:
        raise ValueError("Dimensions must be equal, but are %d and %d for %s" % (a, b, what))
    return a if a is not None else b


def _compute_dtype(dtype):
    # float16 kernels accumulate in float32 (as TF's do), then cast back.
    return np.float32 if dtype == np.float16 else dtype


def _static_or_dynamic_shape(tensor):
    """`tensor`'s shape as a constant when fully known (no op needed at run time), else Shape."""
    if tensor.shape.is_fully_defined():
        return constant_op.constant(tensor.shape.as_list(), dtype=dtypes.int32)
    return array_ops.shape(tensor)


def _axis_alias(axis, dim, default):
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'")
    if axis is None:
        axis = dim
    return default if axis is None else axis


_DATA_FORMATS = ("NHWC", "NCHW")


def _check_data_format(data_format, op_type):
    if data_format not in _DATA_FORMATS:
        raise ValueError("%s: data_format must be 'NHWC' or 'NCHW', got %r"
                         % (op_type, data_format))


def _sizes_shape(sizes_tensor, what):
    shape = tensor_util.constant_value_as_shape(sizes_tensor)
    if shape.ndims is None:
        return unknown_shape(4)
    return _with_rank(shape, 4, what)


def _cast_like(t, like):
    return t if t.dtype == like.dtype else math_ops.cast(t, like.dtype)


# ---------------------------------------------------------------------------------------------
# Spatial geometry shared by convolution and pooling.

def _get_sequence(value, n, channel_index, name):
    """TF's expansion of int / n / n+2 element strides, ksize or dilations to n+2 elements."""
    if value is None:
        value = [1]
    elif isinstance(value, (numbers.Integral, np.integer)):
        value = [value]
    elif isinstance(value, Tensor):
        static = tensor_util.constant_value(value)
        if static is None:
            raise ValueError("%s must be known when the graph is built" % name)
        value = np.asarray(static).reshape(-1).tolist()
    value = [int(v) for v in value]
    if len(value) == n + 2:
        return value
    if len(value) == 1:
        value = value * n
    elif len(value) != n:
        raise ValueError("%s should be of length 1, %d or %d but was %d"
                         % (name, n, n + 2, len(value)))
    if channel_index == 1:
        return [1, 1] + value
    return [1] + value + [1]


def _spatial(values, data_format):
    """The (height, width) entries of a 4-element list in `data_format` order."""
    return (values[2], values[3]) if data_format == "NCHW" else (values[1], values[2])


def _to_nhwc_dims(dims, data_format):
    if data_format == "NCHW":
        return [dims[0], dims[2], dims[3], dims[1]]
    return list(dims)


def _from_nhwc_dims(dims, data_format):
    if data_format == "NCHW":
        return [dims[0], dims[3], dims[1], dims[2]]
    return list(dims)


def _output_size(size, ksize, stride, dilation, padding, pads, what):
    """(output size, pad before, pad after) along one spatial dim; None sizes stay None.

    SAME pads so that output = ceil(size / stride), the odd pixel going at the end (TF's
    rule); VALID does not pad; EXPLICIT uses `pads`.

    Raises:
      ValueError: if the (dilated) window does not fit the input.
    """
    effective = (ksize - 1) * dilation + 1
    if padding == "SAME":
        if size is None:
            return None, None, None
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        return out, total // 2, total - total // 2
    before, after = pads if padding == "EXPLICIT" else (0, 0)
    if size is None:
        return None, before, after
    padded = size + before + after
    if padded < effective:
        raise ValueError("Negative dimension size caused by subtracting %d from %d for the %s"
                         % (effective, padded, what))
    return (padded - effective) // stride + 1, before, after


def _normalize_padding(padding, op_type, allow_explicit):
    """("SAME"|"VALID"|"EXPLICIT", explicit_paddings as 8 ints or [])."""
    if isinstance(padding, (list, tuple)):
        if not allow_explicit:
            raise ValueError("Explicit padding is not supported by %s" % op_type)
        pairs = [list(p) for p in padding]
        if len(pairs) != 4 or any(len(p) != 2 for p in pairs):
            raise ValueError("When padding is a list, it must have 4 [before, after] pairs, "
                             "got %r for %s" % (padding, op_type))
        return "EXPLICIT", [int(v) for p in pairs for v in p]
    if isinstance(padding, bytes):
        padding = padding.decode()
    allowed = ("SAME", "VALID", "EXPLICIT") if allow_explicit else ("SAME", "VALID")
    if padding not in allowed or padding == "EXPLICIT":
        raise ValueError("Attr 'padding' of '%s' Op passed string %r not in: %s."
                         % (op_type, padding, ", ".join('"%s"' % a for a in allowed)))
    return padding, []


def _explicit_pairs(explicit_paddings, data_format):
    if not explicit_paddings:
        return (0, 0), (0, 0)
    pairs = [tuple(explicit_paddings[i:i + 2]) for i in range(0, 8, 2)]
    if data_format == "NCHW":
        return pairs[2], pairs[3]
    return pairs[1], pairs[2]


class _Geometry(collections.namedtuple(
        "_Geometry", "stride_h stride_w dilation_h dilation_w kernel_h kernel_w out_h out_w "
                     "pad_top pad_bottom pad_left pad_right")):
    """Everything a conv/pool kernel needs about the window walk, in NHWC terms."""

    def padded(self, x, value=0):
        pads = ((0, 0), (self.pad_top, self.pad_bottom), (self.pad_left, self.pad_right), (0, 0))
        if not any(p for pair in pads for p in pair):
            return x
        return np.pad(x, pads, constant_values=value)

    def crop(self, xp, height, width):
        return np.ascontiguousarray(xp[:, self.pad_top:self.pad_top + height,
                                       self.pad_left:self.pad_left + width, :])

    def offsets(self):
        """Yields (k, slice) for each window offset: the NHWC slice of the padded input that
        offset (kh, kw) of every window reads, k = kh * kernel_w + kw."""
        rows = max((self.out_h - 1) * self.stride_h + 1, 0)  # 0 for an empty output
        cols = max((self.out_w - 1) * self.stride_w + 1, 0)
        for kh in range(self.kernel_h):
            top = kh * self.dilation_h
            for kw in range(self.kernel_w):
                left = kw * self.dilation_w
                yield kh * self.kernel_w + kw, (slice(None), slice(top, top + rows, self.stride_h),
                                                slice(left, left + cols, self.stride_w),
                                                slice(None))


def _geometry(height, width, kernel_h, kernel_w, strides, dilations, padding,
              explicit_paddings, data_format, what):
    stride_h, stride_w = _spatial(strides, data_format)
    dilation_h, dilation_w = _spatial(dilations, data_format)
    pads_h, pads_w = _explicit_pairs(explicit_paddings, data_format)
    out_h, top, bottom = _output_size(height, kernel_h, stride_h, dilation_h, padding, pads_h,
                                      "height of " + what)
    out_w, left, right = _output_size(width, kernel_w, stride_w, dilation_w, padding, pads_w,
                                      "width of " + what)
    return _Geometry(stride_h, stride_w, dilation_h, dilation_w, kernel_h, kernel_w, out_h,
                     out_w, top, bottom, left, right)


def _to_nhwc(x, data_format):
    return x.transpose(0, 2, 3, 1) if data_format == "NCHW" else x


def _from_nhwc(x, data_format):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if data_format == "NCHW" else x


def _check_window_attrs(op_type, strides, dilations, data_format):
    """Checks TF makes when it builds the kernel, i.e. at run time (so: OpErrors)."""
    for name, values in (("strides", strides), ("dilations", dilations)):
        batch, channel = (values[0], values[1]) if data_format == "NCHW" else (values[0],
                                                                                values[3])
        if batch != 1 or channel != 1:
            raise errors.UnimplementedError(
                None, None, "%s: current implementation does not yet support %s in the batch "
                "and depth dimensions (got %s)" % (op_type, name, values))
        if min(values) < 1:
            raise errors.InvalidArgumentError(None, None, "%s: %s must be >= 1, got %s"
                                              % (op_type, name, values))


def _check_window_lists(op, names):
    data_format = op.get_attr("data_format")
    _check_data_format(data_format, op.type)
    for name in names:
        values = op.get_attr(name)
        if len(values) != 4:
            raise ValueError("%s: %s must have 4 elements, got %s" % (op.type, name, values))
        if any(v < 1 for v in values):
            raise ValueError("%s: %s must be positive, got %s" % (op.type, name, values))
    return data_format
