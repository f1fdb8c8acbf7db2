"""FuncGraph: a function sub-graph (cond branch, loop body, gradient body) held in an op attr.

`cond` and `while_loop` build each Python function they are given into a FuncGraph and
store it in an attr of one "If"/"While" op, so the distributed runtime places, partitions
and serializes them like any other op. A FuncGraph's whole contract with the rest of the
system is five fields plus its ordinary ops (see graph_io.py):

    inputs           Placeholder tensors fed, in order, with the calling op's argument values
    outputs          tensors fetched as the results
    control_outputs  ops run on every call even if no output needs them
    captures         [(outer tensor, inner placeholder)]: the outer values the body uses

Capturing: while a FuncGraph is the default graph, any op built on a tensor of an outer
graph gets a placeholder of the FuncGraph instead, and the outer tensor is recorded in
`captures`: the calling op passes it in as an extra input. A nested FuncGraph captures
through its parents. Variable values are special: a body must see assignments made by
earlier iterations or by ops before it in the same body, so a captured variable value is
re-read from the session state inside the function (op "FunctionVariableRead", defined in
ops/control_flow_ops.py) while still being an input of the calling op, which keeps the
gradient path to the variable intact.

Control dependencies on outer ops, taken inside the body, cannot be edges of the
sub-graph: they are collected in `outer_control_inputs` and become control inputs of the
calling op.
"""
import contextlib

from . import dtypes
from .graph import Graph, GraphKeys, Operation, Tensor, _as_operation, get_default_graph
from .tensor_shape import as_shape

# Collections whose lists are shared with the outer graph (as TF's FuncGraph does), so that
# `tf.global_variables()` sees variables made while building a body. Other collections are
# copied: ops added to them inside a body must not leak into the outer graph's lists.
_SHARED_COLLECTIONS = (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES,
                       GraphKeys.TRAINABLE_VARIABLES, GraphKeys.MODEL_VARIABLES,
                       GraphKeys.GLOBAL_STEP, GraphKeys.TRAINABLE_RESOURCE_VARIABLES,
                       GraphKeys.MOVING_AVERAGE_VARIABLES)

# Op type that re-reads a captured variable inside a function (registered by control_flow_ops).
VARIABLE_READ_OP = "FunctionVariableRead"


