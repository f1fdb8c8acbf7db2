"""Run-time checks: `check_numerics`, `Assert` and the `tf.debugging.assert_*` family.

As in TF1, an assert is an op whose failure raises InvalidArgumentError when it runs
("assertion failed: [...] [...]"): make other ops depend on it with
`tf.control_dependencies`. When the operands are known at graph-build time the binary
asserts fail right away, and rank/type/scalar checks are decided statically when they can
be, exactly where TF decides them.
"""
import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor
from .logging_ops import graph_for_inputs, summarize_value

_FLOAT_TYPES = (dtypes.float16, dtypes.float32, dtypes.float64)


def _math():
    from . import math_ops  # imported lazily: math_ops is a sibling module built in parallel
    return math_ops


def _array():
    from . import array_ops
    return array_ops


def _no_op(name):
    from .control_flow_ops import no_op
    return no_op(name=name)


def name_scope(name, default_name, values):
    # TF1's name_scope(name, default_name, values): on the graph the ops will go to.
    return graph_for_inputs(values).name_scope(name if name is not None else default_name)


def _message_prefix(message):
    return "%s.  " % message if message else ""


# -- check_numerics -----------------------------------------------------------------------------

def _check_numerics_shape(op):
    x = op.inputs[0]
    if x.dtype not in _FLOAT_TYPES:
        raise TypeError("Value passed to parameter 'tensor' has DataType %s not in list of "
                        "allowed values: bfloat16, float16, float32, float64" % x.dtype.name)
    return [(x.shape, x.dtype)]


def _check_numerics_kernel(tensor, *, message):
    if tensor.size and not np.isfinite(tensor).all():
        has_inf = bool(np.isinf(tensor).any())
        has_nan = bool(np.isnan(tensor).any())
        status = "Inf and NaN" if has_inf and has_nan else ("Inf" if has_inf else "NaN")
        raise errors.InvalidArgumentError(None, None, "%s : Tensor had %s values"
                                          % (message, status))
    return tensor


def _check_numerics_grad(op, grad):
    return [check_numerics(grad, "Not a number (NaN) or infinity (Inf) values detected in "
                                 "gradient. %s" % op.get_attr("message"))]


# Stateful: a NaN in a constant must be reported when the graph runs, never folded away.
registry.register_op("CheckNumerics", shape=_check_numerics_shape, numpy=_check_numerics_kernel,
                     gradient=_check_numerics_grad, stateful=True,
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.pass_through))


def check_numerics(tensor, message, name=None):
    """Passes `tensor` through, failing when it holds NaN or Inf (TF `tf.check_numerics`).

    Args:
      tensor: a float16/32/64 Tensor.
      message: the start of the error message.
      name: op name (default "CheckNumerics").

    Returns:
      A Tensor equal to `tensor`; its gradient is checked the same way.

    Raises:
      TypeError: for a non-float tensor (when the graph is built).
      At run time: InvalidArgumentError "<message> : Tensor had NaN values" (or "Inf", or
      "Inf and NaN").
    """
    tensor = convert_to_tensor(tensor, name="tensor")
    op = graph_for_inputs([tensor]).create_op("CheckNumerics", [tensor], {"message": str(message)},
                                name=name or "CheckNumerics")
    return op.outputs[0]


def verify_tensor_all_finite(t=None, msg=None, name=None, x=None, message=None):
    """`t` unchanged, after checking it holds no NaN or Inf (TF1 `tf.verify_tensor_all_finite`).

    Also `tf.debugging.assert_all_finite`; `x`/`message` are the TF2 names of `t`/`msg`.

    Returns:
      A Tensor equal to `t` that depends on the check.
    """
    x = t if x is None else x
    message = msg if message is None else message
    graph = graph_for_inputs([x])
    with graph.name_scope(name or "VerifyFinite"):
        x = convert_to_tensor(x, name="x")
        with graph.colocate_with(x.op):
            verify_input = check_numerics(x, message=message)
            with graph.name_scope("control_dependency") as scope:
                with graph.control_dependencies([verify_input]):
                    return _array().identity(x, name=scope)


assert_all_finite = verify_tensor_all_finite


# -- Assert ------------------------------------------------------------------------------------

def _assert_shape(op):
    condition = op.inputs[0]
    if condition.dtype != dtypes.bool:
        raise TypeError("Input 'condition' of 'Assert' Op has type %s that does not match "
                        "expected type of bool." % condition.dtype.name)
    return []


def _assert_kernel(condition, *data, summarize):
    if np.ndim(condition) != 0:
        raise errors.InvalidArgumentError(None, None, "In[0] should be a scalar: [%s]"
                                          % ",".join(str(d) for d in np.shape(condition)))
    if not condition:
        raise errors.InvalidArgumentError(None, None, "assertion failed: " + " ".join(
            "[%s]" % summarize_value(d, summarize) for d in data))


