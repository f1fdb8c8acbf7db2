"""The dataflow graph: Graph, Operation and Tensor, with TF1's naming, scoping and collections."""
import contextlib
import re
import threading

from . import device as device_lib
from . import dtypes
from . import registry
from .tensor_shape import as_shape


class Tensor:
    """A symbolic handle to the `value_index`-th output of an Operation, named `op:index`.

    Tensors carry a static dtype and a (possibly partial) static shape. They hold no
    value: run them with `Session.run` or `Tensor.eval`.
    """

    # Make numpy defer to our operators (`np_array + tensor` builds an op).
    __array_priority__ = 100

    def __init__(self, op, value_index, dtype, shape):
        self._op = op
        self._value_index = value_index
        self._dtype = dtypes.as_dtype(dtype)
        self._shape = as_shape(shape)
        self._consumers = []

    @property
    def op(self):
        return self._op

    @property
    def value_index(self):
        return self._value_index

    @property
    def dtype(self):
        return self._dtype

    @property
    def graph(self):
        return self._op.graph

    @property
    def name(self):
        return "%s:%d" % (self._op.name, self._value_index)

    @property
    def device(self):
        return self._op.device

    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    def set_shape(self, shape):
        """Merges `shape` into the static shape; raises ValueError if incompatible."""
        self._shape = self._shape.merge_with(shape)

    def consumers(self):
        return list(self._consumers)

    def eval(self, feed_dict=None, session=None):
        """Runs this tensor in `session` (default: the default session) and returns its value."""
        from ..runtime import session as session_lib
        return session_lib.eval_in_session(self, feed_dict, session)

    def __repr__(self):
        return "<tf.Tensor '%s' shape=%s dtype=%s>" % (self.name, self._shape, self._dtype.name)

    def __str__(self):
        return 'Tensor("%s", shape=%s, dtype=%s)' % (self.name, self._shape, self._dtype.name)

    def __bool__(self):
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. Use `if t is not "
                        "None:` instead of `if t:` to test if a tensor is defined, and use "
                        "`tf.cond` to execute subgraphs conditioned on the value of a tensor "
                        "(tensor %s)." % self.name)

    def __iter__(self):
        raise TypeError("Tensor objects are only iterable when eager execution is enabled. To "
                        "iterate over this tensor (%s) use tf.unstack or tf.map_fn." % self.name)

    def __len__(self):
        raise TypeError("len is not well defined for symbolic Tensors (%s). Please call "
                        "`x.shape` rather than `len(x)` for shape information." % self.name)

    # Identity semantics, as graph-mode TF: `==` on tensors is not element-wise (use tf.equal).
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def _as_node_def_input(self):
        return self._op.name if self._value_index == 0 else self.name


class Operation:
    """A node of the graph: an op type, input tensors, control inputs, attrs and a device."""

    def __init__(self, graph, op_type, name, inputs, attrs, control_inputs, device, output_specs,
                 record):
        self._graph = graph
        self._type = op_type
        self._name = name
        self._inputs = tuple(inputs)
        self._attrs = attrs
        self._control_inputs = list(control_inputs)
        self._device = device
        self._record = record
        self._id = None
        self._gradient_op_type = None
        self._outputs = tuple(Tensor(self, i, dtype, shape)
                              for i, (shape, dtype) in enumerate(output_specs))
        for t in self._inputs:
            t._consumers.append(self)

    @property
    def name(self):
        return self._name

    @property
    def type(self):
        return self._type

    @property
    def graph(self):
        return self._graph

    @property
    def inputs(self):
        return self._inputs

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def control_inputs(self):
        return list(self._control_inputs)

    @property
    def device(self):
        return self._device

    @property
    def node_def(self):
        """A dict view of this node (name, op, inputs, device, attr), like TF's NodeDef."""
        return {"name": self._name, "op": self._type, "device": self._device,
                "input": [t._as_node_def_input() for t in self._inputs]
                + ["^" + c.name for c in self._control_inputs],
                "attr": dict(self._attrs)}

    @property
    def attrs(self):
        return self._attrs

    def get_attr(self, name):
        try:
            return self._attrs[name]
        except KeyError:
            raise ValueError("Operation %r has no attr named %r." % (self._name, name))

    def _set_attr(self, name, value):
        """Changes an attr after creation (e.g. a While op asked to record its history)."""
        self._attrs[name] = value
        self._graph._mutation_version += 1

    def _set_device(self, device):
        self._device = device_lib.canonical_name(device)

    def _add_control_input(self, op):
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            self._graph._mutation_version += 1

    def values(self):
        return tuple(self._outputs)

    def run(self, feed_dict=None, session=None):
        """Runs this operation in `session` (default: the default session)."""
        from ..runtime import session as session_lib
        session_lib.run_in_session(self, feed_dict, session)

    def __repr__(self):
        return "<tf.Operation '%s' type=%s>" % (self._name, self._type)

    def __str__(self):
        return "name: %r\nop: %r\n" % (self._name, self._type)


