"""Control flow: `cond`, `case`, `while_loop`, `map_fn` as ops carrying function sub-graphs,
and the grouping ops `group`, `tuple`, `no_op`, `with_dependencies`.

Design (TF2's functional control flow, with TF1's Python API):

- `cond` builds each branch into a FuncGraph and makes ONE op "If" whose attrs hold
  them (`then_branch`, `else_branch`). Its inputs are the predicate and every outer tensor
  either branch uses (captures). The kernel runs only the taken branch, through
  `ctx.call_function`.
- `while_loop` builds `cond` and `body` into FuncGraphs held by ONE op "While"; its
  inputs are the loop variables, the captured outer tensors, and optionally
  `maximum_iterations`. The trip count is decided at run time by the kernel.

- `map_fn` builds `fn` into a FuncGraph held by ONE op "MapFn" that runs it per row.

Each of these ops has one extra last output of dtype variant, the forward record its
gradient reads: for "If" the values of the taken branch's tensors the gradient needs, for
"While" and "MapFn" the same per iteration (the history). Nothing is recorded until a
gradient asks for it: the gradient function sets attrs naming the tensors to record
(`then_record` / `else_record`, `record_history` + `history_tensors`); kernels read these
attrs from the live op at run time, so setting them needs no plan rebuild.

Gradients are built by copying the forward function into a gradient FuncGraph,
differentiating the copy with `tf.gradients`, then rewiring every gradient op that reads a
forward value to read it from the record instead ("FunctionIntermediate" ops), so that
no forward op is ever run twice (a dropout mask or a variable update in a branch is seen
by the gradient exactly as the forward pass saw it). The gradient of an If is an If over
the two branches' gradient functions (only the taken one runs); the gradient of a While
is a "WhileGrad" op running the body's gradient function backwards over the history and
summing the gradients of captured tensors (a weight used in every iteration); "MapFnGrad"
does the same per row. Second derivatives through recorded values are refused
explicitly (LookupError) rather than silently wrong.
"""
import builtins
import collections.abc

import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework import func_graph as func_graph_lib
from ..framework.func_graph import FuncGraph
from ..framework.graph import Operation, Tensor, _as_operation, get_default_graph
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from ..util import nest
from .constant_op import constant

# Attrs through which gradient functions ask forward ops to record values. A copy of a
# forward op (inside a gradient function) that gets them set passes them on to its original.
_RECORD_ATTRS = ("then_record", "else_record", "record_history", "history_tensors")


# -- small helpers ---------------------------------------------------------------------------

def _kernel_result(values):
    """Kernel return convention: the bare value for a one-output op, else a tuple."""
    return values[0] if len(values) == 1 else builtins.tuple(values)


def _is_differentiable(dtype):
    return dtype.is_floating or dtype.is_complex


def _most_specific_compatible_shape(a, b):
    """The most specific shape both `a` and `b` are instances of (TF's If output shape)."""
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return unknown_shape()
    return TensorShape([x if x == y else None for x, y in zip(a.as_tuple_or_none(),
                                                               b.as_tuple_or_none())])


def _shape_less_than_or_equal(shape1, shape2):
    """True if `shape1` is at least as specific as `shape2` (fits the invariant `shape2`)."""
    if shape2.ndims is None:
        return True
    if shape1.ndims != shape2.ndims:
        return False
    return all(d2 is None or d1 == d2 for d1, d2 in zip(shape1.as_tuple_or_none(),
                                                        shape2.as_tuple_or_none()))


def _shape_attr(shape):
    dims = as_shape(shape).as_tuple_or_none()
    return None if dims is None else list(dims)


def _predicate_value(value, op_name, what):
    array = np.asarray(value)
    if array.shape != ():
        raise errors.InvalidArgumentError(
            None, None, "The %s of %s must be a scalar, but it has shape %s"
            % (what, op_name, list(array.shape)))
    return bool(array)


def _graph_for_new_op(*values):
    """The graph a control-flow op goes into: the function being built, else the inputs'."""
    graph = get_default_graph()
    if graph.building_function:
        return graph
    for v in values:
        if isinstance(v, Tensor):
            return v.graph
    return graph


def _zeros_like(tensor):
    """Zeros of `tensor`'s shape and dtype (a constant when the static shape is known)."""
    if tensor.shape.is_fully_defined():
        return constant(np.zeros(tensor.shape.as_list(), tensor.dtype.np_dtype),
                        dtype=tensor.dtype, name="zeros")
    from . import array_ops
    return array_ops.zeros_like(tensor)


def _dense(gradient):
    """A gradient as a dense Tensor (IndexedSlices from gather are summed into rows)."""
    from ..framework.indexed_slices import IndexedSlices
    if isinstance(gradient, IndexedSlices):
        return convert_to_tensor(gradient)
    return gradient


def _call_function(ctx, function, args, record_names):
    """Runs `function` on `args`; returns its outputs followed by the tensors `record_names`."""
    if not record_names:
        return list(ctx.call_function(function, args))
    extra = [function.get_tensor_by_name(name) for name in record_names]
    plan = ctx.executor.plan(function, list(function.outputs) + extra,
                             list(function.control_outputs), list(function.inputs))
    return list(plan.run(list(args)))


def _record(ctx, names, values):
    """The forward record {tensor name: value}; arrays aliasing variables are copied, since
    variable updates (assign_add, scatter_*) change those arrays in place."""
    record = {}
    for name, value in zip(names, values):
        if isinstance(value, np.ndarray) and ctx.state.owns(value):
            value = value.copy()
        record[name] = value
    return record


def _unify_captures(graphs, num_explicit):
    """Gives every FuncGraph in `graphs` the same captured outer tensors, in the same order.

    The calling op passes one list of values to whichever function it runs, so each
    function's `inputs` must be its `num_explicit` own inputs followed by placeholders for
    the union of all captures. Returns that union (the calling op's extra inputs).
    """
    union = []
    seen = set()
    for graph in graphs:
        for outer, _ in graph.captures:
            if outer not in seen:
                seen.add(outer)
                union.append(outer)
    for graph in graphs:
        for outer in union:
            graph.capture(outer, read_variables=False)
        placeholders = [graph.captured_placeholder(outer) for outer in union]
        graph.inputs = graph.inputs[:num_explicit] + placeholders
        graph.captures = list(zip(union, placeholders))
    return union


def _unpack_if_singleton(value):
    if isinstance(value, (list, builtins.tuple)) and len(value) == 1:
        return value[0]
    return value


def _union_names(existing, new):
    names = list(existing or [])
    for name in new:
        if name not in names:
            names.append(name)
    return names


# -- NoOp and grouping ----------------------------------------------------------------------

def _no_op_shape(op):
    return []


def _no_op_kernel():
    return None


registry.register_op("NoOp", shape=_no_op_shape, numpy=_no_op_kernel,
                     sharding=sharding.REPLICATED)