registry.register_op("Assert", shape=_assert_shape, numpy=_assert_kernel, stateful=True,
                     sharding=sharding.GATHER)
registry.not_differentiable("Assert")


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF's name
    """Asserts that `condition` is true when the op runs (TF1 `tf.Assert`).

    Args:
      condition: a scalar bool tensor.
      data: tensors (and strings) whose values make up the error message.
      summarize: how many entries of each tensor to print (default 3).
      name: name scope (default "Assert"; the op inside is named "Assert").

    Returns:
      The Assert Operation. When it runs with a false condition it raises
      InvalidArgumentError "assertion failed: [data0] [data1] ...".

    Raises:
      TypeError: if `condition` is not bool.
    """
    graph = graph_for_inputs([condition])
    with graph.name_scope(name or "Assert"):
        data = [convert_to_tensor(d) for d in data]
        condition = convert_to_tensor(condition, name="Condition")
        return graph.create_op(
            "Assert", [condition] + data,
            {"summarize": 3 if summarize is None else int(summarize)}, name="Assert")


# -- the assert_* family -------------------------------------------------------------------------

def _constant_text(t):
    if not isinstance(t, Tensor):
        return str(t)
    value = tensor_util.constant_value(t)
    return str(value) if value is not None else str(t)


def _assert_static(condition, data):
    if not condition:
        raise errors.InvalidArgumentError(None, None, "\n".join(_constant_text(x) for x in data))


def _values_of(data):
    return [d for d in (data or []) if isinstance(d, Tensor)]


def _binary_assert(sym, opname, op_name, static_func, x, y, data, summarize, message, name):
    with name_scope(name, opname, [x, y] + _values_of(data)):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y")
        if data is None:
            data = ["Condition x %s y did not hold element-wise:" % sym,
                    "x (%s) = " % x.name, x, "y (%s) = " % y.name, y]
        if message is not None:
            data = [message] + list(data)
        math_ops = _math()
        condition = math_ops.reduce_all(getattr(math_ops, op_name)(x, y))
        x_static = tensor_util.constant_value(x)
        y_static = tensor_util.constant_value(y)
        if x_static is not None and y_static is not None:
            _assert_static(bool(np.all(static_func(x_static, y_static))), data)
        return Assert(condition, data, summarize=summarize)


def _binary(sym, opname, op_name, static_func, doc):
    def assert_fn(x, y, data=None, summarize=None, message=None, name=None):
        return _binary_assert(sym, opname, op_name, static_func, x, y, data, summarize,
                              message, name)
    assert_fn.__name__ = opname
    assert_fn.__doc__ = """Asserts `x %s y` element-wise (TF1 `tf.%s`), with broadcasting.

    Args:
      x, y: numeric tensors (or values converted to tensors).
      data: tensors printed on failure (default: the condition, x and y).
      summarize: entries of each tensor printed (default 3).
      message: a string prefixed to the data.
      name: name scope (default "%s").

    Returns:
      The Assert Operation (it raises InvalidArgumentError when run and `x %s y` does not
      hold for some element).

    Raises:
      InvalidArgumentError: right away when x and y are known constants that fail %s.
    """ % (sym, opname, opname, sym, doc)
    return assert_fn


_assert_equal = _binary("==", "assert_equal", "equal", np.equal, "the check")


def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    with name_scope(name, "assert_equal", [x, y] + _values_of(data)):
        # As TF: the same tensor on both sides needs no check (this scope is then used up,
        # so the check's ops live under "assert_equal_1" like TF's).
        if x is y:
            return _no_op(None)
    return _assert_equal(x, y, data=data, summarize=summarize, message=message, name=name)


assert_equal.__doc__ = _assert_equal.__doc__
assert_none_equal = _binary("!=", "assert_none_equal", "not_equal", np.not_equal, "the check")
assert_less = _binary("<", "assert_less", "less", np.less, "the check")
assert_less_equal = _binary("<=", "assert_less_equal", "less_equal", np.less_equal, "the check")
assert_greater = _binary(">", "assert_greater", "greater", np.greater, "the check")
assert_greater_equal = _binary(">=", "assert_greater_equal", "greater_equal", np.greater_equal,
                               "the check")


