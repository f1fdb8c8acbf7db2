"""Helpers shared by the math op modules (math_*_ops.py): TF's dtype groups, dtype checks
with TF's messages, name scopes and op creation."""
import contextlib

from ..framework import dtypes
from ..framework.graph import Tensor, graph_for_inputs
from ..framework.tensor_conversion import convert_to_tensor
from .op_helpers import apply_op


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
    # The array op modules import math_ops (for their own gradients): import them when first
    # needed.
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
