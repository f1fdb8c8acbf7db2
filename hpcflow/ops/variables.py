"""`tf.Variable` (TF1 RefVariable semantics), variable collections and initializer groups.

A Variable is four ops: its initial value, the VariableV2 storage op (`w`), the Assign
that initializes it (`w/Assign`, the `initializer`) and a snapshot Identity (`w/read`,
what the Variable converts to). The value itself lives in each session's state, so two
sessions on one graph hold separate values.
"""
import contextlib
import enum

from ..framework import dtypes
from ..framework.graph import GraphKeys, Operation, Tensor, get_default_graph
from ..framework.tensor_conversion import convert_to_tensor, register_tensor_conversion_function
from ..framework.tensor_shape import as_shape, unknown_shape
from . import state_ops


class VariableSynchronization(enum.Enum):
    """When a distributed variable is synchronized (accepted for TF compatibility)."""
    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


class VariableAggregation(enum.Enum):
    """How updates of a distributed variable are aggregated (accepted for TF compatibility)."""
    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3
    ONLY_FIRST_TOWER = 3


@contextlib.contextmanager
def _init_scope():
    """TF's `init_scope`: build in the outermost graph (out of cond/while bodies), keeping
    the current name scope, with no control dependencies. Yields that graph."""
    graph = get_default_graph()
    outer = graph
    while getattr(outer, "outer_graph", None) is not None:
        outer = outer.outer_graph
    if outer is graph:
        with graph.control_dependencies(None):
            yield graph
        return
    scope = graph.get_name_scope()
    with outer.as_default(), outer.control_dependencies(None), \
            outer.name_scope(scope + "/" if scope else ""):
        yield outer


def _identity(tensor, name):
    from . import array_ops
    return array_ops.identity(tensor, name=name)


