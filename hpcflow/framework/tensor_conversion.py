"""`convert_to_tensor`: turns Tensors, Variables, arrays and Python values into graph Tensors."""
from . import dtypes
from .graph import Tensor, get_default_graph

# (type, function(value, dtype, name, as_ref) -> Tensor), checked in registration order.
_CONVERSION_FUNCTIONS = []


def register_tensor_conversion_function(base_type, conversion_func, priority=100):
    """Lets objects of `base_type` (e.g. Variable) be used wherever a Tensor is expected."""
    _CONVERSION_FUNCTIONS.append((priority, base_type, conversion_func))
    _CONVERSION_FUNCTIONS.sort(key=lambda entry: entry[0])


def _contains_tensor(value):
    if isinstance(value, (list, tuple)):
        return any(_contains_tensor(v) for v in value)
    return isinstance(value, Tensor) or any(isinstance(value, t) for _, t, _ in _CONVERSION_FUNCTIONS)


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None, dtype_hint=None,
                      as_ref=False):
    """Converts `value` to a Tensor of the default graph (or of `value`'s graph).

    Args:
      value: a Tensor, a registered convertible object (Variable...), a numpy array, a Python
        scalar or nested list (lists holding Tensors are stacked).
      dtype: required element type; a Tensor of another type is an error, Python values are
        converted to it.
      preferred_dtype / dtype_hint: a type to try for Python values, falling back silently.

    Raises:
      ValueError: if `value` is a Tensor whose dtype differs from `dtype`.
      TypeError: if `value` cannot be converted.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    preferred_dtype = preferred_dtype or dtype_hint
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtype:
            raise ValueError("Tensor conversion requested dtype %s for Tensor with dtype %s: %r"
                             % (dtype.name, value.dtype.name, value))
        return value
    for _, base_type, func in _CONVERSION_FUNCTIONS:
        if isinstance(value, base_type):
            result = func(value, dtype=dtype, name=name, as_ref=as_ref)
            if dtype is not None and result.dtype != dtype:
                raise ValueError("Tensor conversion requested dtype %s for %s with dtype %s"
                                 % (dtype.name, type(value).__name__, result.dtype.name))
            return result
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        from ..ops import array_ops
        return array_ops._autopacking(value, dtype=dtype, name=name or "packed")
    from ..ops import constant_op
    if dtype is None and preferred_dtype is not None:
        try:
            return constant_op.constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    if value is None:
        raise ValueError("None values not supported.")
    return constant_op.constant(value, dtype=dtype, name=name or "Const")


def convert_n_to_tensor(values, dtype=None, name=None):
    return [convert_to_tensor(v, dtype=dtype, name=name) for v in values]


def is_tensor_like(value):
    return isinstance(value, Tensor) or any(isinstance(value, t) for _, t, _ in _CONVERSION_FUNCTIONS)


def convert_binary_operands(x, y, op_name):
    """Converts the operands of a binary op as TF does: the non-Tensor side takes the other's type.

    Raises:
      TypeError: naming `op_name` and both dtypes when two Tensors' dtypes differ.
    """
    x_is = is_tensor_like(x)
    y_is = is_tensor_like(y)
    if x_is and not y_is:
        x = convert_to_tensor(x, name="x")
        y = _convert_operand(y, x.dtype, op_name, "y")
    elif y_is and not x_is:
        y = convert_to_tensor(y, name="y")
        x = _convert_operand(x, y.dtype, op_name, "x")
    else:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y")
    if x.dtype != y.dtype:
        raise TypeError("Input 'y' of '%s' Op has type %s that does not match type %s of "
                        "argument 'x'." % (op_name, y.dtype.name, x.dtype.name))
    return x, y


def _convert_operand(value, dtype, op_name, arg):
    # As TF: Python values and numpy arrays are cast to the Tensor operand's type.
    try:
        return convert_to_tensor(value, dtype=dtype, name=arg)
    except (TypeError, ValueError) as e:
        raise TypeError("Input '%s' of '%s' Op: cannot convert %r to %s: %s"
                        % (arg, op_name, value, dtype.name, e)) from None


def default_graph_for(*values):
    for v in values:
        if isinstance(v, Tensor):
            return v.graph
    return get_default_graph()
