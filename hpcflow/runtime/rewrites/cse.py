"""Common subexpression elimination: one node for equal ops on equal inputs."""
import numpy as np

from ...framework import dtypes

# Constants above this size are not compared (hashing them costs more than it saves).
MAX_HASHED_CONSTANT_BYTES = 1 << 20


class _Unhashable(Exception):
    pass


def _freeze(value):
    """A hashable, exact key for an attr value (floats by bits: -0.0 differs from 0.0)."""
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", value.hex() if value == value else "nan")
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.nbytes > MAX_HASHED_CONSTANT_BYTES:
            raise _Unhashable()
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return _freeze(np.asarray(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, dtypes.DType):
        return ("dtype", value.name)
    raise _Unhashable()


def _signature(node):
    attrs = node.attrs
    if node.values is not None:  # a folded constant: compare by value
        frozen = tuple(_freeze(v) for v in node.values)
    else:
        frozen = _freeze(attrs) if attrs else ()
    return (node.type, frozen, tuple(node.inputs),
            frozenset(id(c) for c in node.controls),
            tuple((t.dtype.name, t.shape.as_tuple_or_none()) for t in node.outputs))


def common_subexpression_elimination(ir, context):
    """Common subexpression elimination.

    Pattern: `a = op(x, y; attrs)`, `b = op(x, y; attrs)` with the same control inputs ->
    every use of b uses a (the earlier one), including constants of equal value. Never
    merges stateful ops, context kernels, ops of the `_` family, or nodes with fed
    outputs; attrs must be exactly equal (floats by bits, arrays by bytes).
    """
    seen = {}
    dead = set()
    replacement = {}
    for node in ir.nodes:  # creation order: the survivor is the earliest
        if node.stateful or not node.outputs or ir.has_fed_output(node):
            continue
        node.inputs = [ir.resolve(t) for t in node.inputs]
        try:
            key = _signature(node)
        except _Unhashable:
            continue
        survivor = seen.get(key)
        if survivor is None:
            seen[key] = node
            continue
        for old, new in zip(node.outputs, survivor.outputs):
            ir.replace(old, new)
        dead.add(node)
        replacement[node] = survivor
    if dead:
        ir.remove(dead, replacement)
        ir.normalize()
    return len(dead)
