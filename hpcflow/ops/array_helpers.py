"""Helpers shared by the array op modules (array_*_ops.py): constant folding of index
inputs at graph-build time, argument checks with TF's messages, and op creation.

Index arguments (shapes, axes, begin/size, paddings...) are graph inputs as in TF, so their
values may be unknown when the graph is built: shape functions read them with `_const*`
and infer what they can.
"""
import builtins
import contextlib

import numpy as np

from ..framework import dtypes, errors, tensor_util
from ..framework.graph import Tensor, graph_for_inputs
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import Dimension, TensorShape, as_shape, unknown_shape
from .op_helpers import apply_op


_INDEX_DTYPES = (dtypes.int32, dtypes.int64)


# -- helpers ---------------------------------------------------------------------------------

def _invalid(message):
    """The error a kernel raises for a bad runtime value (the executor adds the op name)."""
    return errors.InvalidArgumentError(None, None, message)


# Shape-like values (int/bool, small) computed by other ops are folded while the graph is
# built, so `reshape(g, concat([expand_dims(size(i), 0), shape(p)[1:]], 0))` still gets a
# static shape (TF's shape inference evaluates such small constant subgraphs too).
_FOLD_MAX_ELEMENTS = 1000


def _const(t, depth=0, memo=None):
    """The build-time value of Tensor `t` as a numpy array, or None."""
    value = tensor_util.constant_value(t)
    if value is not None or not isinstance(t, Tensor) or depth > 32:
        return value
    op = t.op
    record = op._record
    if record is None or record.stateful or record.context or "numpy" not in record.kernels \
            or op.type in _NEVER_FOLD:
        return None
    if not (t.dtype.is_integer or t.dtype.is_bool) or not op.inputs:
        return None
    n = t.shape.num_elements()
    if n is None or n > _FOLD_MAX_ELEMENTS:
        return None
    memo = {} if memo is None else memo
    if t in memo:
        return memo[t]
    memo[t] = None
    args = []
    for x in op.inputs:
        if x.shape.num_elements() is None or x.shape.num_elements() > _FOLD_MAX_ELEMENTS:
            return None
        v = _const(x, depth + 1, memo)
        if v is None:
            return None
        args.append(v)
    try:
        result = record.kernels["numpy"](*args, **op.attrs)
    except Exception:  # noqa: BLE001 - a bad value is reported when the graph runs
        return None
    if len(op.outputs) > 1:
        result = result[t.value_index]
    memo[t] = np.asarray(result)
    return memo[t]


# Ops whose output is not a function of their inputs' values alone (they can be fed).
_NEVER_FOLD = frozenset(["PlaceholderWithDefault"])


def _const_as_shape(t):
    """A TensorShape from 1-D shape Tensor `t`: known entries where they can be inferred."""
    if t.op.type == "Shape":
        return t.op.inputs[0].shape
    value = _const(t)
    if value is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.asarray(value).reshape(-1)])
    if t.op.type == "Pack":
        dims = [_const_int(x) for x in t.op.inputs]
        return TensorShape([None if d is None or d < 0 else d for d in dims])
    if t.op.type == "ConcatV2":
        result = TensorShape([])
        for x in t.op.inputs[:-1]:
            part = _const_as_shape(x)
            if part.ndims is None:
                return unknown_shape(t.shape[0] if t.shape.ndims == 1 else None)
            result = result.concatenate(part)
        return result
    if t.op.type == "StridedSlice" and t.shape.ndims == 1:
        # shape(x)[a:b:c] with known bounds and no axis tricks: slice x's static dims.
        x, begin, end, strides = t.op.inputs
        masks = dict(zip(_MASK_ATTRS, _masks(t.op)))
        source = _const_as_shape(x)
        b, e, s = _const_ints(begin), _const_ints(end), _const_ints(strides)
        if source.ndims is not None and None not in (b, e, s) and len(s) == 1 and \
                not (masks["ellipsis_mask"] or masks["new_axis_mask"] or
                     masks["shrink_axis_mask"]):
            start = None if masks["begin_mask"] & 1 else b[0]
            stop = None if masks["end_mask"] & 1 else e[0]
            return TensorShape(list(source.as_tuple_or_none())[start:stop:s[0]])
    return tensor_util.constant_value_as_shape(t)


def _const_int(t):
    """The build-time value of scalar (or 1-element) Tensor `t` as an int, or None."""
    v = _const(t)
    if v is None:
        return None
    v = np.asarray(v)
    if v.size != 1:
        return None
    return int(v.reshape(-1)[0])


def _const_ints(t):
    """The build-time value of 1-D Tensor `t` as a list of ints, or None."""
    v = _const(t)
    if v is None:
        return None
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _dims(shape):
    """A TensorShape as a list of ints/None, or None for unknown rank."""
    shape = as_shape(shape)
    return None if shape.ndims is None else list(shape.as_tuple_or_none())


