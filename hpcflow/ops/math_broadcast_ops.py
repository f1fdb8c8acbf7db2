"""Broadcasting: static broadcast shapes, BroadcastGradientArgs, and reducing a broadcast
operand's gradient back to its shape (TF1 `math_ops`)."""
import builtins
import warnings

import numpy as np

from ..framework import errors, registry, sharding
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape, unknown_shape
from .math_helpers import _INDEX, _apply, _array_ops, _check_dtype, _op_scope, _shape_text

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))


# ---------------------------------------------------------------------------------------------
# Broadcasting.

def broadcast_static_shape(shape_x, shape_y):
    """The static shape of broadcasting `shape_x` against `shape_y` (NumPy rules).

    Unknown dims stay unknown unless the other side decides them (a known dim > 1).

    Raises:
      ValueError: if two known dims differ and neither is 1.
    """
    shape_x, shape_y = TensorShape(shape_x), TensorShape(shape_y)
    if shape_x.ndims is None or shape_y.ndims is None:
        return unknown_shape()
    a, b = list(shape_x), list(shape_y)
    n = builtins.max(len(a), len(b))
    a = [1] * (n - len(a)) + a
    b = [1] * (n - len(b)) + b
    dims = []
    for da, db in zip(a, b):
        if da is None:
            dims.append(None if db is None or db == 1 else db)
        elif db is None:
            dims.append(None if da == 1 else da)
        elif da == db or db == 1:
            dims.append(da)
        elif da == 1:
            dims.append(db)
        else:
            raise ValueError("Dimensions must be equal, but are %d and %d" % (da, db))
    return TensorShape(dims)


def _incompatible(x, y):
    return errors.InvalidArgumentError(None, None, "Incompatible shapes: %s vs. %s"
                                       % (_shape_text(np.shape(x)), _shape_text(np.shape(y))))


def _broadcast_gradient_args_shape(op):
    s0, s1 = op.inputs
    for t, param in ((s0, "s0"), (s1, "s1")):
        _check_dtype(t, _INDEX, param)
        t.shape.assert_has_rank(1)
    return [(unknown_shape(1), s0.dtype), (unknown_shape(1), s0.dtype)]


def _broadcast_gradient_args_kernel(s0, s1):
    a, b = [int(d) for d in s0], [int(d) for d in s1]
    n = builtins.max(len(a), len(b))
    pa, pb = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    r0, r1 = [], []
    for i, (da, db) in enumerate(zip(pa, pb)):
        if da == db:
            continue
        if da == 1:
            r0.append(i)
        elif db == 1:
            r1.append(i)
        else:
            raise errors.InvalidArgumentError(None, None, "Incompatible shapes: %s vs. %s"
                                              % (_shape_text(a), _shape_text(b)))
    return np.array(r0, dtype=s0.dtype), np.array(r1, dtype=s0.dtype)


registry.register_op("BroadcastGradientArgs", shape=_broadcast_gradient_args_shape,
                     numpy=_broadcast_gradient_args_kernel, sharding=sharding.GATHER)
registry.not_differentiable("BroadcastGradientArgs")


def broadcast_gradient_args(s0, s1, name=None):
    """The axes to sum a broadcast result's gradient over, for each operand shape.

    Args:
      s0: 1-D int32/int64 Tensor, the shape of the first operand.
      s1: 1-D Tensor of the same dtype, the shape of the second operand.
      name: optional op name.

    Returns:
      (r0, r1): 1-D Tensors of axes of the broadcast shape to reduce for each operand.

    Raises:
      InvalidArgumentError: at run time, if the shapes do not broadcast.
    """
    with _op_scope(name, "BroadcastGradientArgs", [s0, s1]) as scope:
        s0 = convert_to_tensor(s0, name="s0")
        s1 = convert_to_tensor(s1, dtype=s0.dtype, name="s1")
        r0, r1 = _apply("BroadcastGradientArgs", [s0, s1], name=scope)
    return r0, r1


def _reduce_axes_static(x_shape, g_shape, other_shape=None):
    """Static reduction plan for summing a gradient of shape `g_shape` down to `x_shape`.

    Returns (leading, ones): `leading` leading axes of g that x lacks, and the axes where
    x's dim is 1 (summed with keepdims); or None when x's broadcast cannot be decided from
    static shapes (then the caller reduces with a BroadcastGradientArgs op at run time).
    `other_shape`, the other operand's shape for a binary op, helps decide unknown dims:
    where the other operand lacks a dim or has it as 1, x is not broadcast along it.
    """
    if x_shape.ndims is None or g_shape.ndims is None:
        return None
    xl, gl = list(x_shape), list(g_shape)
    leading = len(gl) - len(xl)
    if leading < 0:
        return None
    if other_shape is not None and other_shape.ndims is not None:
        ol = list(other_shape)
        ol = [None] * builtins.max(0, len(gl) - len(ol)) + ol  # aligned to g; None = unknown
        o_rank_offset = len(gl) - len(list(other_shape))
    else:
        ol, o_rank_offset = None, None
    ones = []
    for i, dx in enumerate(xl):
        j = leading + i
        dg = gl[j]
        if dx == 1:
            if dg != 1:
                ones.append(j)  # summing a size-1 axis is harmless even if g's dim is 1 too
            continue
        if dx is not None:
            continue  # a known dim > 1 is never broadcast
        if dg == 1:
            continue  # x's dim must be 1 as well
        # x's dim is unknown: it is not broadcast if the other operand does not have it or
        # has it as 1 (then g's dim *is* x's dim).
        if ol is not None and (j < o_rank_offset or ol[j] == 1):
            continue
        return None
    return leading, ones


def _reduce_to_shape(grad, x, other=None):
    """Sums `grad`, the gradient of a broadcast result, back to the shape of Tensor `x`.

    Uses static shapes when they decide the broadcast axes (no extra ops when nothing was
    broadcast), else a BroadcastGradientArgs op on the run-time shapes. Every gradient of
    an op that broadcasts its inputs uses it.

    Args:
      grad: the gradient Tensor (shape: the broadcast of x with something), or None.
      x: the input Tensor whose gradient this is.
      other: optional, the other operand of a binary op; its static shape helps decide.

    Returns:
      A Tensor with x's shape, or None if grad is None.
    """
    if grad is None:
        return None
    plan = _reduce_axes_static(x.shape, grad.shape, None if other is None else other.shape)
    if plan is not None:
        leading, ones = plan
        if not leading and not ones:
            return grad
        if leading and not ones and x.shape.is_fully_defined():
            return reduce_sum(grad, list(builtins.range(leading)))
        out = reduce_sum(grad, list(builtins.range(leading)) + ones, keepdims=True)
        if leading:
            out = _array_ops().squeeze(out, list(builtins.range(leading)))
        return out
    array_ops = _array_ops()
    x_shape = array_ops.shape(x)
    reduce_x, _ = broadcast_gradient_args(x_shape, array_ops.shape(grad))
    return array_ops.reshape(reduce_sum(grad, reduce_x), x_shape)


# Ops of the other math modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .math_reduction_ops import reduce_sum  # noqa: E402
