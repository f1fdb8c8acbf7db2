"""Array ops that select elements by a condition or by value: Where, Select, SelectV2,
boolean_mask, Unique (TF1 `array_ops`)."""
import collections

import numpy as np

from ..framework import dtypes, registry, sharding, sharding_rules
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape, unknown_shape
from .array_helpers import (
    _apply, _broadcast_dims, _check_out_type, _check_rank, _dims, _invalid, _math, _op_scope,
    _shape_str)
from .op_helpers import as_tensor


# -- Where, Select, SelectV2 -------------------------------------------------------------------

def _where_shape(op):
    cond = op.inputs[0]
    return [(TensorShape([None, cond.shape.ndims]), dtypes.int64)]


def _where_kernel(condition):
    return np.argwhere(np.asarray(condition)).astype(np.int64)


def _select_shape(op):
    cond, x, y = op.inputs
    if cond.dtype != dtypes.bool:
        raise TypeError("Select: condition must be bool, got %s" % cond.dtype.name)
    if x.dtype != y.dtype:
        raise TypeError("Select: x (%s) and y (%s) must have the same dtype"
                        % (x.dtype.name, y.dtype.name))
    try:
        data = x.shape.merge_with(y.shape)
    except ValueError:
        raise ValueError("Select: x and y must have the same shape, got %s and %s"
                         % (x.shape, y.shape)) from None
    c = _dims(cond.shape)
    d = _dims(data)
    if c is None or d is None:
        return [(data, x.dtype)]
    if len(c) == 0:
        return [(data, x.dtype)]
    if len(c) == 1 and len(d) > 1:
        if c[0] is not None and d[0] is not None and c[0] != d[0]:
            raise ValueError("Select: condition of length %d must match the first dim of x "
                             "(shape %s)" % (c[0], data))
        if d[0] is None and c[0] is not None:
            data = TensorShape([c[0]] + d[1:])
        return [(data, x.dtype)]
    try:
        return [(data.merge_with(cond.shape), x.dtype)]
    except ValueError:
        raise ValueError("Select: condition (shape %s) must be a scalar, a vector matching "
                         "the first dim of x, or have x's shape %s" % (cond.shape, data)) \
            from None


def _select_kernel(condition, x, y):
    condition, x, y = np.asarray(condition), np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        raise _invalid("'then' and 'else' must have the same size.  but received: %s vs. %s"
                       % (_shape_str(x.shape), _shape_str(y.shape)))
    if condition.ndim == 0:
        return (x if condition else y).copy()
    if condition.ndim == 1 and x.ndim > 1:
        if condition.shape[0] != x.shape[0]:
            raise _invalid("Number of batches of 'then' must match size of 'cond', but saw: %d "
                           "vs. %d" % (x.shape[0], condition.shape[0]))
        condition = condition.reshape(condition.shape + (1,) * (x.ndim - 1))
    elif condition.shape != x.shape:
        raise _invalid("'cond' and 'then' must have the same shape (or cond a scalar or a "
                       "vector over the first dim): %s vs. %s" % (_shape_str(condition.shape),
                                                                  _shape_str(x.shape)))
    return np.where(condition, x, y)


def _select_grad(op, grad):
    cond = op.inputs[0]
    zeros = zeros_like(op.inputs[1])
    return [None, where(cond, grad, zeros), where(cond, zeros, grad)]


def _select_v2_shape(op):
    cond, x, y = op.inputs
    if cond.dtype != dtypes.bool:
        raise TypeError("SelectV2: condition must be bool, got %s" % cond.dtype.name)
    if x.dtype != y.dtype:
        raise TypeError("SelectV2: x (%s) and y (%s) must have the same dtype"
                        % (x.dtype.name, y.dtype.name))
    dims = _broadcast_dims(_dims(cond.shape), _dims(x.shape), "SelectV2")
    dims = _broadcast_dims(dims, _dims(y.shape), "SelectV2")
    return [(unknown_shape() if dims is None else TensorShape(dims), x.dtype)]


def _select_v2_kernel(condition, x, y):
    try:
        out_shape = np.broadcast_shapes(np.shape(condition), np.shape(x), np.shape(y))
    except ValueError:
        raise _invalid("condition, then and else must be broadcastable: %s, %s, %s"
                       % (_shape_str(np.shape(condition)), _shape_str(np.shape(x)),
                          _shape_str(np.shape(y)))) from None
    return np.asarray(np.where(condition, x, y), dtype=np.asarray(x).dtype).reshape(out_shape)


def _select_v2_grad(op, grad):
    cond, x, y = op.inputs
    zeros = zeros_like(grad)
    math_ops = _math()
    x_grad = math_ops._reduce_to_shape(where_v2(cond, grad, zeros), x)
    y_grad = math_ops._reduce_to_shape(where_v2(cond, zeros, grad), y)
    return [None, x_grad, y_grad]


registry.register_op("Where", shape=_where_shape, numpy=_where_kernel,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.select))
registry.not_differentiable("Where")
registry.register_op("Select", shape=_select_shape, numpy=_select_kernel,
                     gradient=_select_grad,
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.select))
registry.register_op("SelectV2", shape=_select_v2_shape, numpy=_select_v2_kernel,
                     gradient=_select_v2_grad,
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.select))