class Variable:
    """A TF1 variable: state that persists across `Session.run` calls.

    Args:
      initial_value: a Tensor, or a Python value / numpy array convertible to one, or a
        callable with no arguments returning one (then its ops are built in the variable's
        "Initializer" name scope and placed with the variable). Its shape must be known
        unless `validate_shape` is False.
      trainable: if True (default), also added to `GraphKeys.TRAINABLE_VARIABLES`.
      collections: the collections to add the variable to (default GLOBAL_VARIABLES).
      validate_shape: if False, the variable may take values of any shape.
      caching_device: device for the `read` snapshot (default: the variable's device).
      name: the variable's name (default "Variable", made unique).
      variable_def: a dict from `to_proto()`: re-creates the Python object of an existing
        variable of the graph instead of building ops.
      dtype: converts the initial value to this type.
      constraint: a projection applied by optimizers after updates.
      shape: the variable's static shape, if less specific than the initial value's.
      expected_shape, import_scope, use_resource, synchronization, aggregation: as TF1.

    Raises:
      ValueError: without an initial value, with an initial value of unknown shape while
        `validate_shape` is True, or with `collections` not a list, tuple or set.
    """

    # Make numpy defer to our operators, as Tensor does.
    __array_priority__ = 100

    def __init__(self, initial_value=None, trainable=None, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None,
                 expected_shape=None, import_scope=None, constraint=None, use_resource=None,
                 synchronization=None, aggregation=None, shape=None):
        self._synchronization = synchronization or VariableSynchronization.AUTO
        self._aggregation = aggregation or VariableAggregation.NONE
        self._save_slice_info = None
        if variable_def is not None:
            if initial_value is not None:
                raise ValueError("variable_def and initial_value are mutually exclusive.")
            self._init_from_proto(variable_def, import_scope)
            return
        if trainable is None:
            trainable = self._synchronization != VariableSynchronization.ON_READ
        self._init_from_args(initial_value, trainable, collections, validate_shape,
                             caching_device, name, dtype, constraint, shape)

    def _init_from_args(self, initial_value, trainable, collections, validate_shape,
                        caching_device, name, dtype, constraint, shape):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        init_from_fn = callable(initial_value)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        if not isinstance(collections, (list, tuple, set)):
            raise ValueError("collections argument to Variable constructor must be a list, "
                             "tuple, or set. Got %s of type %s" % (collections, type(collections)))
        if constraint is not None and not callable(constraint):
            raise ValueError("The `constraint` argument must be a callable.")
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
        self._trainable = bool(trainable)
        self._constraint = constraint
        self._caching_device = caching_device
        with _init_scope() as graph, graph.name_scope(name or "Variable") as scope:
            first_init_op = len(graph._ops)
            if init_from_fn:
                # TF builds these ops with no device and colocates them with the variable
                # (which does not exist yet): we place them once it does.
                with graph.name_scope("Initializer"), graph.device(None):
                    self._initial_value = convert_to_tensor(initial_value(),
                                                            name="initial_value", dtype=dtype)
            else:
                self._initial_value = convert_to_tensor(initial_value, name="initial_value",
                                                        dtype=dtype)
            init_ops = graph._ops[first_init_op:] if init_from_fn else []
            value_shape = self._initial_value.shape
            if shape is not None:
                shape = as_shape(shape)
                if not shape.is_compatible_with(value_shape):
                    raise ValueError("The initial value's shape (%s) is not compatible with the "
                                     "explicitly supplied `shape` argument (%s) of variable %s."
                                     % (value_shape, shape, scope[:-1]))
            elif validate_shape:
                if not value_shape.is_fully_defined():
                    raise ValueError("initial_value must have a shape specified: %s"
                                     % self._initial_value)
                shape = value_shape
            else:
                shape = unknown_shape()
            self._variable = state_ops.variable_op_v2(
                shape, self._initial_value.dtype, name=scope)
            for op in init_ops:
                op._set_device(self._variable.op.device)
            safe_value = _guard_uninitialized_dependencies(scope[:-1], self._initial_value)
            self._initializer_op = state_ops.assign(
                self._variable, safe_value, validate_shape=validate_shape).op
            if caching_device is not None:
                with graph.device(caching_device):
                    self._snapshot = _identity(self._variable, name="read")
            else:
                with graph.colocate_with(self._variable.op):
                    self._snapshot = _identity(self._variable, name="read")
        graph.add_to_collections(collections, self)

    def _init_from_proto(self, variable_def, import_scope=None):
        graph = get_default_graph()

        def lookup(key):
            name = variable_def.get(key)
            if not name:
                return None
            if import_scope:
                name = import_scope + "/" + name
            return graph.as_graph_element(name)

        self._variable = lookup("variable_name")
        self._initializer_op = lookup("initializer_name")
        self._snapshot = lookup("snapshot_name")
        self._initial_value = lookup("initial_value_name")
        self._trainable = bool(variable_def.get("trainable", True))
        self._constraint = None
        self._caching_device = None
        info = variable_def.get("save_slice_info_def")
        if info:
            self._save_slice_info = Variable.SaveSliceInfo(**info)

    # -- properties ----------------------------------------------------------------------------

    @property
    def name(self):
        """The name of the variable's value tensor, e.g. 'w:0'."""
        return self._variable.name

    @property
    def _shared_name(self):
        return self.name[:self.name.index(":")]

    @property
    def _variable_name(self):
        """The key of the variable's value in the session state (the VariableV2 op's name)."""
        return self._variable.op.name

    @property
    def op(self):
        return self._variable.op

    @property
    def graph(self):
        return self._variable.graph

    @property
    def device(self):
        return self._variable.device

    @property
    def dtype(self):
        return self._variable.dtype

    @property
    def shape(self):
        return self._variable.shape

    def get_shape(self):
        return self._variable.shape

    def set_shape(self, shape):
        """Narrows the static shape of the variable and of its snapshot."""
        self._variable.set_shape(shape)
        self._snapshot.set_shape(shape)

    @property
    def initializer(self):
        """The Assign op that initializes the variable."""
        return self._initializer_op

    @property
    def initial_value(self):
        return self._initial_value

    @property
    def trainable(self):
        return self._trainable

    @property
    def constraint(self):
        return self._constraint

    @property
    def synchronization(self):
        return self._synchronization

    @property
    def aggregation(self):
        return self._aggregation

    # -- reading ------------------------------------------------------------------------------

    def value(self):
        """The snapshot Tensor (`w/read`): what the variable converts to."""
        return self._snapshot

    def read_value(self):
        """A new Identity ("read") of the variable's current value, in the current scope.

        Inside a cond/while body it is built in the body (which captures the variable), so
        it reads the value after the body's earlier assignments.
        """
        from . import array_ops  # noqa: F401 - registers Identity
        from .op_helpers import apply_op
        graph = state_ops._graph_for(self.op)
        with graph.as_default():
            if graph is not self.graph and hasattr(graph, "capture"):
                # A fresh read at this point of the body, under the current control
                # dependencies (the capture's own read may run before them).
                from ..framework.func_graph import VARIABLE_READ_OP
                from . import control_flow_ops  # noqa: F401 - registers the read op
                handle = graph.capture(self._variable, read_variables=False)
                return apply_op(VARIABLE_READ_OP, [handle], {"var_name": self._variable_name},
                                name="read", graph=graph)
            return apply_op("Identity", [self._variable], name="read", graph=graph)

    def _ref(self):
        """The VariableV2 output (TF's ref tensor): gradients w.r.t. the variable use it."""
        return self._variable

    def _as_graph_element(self):
        return self._variable

    def _AsTensor(self):  # noqa: N802 - TF's name
        return self._snapshot

    def initialized_value(self):
        """The variable's value if initialized, else its initial value (never an error).

        Use it to initialize a variable from another one regardless of initialization order.
        """
        with _init_scope():
            return state_ops.initialized_value(self, self._initial_value)

    def eval(self, session=None):
        """Runs the variable in `session` (default: the default session); returns its value."""
        return self._variable.eval(session=session)

    def load(self, value, session=None):
        """Stores `value` in the variable by running its initializer with the value fed.

        Raises:
          ValueError: if no session is given and there is no default session.
        """
        from ..runtime.session import get_default_session
        session = session or get_default_session()
        if session is None:
            raise ValueError("Either session argument should be provided or default session "
                             "should be established")
        session.run(self._initializer_op, {self._initializer_op.inputs[0]: value})

    # -- writing ------------------------------------------------------------------------------

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Assigns a new value; returns the new value (or the op if not `read_value`)."""
        out = state_ops.assign(self._variable, value, use_locking=use_locking, name=name)
        return out if read_value else out.op

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        """Adds `delta` in place; returns the new value (or the op if not `read_value`)."""
        out = state_ops.assign_add(self._variable, delta, use_locking=use_locking, name=name)
        return out if read_value else out.op

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        """Subtracts `delta` in place; returns the new value (or the op if not `read_value`)."""
        out = state_ops.assign_sub(self._variable, delta, use_locking=use_locking, name=name)
        return out if read_value else out.op

    def _scatter(self, fn, sparse_delta, use_locking, name):
        from ..framework.indexed_slices import IndexedSlices
        if not isinstance(sparse_delta, IndexedSlices):
            raise TypeError("sparse_delta is not IndexedSlices: %s" % (sparse_delta,))
        return fn(self._variable, sparse_delta.indices, sparse_delta.values,
                  use_locking=use_locking, name=name)

    def scatter_add(self, sparse_delta, use_locking=False, name=None):
        """Adds the IndexedSlices `sparse_delta` to the variable (duplicates accumulate)."""
        return self._scatter(state_ops.scatter_add, sparse_delta, use_locking, name)

    def scatter_sub(self, sparse_delta, use_locking=False, name=None):
        """Subtracts the IndexedSlices `sparse_delta` from the variable."""
        return self._scatter(state_ops.scatter_sub, sparse_delta, use_locking, name)

    def scatter_update(self, sparse_delta, use_locking=False, name=None):
        """Sets the rows of the IndexedSlices `sparse_delta`."""
        return self._scatter(state_ops.scatter_update, sparse_delta, use_locking, name)

    def scatter_mul(self, sparse_delta, use_locking=False, name=None):
        return self._scatter(state_ops.scatter_mul, sparse_delta, use_locking, name)

    def scatter_div(self, sparse_delta, use_locking=False, name=None):
        return self._scatter(state_ops.scatter_div, sparse_delta, use_locking, name)

    def scatter_max(self, sparse_delta, use_locking=False, name=None):
        return self._scatter(state_ops.scatter_max, sparse_delta, use_locking, name)

    def scatter_min(self, sparse_delta, use_locking=False, name=None):
        return self._scatter(state_ops.scatter_min, sparse_delta, use_locking, name)

    def scatter_nd_update(self, indices, updates, name=None):
        return state_ops.scatter_nd_update(self._variable, indices, updates, name=name)

    def scatter_nd_add(self, indices, updates, name=None):
        return state_ops.scatter_nd_add(self._variable, indices, updates, name=name)

    def scatter_nd_sub(self, indices, updates, name=None):
        return state_ops.scatter_nd_sub(self._variable, indices, updates, name=name)

    def count_up_to(self, limit):
        """Increments this scalar int variable until `limit`; returns the value before."""
        return state_ops.count_up_to(self._variable, limit)

    # -- partitioning and serialization ----------------------------------------------------------

    class SaveSliceInfo:
        """Where a shard (part of a partitioned variable) sits in the full variable."""

        def __init__(self, full_name=None, full_shape=None, var_offset=None, var_shape=None):
            self.full_name = full_name
            self.full_shape = list(full_shape) if full_shape is not None else None
            self.var_offset = list(var_offset) if var_offset is not None else None
            self.var_shape = list(var_shape) if var_shape is not None else None

        @property
        def spec(self):
            """TF's slice spec string, e.g. "10 4 0,5:0,4" (full shape, then offset,length)."""
            full = " ".join(str(d) for d in self.full_shape)
            slices = ":".join("%d,%d" % (o, n) for o, n in zip(self.var_offset, self.var_shape))
            return full + " " + slices

        def to_proto(self, export_scope=None):
            return {"full_name": self.full_name, "full_shape": self.full_shape,
                    "var_offset": self.var_offset, "var_shape": self.var_shape}

    def _set_save_slice_info(self, save_slice_info):
        self._save_slice_info = save_slice_info

    def _get_save_slice_info(self):
        return self._save_slice_info

    def to_proto(self, export_scope=None):
        """A dict naming the variable's tensors/ops (TF's VariableDef), for `from_proto`."""
        def strip(name):
            if export_scope and name.startswith(export_scope + "/"):
                return name[len(export_scope) + 1:]
            return name
        proto = {"variable_name": strip(self._variable.name),
                 "initial_value_name": strip(self._initial_value.name),
                 "initializer_name": strip(self._initializer_op.name),
                 "snapshot_name": strip(self._snapshot.name),
                 "trainable": self._trainable, "is_resource": False}
        if self._save_slice_info is not None:
            proto["save_slice_info_def"] = self._save_slice_info.to_proto()
        return proto

    @staticmethod
    def from_proto(variable_def, import_scope=None):
        return Variable(variable_def=variable_def, import_scope=import_scope)

    # -- Python protocol ------------------------------------------------------------------------

    def __iter__(self):
        raise TypeError("'Variable' object is not iterable.")

    def __repr__(self):
        return "<tf.Variable '%s' shape=%s dtype=%s_ref>" % (self.name, self.shape,
                                                            self.dtype.name)