def _sign_assert(opname, condition_text, zero_first, binary):
    def assert_fn(x, data=None, summarize=None, message=None, name=None):
        message = _message_prefix(message)
        with name_scope(name, opname, [x] + _values_of(data)):
            x = convert_to_tensor(x, name="x")
            if data is None:
                data = [message, "Condition x %s did not hold element-wise:" % condition_text,
                        "x (%s) = " % x.name, x]
            zero = convert_to_tensor(0, dtype=x.dtype)
            if zero_first:
                return binary(zero, x, data=data, summarize=summarize)
            return binary(x, zero, data=data, summarize=summarize)
    assert_fn.__name__ = opname
    assert_fn.__doc__ = """Asserts `x %s` element-wise (TF1 `tf.%s`).

    Args:
      x: a numeric tensor.
      data: tensors printed on failure (default: the condition and x).
      summarize: entries of each tensor printed (default 3).
      message: a string prefixed to the default data.
      name: name scope (default "%s").

    Returns:
      The Assert Operation.

    Raises:
      InvalidArgumentError: right away when x is a constant that fails the check.
    """ % (condition_text, opname, opname)
    return assert_fn


assert_positive = _sign_assert("assert_positive", "> 0", True, assert_less)
assert_negative = _sign_assert("assert_negative", "< 0", False, assert_less)
assert_non_negative = _sign_assert("assert_non_negative", ">= 0", True, assert_less_equal)
assert_non_positive = _sign_assert("assert_non_positive", "<= 0", False, assert_less_equal)


def assert_near(x, y, rtol=None, atol=None, data=None, summarize=None, message=None, name=None):
    """Asserts `|x - y| < atol + rtol * |y|` element-wise (TF1 `tf.assert_near`).

    Args:
      x, y: float tensors (y is converted to x's dtype).
      rtol, atol: tolerances (default 10 * machine epsilon of the dtype).

    Returns:
      The Assert Operation.
    """
    message = _message_prefix(message)
    with name_scope(name, "assert_near", [x, y] + _values_of(data)):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y", dtype=x.dtype)
        eps = np.finfo(x.dtype.np_dtype).eps if (x.dtype.is_floating or x.dtype.is_complex) \
            else np.finfo(np.float64).eps
        real = {dtypes.complex64: dtypes.float32, dtypes.complex128: dtypes.float64}.get(
            x.dtype, x.dtype)
        rtol = convert_to_tensor(10 * eps if rtol is None else rtol, name="rtol", dtype=real)
        atol = convert_to_tensor(10 * eps if atol is None else atol, name="atol", dtype=real)
        if data is None:
            data = [message, "x and y not equal to tolerance rtol = %s, atol = %s"
                    % (rtol, atol), "x (%s) = " % x.name, x, "y (%s) = " % y.name, y]
        math_ops = _math()
        tol = math_ops.add(atol, math_ops.multiply(rtol, math_ops.abs(y)))
        diff = math_ops.abs(math_ops.subtract(x, y))
        condition = math_ops.reduce_all(math_ops.less(diff, tol))
        return Assert(condition, data, summarize=summarize)


def _assert_rank_condition(x, rank, static_condition, dynamic_op, data, summarize):
    assert_type(rank, dtypes.int32)
    rank_static = tensor_util.constant_value(rank)
    if rank_static is not None:
        if np.ndim(rank_static) != 0:
            raise ValueError("Rank must be a scalar.")
        x_rank_static = x.shape.ndims
        if x_rank_static is not None:
            if not static_condition(x_rank_static, int(rank_static)):
                raise ValueError("Static rank condition failed", x_rank_static,
                                 int(rank_static))
            return _no_op("static_checks_determined_all_ok")
    array_ops = _array()
    condition = getattr(_math(), dynamic_op)(array_ops.rank(x), rank)
    if rank_static is None:
        # Catches assert_rank(x, [n]) meant as assert_rank(x, n).
        rank_check = assert_rank(rank, 0, data=["Rank must be a scalar. Received rank: ", rank])
        with graph_for_inputs([x]).control_dependencies([rank_check]):
            condition = array_ops.identity(condition)
    return Assert(condition, data, summarize=summarize)


def _rank_assert(opname, what):
    def assert_fn(x, rank, data=None, summarize=None, message=None, name=None):
        with name_scope(name, opname, [x, rank] + _values_of(data)):
            x = convert_to_tensor(x, name="x")
            rank = convert_to_tensor(rank, name="rank")
            message = _message_prefix(message)
            if data is None:
                data = [message, "Tensor %s must have %s" % (x.name, what), rank,
                        "Received shape: ", _array().shape(x)]
            static = (lambda actual, given: actual == given) if what == "rank" else \
                (lambda actual, given: actual >= given)
            try:
                return _assert_rank_condition(x, rank, static,
                                              "equal" if what == "rank" else "greater_equal",
                                              data, summarize)
            except ValueError as e:
                if e.args[0] == "Static rank condition failed":
                    raise ValueError("%sTensor %s must have %s %d.  Received rank %d, shape %s"
                                     % (message, x.name, what, e.args[2], e.args[1],
                                        x.shape)) from None
                raise
    assert_fn.__name__ = opname
    assert_fn.__doc__ = """Asserts that `x` has %s `rank` (TF1 `tf.%s`).

    Args:
      x: a tensor.
      rank: a scalar int32 (tensor or Python int).
      data, summarize, message, name: as for `assert_equal`.

    Returns:
      A NoOp when the check is decided statically, else the Assert Operation.

    Raises:
      ValueError: when the static rank of `x` fails the check.
    """ % (what, opname)
    return assert_fn


