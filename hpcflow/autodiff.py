"""Reverse-mode automatic differentiation over the graph: `tf.gradients`.

Gradients are built as graph ops by each op's registered gradient function, so they can be
run, placed, partitioned and differentiated again like any other op.
"""
from .framework import registry
from .framework.graph import Operation, Tensor
from .framework.indexed_slices import IndexedSlices
from .framework.tensor_conversion import convert_to_tensor


def _as_tensor_list(values, what):
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    result = []
    for v in values:
        if isinstance(v, (Tensor, IndexedSlices)):
            result.append(v)
        elif hasattr(v, "_as_graph_element"):  # a Variable: differentiate w.r.t. its ref
            result.append(v._as_graph_element())
        elif isinstance(v, Operation):
            raise TypeError("%s must be Tensors, got the Operation %s" % (what, v.name))
        else:
            result.append(convert_to_tensor(v, name=what))
    return result


def _is_backpropagatable(tensor):
    dtype = tensor.dtype
    return dtype.is_floating or dtype.is_complex or dtype.name == "variant"


def _reachable_from(xs_ops, stop_ops):
    reached = set()
    stack = list(xs_ops)
    while stack:
        op = stack.pop()
        if op in reached:
            continue
        reached.add(op)
        if op in stop_ops:
            continue
        for t in op.outputs:
            stack.extend(c for c in t._consumers if c not in reached)
    return reached


def _between(ys_ops, reached):
    between = set()
    stack = [op for op in ys_ops if op in reached]
    while stack:
        op = stack.pop()
        if op in between:
            continue
        between.add(op)
        for t in op.inputs:
            if t.op in reached and t.op not in between:
                stack.append(t.op)
    return between


def aggregate(grads, name=None):
    """Sums a list of gradients (Tensors and/or IndexedSlices) into one.

    All IndexedSlices stay sparse (their rows concatenated, as TF does); a mix is densified.
    """
    grads = [g for g in grads if g is not None]
    if not grads:
        return None
    if len(grads) == 1:
        return grads[0]
    from .ops import array_ops, math_ops
    if all(isinstance(g, IndexedSlices) for g in grads):
        return IndexedSlices(array_ops.concat([g.values for g in grads], 0),
                             array_ops.concat([g.indices for g in grads], 0),
                             grads[0].dense_shape)
    dense = [convert_to_tensor(g) if isinstance(g, IndexedSlices) else g for g in grads]
    return math_ops.add_n(dense, name=name)