# Variables support the operators Tensors do, applied to their snapshot. The Tensor methods
# are looked up at call time: math_ops/array_ops install them on Tensor when imported.
_OVERLOADED_OPERATORS = (
    "__neg__", "__abs__", "__invert__", "__add__", "__radd__", "__sub__", "__rsub__",
    "__mul__", "__rmul__", "__div__", "__rdiv__", "__truediv__", "__rtruediv__",
    "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__",
    "__matmul__", "__rmatmul__", "__lt__", "__le__", "__gt__", "__ge__", "__and__",
    "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__getitem__")


def _forward_operator(name):
    def method(self, *args):
        tensor_method = getattr(Tensor, name, None)
        if tensor_method is None:
            if name == "__getitem__":
                raise TypeError("Indexing a Variable needs array_ops (Tensor.__getitem__)")
            return NotImplemented
        return tensor_method(self.value(), *args)
    method.__name__ = name
    method.__doc__ = "Applies `Tensor.%s` to the variable's value." % name
    return method


for _name in _OVERLOADED_OPERATORS:
    setattr(Variable, _name, _forward_operator(_name))


def _slice_variable(self, slice_spec):
    """`v[spec]`: the sliced value, with an `assign(value, name=None)` writing that slice."""
    tensor_getitem = getattr(Tensor, "__getitem__", None)
    if tensor_getitem is None:
        raise TypeError("Indexing a Variable needs array_ops (Tensor.__getitem__)")
    result = tensor_getitem(self.value(), slice_spec)
    op = result.op
    if op.type == "StridedSlice" and op.inputs[0] is self.value():
        masks = {k: op.get_attr(k) for k in state_ops._SLICE_MASKS}
        begin, end, strides = op.inputs[1:]

        def assign(value, name=None):
            return state_ops.strided_slice_assign(self, begin, end, strides, value, name=name,
                                                  **masks)
        result.assign = assign
    return result