assert_rank = _rank_assert("assert_rank", "rank")
assert_rank_at_least = _rank_assert("assert_rank_at_least", "rank at least")


def assert_type(tensor, tf_type, message=None, name=None):
    """Statically asserts that `tensor` has dtype `tf_type` (TF1 `tf.assert_type`).

    Returns:
      A NoOp "statically_determined_correct_type".

    Raises:
      TypeError: naming the tensor and both types when they differ.
    """
    tf_type = dtypes.as_dtype(tf_type)
    with name_scope(name, "assert_type", [tensor]):
        tensor = convert_to_tensor(tensor, name="tensor")
        if tensor.dtype != tf_type:
            raise TypeError("%s%s must be of type %r; got %r"
                            % (_message_prefix(message), tensor.name, tf_type, tensor.dtype))
        return _no_op("statically_determined_correct_type")


def assert_integer(x, message=None, name=None):
    """Statically asserts that `x` has an integer dtype (TF1 `tf.assert_integer`).

    Returns:
      A NoOp "statically_determined_was_integer".

    Raises:
      TypeError: if `x` is not an integer tensor.
    """
    with name_scope(name, "assert_integer", [x]):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_integer:
            raise TypeError('%sExpected "x" to be integer type.  Found: %s of dtype %s'
                            % (_message_prefix(message), x.name, x.dtype))
        return _no_op("statically_determined_was_integer")


def assert_scalar(tensor, name=None, message=None):
    """Statically asserts that `tensor` is a scalar; returns it (TF1 `tf.assert_scalar`).

    Raises:
      ValueError: if the static rank of `tensor` is not known to be 0.
    """
    with name_scope(name, "assert_scalar", [tensor]) as scope:
        tensor = convert_to_tensor(tensor, name=scope)
        if tensor.shape.ndims != 0:
            raise ValueError("%sExpected scalar shape for %s, saw shape: %s."
                             % (_message_prefix(message), tensor.name, tensor.shape))
        return tensor


def assert_proper_iterable(values):
    """Raises TypeError unless `values` is an iterable other than a Tensor, array or string."""
    if isinstance(values, (Tensor, np.ndarray, bytes, str)):
        raise TypeError('Expected argument "values" to be a "proper" iterable.  Found: %s'
                        % type(values))
    if not hasattr(values, "__iter__"):
        raise TypeError('Expected argument "values" to be iterable.  Found: %s' % type(values))


def assert_same_float_dtype(tensors=None, dtype=None):
    """The common float dtype of `tensors` (and `dtype`), float32 when there is none.

    Raises:
      ValueError: if the tensors' dtypes differ or are not floating point.
    """
    if tensors:
        first = None
        for item in tensors:
            if item is None:
                continue
            if dtype is None:
                dtype, first = item.dtype, item
            elif item.dtype != dtype:
                raise ValueError("%s, type=%s, must be of the same type (%s)%s." % (
                    getattr(item, "name", item), item.dtype, dtype,
                    " as %s" % first.name if first is not None else ""))
    if dtype is None:
        return dtypes.float32
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError("Expected floating point type, got %s." % dtype)
    return dtype


def is_numeric_tensor(tensor):
    """True if `tensor` is a Tensor of a numeric (int, float or complex) dtype."""
    return isinstance(tensor, Tensor) and tensor.dtype.is_numeric


def _monotonic(x, name, default_name, compare):
    with name_scope(name, default_name, [x]):
        array_ops = _array()
        x = array_ops.reshape(convert_to_tensor(x, name="x"), [-1])
        if not is_numeric_tensor(x):
            raise TypeError("Expected x to be numeric, instead found: %s" % x)
        # Comparing neighbours directly (TF subtracts them, which overflows for ints).
        head = array_ops.strided_slice(x, [0], [-1])
        tail = array_ops.strided_slice(x, [1], [0], end_mask=1)
        math_ops = _math()
        return math_ops.reduce_all(getattr(math_ops, compare)(head, tail))


def is_non_decreasing(x, name=None):
    """A scalar bool Tensor: whether `x` (flattened) never decreases; True if < 2 elements.

    Raises:
      TypeError: if `x` is not numeric.
    """
    return _monotonic(x, name, "is_non_decreasing", "less_equal")


def is_strictly_increasing(x, name=None):
    """A scalar bool Tensor: whether `x` (flattened) strictly increases; True if < 2 elements.

    Raises:
      TypeError: if `x` is not numeric.
    """
    return _monotonic(x, name, "is_strictly_increasing", "less")