class FuncGraph(Graph):
    """A graph holding the body of a function, built while it is the default graph.

    Args:
      name: a name for the function (used in op names and messages).
      outer_graph: the graph the calling op lives in (default: the current default graph).
    """

    def __init__(self, name, outer_graph=None):
        super().__init__()
        self.name = name
        self.outer_graph = outer_graph if outer_graph is not None else get_default_graph()
        self.inputs = []
        self.outputs = []
        self.control_outputs = []
        self.captures = []
        # The Python value the function returned (Tensors of this graph); build time only.
        self.structured_outputs = None
        # Outer ops the body took control dependencies on (for the calling op).
        self.outer_control_inputs = []
        self._capture_placeholders = {}  # outer tensor -> inner placeholder
        self._capture_values = {}        # outer tensor -> tensor used inside (read or placeholder)
        outer = self.outer_graph
        self.seed = outer.seed
        self._device_stack = list(outer._device_stack)
        self._gradient_override_map = dict(outer._gradient_override_map)
        self._attr_scope = dict(outer._attr_scope)
        # Per-graph state of the ops modules (variable store, variable scopes) is the
        # enclosing graph's: variables made while building a body are created outside
        # (variables.py lifts them with an init scope) and must be found there later.
        self._extras = outer._extras
        for key in outer.get_all_collection_keys():
            if key not in _SHARED_COLLECTIONS:
                self._collections[key] = list(outer.get_collection(key))
        for key in _SHARED_COLLECTIONS:
            self._collections[key] = outer.get_collection_ref(key)

    @property
    def building_function(self):
        return True

    def outer_graphs(self):
        """The chain of enclosing graphs, innermost first."""
        graphs = []
        graph = self.outer_graph
        while graph is not None:
            graphs.append(graph)
            graph = getattr(graph, "outer_graph", None)
        return graphs

    # -- construction ------------------------------------------------------------------------

    def create_op(self, op_type, inputs, attrs=None, name=None, output_specs=None):
        """Graph.create_op, capturing any input that belongs to an enclosing graph."""
        inputs = [self.capture(t) if isinstance(t, Tensor) and t.graph is not self else t
                  for t in inputs]
        if name and name.endswith("/") and name[:-1] in self._ops_by_name:
            # An exact name chosen under another graph's scopes may be taken here already:
            # names must stay unique (gradient records look tensors up by name).
            saved_stack, self._name_stack = self._name_stack, ""
            try:
                name = self.unique_name(name[:-1], mark_as_used=False) + "/"
            finally:
                self._name_stack = saved_stack
        return super().create_op(op_type, inputs, attrs, name=name, output_specs=output_specs)

    def add_input(self, dtype, shape=None, name="input"):
        """Creates a Placeholder of this graph and appends it to `inputs`; returns its Tensor."""
        tensor = self._new_placeholder(dtype, shape, name)
        self.inputs.append(tensor)
        return tensor

    def _new_placeholder(self, dtype, shape, name):
        dtype = dtypes.as_dtype(dtype)
        shape = as_shape(shape).as_tuple_or_none() if shape is not None else None
        saved_stack, self._name_stack = self._name_stack, ""
        try:
            with self.control_dependencies(None):
                op = Graph.create_op(self, "Placeholder", [],
                                     {"dtype": dtype.name,
                                      "shape": None if shape is None else list(shape)},
                                     name=name)
        finally:
            self._name_stack = saved_stack
        return op.outputs[0]

    def capture(self, tensor, read_variables=True):
        """The tensor of this graph standing for `tensor` of an enclosing graph.

        The first capture of `tensor` adds a placeholder to `inputs` and the pair to
        `captures`. With `read_variables` (the default), a variable's value is re-read from
        the session state inside the function instead of using the value passed in.

        Raises:
          ValueError: if `tensor` is not from this graph or one enclosing it.
        """
        if tensor.graph is self:
            return tensor
        cached = (self._capture_values if read_variables else self._capture_placeholders)
        if tensor in cached:
            return cached[tensor]
        if tensor.graph not in self.outer_graphs():
            raise ValueError("Tensor %s must be from the same graph as the function %r being "
                             "built, or from a graph enclosing it." % (tensor.name, self.name))
        if tensor.graph is self.outer_graph:
            outer_tensor = tensor
        else:  # from further out: the enclosing function captures it first
            outer_tensor = self.outer_graph.capture(tensor, read_variables=read_variables)
        placeholder = self._capture_placeholders.get(outer_tensor)
        if placeholder is None:
            placeholder = self._new_placeholder(outer_tensor.dtype, outer_tensor.shape,
                                                _capture_name(outer_tensor))
            self.inputs.append(placeholder)
            self.captures.append((outer_tensor, placeholder))
            self._capture_placeholders[outer_tensor] = placeholder
            self._capture_placeholders[tensor] = placeholder
        if not read_variables:
            return placeholder
        value = placeholder
        var_name = variable_name_of(outer_tensor)
        if var_name is not None:
            saved_stack, self._name_stack = self._name_stack, ""
            try:
                with self.control_dependencies(None):
                    value = Graph.create_op(self, VARIABLE_READ_OP, [placeholder],
                                            {"var_name": var_name},
                                            name=var_name + "/read_in_function").outputs[0]
            finally:
                self._name_stack = saved_stack
        self._capture_values[outer_tensor] = value
        self._capture_values[tensor] = value
        return value

    def captured_placeholder(self, outer_tensor):
        """The placeholder capturing `outer_tensor` (a tensor of `outer_graph`), or None."""
        return self._capture_placeholders.get(outer_tensor)

    def control_dependencies(self, control_inputs):
        """As Graph.control_dependencies; dependencies on outer ops go to the calling op."""
        if control_inputs is None:
            return super().control_dependencies(None)
        inner = []
        for c in control_inputs:
            if c is None:
                continue
            op = _as_operation(c._as_graph_element() if hasattr(c, "_as_graph_element")
                               and not isinstance(c, (Tensor, Operation)) else c)
            if op.graph is self:
                inner.append(op)
            elif op.graph in self.outer_graphs():
                self.add_outer_control_input(op)
            else:
                raise ValueError("Control input %s must be from the same graph as the function "
                                 "%r, or from a graph enclosing it." % (op.name, self.name))
        return super().control_dependencies(inner)

    def add_outer_control_input(self, op):
        """Records that the calling op must run after `op`, an op of an enclosing graph."""
        if op not in self.outer_control_inputs:
            self.outer_control_inputs.append(op)