Variable.__getitem__ = _slice_variable


def _variable_to_tensor(variable, dtype=None, name=None, as_ref=False):
    return variable._ref() if as_ref else variable.value()


register_tensor_conversion_function(Variable, _variable_to_tensor)

VariableV1 = Variable
RefVariable = Variable


# -- guarding initializers that read other variables -------------------------------------------

def _guard_uninitialized_dependencies(name, initial_value):
    """`initial_value` rewritten to read other variables through `initialized_value()`.

    As TF1 does, so `global_variables_initializer()` can initialize `w2 = Variable(w1 * 2)`
    in any order. Ops between the initial value and variable reads are copied, named
    `<op>_<name>`; when nothing reads a variable, `initial_value` is returned unchanged.
    """
    if not _reads_a_variable(initial_value):
        return initial_value
    cache = {}
    return _safe_tensor(name, initial_value, cache)


def _reads_a_variable(tensor):
    seen = set()
    stack = [tensor.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op.type == "VariableV2":
            return True
        stack.extend(t.op for t in op.inputs)
    return False


def _safe_tensor(name, tensor, cache):
    op = tensor.op
    if op not in cache:
        cache[op] = _safe_op(name, op, cache)
    return cache[op].outputs[tensor.value_index]


def _variables_by_op(graph):
    found = {}
    for key in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES):
        for v in graph.get_collection(key):
            if isinstance(v, Variable):
                found.setdefault(v.op, v)
    return found


