"""Element-wise binary ops: arithmetic, comparisons, logical ops (TF1 `math_ops`).

Wrappers reproduce TF1's default op names and name scopes: `tf.add` makes op "Add" (type
AddV2), and Python operands are converted inside the op's scope ("Add/y").
"""
import warnings

import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_binary_operands, convert_to_tensor, is_tensor_like
from .math_helpers import (
    _BOOL, _FLOATS, _INDEX, _REALS, _SIGNED_REALS, _apply, _array_ops, _check_dtype,
    _check_same_dtype, _dense_grad, _op_scope)

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))


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

# Element-wise ops that also keep partial sums partial (data parallel; sharding_rules.py).
_LINEAR_SHARDING = {"Add": sharding_rules.linear_add, "AddV2": sharding_rules.linear_add,
                    "Sub": sharding_rules.linear_add, "Mul": sharding_rules.scale,
                    "RealDiv": sharding_rules.divide, "Div": sharding_rules.divide}


def _binary_sharding(op_type):
    rule = _LINEAR_SHARDING.get(op_type)
    return sharding.ELEMENTWISE if rule is None else sharding.Rule(sharding.ELEMENTWISE, rule)


for _op_type, (_allowed, _fn, _int_div, _grad) in _BINARY_OPS.items():
    registry.register_op(_op_type, shape=_binary_shape(_allowed),
                         numpy=_binary_kernel(_fn, _int_div),
                         gradient=_dense_grad(_grad), sharding=_binary_sharding(_op_type))

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


# Ops of the other math modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .math_broadcast_ops import (  # noqa: E402
    _incompatible, _reduce_to_shape, broadcast_static_shape)
from .math_cast_ops import cast  # noqa: E402
from .math_operators import _operator_call  # noqa: E402
from .math_unary_ops import log, logical_not, negative, square  # noqa: E402
