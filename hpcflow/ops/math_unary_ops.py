"""Element-wise unary ops: neg, abs, exp, log, trigonometric and hyperbolic functions,
rounding, predicates (TF1 `math_ops`)."""
import math
import warnings

import numpy as np

from ..framework import dtypes, registry, sharding, sharding_rules
from ..framework.tensor_conversion import convert_to_tensor
from .math_helpers import (
    _FLOATS, _REALS, _SIGNED_REALS, _apply, _array_ops, _check_dtype, _dense_grad, _op_scope)

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))


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
                         # -x of a partial sum is a partial sum (data parallel)
                         sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.pass_through)
                         if _op_type == "Neg" else sharding.ELEMENTWISE)

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


# Ops of the other math modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .math_binary_ops import add, multiply, realdiv, subtract  # noqa: E402