def _safe_op(name, op, cache):
    if op.type == "VariableV2":
        variable = _variables_by_op(op.graph).get(op)
        return variable.initialized_value().op if variable is not None else op
    if not op.inputs:
        return op
    new_inputs = [_safe_tensor(name, t, cache) for t in op.inputs]
    if all(a is b for a, b in zip(new_inputs, op.inputs)):
        return op
    graph = op.graph
    with graph.name_scope(None), graph.control_dependencies(None), graph.device(op.device or None):
        new_op = graph.create_op(op.type, new_inputs, dict(op.attrs),
                                 name="%s_%s" % (op.name, name.replace("/", "_")),
                                 output_specs=[(t.shape, t.dtype) for t in op.outputs])
    for c in op.control_inputs:
        new_op._add_control_input(c)
    return new_op


# -- collections ---------------------------------------------------------------------------------

def global_variables(scope=None):
    """The variables of GraphKeys.GLOBAL_VARIABLES (optionally those whose name matches
    the regular expression `scope` from the start)."""
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def all_variables():
    """Deprecated alias of `global_variables()`."""
    return global_variables()


def local_variables(scope=None):
    """The variables of GraphKeys.LOCAL_VARIABLES (e.g. metrics' counters)."""
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None):
    """The variables of GraphKeys.MODEL_VARIABLES."""
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def trainable_variables(scope=None):
    """The variables of GraphKeys.TRAINABLE_VARIABLES: what optimizers train by default."""
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def moving_average_variables(scope=None):
    """The variables of GraphKeys.MOVING_AVERAGE_VARIABLES."""
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """One op running the initializers of `var_list` (a NoOp; `no_op` if the list is empty).

    Returns:
      An Operation.
    """
    from . import control_flow_ops
    var_list = list(var_list)
    if var_list:
        return control_flow_ops.group(*[v.initializer for v in var_list], name=name)
    return control_flow_ops.no_op(name=name)