def where(condition, x=None, y=None, name=None):
    """TF1 `tf.where`: coordinates of True entries, or an element-wise select.

    With only `condition`: an int64 [num_true, rank] Tensor of the coordinates where
    `condition` is true (non-zero), in row-major order. With `x` and `y`: elements of `x`
    where `condition` is true, else of `y`; `x` and `y` have the same shape, and
    `condition` is a scalar, has their shape, or is a vector matching their first dim.

    Args:
      condition: a bool Tensor.
      x, y: Tensors of the same dtype and shape (both or neither).
      name: a name for the operation (default "Where" / "Select").

    Returns:
      A Tensor.

    Raises:
      ValueError: if only one of x and y is given, or the shapes do not fit.
    """
    if x is None and y is None:
        with _op_scope(name, "Where", [condition]) as scope:
            condition = convert_to_tensor(condition, preferred_dtype=dtypes.bool,
                                          name="condition")
            return _apply("Where", [condition], name=scope)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    from ..framework.tensor_conversion import convert_binary_operands
    with _op_scope(name, "Select", [condition, x, y]) as scope:
        condition = convert_to_tensor(condition, preferred_dtype=dtypes.bool, name="condition")
        x, y = convert_binary_operands(x, y, "Select")
        return _apply("Select", [condition, x, y], name=scope)


def where_v2(condition, x=None, y=None, name=None):
    """TF2-style `where`: like `where`, but `condition`, `x` and `y` broadcast together.

    Raises:
      ValueError: if only one of x and y is given, or the shapes do not broadcast.
    """
    if x is None and y is None:
        return where(condition, name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    from ..framework.tensor_conversion import convert_binary_operands
    with _op_scope(name, "SelectV2", [condition, x, y]) as scope:
        condition = convert_to_tensor(condition, preferred_dtype=dtypes.bool, name="condition")
        x, y = convert_binary_operands(x, y, "SelectV2")
        return _apply("SelectV2", [condition, x, y], name=scope)


# -- boolean_mask ------------------------------------------------------------------------------

def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """Keeps the entries of `tensor` where the boolean `mask` is True.

    With `mask` of rank K matching `tensor.shape[axis:axis+K]`, those K dims are flattened
    and replaced by the number of True values.

    Args:
      tensor: a Tensor.
      mask: a boolean Tensor of known rank K >= 1.
      name: a name for the operation (default "boolean_mask").
      axis: the first dimension of `tensor` the mask applies to (default 0).

    Returns:
      A Tensor of rank `rank(tensor) - K + 1`.

    Raises:
      ValueError: if the mask's rank is unknown or 0, or its shape does not match.
    """
    with _op_scope(name, "boolean_mask", [tensor, mask]):
        tensor = as_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask", preferred_dtype=dtypes.bool)
        if mask.dtype != dtypes.bool:
            raise TypeError("boolean_mask: mask must be bool, got %s" % mask.dtype.name)
        mask_dims = _dims(mask.shape)
        if mask_dims is None:
            raise ValueError("Number of mask dimensions must be specified, even if some "
                             "dimensions are None.  E.g. shape=[None] is ok, but shape=None "
                             "is not.")
        k = len(mask_dims)
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        axis = 0 if axis is None else int(axis)
        t_shape = tensor.shape
        if t_shape.ndims is not None:
            axis = axis % t_shape.ndims if axis < 0 else axis
            if axis + k > t_shape.ndims:
                raise ValueError("boolean_mask: mask of rank %d at axis %d does not fit a "
                                 "tensor of rank %d" % (k, axis, t_shape.ndims))
            part = t_shape[axis:axis + k]
            if not part.is_compatible_with(mask.shape):
                raise ValueError("Shapes %s and %s are incompatible" % (part, mask.shape))
        full = shape(tensor)
        # The mask's element count is the product of the dims it covers.
        leading = reshape(size(mask), [1])
        tensor = reshape(tensor, concat([full[:axis], leading, full[axis + k:]], 0))
        if t_shape.ndims is not None:
            covered = t_shape[axis:axis + k].merge_with(mask.shape).num_elements()
            tensor.set_shape(t_shape[:axis].concatenate([covered])
                             .concatenate(t_shape[axis + k:]))
        mask = reshape(mask, [-1])
        indices = squeeze(where(mask), axis=[1])
        return gather(tensor, indices, axis=axis)


# -- Unique -----------------------------------------------------------------------------------

UniqueOutput = collections.namedtuple("Unique", ["y", "idx"])


def _unique_shape(op):
    x = op.inputs[0]
    _check_rank(x, 1, "x", "Unique")
    return [(TensorShape([None]), x.dtype), (x.shape.with_rank(1),
                                             dtypes.as_dtype(op.get_attr("out_idx")))]


def _unique_kernel(x, *, out_idx):
    x = np.asarray(x)
    if x.ndim != 1:
        raise _invalid("unique expects a 1D vector.")
    order = {}
    idx = np.empty(x.shape, dtype=dtypes.as_dtype(out_idx).np_dtype)
    values = []
    for i, v in enumerate(x.tolist()):
        j = order.get(v)
        if j is None:
            j = order[v] = len(values)
            values.append(x[i])
        idx[i] = j
    return np.array(values, dtype=x.dtype).reshape(-1), idx


registry.register_op("Unique", shape=_unique_shape, numpy=_unique_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("Unique")


def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of 1-D `x` in order of first appearance, and each element's index.

    Returns:
      A namedtuple `(y, idx)` with `x == gather(y, idx)`.
    """
    out_idx = _check_out_type(out_idx, "Unique")
    with _op_scope(name, "Unique", [x]) as scope:
        x = as_tensor(x, name="x")
        y, idx = _apply("Unique", [x], {"out_idx": out_idx.name}, name=scope)
    return UniqueOutput(y, idx)


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_creation_ops import zeros_like  # noqa: E402
from .array_gather_ops import gather  # noqa: E402
from .array_join_ops import concat  # noqa: E402
from .array_shape_ops import reshape, shape, size, squeeze  # noqa: E402