def _check_index_dtype(t, arg, op_name):
    if t.dtype not in _INDEX_DTYPES:
        raise TypeError("Value passed to parameter '%s' of %s has DataType %s not in list of "
                        "allowed values: int32, int64" % (arg, op_name, t.dtype.name))


def _check_rank(t, rank, arg, op_name):
    if t.shape.ndims is not None and t.shape.ndims != rank:
        raise ValueError("Shape must be rank %d but is rank %d for '%s' of %s (shape %s)"
                         % (rank, t.shape.ndims, arg, op_name, t.shape))


def _check_same_dtype(tensors, arg, op_name):
    types = [t.dtype for t in tensors]
    if any(d != types[0] for d in types):
        raise TypeError("Tensors in list passed to '%s' of '%s' Op have types [%s] that don't "
                        "all match." % (arg, op_name, ", ".join(d.name for d in types)))


def _index_input(value, arg, op_name, dtype=None):
    """Converts a shape/axis/index argument: Python ints become int32 (int64 when too big).

    Raises:
      TypeError: if the value is not integral (TF refuses float shapes and indices).
    """
    if isinstance(value, TensorShape):
        if not value.is_fully_defined():
            raise ValueError("Cannot convert a partially known TensorShape %s to a Tensor "
                             "(argument '%s' of %s)" % (value, arg, op_name))
        value = value.as_list()
    elif isinstance(value, Dimension):
        value = value.value
    elif isinstance(value, (list, tuple)) and not _contains_tensor(value):
        value = [v.value if isinstance(v, Dimension) else v for v in value]
    if dtype is not None:
        t = convert_to_tensor(value, dtype=dtype, name=arg)
    else:
        t = convert_to_tensor(value, preferred_dtype=dtypes.int32, name=arg)
    _check_index_dtype(t, arg, op_name)
    return t


def _contains_tensor(value):
    if isinstance(value, (list, tuple)):
        return builtins.any(_contains_tensor(v) for v in value)
    return is_tensor_like(value)


def _canonical_axis(axis, rank, op_name, arg="axis"):
    """`axis` in [-rank, rank) made non-negative.

    Raises:
      ValueError: naming the op when it is out of range.
    """
    if not -rank <= axis < rank:
        raise ValueError("%s: %s %d is out of range for a tensor of rank %d (expected in "
                         "[%d, %d))" % (op_name, arg, axis, rank, -rank, rank))
    return axis % rank if rank else axis


def _kernel_axis(axis, rank, op_name, arg="axis"):
    axis = int(np.asarray(axis).reshape(-1)[0]) if np.size(axis) == 1 else None
    if axis is None:
        raise _invalid("%s: %s must be a scalar" % (op_name, arg))
    if not -rank <= axis < rank:
        raise _invalid("%s: %s %d is out of range [%d, %d)" % (op_name, arg, axis, -rank, rank))
    return axis % rank if rank else axis


def _as_index_list(array, arg, op_name):
    array = np.asarray(array)
    if array.ndim != 1:
        raise _invalid("%s: %s must be 1-D, got shape %s" % (op_name, arg, list(array.shape)))
    return [int(v) for v in array]


def _shape_str(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


def _broadcast_dims(a, b, op_name):
    """Static NumPy broadcasting of two dim lists (None: unknown dim); None if rank unknown.

    Raises:
      ValueError: if two known dims differ and neither is 1.
    """
    if a is None or b is None:
        return None
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        elif x == y:
            out.append(x)
        else:
            raise ValueError("%s: incompatible shapes for broadcasting: %s and %s"
                             % (op_name, _shape_str(["?" if d is None else d for d in a]),
                                _shape_str(["?" if d is None else d for d in b])))
    return out


def _apply(op_type, inputs, attrs=None, name=None):
    """`op_helpers.apply_op` (which picks the function graph being built, if any)."""
    return apply_op(op_type, inputs, attrs, name=name)


def _math():
    # math_ops imports the array op modules, so gradients and composites import it when
    # they run.
    from . import math_ops
    return math_ops


def _same_shape(op):
    x = op.inputs[0]
    return [(x.shape, x.dtype)]


def _check_out_type(out_type, op_name):
    out_type = dtypes.as_dtype(out_type)
    if out_type not in _INDEX_DTYPES:
        raise TypeError("%s: out_type must be int32 or int64, got %s" % (op_name, out_type.name))
    return out_type


@contextlib.contextmanager
def _op_scope(name, default, values=()):
    """TF's `with name_scope(name, default, values) as scope`, on the graph of `values`.

    Inputs converted inside get names under the scope ("Reshape/shape"), and the op created
    with `name=scope` takes the scope's own name ("Reshape"), as TF's op wrappers do.
    """
    graph = graph_for_inputs(values)
    with graph.as_default(), graph.name_scope(name if name is not None else default) as scope:
        yield scope


_MASK_ATTRS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _masks(op):
    return [op.get_attr(a) for a in _MASK_ATTRS]