registry.not_differentiable("NoOp")


def no_op(name=None):
    """Does nothing; useful as a placeholder for control edges (TF1 `tf.no_op`).

    Returns:
      The created Operation.
    """
    return get_default_graph().create_op("NoOp", [], name=name or "NoOp")


def _control_op(value, what):
    if isinstance(value, Operation):
        return value
    if isinstance(value, Tensor):
        return value.op
    if hasattr(value, "_as_graph_element"):
        return _as_operation(value._as_graph_element())
    if hasattr(value, "op") and isinstance(value.op, Operation):
        return value.op
    raise TypeError("%s expected Tensor or Operation arguments, not %r with type %s"
                    % (what, value, type(value).__name__))


def group(*inputs, **kwargs):
    """Creates an op that runs all of `inputs` (TF1 `tf.group`).

    Args:
      *inputs: Tensors, Operations or Variables (or nested lists of them).
      **kwargs: `name` only.

    Returns:
      An Operation of type NoOp whose control inputs are the ops of `inputs`; it has no
      output.

    Raises:
      ValueError: for an unknown keyword argument.
      TypeError: for an input that is not a Tensor or Operation.
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise ValueError("Unknown keyword arguments: " + ", ".join(kwargs.keys()))
    flat = nest.flatten(list(inputs))
    ops = []
    for value in flat:
        op = _control_op(value, "tf.group()")
        if op not in ops:
            ops.append(op)
    graph = get_default_graph() if get_default_graph().building_function or not ops \
        else ops[0].graph
    ops.sort(key=lambda op: (op.graph is not graph, op._id))
    with graph.as_default(), graph.name_scope(name or "group_deps") as scope:
        with graph.control_dependencies(ops):
            return graph.create_op("NoOp", [], name=scope)


def with_dependencies(dependencies, output_tensor, name=None):
    """`output_tensor`, produced only after all `dependencies` ran (TF1 helper).

    Args:
      dependencies: Operations or Tensors that must run first.
      output_tensor: a Tensor or IndexedSlices.
      name: name of the returned Identity (default "control_dependency").

    Returns:
      An Identity of `output_tensor` with control inputs on `dependencies` (an
      IndexedSlices of such identities for an IndexedSlices).

    Raises:
      TypeError: if `output_tensor` is not a Tensor or IndexedSlices.
    """
    from ..framework.indexed_slices import IndexedSlices
    from . import array_ops
    graph = _graph_for_new_op(output_tensor if isinstance(output_tensor, Tensor)
                              else getattr(output_tensor, "values", None))
    with graph.as_default(), graph.name_scope(name or "control_dependency") as scope:
        deps = [_control_op(d, "with_dependencies()") for d in dependencies]
        with graph.colocate_with(output_tensor if isinstance(output_tensor, Tensor) else None), \
                graph.control_dependencies(deps):
            if isinstance(output_tensor, IndexedSlices):
                values = array_ops.identity(output_tensor.values, name=scope)
                return IndexedSlices(values, output_tensor.indices, output_tensor.dense_shape)
            if isinstance(output_tensor, Operation):
                raise TypeError("with_dependencies: output_tensor must be a Tensor, got the "
                                "Operation %s" % output_tensor.name)
            output_tensor = convert_to_tensor(output_tensor)
            return array_ops.identity(output_tensor, name=scope)


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TF's name
    """Groups tensors: each returned tensor is available only after all of them are computed.

    Args:
      tensors: a list of Tensors, IndexedSlices, Operations or None.
      name: name scope (default "tuple").
      control_inputs: extra Operations/Tensors to wait for.

    Returns:
      A list like `tensors`: Tensors become gated identities, Operations gated NoOps,
      None stays None.

    Raises:
      ValueError: if `tensors` holds no Tensor or Operation.
      TypeError: for a control input that is neither Tensor nor Operation.
    """
    from ..framework.indexed_slices import IndexedSlices
    tensors = [t if (t is None or isinstance(t, (Tensor, Operation, IndexedSlices)))
               else convert_to_tensor(t) for t in tensors]
    graph = _graph_for_new_op(*[t for t in tensors if isinstance(t, Tensor)])
    with graph.as_default(), graph.name_scope(name or "tuple"):
        gating = []
        for t in tensors:
            if t is None:
                continue
            op = t if isinstance(t, Operation) else t.op
            if op not in gating:
                gating.append(op)
        for c in control_inputs or []:
            if isinstance(c, Tensor):
                c = c.op
            elif not isinstance(c, Operation):
                raise TypeError("Control input must be Operation or Tensor: %s" % (c,))
            if c not in gating:
                gating.append(c)
        if not gating:
            raise ValueError("Must have at least one Tensor: %s" % (tensors,))
        gating.sort(key=lambda op: op._id)
        gate = group(*gating)
        result = []
        for t in tensors:
            if isinstance(t, (Tensor, IndexedSlices)):
                result.append(with_dependencies([gate], t))
            elif isinstance(t, Operation):
                with graph.control_dependencies([gate]):
                    result.append(group(t))
            else:
                result.append(None)
        return result


# -- function-internal ops ------------------------------------------------------------------

def _variable_read_shape(op):
    return [(op.inputs[0].shape, op.inputs[0].dtype)]


def _variable_read_kernel(ctx, value, *, var_name):
    # The variable's current value. A rank that does not hold the variable (the function
    # runs on a worker, the variable on a parameter server) uses the value passed in.
    if ctx.state.is_initialized(var_name):
        return ctx.state.read_variable(var_name)
    return value


registry.register_op("FunctionVariableRead", shape=_variable_read_shape,
                     numpy=_variable_read_kernel, context=True, stateful=True,
                     gradient=lambda op, grad: [grad], sharding=sharding.REPLICATED,
                     doc="A variable re-read inside a cond/while function (see func_graph.py).")


def _intermediate_shape(op):
    return [(unknown_shape() if op.get_attr("shape") is None else TensorShape(op.get_attr("shape")),
             dtypes.as_dtype(op.get_attr("dtype")))]


def _intermediate_kernel(record, *, key, dtype, shape):
    try:
        return record[key]
    except (KeyError, TypeError, IndexError):
        raise errors.InternalError(None, None, "The forward pass did not record %r, which this "
                                   "gradient needs (was the forward op rebuilt after "
                                   "tf.gradients?)" % key) from None


def _intermediate_grad(op, grad):
    if _is_differentiable(op.outputs[0].dtype):
        raise LookupError("Second derivatives through tf.cond / tf.while_loop / tf.map_fn "
                          "whose first derivative reads recorded forward values (op %s, value "
                          "%s) are not supported." % (op.name, op.get_attr("key")))
    return [None]


registry.register_op("FunctionIntermediate", shape=_intermediate_shape,
                     numpy=_intermediate_kernel, gradient=_intermediate_grad,
                     sharding=sharding.GATHER,
                     doc="A forward value read from an If/While record by a gradient function.")


class _GradientFunction:
    """Builds the gradient FuncGraph of a forward FuncGraph.

    Its inputs are: one placeholder per differentiated forward output (the incoming
    gradient), one variant placeholder for the forward record, then captures of
    `invariant_inputs` (forward inputs whose values the calling op passes in directly,
    e.g. captured tensors). Every other forward input (a loop variable) and every forward
    intermediate that a gradient op needs is read from the record.

    Args:
      forward: the forward FuncGraph.
      outer_graph: the graph of the forward op (where the gradient op will be).
      name: name of the gradient function.
      y_indices: forward output indices to differentiate.
      dy_specs: (dtype, shape) of the incoming gradient of each of them.
      invariant_inputs: {forward input index: outer tensor holding its value}.
      x_indices: forward input indices to differentiate with respect to.
    """

    def __init__(self, forward, outer_graph, name, y_indices, dy_specs, invariant_inputs,
                 x_indices):
        from .. import autodiff
        self.forward = forward
        graph = self.graph = FuncGraph(name, outer_graph=outer_graph)
        with graph.as_default():
            self.dys = [graph.add_input(dtype, shape, "grad_output_%d" % i)
                        for i, (dtype, shape) in zip(y_indices, dy_specs)]
            self.record = graph.add_input(dtypes.variant, None, "forward_record")
            input_map = {forward.inputs[i]: graph.capture(t, read_variables=False)
                         for i, t in sorted(invariant_inputs.items())}
            self.tensor_map, self.op_map = func_graph_lib.copy_ops(forward, graph, input_map)
            self.copied_ops = set(self.op_map.values())
            self._refuse_second_order(y_indices)
            ys = [self.tensor_map[forward.outputs[i]] for i in y_indices]
            xs = [self.tensor_map[forward.inputs[i]] for i in x_indices]
            self.grads = autodiff.gradients(ys, xs, grad_ys=self.dys, name="gradients")
            self.xs = xs
        self.record_names = []

    def _refuse_second_order(self, y_indices):
        # A gradient function differentiated again: its recorded forward values are fed
        # from outside, so their dependence on the inputs would be silently lost.
        recorded = [op for op in self.forward.get_operations()
                    if op.type == "FunctionIntermediate"
                    and _is_differentiable(op.outputs[0].dtype)]
        if not recorded:
            return
        needed = set()
        stack = [self.forward.outputs[i].op for i in y_indices]
        while stack:
            op = stack.pop()
            if op in needed:
                continue
            needed.add(op)
            stack.extend(t.op for t in op.inputs)
        for op in recorded:
            if op in needed:
                _intermediate_grad(op, None)

    def gradient_or_zeros(self, k):
        """The k-th gradient as a dense Tensor of this graph (zeros where unconnected)."""
        with self.graph.as_default():
            grad = self.grads[k]
            if grad is None:
                return _zeros_like(self.xs[k])
            return _dense(grad)

    def finish(self, outputs):
        """Sets `outputs` and rewires gradient ops from forward copies to recorded values.

        Afterwards `record_names` lists the forward tensors (by name) that the forward op
        must record for this function.
        """
        graph = self.graph
        copied = self.copied_ops
        original = {new: old for old, new in self.tensor_map.items()
                    if isinstance(new, Tensor) and new.op in copied}
        replacement = {}

        def recorded(tensor):
            value = replacement.get(tensor)
            if value is None:
                source = original[tensor]
                with graph.as_default(), graph.control_dependencies(None):
                    value = graph.create_op(
                        "FunctionIntermediate", [self.record],
                        {"key": source.name, "dtype": tensor.dtype.name,
                         "shape": _shape_attr(tensor.shape)},
                        name="forward_value").outputs[0]
                replacement[tensor] = value
                self.record_names.append(source.name)
            return value

        for op in graph.get_operations():
            if op in copied or op.type == "FunctionIntermediate":
                continue
            for index, tensor in enumerate(op.inputs):
                if tensor.op in copied:
                    value = recorded(tensor)
                    func_graph_lib.replace_input(op, index, value)
                    for function in _function_attrs(op):
                        function.captures = [(value if outer is tensor else outer, inner)
                                             for outer, inner in function.captures]
            for control in op.control_inputs:
                if control in copied:
                    func_graph_lib.remove_control_input(op, control)
        graph.outputs = [recorded(t) if t.op in copied else t for t in outputs]
        func_graph_lib.restore_topological_order(graph)
        # Copies of nested If/While ops were asked to record by their own gradients: the
        # originals (which are what runs in the forward pass) must record the same.
        for old_op, new_op in self.op_map.items():
            for attr in _RECORD_ATTRS:
                if attr in new_op.attrs and new_op.attrs[attr] != old_op.attrs.get(attr):
                    value = new_op.attrs[attr]
                    old_op._set_attr(attr, list(value) if isinstance(value, list) else value)


def _function_attrs(op):
    return [v for v in op.attrs.values() if isinstance(v, FuncGraph)]


# -- If: cond ---------------------------------------------------------------------------------

def _if_shape(op):
    then_branch, else_branch = op.get_attr("then_branch"), op.get_attr("else_branch")
    specs = [(_most_specific_compatible_shape(t.shape, e.shape), t.dtype)
             for t, e in zip(then_branch.outputs, else_branch.outputs)]
    return specs + [(unknown_shape(), dtypes.variant)]


def _if_kernel(ctx, pred, *args, then_branch, else_branch, then_record, else_record):
    taken = _predicate_value(pred, ctx.op_name, "predicate")
    branch = then_branch if taken else else_branch
    # Read the record list from the live op: a gradient built after this plan may add to it.
    names = ctx.op.attrs.get("then_record" if taken else "else_record") or []
    values = _call_function(ctx, branch, args, names)
    count = len(branch.outputs)
    return _kernel_result(values[:count] + [_record(ctx, names, values[count:])])


def _if_grad(op, *grads):
    then_branch, else_branch = op.get_attr("then_branch"), op.get_attr("else_branch")
    count = len(op.outputs) - 1
    inputs = op.inputs[1:]
    result = [None] * len(op.inputs)
    y_indices = [i for i in range(count) if _is_differentiable(op.outputs[i].dtype)]
    x_indices = [j for j, t in enumerate(inputs) if _is_differentiable(t.dtype)]
    if not y_indices or not x_indices:
        return result
    graph = op.graph
    with graph.as_default():
        dys = [grads[i] if grads[i] is not None else _zeros_like(op.outputs[i])
               for i in y_indices]
    dy_specs = [(op.outputs[i].dtype, op.outputs[i].shape) for i in y_indices]
    functions = [_GradientFunction(branch, graph, "%s_%s_grad" % (op.name, which), y_indices,
                                   dy_specs, dict(enumerate(inputs)), x_indices)
                 for branch, which in ((then_branch, "true"), (else_branch, "false"))]
    keep = [k for k in range(len(x_indices)) if any(f.grads[k] is not None for f in functions)]
    if not keep:
        return result
    for f in functions:
        f.finish([f.gradient_or_zeros(k) for k in keep])
    captured = _unify_captures([f.graph for f in functions], len(y_indices) + 1)
    op._set_attr("then_record", _union_names(op.get_attr("then_record"),
                                             functions[0].record_names))
    op._set_attr("else_record", _union_names(op.get_attr("else_record"),
                                             functions[1].record_names))
    # The record is a Python object: the gradient op must run where the forward op ran.
    with graph.colocate_with(op):
        grad_op = graph.create_op("If", [op.inputs[0]] + dys + [op.outputs[-1]] + captured,
                                  {"then_branch": functions[0].graph,
                                   "else_branch": functions[1].graph,
                                   "then_record": [], "else_record": []}, name="If")
    func_graph_lib.add_control_inputs(graph, grad_op, functions[0].graph.outer_control_inputs
                                      + functions[1].graph.outer_control_inputs)
    for position, k in enumerate(keep):
        grad = grad_op.outputs[position]
        grad.set_shape(inputs[x_indices[k]].shape)
        result[1 + x_indices[k]] = grad
    return result


registry.register_op("If", shape=_if_shape, numpy=_if_kernel, gradient=_if_grad,
                     context=True, stateful=True, sharding=sharding.GATHER,
                     doc="Runs then_branch or else_branch (FuncGraphs) on its inputs.")


def _build_branch(name, fn, graph, strict, branch_value):
    def branch():
        result = fn()
        if not strict:
            result = _unpack_if_singleton(result)

        def operation_to_tensor(value):
            # As TF1: a branch returning an Operation yields the predicate's value, after it.
            if isinstance(value, Operation):
                with get_default_graph().control_dependencies([value]):
                    return constant(branch_value, name="branch_executed")
            return value
        return nest.map_structure(operation_to_tensor, result)
    return func_graph_lib.func_graph_from_py_func(name, branch, [], outer_graph=graph)


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """Returns `true_fn()` if the predicate `pred` is true else `false_fn()` (TF1 `tf.cond`).

    Both functions are traced once into function sub-graphs of one "If" op; at run time
    only the branch selected by `pred` runs (ops created inside the other never run).
    Tensors of the enclosing graph used inside a branch are passed to the op as inputs.

    Args:
      pred: a scalar bool Tensor (a Python bool is refused, as in TF).
      true_fn: callable returning a nested structure of Tensors (or Python values,
        Operations, None).
      false_fn: callable returning the same structure with the same dtypes.
      strict: if False (the default), a one-element list/tuple result is unpacked.
      name: name of the op (default "cond").
      fn1, fn2: deprecated aliases of true_fn and false_fn.

    Returns:
      The branch result structure with each Tensor replaced by the op's output (whose
      static shape is the most specific shape compatible with both branches). An
      Operation returned by the branches yields a bool Tensor (the predicate's value)
      that is computed after it. If both branches return None, the If Operation.

    Raises:
      TypeError: if a function is missing or not callable, `pred` is a Python bool or
        not boolean, or the branches return different dtypes or sequence types.
      ValueError: if `pred` is not a scalar or the branches return different structures.
    """
    if fn1 is not None:
        if true_fn is not None:
            raise TypeError("cond(): true_fn and fn1 may not be set simultaneously.")
        true_fn = fn1
    if fn2 is not None:
        if false_fn is not None:
            raise TypeError("cond(): false_fn and fn2 may not be set simultaneously.")
        false_fn = fn2
    if true_fn is None:
        raise TypeError("cond(): 'true_fn' argument required")
    if false_fn is None:
        raise TypeError("cond(): 'false_fn' argument required")
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    if isinstance(pred, (bool, np.bool_)):
        raise TypeError("pred must not be a Python bool", pred)
    graph = _graph_for_new_op(pred)
    with graph.as_default(), graph.name_scope(name or "cond") as scope:
        cond_name = scope[:-1]
        pred = convert_to_tensor(pred, name="pred")
        if pred.dtype != dtypes.bool:
            raise TypeError("The predicate of cond %r must be a bool tensor, got %s of dtype %s"
                            % (cond_name, pred.name, pred.dtype.name))
        if pred.shape.ndims not in (None, 0):
            raise ValueError("The predicate of cond %r must be a scalar, got %s of shape %s"
                             % (cond_name, pred.name, pred.shape))
        then_graph = _build_branch(cond_name + "_true", true_fn, graph, strict, True)
        else_graph = _build_branch(cond_name + "_false", false_fn, graph, strict, False)
        result_t, result_f = then_graph.structured_outputs, else_graph.structured_outputs
        try:
            nest.assert_same_structure(result_t, result_f)
        except ValueError as e:
            raise ValueError("Incompatible return values of true_fn and false_fn in cond %r: %s"
                             % (cond_name, e)) from None
        except TypeError as e:
            raise TypeError("Incompatible return types of true_fn and false_fn in cond %r: %s"
                            % (cond_name, e)) from None
        flat_t, flat_f = nest.flatten(result_t), nest.flatten(result_f)
        for index, (t, f) in enumerate(zip(flat_t, flat_f)):
            if (t is None) != (f is None):
                raise ValueError("In cond %r, %s returned None for output %d where %s returned "
                                 "%s." % (cond_name, "true_fn" if t is None else "false_fn",
                                          index, "false_fn" if t is None else "true_fn",
                                          f if t is None else t))
            if t is not None and t.dtype != f.dtype:
                raise TypeError("Outputs of true_fn and false_fn must have the same type: %s, %s "
                                "(cond %r, output %d: %s vs %s)"
                                % (t.dtype.name, f.dtype.name, cond_name, index, t, f))
        captured = _unify_captures([then_graph, else_graph], 0)
        op = graph.create_op("If", [pred] + captured,
                             {"then_branch": then_graph, "else_branch": else_graph,
                              "then_record": [], "else_record": []}, name=scope)
        func_graph_lib.add_control_inputs(graph, op, then_graph.outer_control_inputs
                                          + else_graph.outer_control_inputs)
    if result_t is None:
        return op
    outputs = iter(op.outputs[:-1])
    return nest.pack_sequence_as(result_t, [None if t is None else next(outputs)
                                            for t in flat_t])


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """Runs the function of the first true predicate (TF1 `tf.case`), built of nested conds.

    Args:
      pred_fn_pairs: a list of (bool scalar Tensor, callable) pairs, or a dict of them.
      default: callable run when no predicate is true. Without it the last pair's
        function is the default, and running with no true predicate fails.
      exclusive: if True, more than one true predicate is a run-time error.
      strict: as for `cond`.
      name: name scope (default "case").

    Returns:
      The result of the selected function.

    Raises:
      TypeError: for malformed pairs, a non-boolean predicate or a non-callable.
      ValueError: if `pred_fn_pairs` is empty and there is no default.
      InvalidArgumentError (when run): exclusive with several true predicates, or no
        default and no true predicate.
    """
    if isinstance(pred_fn_pairs, collections.abc.Mapping):
        pred_fn_pairs = list(pred_fn_pairs.items())
    if not isinstance(pred_fn_pairs, (list, builtins.tuple)):
        raise TypeError("pred_fn_pairs must be a list, tuple, or dict, got %s"
                        % type(pred_fn_pairs).__name__)
    predicates, actions = [], []
    for pair in pred_fn_pairs:
        if not isinstance(pair, builtins.tuple) or len(pair) != 2:
            raise TypeError("Each entry in pred_fn_pairs must be a 2-tuple, got %r" % (pair,))
        pred, fn = pair
        pred = convert_to_tensor(pred)
        if pred.dtype != dtypes.bool:
            raise TypeError("pred must be Tensor of type bool: %s" % pred.name)
        if not callable(fn):
            raise TypeError("fn for pred %s must be callable." % pred.name)
        predicates.append(pred)
        actions.append(fn)
    if default is not None and not callable(default):
        raise TypeError("default must be callable.")
    if not predicates:
        if default is None:
            raise ValueError("case() needs at least one predicate or a default")
        return default()
    from . import check_ops
    graph = _graph_for_new_op(*predicates)
    with graph.as_default(), graph.name_scope(name or "case"):
        checks = []
        if exclusive:
            checks.append(_assert_at_most_one_true(predicates))
        if default is None:
            last_pred, default = predicates[-1], actions[-1]
            predicates, actions = predicates[:-1], actions[:-1]
            checks.append(check_ops.Assert(
                _any_true(predicates + [last_pred]),
                ["Input error: None of conditions evaluated as True:"] + predicates + [last_pred],
                name="none_true"))

        def build(index):
            if index == len(predicates):
                return default()
            return cond(predicates[index], actions[index], lambda: build(index + 1),
                        strict=strict)
        if not checks:
            return build(0)
        with graph.control_dependencies(checks):
            # Control dependencies on ops outside the branches reach the If op itself.
            return build(0)


def _any_true(predicates):
    from . import math_ops
    result = predicates[0]
    for p in predicates[1:]:
        result = math_ops.logical_or(result, p)
    return result


def _assert_at_most_one_true(predicates):
    from . import check_ops, math_ops
    from .array_ops import stack
    count = math_ops.reduce_sum(math_ops.cast(stack(predicates), dtypes.int32))
    return check_ops.Assert(math_ops.less_equal(count, 1),
                            ["Input error: exclusive=True: more than 1 conditions evaluated "
                             "as True:"] + predicates, name="exclusive_check")


# -- While: while_loop ------------------------------------------------------------------------

class _LoopVarSpec:
    """A loop variable's placeholder spec: its dtype and invariant shape."""

    def __init__(self, dtype, shape):
        self.dtype = dtype
        self.shape = shape


def _while_shape(op):
    body = op.get_attr("body")
    count = len(body.outputs)
    return [(t.shape, t.dtype) for t in body.inputs[:count]] + [(unknown_shape(), dtypes.variant)]


def _while_kernel(ctx, *args, cond, body, parallel_iterations, back_prop,
                  has_maximum_iterations, record_history, history_tensors):
    count = len(body.outputs)
    if has_maximum_iterations:
        maximum = int(args[-1])
        args = args[:-1]
    else:
        maximum = None
    loop_values = list(args[:count])
    invariant = list(args[count:])
    # Live attrs: a gradient built after this plan was compiled may have asked for history.
    record = bool(ctx.op.attrs.get("record_history"))
    names = list(ctx.op.attrs.get("history_tensors") or []) if record else []
    history = [] if record else None
    iteration = 0
    while maximum is None or iteration < maximum:
        keep_going = ctx.call_function(cond, loop_values + invariant)[0]
        if not _predicate_value(keep_going, ctx.op_name, "loop condition"):
            break
        values = _call_function(ctx, body, loop_values + invariant, names)
        if record:
            history.append(_record(ctx, names, values[count:]))
        loop_values = values[:count]
        iteration += 1
    return _kernel_result(loop_values + [history])


def _while_grad(op, *grads):
    body = op.get_attr("body")
    count = len(body.outputs)
    end = len(op.inputs) - (1 if op.get_attr("has_maximum_iterations") else 0)
    captured = op.inputs[count:end]
    result = [None] * len(op.inputs)
    if not op.get_attr("back_prop"):
        return result
    loop_indices = [i for i in range(count) if _is_differentiable(op.outputs[i].dtype)]
    capture_indices = [j for j, t in enumerate(captured) if _is_differentiable(t.dtype)]
    if not loop_indices:
        return result
    graph = op.graph
    with graph.as_default():
        douts = [grads[i] if grads[i] is not None else _zeros_like(op.outputs[i])
                 for i in loop_indices]
    function = _GradientFunction(
        body, graph, op.name + "_body_grad", loop_indices,
        [(body.inputs[i].dtype, body.inputs[i].shape) for i in loop_indices],
        {count + j: t for j, t in enumerate(captured)},
        loop_indices + [count + j for j in capture_indices])
    loop_grads = [function.gradient_or_zeros(k) for k in range(len(loop_indices))]
    kept = [k for k in range(len(capture_indices))
            if function.grads[len(loop_indices) + k] is not None]
    capture_grads = [function.gradient_or_zeros(len(loop_indices) + k) for k in kept]
    function.finish(loop_grads + capture_grads)
    op._set_attr("history_tensors", _union_names(op.get_attr("history_tensors"),
                                                 function.record_names))
    op._set_attr("record_history", True)
    grad_captures = [outer for outer, _ in function.graph.captures]
    positions = [grad_captures.index(captured[capture_indices[k]]) for k in kept]
    shapes = [op.inputs[i].shape for i in loop_indices] + \
        [captured[capture_indices[k]].shape for k in kept]
    # The record is a Python object: the gradient op must run where the forward op ran.
    with graph.colocate_with(op):
        grad_op = graph.create_op("WhileGrad", douts + [op.outputs[-1]] + grad_captures,
                                  {"body_grad": function.graph,
                                   "num_loop_grads": len(loop_indices),
                                   "capture_grad_positions": positions,
                                   "output_shapes": [_shape_attr(s) for s in shapes]},
                                  name="WhileGrad")
    func_graph_lib.add_control_inputs(graph, grad_op, function.graph.outer_control_inputs)
    return _scatter_grads(result, grad_op, loop_indices, kept, count, capture_indices)


def _scatter_grads(result, grad_op, data_indices, kept, num_data, capture_indices):
    """Puts a WhileGrad/MapFnGrad op's outputs into the forward op's per-input gradients.

    Its outputs are the data inputs' gradients (for `data_indices`) followed by the kept
    captures' gradients; captured inputs come after the `num_data` data inputs.
    """
    for position, i in enumerate(data_indices):
        result[i] = grad_op.outputs[position]
    for position, k in enumerate(kept):
        result[num_data + capture_indices[k]] = grad_op.outputs[len(data_indices) + position]
    return result


registry.register_op("While", shape=_while_shape, numpy=_while_kernel, gradient=_while_grad,
                     context=True, stateful=True, sharding=sharding.GATHER,
                     doc="Runs body (a FuncGraph) on the loop variables while cond is true.")


def _while_grad_shape(op):
    body_grad = op.get_attr("body_grad")
    shapes = op.get_attr("output_shapes")
    return [(unknown_shape() if s is None else TensorShape(s), t.dtype)
            for s, t in zip(shapes, body_grad.outputs)]


def _while_grad_kernel(ctx, *args, body_grad, num_loop_grads, capture_grad_positions,
                       output_shapes):
    loop_grads = list(args[:num_loop_grads])
    history = args[num_loop_grads]
    invariant = list(args[num_loop_grads + 1:])
    if history is None:
        raise errors.InternalError(None, None, "The forward While op recorded no history for "
                                   "its gradient %s" % ctx.op_name)
    sums = [None] * len(capture_grad_positions)
    for record in reversed(history):
        outputs = ctx.call_function(body_grad, loop_grads + [record] + invariant)
        loop_grads = list(outputs[:num_loop_grads])
        for k, value in enumerate(outputs[num_loop_grads:]):
            sums[k] = value if sums[k] is None else sums[k] + value
    for k, position in enumerate(capture_grad_positions):
        if sums[k] is None:  # the loop ran zero times
            sums[k] = np.zeros_like(invariant[position])
    return _kernel_result(loop_grads + sums)


def _while_grad_grad(op, *grads):
    raise LookupError("Second derivatives through tf.while_loop are not supported (op %s)."
                      % op.name)


registry.register_op("WhileGrad", shape=_while_grad_shape, numpy=_while_grad_kernel,
                     gradient=_while_grad_grad, context=True, stateful=True,
                     sharding=sharding.GATHER,
                     doc="Runs a While body's gradient function backwards over its history.")


def _as_top_level_args(structure):
    """The positional arguments `cond`/`body` get for loop variables `structure`."""
    if isinstance(structure, (list, builtins.tuple)):
        return list(structure)
    return [structure]


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, name=None, maximum_iterations=None,
               return_same_structure=False):
    """Repeats `body` while `cond` is true (TF1 `tf.while_loop`).

    `cond` and `body` are traced once into function sub-graphs of one "While" op; the
    number of iterations is decided when it runs. Tensors of the enclosing graph used
    inside are passed to the op as inputs.

    Args:
      cond: callable taking the loop variables (unpacked) and returning a bool scalar.
      body: callable taking the loop variables and returning new values in the same
        structure (a single value may be returned bare for one loop variable).
      loop_vars: a (nested) list/tuple/namedtuple of Tensors or Python/numpy values, or a
        single one.
      shape_invariants: matching structure of TensorShapes: the shapes each variable may
        take across iterations (default: exactly its entry shape).
      parallel_iterations, swap_memory: accepted for compatibility (no effect).
      back_prop: if False, no gradient flows through the loop.
      name: name of the op (default "while").
      maximum_iterations: optional int scalar: stop after that many iterations.
      return_same_structure: if False (the default), a single loop variable is returned
        bare instead of in a one-element list.

    Returns:
      The loop variables after the last iteration, in the body's result structure.

    Raises:
      TypeError: if `cond`/`body` is not callable, a variable changes dtype, the
        condition is not boolean, or `maximum_iterations` is not an integer.
      ValueError: if there are no loop variables, the body changes the structure or a
        shape beyond its invariant, or an invariant does not fit an entry shape.
    """
    del swap_memory
    if not callable(cond):
        raise TypeError("'cond' must be callable.")
    if not callable(body):
        raise TypeError("'body' must be callable.")
    if parallel_iterations is not None and parallel_iterations < 1:
        raise TypeError("'parallel_iterations' must be a positive integer.")
    if isinstance(loop_vars, (list, builtins.tuple)) and not loop_vars:
        raise ValueError("No loop variables provided")
    args_values = _as_top_level_args(loop_vars)
    flat_values = nest.flatten(args_values)
    if not flat_values:
        raise ValueError("No loop variables provided")
    graph = _graph_for_new_op(*flat_values)
    with graph.as_default(), graph.name_scope(name or "while") as scope:
        loop_name = scope[:-1]
        flat_vars = [convert_to_tensor(v, name="loop_var") for v in flat_values]
        if shape_invariants is None:
            invariants = [v.shape for v in flat_vars]
        else:
            shape_args = _as_top_level_args(shape_invariants) \
                if isinstance(loop_vars, (list, builtins.tuple)) else [shape_invariants]
            try:
                nest.assert_same_structure(args_values, shape_args, check_types=False)
            except (ValueError, TypeError) as e:
                raise ValueError("shape_invariants of while_loop %r must have the structure of "
                                 "loop_vars: %s" % (loop_name, e)) from None
            invariants = [as_shape(s) for s in nest.flatten(shape_args)]
            for v, invariant in zip(flat_vars, invariants):
                if not _shape_less_than_or_equal(v.shape, invariant):
                    raise ValueError(
                        "The shape invariant specified for %s is not compatible with the "
                        "initial shape of the loop variable. It enters the loop with shape %s, "
                        "but the specified shape invariant is %s." % (v.name, v.shape, invariant))
        maximum = None
        if maximum_iterations is not None:
            maximum = convert_to_tensor(maximum_iterations, name="maximum_iterations")
            if not maximum.dtype.is_integer:
                raise TypeError("maximum_iterations of while_loop %r must be an integer, got "
                                "dtype %s" % (loop_name, maximum.dtype.name))
            if maximum.shape.ndims not in (None, 0):
                raise ValueError("maximum_iterations must be a scalar, saw shape: %s"
                                 % maximum.shape)
        specs = nest.pack_sequence_as(args_values, [_LoopVarSpec(v.dtype, s)
                                                    for v, s in zip(flat_vars, invariants)])
        cond_graph = func_graph_lib.func_graph_from_py_func(loop_name + "_cond", cond, specs,
                                                            outer_graph=graph)
        _check_loop_condition(cond_graph, loop_name)

        def body_function(*args):
            result = body(*args)
            if len(args_values) == 1 and not isinstance(result, (list, builtins.tuple)):
                result = [result]
            return result
        body_graph = func_graph_lib.func_graph_from_py_func(loop_name + "_body", body_function,
                                                            specs, outer_graph=graph)
        body_result = body_graph.structured_outputs
        _check_body_result(loop_name, args_values, body_result, flat_vars, invariants)
        captured = _unify_captures([cond_graph, body_graph], len(flat_vars))
        inputs = flat_vars + captured + ([maximum] if maximum is not None else [])
        op = graph.create_op("While", inputs,
                             {"cond": cond_graph, "body": body_graph,
                              "parallel_iterations": int(parallel_iterations or 10),
                              "back_prop": bool(back_prop),
                              "has_maximum_iterations": maximum is not None,
                              "record_history": False, "history_tensors": []}, name=scope)
        func_graph_lib.add_control_inputs(graph, op, cond_graph.outer_control_inputs
                                          + body_graph.outer_control_inputs)
    packed = nest.pack_sequence_as(body_result, op.outputs[:len(flat_vars)])
    if return_same_structure:
        return packed
    if isinstance(packed, (list, builtins.tuple)) and len(flat_vars) == 1 and len(packed) == 1:
        return packed[0]
    return packed


