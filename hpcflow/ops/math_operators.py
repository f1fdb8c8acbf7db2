"""TF's operators on `Tensor` (+ - * / // % ** @ & | ^, unary, comparisons), installed
when this module is imported."""
import numbers

import numpy as np

from ..framework.graph import Tensor
from ..framework.tensor_conversion import is_tensor_like
from .math_binary_ops import (  # noqa: A004 - TF's pow
    add, floordiv, floormod, greater, greater_equal, less, less_equal, logical_and, logical_or,
    logical_xor, multiply, pow, subtract, truediv)
from .math_helpers import _op_scope
from .math_matmul_ops import matmul
from .math_unary_ops import abs, logical_not, negative  # noqa: A004 - TF's abs


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