class GraphKeys:
    """Standard collection names, as in TF1."""
    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    CONCATENATED_VARIABLES = "concatenated_variables"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    SAVEABLE_OBJECTS = "saveable_objects"
    RESOURCES = "resources"
    LOCAL_RESOURCES = "local_resources"
    TRAINABLE_RESOURCE_VARIABLES = "trainable_resource_variables"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    EVAL_STEP = "eval_step"
    TRAIN_OP = "train_op"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"
    VARIABLES = GLOBAL_VARIABLES


class Graph:
    """A TensorFlow computation: a set of Operations and the Tensors flowing between them."""

    def __init__(self):
        self._ops = []
        self._ops_by_name = {}
        self._names_in_use = {}
        self._name_stack = ""
        self._control_dependencies_stack = []
        self._device_stack = []  # strings and functions (op -> device string)
        self._collections = {}
        self._finalized = False
        self._version = 0
        # Bumped when an existing op changes (attrs, control inputs): compiled plans of this
        # graph are then stale. Adding ops never invalidates a plan.
        self._mutation_version = 0
        # (first op id, end op id, spec) of each Optimizer.apply_gradients: the ops the MPI
        # runtime may run at the parameter server alone (distributed/parameter_server.py).
        self._parameter_update_ranges = []
        self.seed = None
        self._attr_scope = {}
        self._gradient_override_map = {}
        # Per-graph state the ops modules keep (variable store, variable scopes, ...).
        self._extras = {}

    # -- construction ------------------------------------------------------------------------

    def create_op(self, op_type, inputs, attrs=None, name=None, output_specs=None):
        """Adds an op of registered type `op_type` and returns it.

        The op's name is made unique under the current name scope; its device comes from the
        device scopes, its control inputs from `control_dependencies`. Output dtypes and
        static shapes come from the op's registered shape function (or `output_specs`, a list
        of (shape, dtype), for ops whose outputs the caller knows).

        Raises:
          RuntimeError: if the graph is finalized.
          ValueError / TypeError: from the shape function, naming the op.
        """
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        record = registry.get(op_type)
        inputs = list(inputs)
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError("Input to op %r is not a Tensor: %r" % (op_type, t))
            if t.graph is not self:
                raise ValueError("Tensor %s must be from the same graph as the op %s being "
                                 "created." % (t.name, name or op_type))
        name = self.unique_op_name(name or op_type)
        attrs = dict(attrs or {})
        control_inputs = self._current_control_inputs(inputs)
        op = Operation(self, op_type, name, inputs, attrs, control_inputs, "", [], record)
        if output_specs is None:
            try:
                output_specs = record.shape_fn(op)
            except (ValueError, TypeError) as e:
                for t in inputs:
                    t._consumers.remove(op)
                raise type(e)("%s (op %r of type %s, inputs: %s)" % (
                    e, name, op_type, ", ".join("%s %s %s" % (t.name, t.dtype.name, t.shape)
                                                for t in inputs) or "none")) from None
        op._outputs = tuple(Tensor(op, i, dtype, shape)
                            for i, (shape, dtype) in enumerate(output_specs))
        op._device = self._current_device(op)
        # As TF: a gradient_override_map applies to the ops created inside it, whenever
        # tf.gradients is called later.
        op._gradient_op_type = self._gradient_override_map.get(op_type)
        self._add_op(op)
        return op

    def _add_op(self, op):
        op._id = len(self._ops)
        self._ops.append(op)
        self._ops_by_name[op.name] = op
        self._version += 1

    def _current_control_inputs(self, inputs):
        controls = []
        input_ops = {t.op for t in inputs}
        for frame in self._control_dependencies_stack:
            for c in frame:
                if c not in controls and c not in input_ops:
                    controls.append(c)
        return controls

    def _current_device(self, op):
        device = ""
        for spec in self._device_stack:
            if spec is None:
                device = ""
            elif callable(spec):
                # Device functions see the device the outer scopes gave the op (TF1 semantics:
                # replica_device_setter merges with it).
                op._device = device
                device = device_lib.canonical_name(spec(op) or "")
            else:
                device = device_lib.merge_device(device, spec)
        return device

    # -- names -------------------------------------------------------------------------------

    def unique_name(self, name, mark_as_used=True):
        """`name` under the current name scope, suffixed `_1`, `_2`... if already used."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        name_key = name.lower()
        i = self._names_in_use.get(name_key, 0)
        if mark_as_used:
            self._names_in_use[name_key] = i + 1
        if i > 0:
            base_name_key = name_key
            while name_key in self._names_in_use:
                name_key = "%s_%d" % (base_name_key, i)
                i += 1
            if mark_as_used:
                self._names_in_use[name_key] = 1
            name = "%s_%d" % (name, i - 1)
        return name

    def unique_op_name(self, name):
        """The name for a new op: a trailing '/' means "exactly this name" as in TF."""
        if name.endswith("/"):
            exact = name[:-1]
            # Usually a name scope already reserved it; otherwise reserve it now (imports).
            self._names_in_use.setdefault(exact.lower(), 1)
            return exact
        return self.unique_name(name)

    def get_name_scope(self):
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Opens a name scope; yields the scope string ending in '/' (or '' at top level)."""
        old_stack = self._name_stack
        if not name:
            new_stack = ""
        elif name.endswith("/"):
            new_stack = name[:-1]
        else:
            _check_scope_name(name)
            new_stack = self.unique_name(name)
        self._name_stack = new_stack
        try:
            yield new_stack + "/" if new_stack else ""
        finally:
            self._name_stack = old_stack

    # -- scopes ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run only after all of `control_inputs` (None clears the stack)."""
        if control_inputs is None:
            saved = self._control_dependencies_stack
            self._control_dependencies_stack = []
            try:
                yield
            finally:
                self._control_dependencies_stack = saved
            return
        ops = []
        for c in control_inputs:
            op = _as_operation(c)
            if op.graph is not self:
                raise ValueError("Control input %s must be from the same graph." % op.name)
            ops.append(op)
        self._control_dependencies_stack.append(ops)
        try:
            yield
        finally:
            self._control_dependencies_stack.pop()

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Records a device (string, DeviceSpec, None or function op -> string) on new ops."""
        spec = device_name_or_function
        if isinstance(spec, device_lib.DeviceSpec):
            spec = spec.to_string()
        elif isinstance(spec, str):
            device_lib.DeviceSpec.from_string(spec)  # validate now, where the user wrote it
        self._device_stack.append(spec)
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        """Places new ops on the device of `op` (a Tensor, Variable or Operation)."""
        if op is None:
            yield
            return
        target = _as_operation(op)
        with self.device(target.device or None):
            yield

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map):
        """Within the scope, ops of type `k` use the gradient registered as `op_type_map[k]`."""
        saved = dict(self._gradient_override_map)
        self._gradient_override_map.update(op_type_map)
        try:
            yield
        finally:
            self._gradient_override_map = saved

    def as_default(self):
        """Makes this the default graph inside a `with` block."""
        return _default_graph_stack.get_controller(self)

    # -- lookup ------------------------------------------------------------------------------

    def get_operations(self):
        return list(self._ops)

    def get_operation_by_name(self, name):
        if not isinstance(name, str):
            raise TypeError("Operation names are strings (or similar), not %s." % type(name).__name__)
        try:
            return self._ops_by_name[name]
        except KeyError:
            raise KeyError("The name %r refers to an Operation not in the graph." % name)

    def get_tensor_by_name(self, name):
        if not isinstance(name, str):
            raise TypeError("Tensor names are strings (or similar), not %s." % type(name).__name__)
        op_name, sep, index = name.rpartition(":")
        if not sep or not index.isdigit():
            raise ValueError("The name %r looks a like an Operation name, not a Tensor. Tensor "
                             "names must be of the form \"<op_name>:<output_index>\"." % name)
        op = self._ops_by_name.get(op_name)
        if op is None:
            raise KeyError("The name %r refers to a Tensor which does not exist. The operation, "
                           "%r, does not exist in the graph." % (name, op_name))
        index = int(index)
        if index >= len(op._outputs):
            raise KeyError("The name %r refers to a Tensor which does not exist. The operation, "
                           "%r, exists but only has %d outputs." % (name, op_name, len(op._outputs)))
        return op._outputs[index]

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolves a Tensor, Operation, tensor-convertible object or name in this graph."""
        if isinstance(obj, str):
            if ":" in obj and allow_tensor:
                return self.get_tensor_by_name(obj)
            if allow_operation:
                return self.get_operation_by_name(obj)
            raise ValueError("Can not convert %r to a Tensor." % obj)
        if isinstance(obj, Tensor) and allow_tensor:
            element = obj
        elif isinstance(obj, Operation) and allow_operation:
            element = obj
        elif hasattr(obj, "_as_graph_element"):
            element = obj._as_graph_element()
        else:
            raise TypeError("Can not convert a %s into a %s." % (
                type(obj).__name__, "Tensor or Operation" if allow_operation else "Tensor"))
        if element.graph is not self:
            raise ValueError("%s is not an element of this graph." % (element,))
        return element

    def is_feedable(self, tensor):
        return True

    def is_fetchable(self, tensor_or_op):
        return True

    @property
    def version(self):
        return self._version

    @property
    def finalized(self):
        return self._finalized

    def finalize(self):
        """Makes the graph read-only: any later op creation raises RuntimeError."""
        self._finalized = True

    def _unsafe_unfinalize(self):
        self._finalized = False

    @property
    def building_function(self):
        return False

    # -- collections -------------------------------------------------------------------------

    def add_to_collection(self, name, value):
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        names = (names,) if isinstance(names, str) else set(names)
        for name in names:
            self.add_to_collection(name, value)

    def get_collection_ref(self, name):
        return self._collections.setdefault(name, [])

    def get_collection(self, name, scope=None):
        """A copy of collection `name`, filtered to items whose name matches `scope`."""
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        return [item for item in items
                if hasattr(item, "name") and pattern.match(item.name)]

    def get_all_collection_keys(self):
        return [k for k, v in self._collections.items() if v]

    def clear_collection(self, name):
        self._collections.pop(name, None)