def _check_loop_condition(cond_graph, loop_name):
    result = cond_graph.structured_outputs
    if not isinstance(result, Tensor):
        raise TypeError("The cond of while_loop %r must return a boolean scalar Tensor, got %r"
                        % (loop_name, result))
    if result.dtype != dtypes.bool:
        raise TypeError("The cond of while_loop %r must return a bool Tensor, got dtype %s (%s)"
                        % (loop_name, result.dtype.name, result.name))
    if result.shape.ndims not in (None, 0):
        raise ValueError("The cond of while_loop %r must return a scalar, got shape %s (%s)"
                         % (loop_name, result.shape, result.name))


def _check_body_result(loop_name, args_values, body_result, flat_vars, invariants):
    if not isinstance(body_result, (list, builtins.tuple)):
        body_result = [body_result]
    try:
        nest.assert_same_structure(list(args_values), list(body_result))
    except ValueError as e:
        raise ValueError("The body of while_loop %r must return the structure of loop_vars. %s"
                         % (loop_name, e)) from None
    except TypeError as e:
        raise TypeError("The body of while_loop %r must return the structure of loop_vars. %s"
                        % (loop_name, e)) from None
    for entry, output, invariant in zip(flat_vars, nest.flatten(body_result), invariants):
        if not isinstance(output, Tensor):
            raise TypeError("The body of while_loop %r returned %r for loop var %s; expected a "
                            "Tensor" % (loop_name, output, entry.name))
        if output.dtype != entry.dtype:
            raise TypeError("Loop var %s enters the loop with type %s but has type %s after 1 "
                            "iteration. %s type should remain constant."
                            % (entry.name, entry.dtype, output.dtype, entry.name))
        if not _shape_less_than_or_equal(output.shape, invariant):
            raise ValueError(
                "Input tensor '%s' enters the loop with shape %s, but has shape %s after one "
                "iteration. To allow the shape to vary across iterations, use the "
                "`shape_invariants` argument of tf.while_loop to specify a less-specific shape."
                % (entry.name, entry.shape, output.shape))


