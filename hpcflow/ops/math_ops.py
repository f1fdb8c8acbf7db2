"""TF1 math ops: element-wise arithmetic, comparisons, casts, reductions, matmul, operators.

Every op is one registry record (shape function, numpy kernel, gradient, sharding rule) next
to its TF1-named wrapper. Wrappers reproduce TF1's default op names and name scopes: `tf.add`
makes op "Add" (type AddV2), `a + b` makes "add", `a / b` makes "truediv", and Python
operands are converted inside the op's scope ("add/y"). Importing this module installs the
arithmetic, comparison and logical operators on `Tensor`.

Complex dtypes are refused (TypeError at build time) rather than half supported: TF's
complex gradients need conjugation rules that these gradients do not implement.
"""
import builtins
import contextlib
import math
import numbers
import warnings

import numpy as np

from ..framework import dtypes, errors, registry, sharding, tensor_util
from ..framework.graph import Tensor, graph_for_inputs
from ..framework.tensor_conversion import (convert_binary_operands, convert_to_tensor,
                                           is_tensor_like)
from ..framework.tensor_shape import TensorShape, unknown_shape
from .op_helpers import apply_op

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))

# ---------------------------------------------------------------------------------------------
# Dtype groups, as in TF's op definitions (bfloat16 and complex types are not supported here).

_FLOATS = (dtypes.float16, dtypes.float32, dtypes.float64)
_SIGNED = (dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64)
_UNSIGNED = (dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64)
_INTS = _SIGNED + _UNSIGNED
_REALS = _FLOATS + _INTS
_SIGNED_REALS = _FLOATS + _SIGNED
_INDEX = (dtypes.int32, dtypes.int64)
_BOOL = (dtypes.bool,)


def _array_ops():
    # array_ops imports this module (for its own gradients); import it when first needed.
    from . import array_ops
    return array_ops


def _check_dtype(tensor, allowed, param="x"):
    if tensor.dtype not in allowed:
        raise TypeError("Value passed to parameter '%s' has DataType %s not in list of allowed "
                        "values: %s" % (param, tensor.dtype.name,
                                        ", ".join(d.name for d in allowed)))


def _check_same_dtype(op, names=("x", "y")):
    x, y = op.inputs[0], op.inputs[1]
    if x.dtype != y.dtype:
        raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                        "argument '%s'." % (names[1], op.type, y.dtype.name, x.dtype.name,
                                            names[0]))


@contextlib.contextmanager
def _op_scope(name, default_name, values):
    """TF's `with ops.name_scope(name, default_name, values) as scope`, on the values' graph.

    Python operands converted inside get names under the scope ("Add/y"), and an op created
    with `name=scope` (ending in '/') takes exactly the scope's name, as TF's gen ops do.
    """
    graph = graph_for_inputs(values)
    with graph.as_default(), graph.name_scope(name if name is not None else default_name) as s:
        yield s


def _apply(op_type, inputs, attrs=None, name=None):
    """`apply_op` for an op named exactly by its scope (`name` = "scope/"), as TF's gen ops."""
    return apply_op(op_type, inputs, attrs, name=name)


def _dense_grad(fn):
    """`fn` receiving dense output gradients: an IndexedSlices (from a gather) is densified.

    Non-callables (registry.NOT_DIFFERENTIABLE) are returned unchanged.
    """
    if not callable(fn):
        return fn

    def grad_fn(op, *grads):
        return fn(op, *[g if g is None or isinstance(g, Tensor) else convert_to_tensor(g)
                        for g in grads])
    grad_fn.__name__ = getattr(fn, "__name__", "grad_fn")
    return grad_fn