_VALID_SCOPE = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


def _check_scope_name(name):
    if not _VALID_SCOPE.match(name):
        raise ValueError("'%s' is not a valid scope name" % name)


def _as_operation(obj):
    if isinstance(obj, Operation):
        return obj
    if isinstance(obj, Tensor):
        return obj.op
    if hasattr(obj, "op") and isinstance(obj.op, Operation):
        return obj.op
    raise TypeError("Can not convert a %s into an Operation." % type(obj).__name__)


class _DefaultGraphStack(threading.local):
    """The per-thread stack of default graphs; the bottom one is created lazily."""

    def __init__(self):
        self.stack = []
        self.global_default = None

    def get_default(self):
        if self.stack:
            return self.stack[-1]
        if self.global_default is None:
            self.global_default = Graph()
        return self.global_default

    def reset(self):
        if self.stack:
            raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. "
                                 "If you need a cleared graph, exit the nesting and create a new "
                                 "graph.")
        self.global_default = None

    @contextlib.contextmanager
    def get_controller(self, graph):
        self.stack.append(graph)
        try:
            yield graph
        finally:
            self.stack.pop()


_default_graph_stack = _DefaultGraphStack()


def get_default_graph():
    """The graph new ops go into: the innermost `as_default()` graph, else a global one."""
    return _default_graph_stack.get_default()