# -- MapFn: map_fn --------------------------------------------------------------------------

def _map_fn_shape(op):
    fn = op.get_attr("fn")
    count = op.get_attr("num_elems")
    rows = None
    for t in op.inputs[:count]:
        if t.shape.ndims is not None and t.shape[0] is not None:
            rows = t.shape[0]
    return [(TensorShape([rows]).concatenate(t.shape), t.dtype) for t in fn.outputs] + \
        [(unknown_shape(), dtypes.variant)]


def _empty_stack(tensor_shape, dtype):
    dims = [0] + [0 if d is None else d for d in (tensor_shape.as_tuple_or_none() or ())]
    return np.zeros(dims, dtype.np_dtype)


def _map_fn_kernel(ctx, *args, fn, num_elems, back_prop, record_history, history_tensors):
    elems = [np.asarray(e) for e in args[:num_elems]]
    invariant = list(args[num_elems:])
    rows = {e.shape[0] for e in elems}
    if len(rows) != 1:
        raise errors.InvalidArgumentError(None, None, "All elems of map_fn %s must have the "
                                          "same first dimension, got %s"
                                          % (ctx.op_name, [e.shape[0] for e in elems]))
    count = rows.pop()
    record = bool(ctx.op.attrs.get("record_history"))
    names = list(ctx.op.attrs.get("history_tensors") or []) if record else []
    history = [] if record else None
    results = [[] for _ in fn.outputs]
    for i in range(count):
        values = _call_function(ctx, fn, [e[i] for e in elems] + invariant, names)
        for k, value in enumerate(values[:len(fn.outputs)]):
            results[k].append(value)
        if record:
            history.append(_record(ctx, names, values[len(fn.outputs):]))
    outputs = [np.stack(r) if r else _empty_stack(t.shape, t.dtype)
               for r, t in zip(results, fn.outputs)]
    return _kernel_result(outputs + [history])


