"""Constant folding: computes, once at plan compile time, what depends only on constants."""
import numpy as np

from ... import backends
from ...framework import dtypes, registry

# A folded value lives as long as its plan; larger results are computed every step instead
# (TF's constant folding has a similar cap).
MAX_FOLDED_BYTES = 10 * 1024 * 1024

# Ops whose result is known from the static shape of their input alone.
_SHAPE_OPS = ("Shape", "Size", "Rank")

_CONST = registry.get("Const")


def _const_values(node):
    """The output arrays of a Const or folded node, else None."""
    if node.values is not None:
        return node.values
    if node.type == "Const":
        return (node.attrs["value"],)
    return None


def _static_shape_value(node):
    """The value of a Shape/Size/Rank node when its input's static shape fixes it, else None."""
    shape = node.inputs[0].shape
    if node.type == "Rank":
        return None if shape.ndims is None else np.array(shape.ndims, dtype=np.int32)
    dims = shape.as_tuple_or_none()
    if dims is None or any(d is None for d in dims):
        return None
    np_type = dtypes.as_dtype(node.attrs["out_type"]).np_dtype
    if node.type == "Shape":
        return np.array(dims, dtype=np_type)
    return np.array(int(np.prod(dims, dtype=np.int64)), dtype=np_type)


def _checked(node, result):
    """`result` as a tuple of arrays matching the node's outputs, or None if unusable."""
    values = result if len(node.outputs) > 1 else (result,)
    if not isinstance(values, (tuple, list)) or len(values) != len(node.outputs):
        return None
    total = 0
    checked = []
    for t, v in zip(node.outputs, values):
        if not isinstance(v, (np.ndarray, np.generic)) or t.dtype is dtypes.variant:
            return None
        v = np.asarray(v)
        if v.dtype != t.dtype.np_dtype or not t.shape.is_compatible_with(v.shape):
            return None
        total += v.nbytes
        if v.dtype == object or total > MAX_FOLDED_BYTES:
            return None
        v = v.copy() if v.flags.writeable or not v.flags.c_contiguous else v
        v.setflags(write=False)  # handed out every step: nobody may change it
        checked.append(v)
    return tuple(checked)


def fold(node, values):
    """Turns `node` into a constant node yielding `values` (one array per output)."""
    node.type = "Const"
    node.record = _CONST
    node.values = values
    node.attrs = {"value": values[0], "dtype": node.outputs[0].dtype.name}
    node.inputs = []


def constant_folding(ir, context):
    """Constant folding.

    Pattern: `op(Const a, Const b, ...) -> Const(op(a, b, ...))` for every stateless op
    (not stateful, not a context kernel, not of the `_` internal family) whose inputs are
    all constants, that has no control inputs and whose outputs are not fed, computed once
    with the op's own kernel; plus `Shape(x)`, `Size(x)`, `Rank(x) -> Const` when x's
    static shape fixes the value (except in creation-order plans, whose data-parallel
    graphs keep global static shapes for batch-split tensors). A kernel that fails, or a
    result larger than MAX_FOLDED_BYTES, leaves the op to run (and report) at run time.
    """
    producers = ir.producers()
    changed = 0
    for node in ir.nodes:  # creation order: a node's constant inputs are folded first
        if node.stateful or node.controls or node.values is not None or node.type == "Const":
            continue
        if not node.outputs or ir.has_fed_output(node):
            continue
        if node.type in _SHAPE_OPS and not ir.creation_order:
            value = _static_shape_value(node)
            values = _checked(node, value) if value is not None else None
            if values is not None:
                fold(node, values)
                changed += 1
                continue
        inputs = []
        for t in node.inputs:
            p = producers.get(t)
            values = _const_values(p) if p is not None else None
            if values is None:
                break
            inputs.append(values[t.value_index])
        else:
            try:
                _, kernel = backends.kernel_for(node.record, context.preference)
                result = kernel(*inputs, **node.attrs)
            except Exception:  # noqa: BLE001 - the op reports it at run time, with its name
                continue
            values = _checked(node, result)
            if values is not None:
                fold(node, values)
                changed += 1
    return changed