def _shape_text(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


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


# ---------------------------------------------------------------------------------------------
# Element-wise binary ops.

def _binary_shape(allowed, out_dtype=None):
    def shape_fn(op):
        _check_same_dtype(op)
        x, y = op.inputs
        _check_dtype(x, allowed)
        return [(broadcast_static_shape(x.shape, y.shape), out_dtype or x.dtype)]
    return shape_fn


def _binary_kernel(fn, int_divisor=False):
    """A numpy kernel for a broadcasting binary op; TF's errors for bad shapes and x/0 ints."""
    def kernel(x, y):
        if int_divisor and x.dtype.kind in "iu" and not np.all(y):
            raise errors.InvalidArgumentError(None, None, "Integer division by zero")
        try:
            return fn(x, y)
        except ValueError:
            if np.shape(x) != np.shape(y):
                try:
                    np.broadcast_shapes(np.shape(x), np.shape(y))
                except ValueError:
                    raise _incompatible(x, y) from None
            raise
    return kernel


def _floor_div(x, y):
    if x.dtype.kind in "iu":
        return np.floor_divide(x, y)
    return np.floor(np.true_divide(x, y))


def _truncate_div(x, y):
    if x.dtype.kind in "iu":
        q = np.floor_divide(x, y)
        # floor rounds toward -inf; truncation toward zero adds 1 where signs differ.
        fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
        return (q + fix.astype(q.dtype)).astype(x.dtype, copy=False)
    return np.trunc(np.true_divide(x, y))


def _pow(x, y):
    if x.dtype.kind in "iu" and np.any(y < 0):
        raise errors.InvalidArgumentError(
            None, None, "Integers to negative integer powers are not allowed")
    return np.power(x, y)


def _div_no_nan(x, y):
    out = np.true_divide(x, np.where(y == 0, np.ones_like(y), y))
    return np.where(np.broadcast_to(y == 0, np.shape(out)), np.zeros_like(out), out)


def _add_grad(op, grad):
    x, y = op.inputs
    return [_reduce_to_shape(grad, x, y), _reduce_to_shape(grad, y, x)]


def _sub_grad(op, grad):
    x, y = op.inputs
    return [_reduce_to_shape(grad, x, y), _reduce_to_shape(negative(grad), y, x)]


def _mul_grad(op, grad):
    x, y = op.inputs
    return [_reduce_to_shape(multiply(grad, y), x, y), _reduce_to_shape(multiply(x, grad), y, x)]


def _real_div_grad(op, grad):
    x, y = op.inputs
    gx = realdiv(grad, y)
    gy = multiply(grad, realdiv(realdiv(negative(x), y), y))
    return [_reduce_to_shape(gx, x, y), _reduce_to_shape(gy, y, x)]


def _div_no_nan_grad(op, grad):
    x, y = op.inputs
    gx = div_no_nan(grad, y)
    gy = multiply(grad, div_no_nan(div_no_nan(negative(x), y), y))
    return [_reduce_to_shape(gx, x, y), _reduce_to_shape(gy, y, x)]


def _no_gradient_2(op, grad):
    # Piecewise constant in both inputs (FloorDiv, TruncateDiv): TF returns None, None.
    return [None, None]


def _floor_mod_grad(op, grad):
    x, y = op.inputs
    gy = multiply(negative(grad), floordiv(x, y))
    return [_reduce_to_shape(grad, x, y), _reduce_to_shape(gy, y, x)]


def _truncate_mod_grad(op, grad):
    x, y = op.inputs
    gy = multiply(negative(grad), truncatediv(x, y))
    return [_reduce_to_shape(grad, x, y), _reduce_to_shape(gy, y, x)]


def _pow_grad(op, grad):
    x, y = op.inputs
    z = op.outputs[0]
    if not x.dtype.is_floating:
        return [None, None]
    gx = multiply(multiply(grad, y), pow(x, subtract(y, 1)))
    # d(x^y)/dy = z * log(x), taken as 0 where x <= 0 (as TF) to keep it finite.
    array_ops = _array_ops()
    mask = greater(x, 0)
    safe_x = array_ops.where(mask, x, array_ops.ones_like(x))
    log_x = array_ops.where(mask, log(safe_x), array_ops.zeros_like(x))
    gy = multiply(multiply(grad, z), log_x)
    return [_reduce_to_shape(gx, x, y), _reduce_to_shape(gy, y, x)]


def _maximum_minimum_grad(selector):
    def grad_fn(op, grad):
        x, y = op.inputs
        array_ops = _array_ops()
        xmask = selector(x, y)  # shaped like the output, hence like grad
        zeros = array_ops.zeros_like(grad)
        gx = array_ops.where(xmask, grad, zeros)
        gy = array_ops.where(xmask, zeros, grad)
        return [_reduce_to_shape(gx, x, y), _reduce_to_shape(gy, y, x)]
    return grad_fn


def _squared_difference_grad(op, grad):
    x, y = op.inputs
    gx = multiply(multiply(grad, 2), subtract(x, y))
    return [_reduce_to_shape(gx, x, y), _reduce_to_shape(negative(gx), y, x)]


def _atan2_grad(op, grad):
    y, x = op.inputs
    grad_inv = realdiv(grad, add(square(x), square(y)))
    return [_reduce_to_shape(multiply(x, grad_inv), y, x),
            _reduce_to_shape(multiply(negative(y), grad_inv), x, y)]


_NUMERIC_STRING = _REALS + (dtypes.string,)

# op type: (allowed dtypes, numpy function, integer-divisor check, gradient)
_BINARY_OPS = {
    "AddV2": (_REALS, np.add, False, _add_grad),
    "Add": (_NUMERIC_STRING, np.add, False, _add_grad),
    "Sub": (_REALS, np.subtract, False, _sub_grad),
    "Mul": (_REALS, np.multiply, False, _mul_grad),
    "RealDiv": (_FLOATS, np.true_divide, False, _real_div_grad),
    "DivNoNan": (_FLOATS, _div_no_nan, False, _div_no_nan_grad),
    "FloorDiv": (_REALS, _floor_div, True, _no_gradient_2),
    "TruncateDiv": (_REALS, _truncate_div, True, _no_gradient_2),
    "FloorMod": (_REALS, np.remainder, True, _floor_mod_grad),
    "TruncateMod": (_REALS, np.fmod, True, _truncate_mod_grad),
    "Pow": (_SIGNED_REALS, _pow, False, _pow_grad),
    # Ties send the gradient to x (greater_equal / less_equal), as TF.
    "Maximum": (_REALS, np.maximum, False,
                _maximum_minimum_grad(lambda x, y: greater_equal(x, y))),
    "Minimum": (_REALS, np.minimum, False,
                _maximum_minimum_grad(lambda x, y: less_equal(x, y))),
    "SquaredDifference": (_FLOATS + _INDEX, lambda x, y: np.square(np.subtract(x, y)),
                          False, _squared_difference_grad),
    "Atan2": (_FLOATS, np.arctan2, False, _atan2_grad),
}

for _op_type, (_allowed, _fn, _int_div, _grad) in _BINARY_OPS.items():
    registry.register_op(_op_type, shape=_binary_shape(_allowed),
                         numpy=_binary_kernel(_fn, _int_div),
                         gradient=_dense_grad(_grad), sharding=sharding.ELEMENTWISE)

# op type: (allowed dtypes, numpy function)
_COMPARISON_OPS = {
    "Less": (_REALS, np.less),
    "LessEqual": (_REALS, np.less_equal),
    "Greater": (_REALS, np.greater),
    "GreaterEqual": (_REALS, np.greater_equal),
    "Equal": (_REALS + (dtypes.bool, dtypes.string), np.equal),
    "NotEqual": (_REALS + (dtypes.bool, dtypes.string), np.not_equal),
    "LogicalAnd": (_BOOL, np.logical_and),
    "LogicalOr": (_BOOL, np.logical_or),
}


def _equality_kernel(fn):
    base = _binary_kernel(fn)

    def kernel(x, y, *, incompatible_shape_error=True):
        out = base(x, y)
        # Object (string) arrays compare to object arrays in some numpy versions.
        return out if out.dtype == np.bool_ else np.asarray(out, dtype=np.bool_)
    return kernel


for _op_type, (_allowed, _fn) in _COMPARISON_OPS.items():
    _kernel = (_equality_kernel(_fn) if _op_type in ("Equal", "NotEqual")
               else _binary_kernel(_fn))
    registry.register_op(_op_type, shape=_binary_shape(_allowed, dtypes.bool), numpy=_kernel,
                         sharding=sharding.ELEMENTWISE)
registry.not_differentiable(*_COMPARISON_OPS)


_BINARY_DOC = """%s (op "%s").

    Broadcasts x and y with NumPy's rules.

    Args:
      x: a Tensor, or a Python/numpy value (converted to y's dtype if y is a Tensor).
      y: a Tensor of x's dtype, or a value converted to x's dtype.
      name: optional op name.

    Returns:
      A Tensor of the broadcast shape and %s.

    Raises:
      TypeError: if x and y are Tensors of different dtypes, or the dtype is not supported.
      ValueError: if the static shapes do not broadcast.
      InvalidArgumentError: at run time, if the shapes do not broadcast%s.
    """
_INT_DIV = " or an integer divisor is 0"


def _binary_doc(summary, op_type, returns="x's dtype", errors_extra=""):
    """Decorator giving a binary wrapper the shared TF1-style docstring."""
    def decorate(fn):
        fn.__doc__ = _BINARY_DOC % (summary, op_type, returns, errors_extra)
        return fn
    return decorate


def _binary(op_type, x, y, name, default_name=None, attrs=None):
    with _op_scope(name, default_name or op_type, [x, y]) as scope:
        x, y = convert_binary_operands(x, y, op_type)
        return _apply(op_type, [x, y], attrs, name=scope)


def add(x, y, name=None):
    """Returns x + y element-wise, with NumPy broadcasting (op "Add", type AddV2).

    Args:
      x: a Tensor (numeric or string) or a value convertible to one.
      y: a Tensor of the same dtype, or a value converted to x's dtype.
      name: optional op name.

    Returns:
      A Tensor of x's dtype and the broadcast shape.

    Raises:
      TypeError: if x and y are Tensors of different dtypes or the dtype is not supported.
      ValueError: if the static shapes do not broadcast.
    """
    with _op_scope(name, "Add", [x, y]) as scope:
        x, y = convert_binary_operands(x, y, "AddV2")
        op_type = "Add" if x.dtype == dtypes.string else "AddV2"
        return _apply(op_type, [x, y], name=scope)


@_binary_doc("Returns x - y element-wise", "Sub")
def subtract(x, y, name=None):
    return _binary("Sub", x, y, name)


@_binary_doc("Returns x * y element-wise", "Mul")
def multiply(x, y, name=None):
    return _binary("Mul", x, y, name)


@_binary_doc("Returns x / y element-wise for floating-point x and y", "RealDiv")
def realdiv(x, y, name=None):
    return _binary("RealDiv", x, y, name)


# TF's `__truediv__` table: small ints divide in float32, large ones in float64.
_TRUEDIV_TABLE = {
    dtypes.uint8: dtypes.float32, dtypes.int8: dtypes.float32,
    dtypes.uint16: dtypes.float32, dtypes.int16: dtypes.float32,
    dtypes.uint32: dtypes.float64, dtypes.int32: dtypes.float64,
    dtypes.uint64: dtypes.float64, dtypes.int64: dtypes.float64,
    dtypes.float16: None, dtypes.float32: None, dtypes.float64: None,
}


def truediv(x, y, name=None):
    """Divides x / y element-wise using Python 3 semantics (op "truediv", type RealDiv).

    Integer operands are cast first: int8/int16/uint8/uint16 to float32, int32/int64/
    uint32/uint64 to float64, as TF.

    Args:
      x: a numeric Tensor or convertible value.
      y: a Tensor of the same dtype, or a value converted to x's dtype.
      name: optional op name.

    Returns:
      A floating-point Tensor.

    Raises:
      TypeError: if the dtypes differ or are not numeric.
    """
    with _op_scope(name, "truediv", [x, y]) as scope:
        x, y = convert_binary_operands(x, y, "RealDiv")
        try:
            dtype = _TRUEDIV_TABLE[x.dtype]
        except KeyError:
            raise TypeError("Invalid dtype %s in __truediv__ (tensor %s)"
                            % (x.dtype.name, x.name)) from None
        if dtype is not None:
            x = cast(x, dtype)
            y = cast(y, dtype)
        return _apply("RealDiv", [x, y], name=scope)


def divide(x, y, name=None):
    """Computes Python-style division x / y (TF1 `tf.divide`: the `/` operator)."""
    if name is not None:
        return truediv(x, y, name=name)
    if not is_tensor_like(x):
        x = convert_to_tensor(x, dtype=y.dtype if isinstance(y, Tensor) else None, name="x")
    return _operator_call(truediv, "truediv", x, y)


def div(x, y, name=None):
    """TF1 `tf.div` (Python 2 division): real division for floats, floor division for ints.

    Raises:
      TypeError: if x and y have different dtypes.
    """
    with _op_scope(name, "div", [x, y]) as scope:
        x, y = convert_binary_operands(x, y, "Div")
        op_type = "RealDiv" if x.dtype.is_floating else "FloorDiv"
        return _apply(op_type, [x, y], name=scope)


@_binary_doc("Divides x / y rounding toward the most negative integer", "FloorDiv",
             "x's dtype", _INT_DIV)
def floordiv(x, y, name=None):
    with _op_scope(name, "floordiv", [x, y]) as scope:
        return _binary("FloorDiv", x, y, scope)


@_binary_doc("Element-wise remainder of floor division: the result has y's sign", "FloorMod",
             "x's dtype", _INT_DIV)
def floormod(x, y, name=None):
    return _binary("FloorMod", x, y, name)


mod = floormod


@_binary_doc("Element-wise division rounding toward zero, as C", "TruncateDiv",
             "x's dtype", _INT_DIV)
def truncatediv(x, y, name=None):
    return _binary("TruncateDiv", x, y, name)


@_binary_doc("Remainder of truncated division: the result has x's sign", "TruncateMod",
             "x's dtype", _INT_DIV)
def truncatemod(x, y, name=None):
    return _binary("TruncateMod", x, y, name)


@_binary_doc("Computes x / y, returning 0 wherever y is 0", "DivNoNan")
def div_no_nan(x, y, name=None):
    with _op_scope(name, "div_no_nan", [x, y]) as scope:
        return _binary("DivNoNan", x, y, scope)


@_binary_doc("Computes x ** y element-wise", "Pow",
             "x's dtype", " or an integer base has a negative integer exponent")
def pow(x, y, name=None):  # noqa: A001 - TF's name
    with _op_scope(name, "Pow", [x]) as scope:
        return _binary("Pow", x, y, scope)


@_binary_doc("Element-wise max(x, y); NaN propagates", "Maximum")
def maximum(x, y, name=None):
    return _binary("Maximum", x, y, name)


@_binary_doc("Element-wise min(x, y); NaN propagates", "Minimum")
def minimum(x, y, name=None):
    return _binary("Minimum", x, y, name)


@_binary_doc("Returns (x - y) * (x - y) element-wise", "SquaredDifference")
def squared_difference(x, y, name=None):
    return _binary("SquaredDifference", x, y, name)


def atan2(y, x, name=None):
    """Element-wise arctangent of y/x, using the signs of both (op "Atan2")."""
    with _op_scope(name, "Atan2", [y, x]) as scope:
        y, x = convert_binary_operands(y, x, "Atan2")
        return _apply("Atan2", [y, x], name=scope)


@_binary_doc("Returns the truth value of x < y element-wise", "Less", "bool")
def less(x, y, name=None):
    return _binary("Less", x, y, name)


@_binary_doc("Returns the truth value of x <= y element-wise", "LessEqual", "bool")
def less_equal(x, y, name=None):
    return _binary("LessEqual", x, y, name)


@_binary_doc("Returns the truth value of x > y element-wise", "Greater", "bool")
def greater(x, y, name=None):
    return _binary("Greater", x, y, name)


@_binary_doc("Returns the truth value of x >= y element-wise", "GreaterEqual", "bool")
def greater_equal(x, y, name=None):
    return _binary("GreaterEqual", x, y, name)


@_binary_doc("Returns the truth value of x == y element-wise (any dtype)", "Equal", "bool")
def equal(x, y, name=None):
    return _binary("Equal", x, y, name, attrs={"incompatible_shape_error": True})


@_binary_doc("Returns the truth value of x != y element-wise (any dtype)", "NotEqual", "bool")
def not_equal(x, y, name=None):
    return _binary("NotEqual", x, y, name, attrs={"incompatible_shape_error": True})


def _check_bool_operands(x, y, op_type):
    for t, param in ((x, "x"), (y, "y")):
        if t.dtype != dtypes.bool:
            raise TypeError("Input '%s' of '%s' Op has type %s that does not match expected "
                            "type of bool." % (param, op_type, t.dtype.name))


@_binary_doc("Element-wise x AND y of bool Tensors", "LogicalAnd", "bool")
def logical_and(x, y, name=None):
    with _op_scope(name, "LogicalAnd", [x, y]) as scope:
        x, y = convert_binary_operands(x, y, "LogicalAnd")
        _check_bool_operands(x, y, "LogicalAnd")
        return _apply("LogicalAnd", [x, y], name=scope)


@_binary_doc("Element-wise x OR y of bool Tensors", "LogicalOr", "bool")
def logical_or(x, y, name=None):
    with _op_scope(name, "LogicalOr", [x, y]) as scope:
        x, y = convert_binary_operands(x, y, "LogicalOr")
        _check_bool_operands(x, y, "LogicalOr")
        return _apply("LogicalOr", [x, y], name=scope)


@_binary_doc("Element-wise x XOR y of bool Tensors, as TF: (x | y) & ~(x & y)", "LogicalAnd",
             "bool")
def logical_xor(x, y, name="LogicalXor"):
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


# ---------------------------------------------------------------------------------------------
# Element-wise unary ops.

def _unary_shape(allowed):
    def shape_fn(op):
        x = op.inputs[0]
        _check_dtype(x, allowed)
        return [(x.shape, x.dtype)]
    return shape_fn


def _predicate_shape(op):
    x = op.inputs[0]
    _check_dtype(x, _FLOATS)
    return [(x.shape, dtypes.bool)]


def _logical_not_shape(op):
    x = op.inputs[0]
    if x.dtype != dtypes.bool:
        raise TypeError("Input 'x' of 'LogicalNot' Op has type %s that does not match expected "
                        "type of bool." % x.dtype.name)
    return [(x.shape, dtypes.bool)]


def _sigmoid(x):
    # 1 / (1 + exp(-x)) in one buffer: accurate in both tails (exp(-x) overflowing to inf
    # gives 0), and a quarter of the allocations of the naive expression.
    out = np.negative(x, out=np.empty_like(x))
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.reciprocal(out, out=out)


def _rsqrt(x):
    return np.reciprocal(np.sqrt(x))


def _vectorized(fn):
    ufunc = np.frompyfunc(fn, 1, 1)

    def kernel(x):
        if x.size == 0:
            return x.copy()
        return np.asarray(ufunc(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)
    return kernel


def _round_half_even(x):
    return np.round(x) if x.dtype.kind == "f" else x.copy()


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# op type: (allowed dtypes, numpy function, gradient(x, y, grad) -> dx or None)
_UNARY_OPS = {
    "Neg": (_SIGNED_REALS, np.negative, lambda x, y, g: negative(g)),
    "Abs": (_SIGNED_REALS, np.abs, lambda x, y, g: multiply(g, sign(x))),
    "Sign": (_SIGNED_REALS, np.sign, lambda x, y, g: _array_ops().zeros_like(x)),
    "Square": (_REALS, np.square, lambda x, y, g: multiply(g, multiply(x, 2))),
    "Sqrt": (_FLOATS, np.sqrt, lambda x, y, g: realdiv(multiply(g, 0.5), y)),
    "Rsqrt": (_FLOATS, _rsqrt,
              lambda x, y, g: multiply(multiply(g, -0.5), multiply(square(y), y))),
    "Reciprocal": (_FLOATS, np.reciprocal,
                   lambda x, y, g: multiply(negative(g), square(y))),
    "Exp": (_FLOATS, np.exp, lambda x, y, g: multiply(g, y)),
    "Expm1": (_FLOATS, np.expm1, lambda x, y, g: multiply(g, exp(x))),
    "Log": (_FLOATS, np.log, lambda x, y, g: multiply(g, reciprocal(x))),
    "Log1p": (_FLOATS, np.log1p, lambda x, y, g: multiply(g, reciprocal(add(x, 1)))),
    "Sin": (_FLOATS, np.sin, lambda x, y, g: multiply(g, cos(x))),
    "Cos": (_FLOATS, np.cos, lambda x, y, g: negative(multiply(g, sin(x)))),
    "Tan": (_FLOATS, np.tan, lambda x, y, g: multiply(g, square(reciprocal(cos(x))))),
    "Asin": (_FLOATS, np.arcsin,
             lambda x, y, g: multiply(g, rsqrt(subtract(1, square(x))))),
    "Acos": (_FLOATS, np.arccos,
             lambda x, y, g: negative(multiply(g, rsqrt(subtract(1, square(x)))))),
    "Atan": (_FLOATS, np.arctan, lambda x, y, g: realdiv(g, add(square(x), 1))),
    "Sinh": (_FLOATS, np.sinh, lambda x, y, g: multiply(g, cosh(x))),
    "Cosh": (_FLOATS, np.cosh, lambda x, y, g: multiply(g, sinh(x))),
    "Asinh": (_FLOATS, np.arcsinh, lambda x, y, g: realdiv(g, cosh(y))),
    "Acosh": (_FLOATS, np.arccosh, lambda x, y, g: realdiv(g, sinh(y))),
    "Atanh": (_FLOATS, np.arctanh,
              lambda x, y, g: multiply(g, reciprocal(subtract(1, square(x))))),
    "Tanh": (_FLOATS, np.tanh, lambda x, y, g: multiply(g, subtract(1, square(y)))),
    "Sigmoid": (_FLOATS, _sigmoid, lambda x, y, g: multiply(g, multiply(y, subtract(1, y)))),
    "Erf": (_FLOATS, _vectorized(math.erf),
            lambda x, y, g: multiply(g, multiply(exp(negative(square(x))), _TWO_OVER_SQRT_PI))),
    "Erfc": (_FLOATS, _vectorized(math.erfc),
             lambda x, y, g: multiply(g, multiply(exp(negative(square(x))),
                                                  -_TWO_OVER_SQRT_PI))),
    # Piecewise constant: TF registers None gradients.
    "Floor": (_FLOATS, np.floor, lambda x, y, g: None),
    "Ceil": (_FLOATS, np.ceil, lambda x, y, g: None),
    "Round": (_SIGNED_REALS, _round_half_even, lambda x, y, g: None),
    "Rint": (_FLOATS, np.rint, lambda x, y, g: None),
}


def _unary_gradient(formula):
    def grad_fn(op, grad):
        return [formula(op.inputs[0], op.outputs[0], grad)]
    return grad_fn


def _unary_kernel(fn):
    # A function of this module, so that numpy's warnings are attributed here (filtered).
    return lambda x: fn(x)


for _op_type, (_allowed, _fn, _formula) in _UNARY_OPS.items():
    registry.register_op(_op_type, shape=_unary_shape(_allowed), numpy=_unary_kernel(_fn),
                         gradient=_dense_grad(_unary_gradient(_formula)),
                         sharding=sharding.ELEMENTWISE)

for _op_type, _fn in (("IsNan", np.isnan), ("IsInf", np.isinf), ("IsFinite", np.isfinite)):
    registry.register_op(_op_type, shape=_predicate_shape, numpy=_fn,
                         sharding=sharding.ELEMENTWISE)
registry.register_op("LogicalNot", shape=_logical_not_shape, numpy=np.logical_not,
                     sharding=sharding.ELEMENTWISE)
registry.not_differentiable("IsNan", "IsInf", "IsFinite", "LogicalNot")


def _unary(op_type, x, name, default_name=None):
    with _op_scope(name, default_name or op_type, [x]) as scope:
        x = convert_to_tensor(x, name="x")
        return _apply(op_type, [x], name=scope)


def _make_unary(py_name, op_type, summary, returns="A Tensor of x's dtype and shape."):
    def wrapper(x, name=None):
        return _unary(op_type, x, name)
    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = """%s (op "%s").

    Args:
      x: a Tensor or a value convertible to one.
      name: optional op name.

    Returns:
      %s

    Raises:
      TypeError: if x's dtype is not supported by the op.
    """ % (summary, op_type, returns)
    return wrapper


_PREDICATE = "A bool Tensor of x's shape."

negative = _make_unary("negative", "Neg", "Computes -x element-wise")
sign = _make_unary("sign", "Sign", "Returns -1, 0 or 1 by the sign of x (NaN for NaN)")
square = _make_unary("square", "Square", "Computes x * x element-wise")
sqrt = _make_unary("sqrt", "Sqrt", "Computes the square root of x element-wise")
rsqrt = _make_unary("rsqrt", "Rsqrt", "Computes 1 / sqrt(x) element-wise")
reciprocal = _make_unary("reciprocal", "Reciprocal", "Computes 1 / x element-wise")
exp = _make_unary("exp", "Exp", "Computes e ** x element-wise")
expm1 = _make_unary("expm1", "Expm1", "Computes e ** x - 1 element-wise (accurate near 0)")
log = _make_unary("log", "Log", "Computes the natural logarithm of x element-wise")
log1p = _make_unary("log1p", "Log1p", "Computes log(1 + x) element-wise (accurate near 0)")
sin = _make_unary("sin", "Sin", "Computes sine element-wise")
cos = _make_unary("cos", "Cos", "Computes cosine element-wise")
tan = _make_unary("tan", "Tan", "Computes tangent element-wise")
asin = _make_unary("asin", "Asin", "Computes arcsine element-wise")
acos = _make_unary("acos", "Acos", "Computes arccosine element-wise")
atan = _make_unary("atan", "Atan", "Computes arctangent element-wise")
sinh = _make_unary("sinh", "Sinh", "Computes hyperbolic sine element-wise")
cosh = _make_unary("cosh", "Cosh", "Computes hyperbolic cosine element-wise")
asinh = _make_unary("asinh", "Asinh", "Computes inverse hyperbolic sine element-wise")
acosh = _make_unary("acosh", "Acosh", "Computes inverse hyperbolic cosine element-wise")
atanh = _make_unary("atanh", "Atanh", "Computes inverse hyperbolic tangent element-wise")
tanh = _make_unary("tanh", "Tanh", "Computes hyperbolic tangent element-wise")
sigmoid = _make_unary("sigmoid", "Sigmoid", "Computes 1 / (1 + exp(-x)) element-wise")
erf = _make_unary("erf", "Erf", "Computes the Gauss error function element-wise")
erfc = _make_unary("erfc", "Erfc", "Computes the complementary error function 1 - erf(x)")
floor = _make_unary("floor", "Floor", "Returns the largest integer not greater than x")
ceil = _make_unary("ceil", "Ceil", "Returns the smallest integer not less than x")
rint = _make_unary("rint", "Rint", "Rounds to the nearest integer, halves to even")
is_nan = _make_unary("is_nan", "IsNan", "Returns which elements of x are NaN", _PREDICATE)
is_inf = _make_unary("is_inf", "IsInf", "Returns which elements of x are +-Inf", _PREDICATE)
is_finite = _make_unary("is_finite", "IsFinite", "Returns which elements of x are finite",
                        _PREDICATE)
logical_not = _make_unary("logical_not", "LogicalNot", "Element-wise NOT of a bool Tensor",
                          _PREDICATE)


def abs(x, name=None):  # noqa: A001 - TF's name
    """Computes |x| element-wise (op "Abs").

    Raises:
      TypeError: for unsigned or non-numeric x (as TF).
    """
    return _unary("Abs", x, name)


def round(x, name=None):  # noqa: A001 - TF's name
    """Rounds half to even, element-wise (banker's rounding, op "Round"); ints unchanged."""
    x = convert_to_tensor(x, name="x")
    if x.dtype.is_integer:
        return x
    return _unary("Round", x, name)


def conj(x, name=None):
    """Complex conjugate; real Tensors are returned unchanged (as TF)."""
    x = convert_to_tensor(x, name="x")
    if x.dtype.is_complex:
        raise TypeError("conj: complex tensors are not supported by hpcflow (%s)" % x.name)
    return x


def real(input, name=None):  # noqa: A002 - TF's argument name
    """The real part; real Tensors are returned unchanged (as TF)."""
    return conj(input, name)


# ---------------------------------------------------------------------------------------------
# Casts.

def _cast_shape(op):
    x = op.inputs[0]
    return [(x.shape, dtypes.as_dtype(op.get_attr("DstT")))]


_NOT_CASTABLE = ("string", "variant")


def _cast_kernel(x, *, SrcT, DstT, Truncate=False):  # noqa: N803 - TF's attr names
    if SrcT in _NOT_CASTABLE or DstT in _NOT_CASTABLE:
        # As TF: such a cast builds, and fails when run (tf.strings.to_number parses).
        raise errors.UnimplementedError(None, None, "Cast %s to %s is not supported"
                                        % (SrcT, DstT))
    target = dtypes.as_dtype(DstT).np_dtype
    if x.dtype.kind == "c" and target.kind != "c":
        x = np.real(x)
    # numpy's float -> int conversion truncates toward zero, as TF's static_cast.
    return np.asarray(x).astype(target)


_FLOAT_KINDS = "fc"


def _cast_grad(op, grad):
    src = op.inputs[0].dtype
    if src.np_dtype.kind in _FLOAT_KINDS and grad.dtype.np_dtype.kind in _FLOAT_KINDS:
        return [cast(grad, src)]
    return [None]


registry.register_op("Cast", shape=_cast_shape, numpy=_cast_kernel,
                     gradient=_dense_grad(_cast_grad), sharding=sharding.ELEMENTWISE)


def cast(x, dtype, name=None):
    """Casts x to `dtype` (op "Cast"); returns x itself if it already has that dtype.

    Float to integer truncates toward zero, numbers to bool test != 0, as TF.

    Args:
      x: a Tensor or convertible value.
      dtype: the destination type.
      name: optional op name.

    Returns:
      A Tensor of type `dtype` and x's shape.

    Raises:
      TypeError: if x cannot be cast to `dtype` (strings).
    """
    base_type = dtypes.as_dtype(dtype)
    if isinstance(x, Tensor) and x.dtype == base_type:
        return x
    with _op_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype == base_type:
            return x
        return _apply("Cast", [x], {"SrcT": x.dtype.name, "DstT": base_type.name,
                                      "Truncate": False}, name=scope)


def to_float(x, name="ToFloat"):
    """Casts x to float32 (deprecated TF1 alias)."""
    return cast(x, dtypes.float32, name=name)


def to_double(x, name="ToDouble"):
    """Casts x to float64 (deprecated TF1 alias)."""
    return cast(x, dtypes.float64, name=name)


def to_int32(x, name="ToInt32"):
    """Casts x to int32 (deprecated TF1 alias)."""
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    """Casts x to int64 (deprecated TF1 alias)."""
    return cast(x, dtypes.int64, name=name)


def _limit_in(limit, src):
    """The integer bound `limit` as the nearest value of numpy type `src` inside the range.

    float32(2**31 - 1) rounds up to 2**31, which would overflow int32 when cast back.
    """
    value = np.asarray(limit).astype(src)
    if src.kind == "f":
        if int(value) > limit:
            value = np.nextafter(value, src.type(-np.inf))
        elif int(value) < limit:
            value = np.nextafter(value, src.type(np.inf))
    return value


def saturate_cast(value, dtype, name=None):
    """Casts value to dtype, clamping it to dtype's range first (no wrap-around).

    Args:
      value: a numeric Tensor.
      dtype: the destination type.
      name: optional name (default "saturate_cast").

    Returns:
      `value` clamped to [dtype.min, dtype.max] and cast to dtype.
    """
    with _op_scope(name, "saturate_cast", [value]) as scope:
        value = convert_to_tensor(value, name="value")
        dtype = dtypes.as_dtype(dtype)
        if value.dtype.is_bool or dtype.is_bool:
            return cast(value, dtype, name=scope)
        src = value.dtype.np_dtype
        if value.dtype.min < dtype.min:
            low = _limit_in(dtype.min, src) if dtype.is_integer else np.asarray(dtype.min, src)
            value = maximum(value, convert_to_tensor(low, name="min"))
        if value.dtype.max > dtype.max:
            high = _limit_in(dtype.max, src) if dtype.is_integer else np.asarray(dtype.max, src)
            value = minimum(value, convert_to_tensor(high, name="max"))
        return cast(value, dtype, name=scope)


def scalar_mul(scalar, x, name=None):
    """Multiplies the Tensor x by a scalar (op "Mul").

    Raises:
      ValueError: if `scalar` is not 0-D.
    """
    x = convert_to_tensor(x, name="x")
    scalar = convert_to_tensor(scalar, dtype=x.dtype, name="scalar")
    if scalar.shape.ndims != 0:
        raise ValueError("Only scalar multiply works, got shape %s" % (scalar.shape,))
    return _binary("Mul", scalar, x, name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clips t element-wise to [clip_value_min, clip_value_max] (Minimum then Maximum).

    The gradient flows where t is inside the range (ties at the bounds go to t, as TF).

    Args:
      t: a Tensor.
      clip_value_min: scalar or broadcastable Tensor, the lower bound.
      clip_value_max: scalar or broadcastable Tensor, the upper bound.
      name: optional name (default "clip_by_value").

    Returns:
      A Tensor of t's dtype and shape.

    Raises:
      ValueError: if the bounds would broadcast t to a bigger shape.
    """
    with _op_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = convert_to_tensor(t, name="t")
        t_min = minimum(values, clip_value_max)
        values.shape.assert_is_compatible_with(t_min.shape)
        t_max = maximum(t_min, clip_value_min, name=scope)
        values.shape.assert_is_compatible_with(t_max.shape)
    return t_max


# ---------------------------------------------------------------------------------------------
# AddN.

def _add_n_shape(op):
    first = op.inputs[0]
    kinds = [t.dtype for t in op.inputs]
    if builtins.any(d != first.dtype for d in kinds):
        raise TypeError("Tensors in list passed to 'inputs' of 'AddN' Op have types [%s] that "
                        "don't all match." % ", ".join(d.name for d in kinds))
    _check_dtype(first, _REALS, "inputs")
    shape = first.shape
    for t in op.inputs[1:]:
        try:
            shape = shape.merge_with(t.shape)
        except ValueError:
            raise ValueError("Shapes %s and %s of AddN inputs must be equal"
                             % (shape, t.shape)) from None
    return [(shape, first.dtype)]


def _add_n_kernel(*inputs, N):  # noqa: N803 - TF's attr name
    first = inputs[0]
    for i, t in enumerate(inputs[1:], 1):
        if np.shape(t) != np.shape(first):
            raise errors.InvalidArgumentError(
                None, None, "Inputs to operation AddN must have the same size and shape.  "
                "Input 0: %s != input %d: %s" % (_shape_text(np.shape(first)), i,
                                                 _shape_text(np.shape(t))))
    out = np.add(inputs[0], inputs[1])
    if not isinstance(out, np.ndarray):
        out = np.asarray(out)
    for t in inputs[2:]:
        np.add(out, t, out=out)
    return out


registry.register_op("AddN", shape=_add_n_shape, numpy=_add_n_kernel,
                     gradient=lambda op, grad: [grad] * len(op.inputs),
                     sharding=sharding.ELEMENTWISE)


def add_n(inputs, name=None):
    """Adds all input Tensors element-wise (op "AddN"); one input is returned as is.

    Args:
      inputs: a non-empty list of Tensors (or IndexedSlices, densified) of one dtype and shape.
      name: optional op name.

    Returns:
      A Tensor of the inputs' dtype and shape.

    Raises:
      ValueError: if inputs is empty or the shapes differ.
      TypeError: if the dtypes differ.
    """
    if not inputs or not isinstance(inputs, (list, tuple)):
        raise ValueError("Inputs must be an iterable of at least one Tensor/IndexedSlices with "
                         "the same dtype and shape.")
    inputs = [convert_to_tensor(t) for t in inputs]
    if len(inputs) == 1:
        if name:
            return _array_ops().identity(inputs[0], name=name)
        return inputs[0]
    with _op_scope(name, "AddN", inputs) as scope:
        return _apply("AddN", inputs, {"N": len(inputs)}, name=scope)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """Sums inputs element-wise (TF1 `tf.math.accumulate_n`; here the same as add_n).

    Raises:
      ValueError: if inputs is empty or `shape` does not match the inputs.
      TypeError: if `tensor_dtype` does not match the inputs.
    """
    if not inputs or not isinstance(inputs, (list, tuple)):
        raise ValueError("inputs must be a list of at least one Tensor with the same dtype "
                         "and shape")
    inputs = [convert_to_tensor(t) for t in inputs]
    if tensor_dtype is not None and builtins.any(t.dtype != dtypes.as_dtype(tensor_dtype)
                                                 for t in inputs):
        raise TypeError("tensor_dtype is %s, but input is of type %s"
                        % (dtypes.as_dtype(tensor_dtype).name, inputs[0].dtype.name))
    if shape is not None:
        for t in inputs:
            if not t.shape.is_compatible_with(shape):
                raise ValueError("Input shape %s is incompatible with shape %s"
                                 % (t.shape, TensorShape(shape)))
    return add_n(inputs, name=name)


# ---------------------------------------------------------------------------------------------
# Reductions.

def _constant_axes(axes_tensor):
    value = tensor_util.constant_value(axes_tensor)
    return None if value is None else [int(a) for a in np.asarray(value).reshape(-1)]


def _normalize_axes_static(axes, rank):
    """Axes in [0, rank), checked as TF's shape function does."""
    seen = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError("Invalid reduction dimension %d for input with %d dimensions."
                             % (a, rank))
        a %= rank
        if a in seen:
            raise ValueError("Invalid reduction arguments: Axes contains duplicate dimension: %d"
                             % a)
        seen.append(a)
    return seen


def _reduction_shape(allowed):
    def shape_fn(op):
        x, axes_t = op.inputs
        _check_dtype(x, allowed, "input")
        _check_dtype(axes_t, _INDEX, "reduction_indices")
        keep_dims = op.get_attr("keep_dims")
        rank = x.shape.ndims
        axes = _constant_axes(axes_t)
        if rank is None:
            return [(unknown_shape(), x.dtype)]
        if axes is None:
            return [(unknown_shape(rank) if keep_dims else unknown_shape(), x.dtype)]
        reduced = set(_normalize_axes_static(axes, rank))
        dims = list(x.shape)
        if keep_dims:
            out = [1 if i in reduced else d for i, d in enumerate(dims)]
        else:
            out = [d for i, d in enumerate(dims) if i not in reduced]
        return [(TensorShape(out), x.dtype)]
    return shape_fn


def _axes_tuple(axes, ndim):
    """Run-time axes check, with TF's messages."""
    out = []
    for a in np.asarray(axes).reshape(-1):
        a = int(a)
        if not -ndim <= a < ndim:
            raise errors.InvalidArgumentError(
                None, None, "Invalid reduction dimension (%d for input with %d dimension(s)"
                % (a, ndim))
        a %= ndim
        if a in out:
            raise errors.InvalidArgumentError(
                None, None, "Invalid reduction arguments: Axes contains duplicate dimension: %d"
                % a)
        out.append(a)
    return tuple(out)


def _accumulator(dtype):
    # float16 sums accumulate in float32 (as TF's reducers), then round once.
    return np.float32 if dtype == np.float16 else dtype


def _sum_kernel(x, axes, *, keep_dims):
    axes = _axes_tuple(axes, x.ndim)
    out = np.sum(x, axis=axes, keepdims=keep_dims, dtype=_accumulator(x.dtype))
    return np.asarray(out, dtype=x.dtype)


def _prod_kernel(x, axes, *, keep_dims):
    axes = _axes_tuple(axes, x.ndim)
    out = np.prod(x, axis=axes, keepdims=keep_dims, dtype=_accumulator(x.dtype))
    return np.asarray(out, dtype=x.dtype)


def _mean_kernel(x, axes, *, keep_dims):
    axes = _axes_tuple(axes, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    if x.dtype.kind in "iu":
        total = np.sum(x, axis=axes, keepdims=keep_dims, dtype=x.dtype)
        if count == 0:
            return np.zeros_like(total)
        # Integer mean truncates toward zero (C++ division), not toward -inf.
        quotient = np.floor_divide(total, count)
        fix = (np.remainder(total, count) != 0) & (total < 0)
        return np.asarray(quotient + fix.astype(x.dtype), dtype=x.dtype)
    total = np.sum(x, axis=axes, keepdims=keep_dims, dtype=_accumulator(x.dtype))
    return np.asarray(np.true_divide(total, count), dtype=x.dtype)


def _extreme_kernel(fn, initial_of):
    def kernel(x, axes, *, keep_dims):
        axes = _axes_tuple(axes, x.ndim)
        # An empty reduction gives the identity (-inf / lowest for max), as TF.
        return np.asarray(fn(x, axis=axes, keepdims=keep_dims, initial=initial_of(x.dtype)),
                          dtype=x.dtype)
    return kernel


def _lowest(np_dtype):
    return -np.inf if np_dtype.kind == "f" else np.iinfo(np_dtype).min


def _highest(np_dtype):
    return np.inf if np_dtype.kind == "f" else np.iinfo(np_dtype).max


def _bool_kernel(fn):
    def kernel(x, axes, *, keep_dims):
        return np.asarray(fn(x, axis=_axes_tuple(axes, x.ndim), keepdims=keep_dims))
    return kernel


def _reduced_shape_shape(op):
    shape_t, axes_t = op.inputs
    _check_dtype(shape_t, _INDEX, "input_shape")
    _check_dtype(axes_t, _INDEX, "axes")
    return [(shape_t.shape, shape_t.dtype)]


def _reduced_shape_kernel(input_shape, axes):
    out = np.array(input_shape, copy=True)
    out[list(_axes_tuple(axes, len(out)))] = 1
    return out


# hpcflow-internal: TF computes this with DynamicStitch in Python; one small op is simpler.
registry.register_op("ReducedShape", shape=_reduced_shape_shape, numpy=_reduced_shape_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("ReducedShape")


def reduced_shape(input_shape, axes):
    """The shape `input_shape` has after reducing `axes` with keepdims (1 on those axes).

    Args:
      input_shape: 1-D int32/int64 Tensor.
      axes: int32/int64 Tensor of axes (negative allowed).

    Returns:
      A 1-D Tensor like input_shape.
    """
    with _op_scope(None, "ReducedShape", [input_shape, axes]) as scope:
        input_shape = convert_to_tensor(input_shape, name="input_shape")
        axes = convert_to_tensor(axes, name="axes")
        return _apply("ReducedShape", [input_shape, axes], name=scope)


def _shape_of(x):
    """x's shape as a Python list when static, else a Shape Tensor."""
    if x.shape.is_fully_defined():
        return x.shape.as_list()
    return _array_ops().shape(x)


def _keep_reduced_dims(t, x, axes_t, keep_dims):
    """`t`, an output (or its gradient) of a reduction of x, with the reduced dims kept as 1."""
    if keep_dims:
        return t
    array_ops = _array_ops()
    axes = _constant_axes(axes_t)
    rank = x.shape.ndims
    if axes is not None and rank is not None:
        reduced = sorted(set(a % rank for a in axes)) if rank else []
        if x.shape.is_fully_defined():
            dims = x.shape.as_list()
            return array_ops.reshape(t, [1 if i in reduced else d for i, d in enumerate(dims)])
        for a in reduced:
            t = array_ops.expand_dims(t, a)
        return t
    return array_ops.reshape(t, reduced_shape(array_ops.shape(x), axes_t))


def _sum_grad(op, grad):
    x, axes_t = op.inputs
    kept = _keep_reduced_dims(grad, x, axes_t, op.get_attr("keep_dims"))
    return [_array_ops().broadcast_to(kept, _shape_of(x)), None]


def _mean_grad(op, grad):
    x, axes_t = op.inputs
    y = op.outputs[0]
    if not x.dtype.is_floating:
        return [None, None]
    summed = _sum_grad(op, grad)[0]
    if x.shape.is_fully_defined() and y.shape.is_fully_defined():
        factor = x.shape.num_elements() // builtins.max(y.shape.num_elements(), 1)
        return [realdiv(summed, builtins.max(factor, 1)), None]
    array_ops = _array_ops()
    factor = floordiv(array_ops.size(x), maximum(array_ops.size(y), 1))
    return [realdiv(summed, cast(maximum(factor, 1), summed.dtype)), None]


def _min_or_max_grad(op, grad):
    # The gradient is split evenly between tied extremes, as TF.
    x, axes_t = op.inputs
    if not x.dtype.is_floating:
        return [None, None]
    keep_dims = op.get_attr("keep_dims")
    y = _keep_reduced_dims(op.outputs[0], x, axes_t, keep_dims)
    grad = _keep_reduced_dims(grad, x, axes_t, keep_dims)
    indicators = cast(equal(y, x), grad.dtype)
    num_selected = reduce_sum(indicators, axes_t, keepdims=True)
    return [multiply(realdiv(indicators, num_selected), grad), None]


def _prod_grad(op, grad):
    # d prod / d x_i = product of the other elements of x_i's group. Written with masks so
    # that zeros are exact (one zero: only it gets a gradient; two or more: none does) and
    # unknown ranks and run-time axes need nothing special.
    x, axes_t = op.inputs
    if not x.dtype.is_floating:
        return [None, None]
    grad = _keep_reduced_dims(grad, x, axes_t, op.get_attr("keep_dims"))
    is_zero = cast(equal(x, 0), x.dtype)
    safe_x = add(x, is_zero)  # zeros replaced by ones
    prod_nonzero = reduce_prod(safe_x, axes_t, keepdims=True)
    num_zeros = reduce_sum(is_zero, axes_t, keepdims=True)
    no_zero = cast(equal(num_zeros, 0), x.dtype)
    one_zero = cast(equal(num_zeros, 1), x.dtype)
    others = add(multiply(realdiv(prod_nonzero, safe_x), no_zero),
                 multiply(multiply(prod_nonzero, is_zero), one_zero))
    return [multiply(others, grad), None]


_REDUCTION_OPS = {
    "Sum": (_REALS, _sum_kernel, _sum_grad),
    "Mean": (_REALS, _mean_kernel, _mean_grad),
    "Prod": (_REALS, _prod_kernel, _prod_grad),
    "Max": (_REALS, _extreme_kernel(np.max, _lowest), _min_or_max_grad),
    "Min": (_REALS, _extreme_kernel(np.min, _highest), _min_or_max_grad),
    "Any": (_BOOL, _bool_kernel(np.any), registry.NOT_DIFFERENTIABLE),
    "All": (_BOOL, _bool_kernel(np.all), registry.NOT_DIFFERENTIABLE),
}

for _op_type, (_allowed, _kernel, _grad) in _REDUCTION_OPS.items():
    registry.register_op(_op_type, shape=_reduction_shape(_allowed), numpy=_kernel,
                         gradient=_dense_grad(_grad), sharding=sharding.REDUCTION)


def _deprecated_lookup(new_name, new_value, old_name, old_value):
    if new_value is not None and old_value is not None:
        raise ValueError("Cannot specify both '%s' and '%s'." % (new_name, old_name))
    return new_value if new_value is not None else old_value


def _reduction_dims(x, axis):
    """The axes tensor of a reduction: `axis` as given, else all axes (as TF's helper)."""
    if axis is not None:
        return axis
    rank = x.shape.ndims
    if rank is not None:
        from .constant_op import constant
        return constant(np.arange(rank, dtype=np.int32))
    array_ops = _array_ops()
    return array_ops.range(0, array_ops.rank(x))


def _reduce(op_type, input_tensor, axis, keepdims, name, reduction_indices, keep_dims):
    axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
    keepdims = _deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims)
    keepdims = builtins.bool(keepdims) if keepdims is not None else False
    x = convert_to_tensor(input_tensor, name="input_tensor")
    axes = _reduction_dims(x, axis)
    with _op_scope(name, op_type, [x]) as scope:
        axes = convert_to_tensor(axes, name="reduction_indices", preferred_dtype=dtypes.int32)
        out = _apply(op_type, [x, axes], {"keep_dims": keepdims}, name=scope)
    return _may_reduce_to_scalar(keepdims, axis, out)


def _may_reduce_to_scalar(keepdims, axis, output):
    # A full reduction is a scalar even when the input's rank is unknown (as TF).
    if not keepdims and axis is None:
        output.set_shape(())
    return output


_REDUCE_DOC = """Computes the %s of elements across dimensions of a tensor (op "%s").

    Reduces `input_tensor` along `axis` (an int, a list of ints, negative allowed, or None
    for all dimensions); the reduced dimensions are removed unless `keepdims` is true.

    Args:
      input_tensor: the Tensor to reduce.
      axis: the dimensions to reduce (int, list, or an int32/int64 Tensor); None = all.
      keepdims: if true, keep the reduced dimensions with length 1.
      name: optional op name.
      reduction_indices: deprecated alias of axis.
      keep_dims: deprecated alias of keepdims.

    Returns:
      The reduced Tensor, of the input's dtype.

    Raises:
      ValueError: if an axis is out of range (at build time when it is known), or both an
        argument and its deprecated alias are given.
      TypeError: if the dtype is not supported.
    """


def _make_reduction(op_type, what):
    def reduction(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
        return _reduce(op_type, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)
    reduction.__doc__ = _REDUCE_DOC % (what, op_type)
    return reduction


reduce_sum = _make_reduction("Sum", "sum")
reduce_mean = _make_reduction("Mean", "mean (integer means truncate toward zero)")
reduce_prod = _make_reduction("Prod", "product")
reduce_max = _make_reduction("Max", "maximum (-inf for an empty float reduction)")
reduce_min = _make_reduction("Min", "minimum (+inf for an empty float reduction)")
reduce_any = _make_reduction("Any", "logical OR")
reduce_all = _make_reduction("All", "logical AND")


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    """Computes log(sum(exp(x))) across dimensions, stably (subtracting the max first).

    Arguments and errors as `reduce_sum`.
    """
    axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
    keepdims = _deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims)
    keepdims = builtins.bool(keepdims) if keepdims is not None else False
    array_ops = _array_ops()
    with _op_scope(name, "ReduceLogSumExp", [input_tensor]) as scope:
        x = convert_to_tensor(input_tensor, name="input_tensor")
        raw_max = reduce_max(x, axis=axis, keepdims=True)
        # An infinite max would make x - max NaN; such groups use 0 instead (as TF).
        my_max = array_ops.stop_gradient(
            array_ops.where(is_finite(raw_max), raw_max, array_ops.zeros_like(raw_max)))
        result = log(reduce_sum(exp(subtract(x, my_max)), axis=axis, keepdims=keepdims))
        if not keepdims:
            my_max = array_ops.reshape(my_max, _shape_of(result))
        return _may_reduce_to_scalar(keepdims, axis, add(result, my_max, name=scope))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The variance of elements across dimensions (mean squared deviation; floats only).

    Raises:
      TypeError: for integer inputs (as TF).
    """
    with _op_scope(name, "reduce_variance", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input_tensor")
        if not x.dtype.is_floating:
            raise TypeError("Input must be either real or complex, got %s (%s)"
                            % (x.dtype.name, x.name))
        means = reduce_mean(x, axis=axis, keepdims=True)
        squared_deviations = square(subtract(x, means))
        return reduce_mean(squared_deviations, axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """The standard deviation of elements across dimensions (sqrt of reduce_variance)."""
    with _op_scope(name, "reduce_std", [input_tensor]):
        return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def count_nonzero(input_tensor=None, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None, input=None):  # noqa: A002
    """Counts the non-zero elements across dimensions (result dtype `dtype`, default int64).

    Raises:
      ValueError: if both input_tensor and input are given (or axis and reduction_indices...).
    """
    input_tensor = _deprecated_lookup("input", input, "input_tensor", input_tensor)
    with _op_scope(name, "count_nonzero", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input")
        from .constant_op import constant
        zero = constant(np.zeros((), dtype=x.dtype.np_dtype) if x.dtype != dtypes.string
                        else b"", name="zeros")
        nonzero = cast(not_equal(x, zero), dtypes.int64)
        counts = reduce_sum(nonzero, axis=axis, keepdims=keepdims,
                            reduction_indices=reduction_indices, keep_dims=keep_dims)
        return cast(counts, dtype)


# ---------------------------------------------------------------------------------------------
# ArgMax / ArgMin.

def _arg_shape(op):
    x, dim = op.inputs
    _check_dtype(x, _REALS + _BOOL, "input")
    _check_dtype(dim, _INDEX, "dimension")
    out_type = dtypes.as_dtype(op.get_attr("output_type"))
    if out_type not in _INDEX:
        raise TypeError("output_type must be int32 or int64, got %s" % out_type.name)
    rank = x.shape.ndims
    if rank is None:
        return [(unknown_shape(), out_type)]
    axis = tensor_util.constant_value(dim)
    if axis is None:
        return [(unknown_shape(builtins.max(rank - 1, 0)), out_type)]
    axis = int(axis)
    if not -rank <= axis < rank:
        raise ValueError("Dimension (%d) must be in the range [%d, %d), where %d is the number "
                         "of dimensions in the input." % (axis, -rank, rank, rank))
    axis %= rank
    dims = list(x.shape)
    return [(TensorShape(dims[:axis] + dims[axis + 1:]), out_type)]


def _arg_kernel(fn):
    def kernel(x, dimension, *, output_type):
        axis = int(dimension)
        if not -x.ndim <= axis < x.ndim:
            raise errors.InvalidArgumentError(
                None, None, "Expected dimension in the range [%d, %d), but got %d"
                % (-x.ndim, x.ndim, axis))
        if x.shape[axis] == 0:
            raise errors.InvalidArgumentError(None, None, "Reduction axis %d is empty in shape %s"
                                              % (axis % x.ndim, _shape_text(x.shape)))
        return np.asarray(fn(x, axis=axis), dtype=dtypes.as_dtype(output_type).np_dtype)
    return kernel


registry.register_op("ArgMax", shape=_arg_shape, numpy=_arg_kernel(np.argmax),
                     sharding=sharding.GATHER)
registry.register_op("ArgMin", shape=_arg_shape, numpy=_arg_kernel(np.argmin),
                     sharding=sharding.GATHER)
registry.not_differentiable("ArgMax", "ArgMin")


def _arg(op_type, input, axis, name, dimension, output_type):  # noqa: A002
    axis = _deprecated_lookup("axis", axis, "dimension", dimension)
    if axis is None:
        axis = 0
    output_type = dtypes.as_dtype(output_type)
    with _op_scope(name, op_type, [input]) as scope:
        x = convert_to_tensor(input, name="input")
        dim = convert_to_tensor(axis, name="dimension", preferred_dtype=dtypes.int32)
        return _apply(op_type, [x, dim], {"output_type": output_type.name}, name=scope)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """The index of the largest value along `axis` (TF1: axis defaults to 0; op ArgMax).

    Args:
      input: a numeric Tensor.
      axis: int or scalar int Tensor (negative allowed); None means 0 (TF1).
      name: optional op name.
      dimension: deprecated alias of axis.
      output_type: int64 (default) or int32.

    Returns:
      A Tensor of `output_type` with `axis` removed.

    Raises:
      ValueError: if axis is out of range (build time) or both axis and dimension are given.
      InvalidArgumentError: at run time, if the axis is empty.
    """
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """The index of the smallest value along `axis` (op ArgMin). See `argmax`."""
    return _arg("ArgMin", input, axis, name, dimension, output_type)


# ---------------------------------------------------------------------------------------------
# Cumulative sum and product.

def _cum_shape(op):
    x, axis = op.inputs
    _check_dtype(x, _REALS)
    _check_dtype(axis, _INDEX, "axis")
    value = tensor_util.constant_value(axis)
    rank = x.shape.ndims
    if value is not None and rank is not None:
        if not -rank <= int(value) < rank:
            raise ValueError("axis %d is out of range for a tensor of rank %d" % (value, rank))
    return [(x.shape, x.dtype)]


def _cum_kernel(fn, identity):
    def kernel(x, axis, *, exclusive, reverse):
        axis = int(axis)
        if not -x.ndim <= axis < x.ndim:
            raise errors.InvalidArgumentError(
                None, None, "Expected scan axis in the range [%d, %d), but got %d"
                % (-x.ndim, x.ndim, axis))
        axis %= x.ndim
        if reverse:
            x = np.flip(x, axis)
        out = fn(x, axis=axis, dtype=_accumulator(x.dtype)).astype(x.dtype, copy=False)
        if exclusive and x.shape[axis]:
            head = np.full_like(np.take(out, [0], axis=axis), identity)
            out = np.concatenate([head, np.take(out, np.arange(x.shape[axis] - 1), axis=axis)],
                                 axis=axis)
        if reverse:
            out = np.flip(out, axis)
        return np.ascontiguousarray(out)
    return kernel


def _cumsum_grad(op, grad):
    axis = op.inputs[1]
    return [cumsum(grad, axis, exclusive=op.get_attr("exclusive"),
                   reverse=not op.get_attr("reverse")), None]


def _cumprod_grad(op, grad):
    # As TF: exact only where x has no zeros.
    x, axis = op.inputs
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    prod = cumprod(x, axis, exclusive=exclusive, reverse=reverse)
    out = cumsum(multiply(prod, grad), axis, exclusive=exclusive, reverse=not reverse)
    return [realdiv(out, x), None]


registry.register_op("Cumsum", shape=_cum_shape, numpy=_cum_kernel(np.cumsum, 0),
                     gradient=_dense_grad(_cumsum_grad), sharding=sharding.GATHER)
registry.register_op("Cumprod", shape=_cum_shape, numpy=_cum_kernel(np.cumprod, 1),
                     gradient=_dense_grad(_cumprod_grad), sharding=sharding.GATHER)


def _cumulative(op_type, x, axis, exclusive, reverse, name):
    with _op_scope(name, op_type, [x]) as scope:
        x = convert_to_tensor(x, name="x")
        axis = convert_to_tensor(axis, name="axis", preferred_dtype=dtypes.int32)
        return _apply(op_type, [x, axis], {"exclusive": builtins.bool(exclusive),
                                             "reverse": builtins.bool(reverse)}, name=scope)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum of x along `axis` (op Cumsum).

    Args:
      x: a numeric Tensor.
      axis: scalar int (or int Tensor), negative allowed.
      exclusive: if true, element i is the sum of the elements before i.
      reverse: if true, sum from the end.
      name: optional op name.

    Returns:
      A Tensor like x.

    Raises:
      ValueError: if axis is out of range at build time.
    """
    return _cumulative("Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative product of x along `axis` (op Cumprod). Arguments as `cumsum`."""
    return _cumulative("Cumprod", x, axis, exclusive, reverse, name)


# ---------------------------------------------------------------------------------------------
# Matrix multiplication.

_MATMUL_TYPES = _FLOATS + _INDEX


def _matrix_dims(shape, transpose, param):
    if shape.ndims is not None and shape.ndims != 2:
        raise ValueError("Shape must be rank 2 but is rank %d (input '%s')" % (shape.ndims, param))
    if shape.ndims is None:
        return None, None
    rows, cols = shape
    return (cols, rows) if transpose else (rows, cols)


def _matmul_shape(op):
    _check_same_dtype(op, ("a", "b"))
    a, b = op.inputs
    _check_dtype(a, _MATMUL_TYPES, "a")
    m, k_a = _matrix_dims(a.shape, op.get_attr("transpose_a"), "a")
    k_b, n = _matrix_dims(b.shape, op.get_attr("transpose_b"), "b")
    if k_a is not None and k_b is not None and k_a != k_b:
        raise ValueError("Dimensions must be equal, but are %d and %d" % (k_a, k_b))
    return [(TensorShape([m, n]), a.dtype)]


def _matmul_arrays(a, b):
    if a.shape[-1] != b.shape[-2]:
        raise errors.InvalidArgumentError(
            None, None, "Matrix size-incompatible: In[0]: %s, In[1]: %s"
            % (_shape_text(a.shape), _shape_text(b.shape)))
    if a.dtype == np.float16:  # accumulate in float32, as TF
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    return np.matmul(a, b)


def _matmul_kernel(a, b, *, transpose_a, transpose_b):
    if a.ndim != 2 or b.ndim != 2:
        raise errors.InvalidArgumentError(None, None, "In[0] and In[1] must be matrices, got "
                                          "shapes %s and %s" % (_shape_text(a.shape),
                                                                _shape_text(b.shape)))
    return _matmul_arrays(a.T if transpose_a else a, b.T if transpose_b else b)


def _matmul_grad(op, grad):
    a, b = op.inputs
    t_a, t_b = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if not t_a and not t_b:
        return [matmul(grad, b, transpose_b=True), matmul(a, grad, transpose_a=True)]
    if not t_a and t_b:
        return [matmul(grad, b), matmul(grad, a, transpose_a=True)]
    if t_a and not t_b:
        return [matmul(b, grad, transpose_b=True), matmul(a, grad)]
    return [matmul(b, grad, transpose_a=True, transpose_b=True),
            matmul(grad, a, transpose_a=True, transpose_b=True)]


def _batch_dims(shape, param):
    if shape.ndims is None:
        return None
    if shape.ndims < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d (input '%s')"
                         % (shape.ndims, param))
    return shape[:-2]


def _batch_matmul_shape(op):
    _check_same_dtype(op)
    x, y = op.inputs
    _check_dtype(x, _MATMUL_TYPES + (dtypes.int16,))
    bx, by = _batch_dims(x.shape, "x"), _batch_dims(y.shape, "y")
    if bx is None or by is None:
        return [(unknown_shape(), x.dtype)]
    batch = broadcast_static_shape(bx, by)
    m, k_x = x.shape[-2:]
    if op.get_attr("adj_x"):
        m, k_x = k_x, m
    k_y, n = y.shape[-2:]
    if op.get_attr("adj_y"):
        k_y, n = n, k_y
    if k_x is not None and k_y is not None and k_x != k_y:
        raise ValueError("Dimensions must be equal, but are %d and %d" % (k_x, k_y))
    return [(batch.concatenate([m, n]), x.dtype)]


def _batch_matmul_kernel(x, y, *, adj_x, adj_y):
    if x.ndim < 2 or y.ndim < 2:
        raise errors.InvalidArgumentError(None, None, "In[0] and In[1] ndims must be >= 2: %d "
                                          "and %d" % (x.ndim, y.ndim))
    if adj_x:
        x = np.swapaxes(x, -1, -2)
    if adj_y:
        y = np.swapaxes(y, -1, -2)
    if x.shape[:-2] != y.shape[:-2]:
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            raise errors.InvalidArgumentError(
                None, None, "In[0] and In[1] must have compatible batch dimensions: %s vs. %s"
                % (_shape_text(x.shape), _shape_text(y.shape))) from None
    return _matmul_arrays(x, y)


def _batch_matmul_grad(op, grad):
    x, y = op.inputs
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")
    if not adj_x:
        if not adj_y:
            gx = matmul(grad, y, adjoint_b=True)
            gy = matmul(x, grad, adjoint_a=True)
        else:
            gx = matmul(grad, y)
            gy = matmul(grad, x, adjoint_a=True)
    else:
        if not adj_y:
            gx = matmul(y, grad, adjoint_b=True)
            gy = matmul(x, grad)
        else:
            gx = matmul(y, grad, adjoint_a=True, adjoint_b=True)
            gy = matmul(grad, x, adjoint_a=True, adjoint_b=True)
    # Batch dims may have been broadcast (BatchMatMulV2): sum them back.
    return [_reduce_to_shape(gx, x), _reduce_to_shape(gy, y)]


registry.register_op("MatMul", shape=_matmul_shape, numpy=_matmul_kernel,
                     gradient=_dense_grad(_matmul_grad), sharding=sharding.ROW_WISE)
# Batch dims of both operands may be split or broadcast: the safe rule.
registry.register_op("BatchMatMulV2", shape=_batch_matmul_shape, numpy=_batch_matmul_kernel,
                     gradient=_dense_grad(_batch_matmul_grad), sharding=sharding.GATHER)


def _convert_pair(x, y, op_type, names):
    """Like convert_binary_operands, naming the operands as the op's inputs ("a", "b")."""
    if is_tensor_like(x) or not is_tensor_like(y):
        x = convert_to_tensor(x, name=names[0])
        y = _convert_like(y, x.dtype, op_type, names[1])
    else:
        y = convert_to_tensor(y, name=names[1])
        x = _convert_like(x, y.dtype, op_type, names[0])
    if x.dtype != y.dtype:
        raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                        "argument '%s'." % (names[1], op_type, y.dtype.name, x.dtype.name,
                                            names[0]))
    return x, y


def _convert_like(value, dtype, op_type, name):
    if is_tensor_like(value):
        return convert_to_tensor(value, name=name)
    try:
        return convert_to_tensor(value, dtype=dtype, name=name)
    except (TypeError, ValueError):
        return convert_to_tensor(value, name=name)  # the dtype check then names both


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """Multiplies matrix a by matrix b (op MatMul; BatchMatMulV2 for rank > 2 or unknown).

    Rank > 2 inputs are batches of matrices whose batch dims broadcast (TF2's BatchMatMulV2).
    For real dtypes adjoint is transpose. `a_is_sparse`/`b_is_sparse` are hints TF uses to
    pick another kernel with the same result; hpcflow accepts and ignores them.

    Args:
      a: Tensor of rank >= 2 (float16/32/64, int32, int64).
      b: Tensor of a's dtype and rank >= 2.
      transpose_a, transpose_b: transpose the last two dims of a / b first.
      adjoint_a, adjoint_b: conjugate-transpose a / b first.
      a_is_sparse, b_is_sparse: ignored hints.
      name: optional op name (default "MatMul").

    Returns:
      A Tensor of a's dtype.

    Raises:
      ValueError: if both transpose_x and adjoint_x are set, or the inner dimensions (or
        batch dims) are statically incompatible, or a rank is below 2.
      TypeError: if a and b have different dtypes.
    """
    with _op_scope(name, "MatMul", [a, b]) as scope:
        if transpose_a and adjoint_a:
            raise ValueError("Only one of transpose_a and adjoint_a can be True.")
        if transpose_b and adjoint_b:
            raise ValueError("Only one of transpose_b and adjoint_b can be True.")
        a, b = _convert_pair(a, b, "MatMul", ("a", "b"))
        t_a = builtins.bool(transpose_a or adjoint_a)
        t_b = builtins.bool(transpose_b or adjoint_b)
        ra, rb = a.shape.ndims, b.shape.ndims
        if ra is None or ra > 2 or rb is None or rb > 2:
            return _apply("BatchMatMulV2", [a, b], {"adj_x": t_a, "adj_y": t_b}, name=scope)
        return _apply("MatMul", [a, b], {"transpose_a": t_a, "transpose_b": t_b}, name=scope)


def tensordot(a, b, axes, name=None):
    """Tensor contraction of a and b over `axes` (TF `tf.tensordot`), via transpose+matmul.

    Args:
      a: Tensor of known rank.
      b: Tensor of a's dtype and known rank.
      axes: an int N (last N axes of a with first N of b) or a pair of int lists
        [a_axes, b_axes] of equal length.
      name: optional name (default "Tensordot").

    Returns:
      A Tensor of shape a_free_dims + b_free_dims.

    Raises:
      ValueError: if ranks are unknown, axes are malformed or out of range, or the
        contracted dims differ.
    """
    array_ops = _array_ops()
    with _op_scope(name, "Tensordot", [a, b]) as scope:
        a, b = _convert_pair(a, b, "Tensordot", ("a", "b"))
        ra, rb = a.shape.ndims, b.shape.ndims
        if ra is None or rb is None:
            raise ValueError("tensordot needs inputs of known rank, got %s and %s"
                             % (a.shape, b.shape))
        if isinstance(axes, numbers.Integral):
            if axes < 0 or axes > builtins.min(ra, rb):
                raise ValueError("'axes' must be at most the rank of a (%d) and b (%d), got %d"
                                 % (ra, rb, axes))
            a_axes, b_axes = list(builtins.range(ra - axes, ra)), list(builtins.range(axes))
        else:
            axes = tensor_util.constant_value(axes) if isinstance(axes, Tensor) else axes
            if axes is None or len(axes) != 2:
                raise ValueError("'axes' must be an int or a pair of axis lists, got %r"
                                 % (axes,))
            a_axes = [int(v) for v in np.asarray(axes[0]).reshape(-1)]
            b_axes = [int(v) for v in np.asarray(axes[1]).reshape(-1)]
            if len(a_axes) != len(b_axes):
                raise ValueError("Different number of contraction axes 'a' and 'b', %d != %d."
                                 % (len(a_axes), len(b_axes)))
        a_axes = [ax % ra if -ra <= ax < ra else _axis_error(ax, ra) for ax in a_axes]
        b_axes = [ax % rb if -rb <= ax < rb else _axis_error(ax, rb) for ax in b_axes]
        for i, j in zip(a_axes, b_axes):
            da, db = a.shape[i], b.shape[j]
            if da is not None and db is not None and da != db:
                raise ValueError("Dimensions must be equal, but are %d and %d (tensordot axes "
                                 "%d of a and %d of b)" % (da, db, i, j))
        a_free = [i for i in builtins.range(ra) if i not in a_axes]
        b_free = [i for i in builtins.range(rb) if i not in b_axes]
        a_2d, a_free_dims = _tensordot_reshape(a, a_free, a_axes, array_ops)
        b_2d, b_free_dims = _tensordot_reshape(b, b_axes, b_free, array_ops, flipped=True)
        product = matmul(a_2d, b_2d)
        if isinstance(a_free_dims, list) and isinstance(b_free_dims, list):
            return array_ops.reshape(product, a_free_dims + b_free_dims, name=scope)
        result = array_ops.reshape(product, array_ops.concat(
            [_as_shape_tensor(a_free_dims), _as_shape_tensor(b_free_dims)], 0), name=scope)
        result.set_shape([a.shape[i] for i in a_free] + [b.shape[i] for i in b_free])
        return result


def _axis_error(axis, rank):
    raise ValueError("tensordot axis %d is out of range for a tensor of rank %d" % (axis, rank))


def _as_shape_tensor(dims):
    if isinstance(dims, list):
        from .constant_op import constant
        return constant(np.array(dims, dtype=np.int32))
    return dims


def _tensordot_reshape(t, first, second, array_ops, flipped=False):
    """t transposed to `first + second` axes and reshaped to 2-D; also the free dims.

    The free dims are `first` (for a) or `second` (for b, `flipped`): a Python list when
    static, else a 1-D int32 Tensor gathered from shape(t).
    """
    perm = first + second
    if perm != list(builtins.range(len(perm))):
        t_perm = array_ops.transpose(t, perm)
    else:
        t_perm = t
    free = second if flipped else first
    dims = list(t.shape)
    free_static = [dims[i] for i in free]
    rows_static = [dims[i] for i in first]
    cols_static = [dims[i] for i in second]

    def product(values):
        n = 1
        for v in values:
            n *= v
        return n

    if None not in rows_static and None not in cols_static:
        t_2d = array_ops.reshape(t_perm, [product(rows_static), product(cols_static)])
    elif None not in cols_static:
        t_2d = array_ops.reshape(t_perm, [-1, product(cols_static)])
    elif None not in rows_static:
        t_2d = array_ops.reshape(t_perm, [product(rows_static), -1])
    else:
        shape = array_ops.shape(t)
        rows = reduce_prod(array_ops.gather(shape, first))
        t_2d = array_ops.reshape(t_perm, array_ops.stack([rows, -1]))
    if None in free_static:
        free_dims = array_ops.gather(array_ops.shape(t), free)
    else:
        free_dims = free_static
    return t_2d, free_dims


# ---------------------------------------------------------------------------------------------
# Operator overloads on Tensor.

def _operator_call(fn, scope_name, x, y):
    with _op_scope(None, scope_name, [x, y]) as scope:
        return fn(x, y, name=scope)


def _may_defer(y, op_name):
    """True when y is a foreign object that may implement the reflected operator itself."""
    if is_tensor_like(y) or isinstance(y, (numbers.Number, np.ndarray, np.generic, list,
                                           tuple, str, bytes)):
        return False
    return hasattr(type(y), "__r%s__" % op_name)


def _binary_operator(fn, scope_name, op_name):
    def forward(x, y):
        try:
            return _operator_call(fn, scope_name, x, y)
        except (TypeError, ValueError):
            if _may_defer(y, op_name):
                return NotImplemented
            raise

    def reflected(y, x):
        return _operator_call(fn, scope_name, x, y)

    forward.__name__, reflected.__name__ = "__%s__" % op_name, "__r%s__" % op_name
    return forward, reflected


def _install_operators(cls):
    """Installs TF's operators on `cls` (Tensor): + - * / // % ** @ & | ^, unary, compare.

    Not `==`/`!=` (graph-mode TF compares identity) nor `[]` (array_ops installs it).
    """
    table = (("add", add, "add"), ("sub", subtract, "sub"), ("mul", multiply, "mul"),
             ("truediv", truediv, "truediv"), ("floordiv", floordiv, "floordiv"),
             ("mod", floormod, "mod"), ("pow", pow, "pow"), ("matmul", matmul, "matmul"),
             ("and", logical_and, "and"), ("or", logical_or, "or"),
             ("xor", logical_xor, "xor"))
    for op_name, fn, scope_name in table:
        forward, reflected = _binary_operator(fn, scope_name, op_name)
        setattr(cls, "__%s__" % op_name, forward)
        setattr(cls, "__r%s__" % op_name, reflected)
    cls.__lt__ = lambda x, y: less(x, y)
    cls.__le__ = lambda x, y: less_equal(x, y)
    cls.__gt__ = lambda x, y: greater(x, y)
    cls.__ge__ = lambda x, y: greater_equal(x, y)
    cls.__neg__ = lambda x: negative(x)
    cls.__abs__ = lambda x: abs(x)
    cls.__invert__ = lambda x: logical_not(x)


_install_operators(Tensor)