def _map_fn_grad(op, *grads):
    fn = op.get_attr("fn")
    num_elems = op.get_attr("num_elems")
    elems, captured = op.inputs[:num_elems], op.inputs[num_elems:]
    result = [None] * len(op.inputs)
    if not op.get_attr("back_prop"):
        return result
    count = len(fn.outputs)
    y_indices = [k for k in range(count) if _is_differentiable(op.outputs[k].dtype)]
    elem_indices = [i for i in range(num_elems) if _is_differentiable(elems[i].dtype)]
    capture_indices = [j for j, t in enumerate(captured) if _is_differentiable(t.dtype)]
    if not y_indices or not (elem_indices or capture_indices):
        return result
    graph = op.graph
    with graph.as_default():
        dys = [grads[k] if grads[k] is not None else _zeros_like(op.outputs[k])
               for k in y_indices]
        dys = [_dense(g) for g in dys]
    function = _GradientFunction(
        fn, graph, op.name + "_fn_grad", y_indices,
        [(fn.outputs[k].dtype, fn.outputs[k].shape) for k in y_indices],
        {num_elems + j: t for j, t in enumerate(captured)},
        elem_indices + [num_elems + j for j in capture_indices])
    elem_grads = [function.gradient_or_zeros(k) for k in range(len(elem_indices))]
    kept = [k for k in range(len(capture_indices))
            if function.grads[len(elem_indices) + k] is not None]
    capture_grads = [function.gradient_or_zeros(len(elem_indices) + k) for k in kept]
    function.finish(elem_grads + capture_grads)
    op._set_attr("history_tensors", _union_names(op.get_attr("history_tensors"),
                                                 function.record_names))
    op._set_attr("record_history", True)
    grad_captures = [outer for outer, _ in function.graph.captures]
    positions = [grad_captures.index(captured[capture_indices[k]]) for k in kept]
    shape_sources = [elems[i] for i in elem_indices]
    # The record is a Python object: the gradient op must run where the forward op ran.
    with graph.colocate_with(op):
        grad_op = graph.create_op(
            "MapFnGrad", dys + [op.outputs[-1]] + shape_sources + grad_captures,
            {"fn_grad": function.graph, "num_outputs": len(y_indices),
             "num_elem_grads": len(elem_indices), "capture_grad_positions": positions},
            name="MapFnGrad")
    func_graph_lib.add_control_inputs(graph, grad_op, function.graph.outer_control_inputs)
    return _scatter_grads(result, grad_op, elem_indices, kept, num_elems, capture_indices)