def _capture_name(tensor):
    return tensor.op.name.replace("/", "_") + ("" if tensor.value_index == 0
                                               else "_%d" % tensor.value_index)


def variable_name_of(tensor):
    """The session-state key of the variable whose value `tensor` is, or None.

    Knows the variable op's own output ("VariableV2"), its `read` snapshot (an Identity of
    it) and a value re-read inside a function.
    """
    op = tensor.op
    if op.type == "VariableV2":
        return op.name
    if op.type == "Identity" and op.inputs and op.inputs[0].op.type == "VariableV2":
        return op.inputs[0].op.name
    if op.type == VARIABLE_READ_OP:
        return op.get_attr("var_name")
    return None


def add_control_inputs(graph, op, control_ops):
    """Makes `op` (of `graph`) run after `control_ops`, forwarding outer ones outwards."""
    for c in control_ops:
        if c.graph is graph:
            op._add_control_input(c)
        elif isinstance(graph, FuncGraph):
            graph.add_outer_control_input(c)
        else:
            raise ValueError("Control input %s of %s is not from graph of the op." % (c.name,
                                                                                    op.name))


def func_graph_from_py_func(name, python_func, args_structure, outer_graph=None,
                            arg_names=None):
    """Builds `python_func` into a new FuncGraph and returns it.

    Args:
      name: the function's name.
      python_func: called with one argument per top-level element of `args_structure`,
        each a structure of placeholders like that element.
      args_structure: a list/tuple of (nested) specs: Tensors or objects with `dtype` and
        `shape` describing each argument atom. Placeholders are made for every atom and
        appended to `inputs` in flattening order.
      outer_graph: the graph of the calling op (default: the current default graph).
      arg_names: optional flat list of names for the argument placeholders.

    Returns:
      The FuncGraph, with `structured_outputs` set to the function's return value in which
      every Tensor-convertible atom is now a Tensor of the function (an outer tensor
      returned as is is captured), Operations kept as they are and added to
      `control_outputs`, and None kept. `outputs` lists the Tensors in flattening order.
    """
    from ..util import nest
    from .tensor_conversion import convert_to_tensor
    graph = FuncGraph(name, outer_graph)
    flat_specs = nest.flatten(args_structure)
    with graph.as_default():
        placeholders = []
        for i, spec in enumerate(flat_specs):
            arg_name = arg_names[i] if arg_names else "arg%d" % i
            placeholders.append(graph.add_input(spec.dtype, spec.shape, arg_name))
        args = nest.pack_sequence_as(args_structure, placeholders)
        result = python_func(*args)

        def convert(value):
            if value is None:
                return None
            if isinstance(value, Operation):
                if value.graph is graph:
                    graph.control_outputs.append(value)
                else:
                    graph.add_outer_control_input(value)
                return value
            tensor = convert_to_tensor(value)
            if tensor.graph is not graph:
                tensor = graph.capture(tensor)
            return tensor
        result = nest.map_structure(convert, result)
    graph.structured_outputs = result
    graph.outputs = [t for t in nest.flatten(result) if isinstance(t, Tensor)]
    return graph


