"""Arithmetic simplification: removes ops whose result is exactly one of their inputs."""
import numpy as np

from .constant_folding import _const_values

# Ops whose kernel returns its input unchanged (the same array object).
_PASS_THROUGH = ("Identity", "StopGradient", "Snapshot")
# Ops that return a fresh array: replacing one by its input must not make a value alias
# variable storage that a later in-place update (AssignAdd, Scatter*, Apply*) changes.
_INVOLUTIONS = {"Neg": "Neg", "LogicalNot": "LogicalNot"}


def _is_all(values, number):
    """True if `values` is a small constant whose every element equals `number`."""
    if values is None:
        return False
    array = values[0]
    return array.size <= 1024 and array.dtype.kind in "fiub" and bool(np.all(array == number))


def _keeps_shape(x, const, out):
    """True if combining x with `const` by broadcasting yields exactly x's static shape."""
    if out.shape.ndims is None or x.shape.ndims is None:
        return False
    if not x.shape.is_fully_defined() and const.ndim > 0:
        return False
    return x.shape.as_tuple_or_none() == out.shape.as_tuple_or_none() and \
        const.ndim <= x.shape.ndims and all(d == 1 for d in const.shape)


def _may_alias_state(ir, tensor, producers, memo):
    """True if `tensor`'s value might be (a view of) variable storage or another state.

    Fed values and constants are not; the outputs of ops computing a fresh array are not;
    pass-through ops (Identity, Reshape, ...) and stateful ops might be.
    """
    if tensor in memo:
        return memo[tensor]
    memo[tensor] = True  # cycles cannot happen; this also bounds the walk
    node = producers.get(tensor)
    if node is None:
        result = False  # a feed
    elif node.stateful:
        result = True
    elif node.type == "Const" or node.type in _FRESH:
        result = False
    else:
        result = any(_may_alias_state(ir, t, producers, memo) for t in node.inputs)
    memo[tensor] = result
    return result


# Ops always returning a newly computed array (the arithmetic this pass rewrites, and more).
_FRESH = frozenset(("Add", "AddV2", "Sub", "Mul", "RealDiv", "Neg", "Exp", "Log", "Tanh",
                    "Sigmoid", "Relu", "MatMul", "Square", "Sqrt", "Maximum", "Minimum",
                    "_FusedElementwise"))


def _simplified(node, const_of):
    """(input tensor the node's output equals, True if the op itself returned a fresh array)
    or None."""
    t = node.type
    if t in _PASS_THROUGH and len(node.inputs) == 1:
        return node.inputs[0], False
    if t in _INVOLUTIONS and len(node.inputs) == 1:
        inner = const_of("producer", node.inputs[0])
        if inner is not None and inner.type == _INVOLUTIONS[t] and not inner.controls:
            return inner.inputs[0], True
        return None
    if len(node.inputs) != 2:
        return None
    x, y = node.inputs
    out = node.outputs[0]
    if t in ("Mul",):
        for a, b in ((x, y), (y, x)):
            values = const_of("values", b)
            if _is_all(values, 1) and _keeps_shape(a, values[0], out):
                return a, True
    elif t in ("Add", "AddV2"):
        for a, b in ((x, y), (y, x)):
            values = const_of("values", b)
            if a.dtype.is_integer and _is_all(values, 0) and _keeps_shape(a, values[0], out):
                return a, True
            # x + 0.0 turns -0.0 into +0.0: only x + (-0.0) is exact for floats.
            if values is not None and a.dtype.is_floating and values[0].size <= 1024 and \
                    bool(np.all((values[0] == 0) & np.signbit(values[0]))) and \
                    _keeps_shape(a, values[0], out):
                return a, True
    elif t in ("Sub", "RealDiv"):
        values = const_of("values", y)
        if _is_all(values, 0 if t == "Sub" else 1) and _keeps_shape(x, values[0], out) and \
                (t == "RealDiv" or not x.dtype.is_floating or
                 not bool(np.any(np.signbit(values[0])))):
            return x, True
    return None


def arithmetic_simplification(ir, context):
    """Arithmetic simplification.

    Patterns (each only when the result has x's static shape and dtype, so broadcasting
    never changes a shape):
      Identity(x) -> x, StopGradient(x) -> x        (the kernels return x itself)
      Neg(Neg(x)) -> x, LogicalNot(LogicalNot(x)) -> x
      Mul(x, 1) -> x, Mul(1, x) -> x, RealDiv(x, 1) -> x
      Sub(x, 0) -> x; for integers Add(x, 0) -> x (for floats only x + -0.0, since
        -0.0 + 0.0 is +0.0)
    Never applied to a node with control inputs, one that is a control input of another,
    a fed output, or when x might alias variable storage and the op returned a fresh array
    (a later in-place update of the variable would then change the result).
    """
    producers = ir.producers()
    control_users = ir.control_users()
    memo = {}

    def const_of(kind, tensor):
        tensor = ir.resolve(tensor)
        p = producers.get(tensor)
        if kind == "producer":
            return p
        return _const_values(p) if p is not None else None

    changed = 0
    dead = set()
    for node in ir.nodes:
        if node.stateful or node.controls or node in control_users or node in ir.targets:
            continue
        if len(node.outputs) != 1 or ir.has_fed_output(node):
            continue
        found = _simplified(node, const_of)
        if found is None:
            continue
        source, fresh = found
        source = ir.resolve(source)
        if source.dtype != node.outputs[0].dtype:
            continue
        if fresh and _may_alias_state(ir, source, producers, memo):
            continue
        ir.replace(node.outputs[0], source)
        dead.add(node)
        changed += 1
    if dead:
        ir.remove(dead)
        ir.normalize()
    return changed