registry.register_op("MapFn", shape=_map_fn_shape, numpy=_map_fn_kernel, gradient=_map_fn_grad,
                     context=True, stateful=True, sharding=sharding.GATHER,
                     doc="Applies fn (a FuncGraph) to each row of its elems and stacks results.")


def _map_fn_grad_shape(op):
    fn_grad = op.get_attr("fn_grad")
    num_outputs, num_elem_grads = op.get_attr("num_outputs"), op.get_attr("num_elem_grads")
    sources = op.inputs[num_outputs + 1:num_outputs + 1 + num_elem_grads]
    specs = [(t.shape, t.dtype) for t in sources]
    for t, position in zip(fn_grad.outputs[num_elem_grads:], op.get_attr("capture_grad_positions")):
        specs.append((op.inputs[num_outputs + 1 + num_elem_grads + position].shape, t.dtype))
    return specs


def _map_fn_grad_kernel(ctx, *args, fn_grad, num_outputs, num_elem_grads,
                        capture_grad_positions):
    dys = [np.asarray(d) for d in args[:num_outputs]]
    history = args[num_outputs]
    sources = args[num_outputs + 1:num_outputs + 1 + num_elem_grads]
    invariant = list(args[num_outputs + 1 + num_elem_grads:])
    if history is None:
        raise errors.InternalError(None, None, "The forward MapFn op recorded no history for "
                                   "its gradient %s" % ctx.op_name)
    rows = [[] for _ in range(num_elem_grads)]
    sums = [None] * len(capture_grad_positions)
    for i, record in enumerate(history):
        outputs = ctx.call_function(fn_grad, [d[i] for d in dys] + [record] + invariant)
        for k in range(num_elem_grads):
            rows[k].append(outputs[k])
        for k, value in enumerate(outputs[num_elem_grads:]):
            sums[k] = value if sums[k] is None else sums[k] + value
    elem_grads = [np.stack(r) if r else np.zeros_like(source) for r, source in zip(rows, sources)]
    for k, position in enumerate(capture_grad_positions):
        if sums[k] is None:
            sums[k] = np.zeros_like(invariant[position])
    return _kernel_result(elem_grads + sums)