def copy_ops(source, target, input_map):
    """Copies the ops of FuncGraph `source` into graph `target` (same types, attrs, shapes).

    Used to build gradient functions: the forward body is copied into the gradient
    FuncGraph, then differentiated there.

    Args:
      source: the graph whose ops to copy (in creation order, a topological order).
      target: the graph to create them in; if it is a FuncGraph, inputs from its
        enclosing graphs are captured as usual.
      input_map: {tensor of source: tensor to use instead}. Ops all of whose outputs are
        mapped are not copied.

    Returns:
      (tensor_map, op_map): every source tensor to its copy (or mapped tensor), and every
      copied source op to its copy.
    """
    tensor_map = dict(input_map)
    op_map = {}
    for op in source.get_operations():
        if op.outputs and all(t in tensor_map for t in op.outputs):
            continue
        inputs = [tensor_map[t] for t in op.inputs]
        with target.control_dependencies(None):
            new_op = target.create_op(op.type, inputs, dict(op.attrs), name=op.name,
                                      output_specs=[(t.shape, t.dtype) for t in op.outputs])
        if op.device:
            new_op._set_device(op.device)
        for c in op.control_inputs:
            if c in op_map:
                new_op._add_control_input(op_map[c])
        op_map[op] = new_op
        for old, new in zip(op.outputs, new_op.outputs):
            tensor_map[old] = new
    return tensor_map, op_map


def replace_input(op, index, tensor):
    """Rewires input `index` of `op` to `tensor` (same graph, dtype and compatible shape).

    Gradient functions use it to make gradient ops read recorded forward values instead of
    the recomputing copies of the forward ops they were built against.
    """
    old = op._inputs[index]
    if old is tensor:
        return
    if tensor.graph is not op.graph or tensor.dtype != old.dtype:
        raise ValueError("Cannot rewire input %d of %s from %s to %s" % (index, op.name,
                                                                       old.name, tensor.name))
    old._consumers.remove(op)
    inputs = list(op._inputs)
    inputs[index] = tensor
    op._inputs = tuple(inputs)
    tensor._consumers.append(op)
    op.graph._version += 1


def restore_topological_order(graph):
    """Renumbers `graph`'s ops so that creation order is a topological order again.

    Everything that walks a graph (autodiff, `copy_ops`, the executor's tie-breaking)
    relies on inputs being created before their consumers; `replace_input` can break
    that by pointing an op at a newer one.
    """
    ops = graph._ops
    position = {op: index for index, op in enumerate(ops)}
    order, done, visiting = [], set(), set()
    for root in ops:
        if root in done:
            continue
        stack = [(root, False)]
        while stack:
            op, expanded = stack.pop()
            if op in done:
                continue
            if expanded:
                visiting.discard(op)
                done.add(op)
                order.append(op)
                continue
            if op in visiting:
                raise ValueError("Function %r has a cycle through %s" % (
                    getattr(graph, "name", ""), op.name))
            visiting.add(op)
            stack.append((op, True))
            deps = {t.op for t in op.inputs} | set(op.control_inputs)
            for dep in sorted(deps, key=position.__getitem__, reverse=True):
                if dep not in done:
                    stack.append((dep, False))
    for index, op in enumerate(order):
        op._id = index
    graph._ops = order
    graph._version += 1


def remove_control_input(op, control_op):
    """Drops control input `control_op` from `op` (if present)."""
    if control_op in op._control_inputs:
        op._control_inputs.remove(control_op)
        op.graph._version += 1


def outermost_graph(graph=None):
    """The graph enclosing `graph` (default: the default graph) that is not a function."""
    graph = graph if graph is not None else get_default_graph()
    while isinstance(graph, FuncGraph):
        graph = graph.outer_graph
    return graph


@contextlib.contextmanager
def init_scope():
    """Lifts op creation out of function bodies, as TF's `ops.init_scope`.

    Inside, the default graph is the outermost non-function graph and no control
    dependencies apply. Variable creation uses it so that a variable made while building a
    cond branch or loop body lives in the main graph with its initializer.
    """
    graph = get_default_graph()
    outer = outermost_graph(graph)
    with outer.as_default(), outer.control_dependencies(None):
        yield