def _gradient_function(op):
    override = op._gradient_op_type
    if override is not None:
        record = registry.lookup(override)
        if record is not None and record.gradient is not None:
            return record.gradient
        if override in _USER_GRADIENTS:
            return _USER_GRADIENTS[override]
        raise LookupError("No gradient registered under %r (gradient_override_map of op %r)"
                          % (override, op.name))
    if op.type in _USER_GRADIENTS:
        return _USER_GRADIENTS[op.type]
    return op._record.gradient


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None,
              unconnected_gradients="none"):
    """Symbolic derivatives of `sum(ys)` with respect to each of `xs` (TF1 `tf.gradients`).

    Args:
      ys: a Tensor or list of Tensors to differentiate.
      xs: a Tensor, Variable or list of them.
      grad_ys: optional initial gradients, one per y (default: ones).
      name: name scope of the gradient ops.
      colocate_gradients_with_ops: put each gradient op on its forward op's device.
      stop_gradients: Tensors held constant: no gradient flows through them.
      unconnected_gradients: "none" (TF's default) or "zero" for xs that ys do not depend on.

    Returns:
      A list with one gradient per x: a Tensor, an IndexedSlices (for gather-like ops), or
      None when y does not depend on x.

    Raises:
      LookupError: if an op on the path has no registered gradient, naming the op type.
      ValueError: if grad_ys does not match ys, or a gradient function misbehaves.
    """
    ys = _as_tensor_list(ys, "y")
    xs = _as_tensor_list(xs, "x")
    if not ys:
        raise ValueError("gradients() needs at least one y")
    if grad_ys is not None:
        grad_ys = grad_ys if isinstance(grad_ys, (list, tuple)) else [grad_ys]
        if len(grad_ys) != len(ys):
            raise ValueError("Passed %d grad_ys for %d ys" % (len(grad_ys), len(ys)))
    else:
        grad_ys = [None] * len(ys)
    if unconnected_gradients not in ("none", "zero"):
        raise ValueError("Unknown value for unconnected_gradients: %r" % (unconnected_gradients,))
    stop_tensors = set(_as_tensor_list(stop_gradients, "stop_gradients"))
    graph = ys[0].graph
    from .ops import array_ops

    with graph.name_scope(name):
        grads = {}
        for y, grad_y in zip(ys, grad_ys):
            if grad_y is None:
                if y.dtype.is_integer:
                    raise TypeError("Gradients of integer tensor %s are undefined: y must be a "
                                    "floating point tensor." % y.name)
                grad_y = array_ops.ones_like(y, name="grad_ys_%d" % len(grads))
            else:
                grad_y = convert_to_tensor(grad_y, dtype=y.dtype)
            grads.setdefault(y, []).append(grad_y)

        stop_ops = {t.op for t in stop_tensors}
        reached = _reachable_from([x.op for x in xs], set())
        between = _between([y.op for y in ys], reached)
        x_set = set(xs)
        # Creation order is a topological order (inputs always exist before consumers).
        for op in sorted(between, key=lambda o: o._id, reverse=True):
            out_grads = [aggregate(grads.get(t, [])) for t in op.outputs]
            if all(g is None for g in out_grads):
                continue
            if op in stop_ops and all(t in stop_tensors for t in op.outputs):
                continue
            if not any(t.op in reached for t in op.inputs):
                continue  # a source op (or one fed only by constants): nothing to pass on
            grad_fn = _gradient_function(op)
            if grad_fn == registry.NOT_DIFFERENTIABLE:
                continue
            if grad_fn is None:
                raise LookupError("No gradient defined for operation '%s' (op type: %s)"
                                  % (op.name, op.type))
            for i, g in enumerate(out_grads):
                if g is None and len(op.outputs) > 1 and _is_backpropagatable(op.outputs[i]):
                    out_grads[i] = array_ops.zeros_like(op.outputs[i])
            with graph.name_scope(op.name + "_grad"):
                if colocate_gradients_with_ops:
                    with graph.colocate_with(op):
                        in_grads = grad_fn(op, *out_grads)
                else:
                    in_grads = grad_fn(op, *out_grads)
            in_grads = list(in_grads) if isinstance(in_grads, (list, tuple)) else [in_grads]
            if len(in_grads) != len(op.inputs):
                raise ValueError("Num gradients %d generated for op %s (%s) do not match num "
                                 "inputs %d" % (len(in_grads), op.name, op.type, len(op.inputs)))
            for t, g in zip(op.inputs, in_grads):
                if g is None or t in stop_tensors or not _is_backpropagatable(t):
                    continue
                if t.op not in reached and t not in x_set:
                    continue
                grads.setdefault(t, []).append(g)

        result = []
        for x in xs:
            g = aggregate(grads.get(x, []))
            if g is None and unconnected_gradients == "zero":
                g = array_ops.zeros_like(x)
            result.append(g)
    return result


# Gradients registered with `tf.RegisterGradient` under names used by gradient_override_map
# (or for op types, overriding the built-in gradient).
_USER_GRADIENTS = {}


class RegisterGradient:
    """Decorator registering a gradient function under `op_type` (TF1 `tf.RegisterGradient`).

    Use with `graph.gradient_override_map({"OpType": "MyName"})` to override an op's
    gradient, or to give a custom op (see `hpcflow.register_op`) its gradient.

    Raises:
      KeyError: if a gradient is already registered under that name.
    """

    def __init__(self, op_type):
        if not isinstance(op_type, str):
            raise TypeError("op_type must be a string")
        self._op_type = op_type

    def __call__(self, fn):
        if self._op_type in _USER_GRADIENTS:
            raise KeyError("Registering two gradient with name '%s'! (Previous registration "
                           "was for %r)" % (self._op_type, _USER_GRADIENTS[self._op_type]))
        _USER_GRADIENTS[self._op_type] = fn
        return fn


def NotDifferentiable(op_type):  # noqa: N802 - TF's name
    """Declares op type `op_type` to have no gradient (TF1 `tf.NotDifferentiable`)."""
    registry.not_differentiable(op_type)


NoGradient = NotDifferentiable


def hessians(ys, xs, name="hessians", colocate_gradients_with_ops=False, gate_gradients=False,
             aggregation_method=None):
    """Hessian of `sum(ys)` w.r.t. each x (flattened x), as TF1 `tf.hessians`."""
    from .ops import array_ops
    xs = _as_tensor_list(xs, "x")
    result = []
    for x in xs:
        g = gradients(ys, x, name=name)[0]
        g_flat = array_ops.reshape(g, [-1])
        n = x.shape.num_elements()
        if n is None:
            raise ValueError("hessians needs a fully defined shape for %s" % x.name)
        rows = [gradients(array_ops.gather(g_flat, i), x)[0] for i in range(n)]
        rows = [array_ops.zeros_like(x) if r is None else r for r in rows]
        h = array_ops.stack(rows)
        result.append(array_ops.reshape(h, x.shape.as_list() + x.shape.as_list()))
    return result