registry.register_op("MapFnGrad", shape=_map_fn_grad_shape, numpy=_map_fn_grad_kernel,
                     gradient=lambda op, *grads: _while_grad_grad(op),
                     context=True, stateful=True, sharding=sharding.GATHER,
                     doc="Runs a MapFn's gradient function on each row.")


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False,
           infer_shape=True, name=None):
    """Applies `fn` to each element of `elems` along axis 0 and stacks the results.

    TF1 `tf.map_fn`. `fn` is traced once into a function sub-graph of one "MapFn" op.

    Args:
      fn: callable taking one element (a structure like `elems`, each Tensor without its
        first dimension) and returning a structure of Tensors.
      elems: a Tensor or a (nested) structure of Tensors, all with the same first
        dimension.
      dtype: the structure of dtypes of fn's result when it differs from `elems`' (checked
        against what fn returns).
      parallel_iterations, swap_memory, infer_shape: accepted for compatibility.
      back_prop: if False, no gradient flows through.
      name: name of the op (default "map").

    Returns:
      The stacked results, in fn's result structure.

    Raises:
      TypeError: if `fn` is not callable, or fn's result dtypes differ from `dtype`.
      ValueError: if an element is a scalar, first dimensions differ statically, or fn's
        result structure differs from `dtype`'s.
    """
    del parallel_iterations, swap_memory, infer_shape
    if not callable(fn):
        raise TypeError("fn must be callable.")
    flat_values = nest.flatten(elems)
    if not flat_values:
        raise ValueError("map_fn needs at least one element tensor in elems")
    graph = _graph_for_new_op(*flat_values)
    with graph.as_default(), graph.name_scope(name or "map") as scope:
        map_name = scope[:-1]
        flat_elems = [convert_to_tensor(e, name="elems") for e in flat_values]
        rows = None
        for e in flat_elems:
            if e.shape.ndims == 0:
                raise ValueError("elems must be a 1+ dimensional Tensor, not a scalar: %s "
                                 "(map_fn %r)" % (e.name, map_name))
            first = e.shape[0] if e.shape.ndims is not None else None
            if first is not None and rows is not None and first != rows:
                raise ValueError("All elems of map_fn %r must have the same first dimension, "
                                 "got %d and %d" % (map_name, rows, first))
            rows = first if first is not None else rows
        specs = nest.pack_sequence_as(elems, [
            _LoopVarSpec(e.dtype, e.shape[1:] if e.shape.ndims is not None else unknown_shape())
            for e in flat_elems])
        fn_graph = func_graph_lib.func_graph_from_py_func(map_name + "_fn", fn, [specs],
                                                          outer_graph=graph)
        result = fn_graph.structured_outputs
        expected = dtype if dtype is not None else elems
        try:
            nest.assert_same_structure(expected, result)
        except (ValueError, TypeError) as e:
            raise type(e)("The result of fn in map_fn %r does not have the structure of %s: %s"
                          % (map_name, "dtype" if dtype is not None else "elems", e)) from None
        flat_result = nest.flatten(result)
        for index, value in enumerate(flat_result):
            if not isinstance(value, Tensor):
                raise TypeError("fn of map_fn %r returned %r; expected Tensors" % (map_name, value))
            if dtype is not None:
                want = dtypes.as_dtype(nest.flatten(dtype)[index])
                if value.dtype != want:
                    raise TypeError("fn of map_fn %r returned dtype %s for output %d, but dtype "
                                    "says %s" % (map_name, value.dtype.name, index, want.name))
        captured = _unify_captures([fn_graph], len(flat_elems))
        op = graph.create_op("MapFn", flat_elems + captured,
                             {"fn": fn_graph, "num_elems": len(flat_elems),
                              "back_prop": bool(back_prop), "record_history": False,
                              "history_tensors": []}, name=scope)
        func_graph_lib.add_control_inputs(graph, op, fn_graph.outer_control_inputs)
    return nest.pack_sequence_as(result, op.outputs[:len(flat_result)])