def initialize_variables(var_list, name="init"):
    """Deprecated alias of `variables_initializer`."""
    return variables_initializer(var_list, name=name)


def global_variables_initializer():
    """The op initializing all global variables (named "init", as TF)."""
    return variables_initializer(global_variables())


def initialize_all_variables():
    """Deprecated alias of `global_variables_initializer`."""
    return global_variables_initializer()


def local_variables_initializer():
    """The op initializing all local variables (named "init", as TF)."""
    return variables_initializer(local_variables())


def initialize_local_variables():
    """Deprecated alias of `local_variables_initializer`."""
    return local_variables_initializer()


def is_variable_initialized(variable):
    """A scalar bool Tensor: whether `variable` holds a value in the running session."""
    return state_ops.is_variable_initialized(variable)


def _all_variable_refs(var_list):
    if var_list is not None:
        return list(var_list)
    var_list = global_variables() + local_variables()
    if not var_list:  # as TF: fall back to every variable op of the graph
        var_list = [op.outputs[0] for op in get_default_graph().get_operations()
                    if op.type == "VariableV2"]
    return var_list


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string Tensor: the names of the variables of `var_list` not yet initialized.

    Args:
      var_list: Variables to check (default: global and local variables, else every
        variable op of the graph).
      name: name scope of the ops.

    Returns:
      A string vector of variable op names; empty when all are initialized.
    """
    from . import array_ops, constant_op, math_ops
    var_list = _all_variable_refs(var_list)
    graph = get_default_graph()
    with graph.name_scope(name):
        if not var_list:
            return constant_op.constant([], dtype=dtypes.string)
        # One check per variable, each on its variable's device (state is per rank).
        initialized = [state_ops.is_variable_initialized(v) for v in var_list]
        mask = math_ops.logical_not(array_ops.stack(initialized))
        names = constant_op.constant([_op_of(v).name for v in var_list])
        return array_ops.boolean_mask(names, mask)


def _op_of(v):
    return v if isinstance(v, Operation) else v.op


def assert_variables_initialized(var_list=None):
    """An op that fails (FailedPreconditionError) if a variable of `var_list` is uninitialized.

    Returns:
      A Tensor (the ranks of the variables, stacked), or None when there are no variables.
    """
    from . import array_ops
    from .op_helpers import apply_op
    var_list = _all_variable_refs(var_list)
    if not var_list:
        return None
    graph = get_default_graph()
    ranks = []
    for v in var_list:
        with graph.colocate_with(_op_of(v)):
            # A Rank op on the variable itself (array_ops.rank would fold a known rank to a
            # constant and read nothing), as TF's rank_internal(optimize=False).
            ref = state_ops._variable_op(v, "Rank").outputs[0]
            ranks.append(apply_op("Rank", [ref], name="Rank"))
    return ranks[0] if len(ranks) == 1 else array_ops.stack(ranks)


# TF1's module-level aliases of the state ops.
assign = state_ops.assign
assign_add = state_ops.assign_add
assign_sub = state_ops.assign_sub
scatter_update = state_ops.scatter_update
scatter_add = state_ops.scatter_add
scatter_sub = state_ops.scatter_sub
scatter_mul = state_ops.scatter_mul
scatter_div = state_ops.scatter_div
scatter_max = state_ops.scatter_max
scatter_min = state_ops.scatter_min
scatter_nd_update = state_ops.scatter_nd_update
scatter_nd_add = state_ops.scatter_nd_add
scatter_nd_sub = state_ops.scatter_nd_sub
count_up_to = state_ops.count_up_to
