"""`tf.py_func` / `tf.numpy_function`: a Python function run as an op on numpy values.

The function itself never enters the graph: it stays in a process-local registry and the
op refers to it by a string token attr ("pyfunc_0", as TF), so graphs serialize safely. A
process that did not build the graph (another MPI rank, a re-imported GraphDef) has no
such token and the op fails with an error saying so.
"""
import itertools
import threading
import traceback
import weakref

import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import unknown_shape
from .logging_ops import graph_for_inputs

# token -> Python function. Entries leave with their graph (see _register).
_functions = {}
_tokens = itertools.count()
_lock = threading.Lock()

# TF's DataTypeString names, used in py_func's messages ("... is double, but expects float").
_TF_TYPE_NAMES = {"float16": "half", "float32": "float", "float64": "double"}


def _tf_type_name(dtype):
    return _TF_TYPE_NAMES.get(dtype.name, dtype.name)


def _register(graph, func):
    with _lock:
        token = "pyfunc_%d" % next(_tokens)
        _functions[token] = func
    # Drop the function when the graph goes away, as TF's FuncRegistry does.
    weakref.finalize(graph, _functions.pop, token, None)
    return token


def _to_python_arg(value):
    # As TF: tensors arrive as writable numpy arrays (copies: the function may modify
    # them), scalars as numpy scalars and scalar strings as bytes.
    value = np.array(value, copy=True)
    if value.ndim == 0:
        return value[()]
    return value


def _convert_result(value):
    """TF's FuncRegistry._convert: numpy, with text as object arrays of bytes."""
    result = np.asarray(value, order="C")
    if result.dtype.char == "S":
        if result is not value:  # from Python bytes: no numpy padding games
            return np.asarray(value, order="C", dtype=object)
        return result.astype(object)  # hpcflow strings are object arrays of bytes
    if result.dtype.char == "U":
        encoded = np.vectorize(lambda x: x.encode("utf8"), otypes=[object])(result)
        return np.asarray(encoded, order="C", dtype=object)
    if result.dtype == object and result.size:
        flat = result.reshape(-1)
        if any(isinstance(v, str) for v in flat):
            result = np.array([v.encode("utf8") if isinstance(v, str) else v for v in flat],
                              dtype=object).reshape(result.shape)
    return result


def _error_class(exception):
    # TF's mapping of Python exceptions to error codes (tf.errors raised inside the
    # function become UnknownError too, as in TF).
    if isinstance(exception, (ValueError, TypeError)):
        return errors.InvalidArgumentError
    if isinstance(exception, StopIteration):
        return errors.OutOfRangeError
    if isinstance(exception, MemoryError):
        return errors.ResourceExhaustedError
    if isinstance(exception, NotImplementedError):
        return errors.UnimplementedError
    return errors.UnknownError


def _py_func_kernel(ctx, *args, token, Tin, Tout, **attrs):
    func = _functions.get(token)
    if func is None:
        raise errors.FailedPreconditionError(
            None, None, "py_func op %s: its Python function (token %s) is not registered in "
            "this process. py_func runs only in the process that built the graph (not on "
            "other MPI ranks nor after re-importing a serialized graph)." % (ctx.op_name, token))
    try:
        ret = func(*[_to_python_arg(a) for a in args])
    except Exception as e:  # the user's code failed: report it as TF does, with traceback
        cls = _error_class(e)
        message = "%s: %s\nTraceback (most recent call last):\n%s" % (
            type(e).__name__, e, "".join(traceback.format_tb(e.__traceback__)))
        raise cls(None, None, message) from None
    if isinstance(ret, bytes):
        ret = [ret]
    if isinstance(ret, (tuple, list)):
        results = [_convert_result(r) for r in ret]
    elif ret is None and not Tout:
        results = []
    else:
        results = [_convert_result(ret)]
    if len(results) != len(Tout):
        raise errors.InvalidArgumentError(
            None, None, "%s returns %d values, but expects to see %d values."
            % (token, len(results), len(Tout)))
    for i, (value, expected) in enumerate(zip(results, Tout)):
        expected = dtypes.as_dtype(expected)
        try:
            got = dtypes.as_dtype(value.dtype)
        except TypeError:
            got = None
        if got != expected:
            raise errors.InvalidArgumentError(
                None, None, "%d-th value returned by %s is %s, but expects %s"
                % (i, token, _tf_type_name(got) if got is not None else value.dtype,
                   _tf_type_name(expected)))
    if len(results) == 1:
        return results[0]
    return tuple(results)


def _py_func_shape(op):
    return [(unknown_shape(), dtypes.as_dtype(t)) for t in op.get_attr("Tout")]


for _type, _stateful in (("PyFunc", True), ("PyFuncStateless", False)):
    # No gradient of its own (as TF); gradient_override_map + RegisterGradient give one.
    registry.register_op(_type, shape=_py_func_shape, numpy=_py_func_kernel,
                         gradient=registry.NOT_DIFFERENTIABLE, context=True,
                         stateful=_stateful, sharding=sharding.GATHER)


def py_func(func, inp, Tout, stateful=True, name=None):  # noqa: N803 - TF's argument name
    """Wraps a Python function taking and returning numpy arrays as an op (TF1 `tf.py_func`).

    `func` is called with one numpy value per input each time the op runs, in the process
    that built the graph. It must return values of exactly the `Tout` dtypes (a Python
    float is float64, so a float32 output needs `np.float32(...)`, as in TF).

    Args:
      func: a Python function.
      inp: a list of Tensors (or values converted to Tensors).
      Tout: a DType (the op then returns one Tensor) or a list of DTypes (a list).
      stateful: whether the function has side effects (PyFunc, never merged or folded) or
        not (PyFuncStateless).
      name: op name (default "PyFunc"/"PyFuncStateless").

    Returns:
      A Tensor, a list of Tensors, or the Operation when `Tout` is empty; static shapes
      are unknown (use `set_shape`).

    Raises:
      At run time (the executor adds the op's name): InvalidArgumentError for a wrong
      result count or dtype, and TF's mapping of the function's own exceptions, with their
      traceback (ValueError/TypeError -> InvalidArgumentError, StopIteration ->
      OutOfRangeError, MemoryError -> ResourceExhaustedError, NotImplementedError ->
      UnimplementedError, others -> UnknownError).
    """
    is_list = isinstance(Tout, (list, tuple))
    tout = [dtypes.as_dtype(t) for t in Tout] if is_list else [dtypes.as_dtype(Tout)]
    inputs = [convert_to_tensor(x) for x in (inp or [])]
    graph = graph_for_inputs(inputs)
    token = _register(graph, func)
    op_type = "PyFunc" if stateful else "PyFuncStateless"
    attrs = {"token": token, "Tin": [t.dtype.name for t in inputs],
             "Tout": [t.name for t in tout]}
    op = graph.create_op(op_type, inputs, attrs, name=name or op_type)
    if not op.outputs:
        return op
    return op.outputs if is_list else op.outputs[0]


def numpy_function(func, inp, Tout, stateful=True, name=None):  # noqa: N803
    """`tf.numpy_function`: the same as `py_func` (numpy values in, numpy values out)."""
    return py_func(func, inp, Tout, stateful=stateful, name=name)