def reset_default_graph():
    """Clears the global default graph (not allowed inside a `with g.as_default()` block)."""
    _default_graph_stack.reset()
    from ..runtime import session as session_lib
    session_lib.clear_default_session_if_graph_gone()


def name_scope(name, default_name=None, values=None):
    """`tf.name_scope(name, default_name=None, values=None)` of TF1 on the graph of `values`."""
    graph = graph_for_inputs(values)
    return graph.name_scope(name if name is not None else default_name)


def graph_for_inputs(values):
    """The graph a new op on `values` goes into (TF's `_get_graph_from_inputs`).

    Inside a function body being built (cond branch, loop body) that is the function graph,
    which captures any outer input; otherwise the graph of the first graph element among
    `values`, or the default graph.
    """
    default = get_default_graph()
    if default.building_function:
        return default
    return _graph_of(values)


def _graph_of(values):
    if values:
        for v in values:
            if isinstance(v, Tensor):
                return v.graph
            if isinstance(v, Operation):
                return v.graph
            graph = getattr(v, "graph", None)
            if isinstance(graph, Graph):
                return graph
    return get_default_graph()


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function):
    return get_default_graph().device(device_name_or_function)


def colocate_with(op, ignore_existing=False):
    return get_default_graph().colocate_with(op, ignore_existing)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)
