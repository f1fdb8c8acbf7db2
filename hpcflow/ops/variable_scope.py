"""`variable_scope` and `get_variable`: named, shareable variables (TF1 semantics).

Each graph holds one variable store (name -> Variable) and a thread-local variable-scope
store (the current scope and the counters that make `default_name` scopes unique), both in
`graph._extras`. Variable names depend only on the variable scope, never on name scopes;
ops created inside a `variable_scope("foo")` go in a name scope "foo", "foo_1"... as TF.
"""
import contextlib
import copy
import enum
import functools
import inspect
import threading
import traceback

from ..framework import dtypes
from ..framework.graph import GraphKeys, Tensor, _graph_of, get_default_graph
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import as_shape
from ..framework import tensor_util
from . import init_ops
from .partitioned_variables import (PartitionedVariable, _call_partitioner, _iter_slices,
                                    _PartitionInfo, _slice_dim_and_num_slices)
from .variables import Variable, VariableAggregation, VariableSynchronization


class _ReuseMode(enum.Enum):
    """Reuse modes beyond True/None."""
    AUTO_REUSE = 1


# `reuse=AUTO_REUSE`: get_variable creates a variable when missing, returns it otherwise.
AUTO_REUSE = _ReuseMode.AUTO_REUSE

_STORE_KEY = "variable_store"
_SCOPE_STORE_KEY = "variable_scope_store"


def no_regularizer(_):
    """A regularizer that regularizes nothing (overrides a scope's regularizer)."""
    return None


def _accepts(fn, arg):
    """Whether `fn` accepts keyword `arg` (by name or through **kwargs)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _required_args(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in params if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _value_dtype(value):
    if isinstance(value, Tensor) or hasattr(value, "_as_graph_element"):
        return convert_to_tensor(value).dtype
    return dtypes.as_dtype(tensor_util.make_ndarray(value).dtype)


class _VariableStore:
    """The variables created by `get_variable` in one graph, by full name."""

    def __init__(self):
        self._vars = {}
        self._partitioned_vars = {}
        self._defined_at = {}

    def get_variable(self, name, shape=None, dtype=dtypes.float32, initializer=None,
                     regularizer=None, reuse=None, trainable=None, collections=None,
                     caching_device=None, partitioner=None, validate_shape=True,
                     use_resource=None, custom_getter=None, constraint=None,
                     synchronization=VariableSynchronization.AUTO,
                     aggregation=VariableAggregation.NONE):
        """Gets the variable `name`, or creates it; see `get_variable` for the arguments.

        Raises:
          ValueError: for reuse violations, shape/dtype mismatches on reuse, or a new
            variable without a usable shape/initializer.
        """
        if custom_getter is not None and not callable(custom_getter):
            raise ValueError("Passed a custom_getter which is not callable: %s" % custom_getter)
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)

        def true_getter(name, shape=None, dtype=dtypes.float32, initializer=None,
                        regularizer=None, reuse=None, trainable=None, collections=None,
                        caching_device=None, partitioner=None, validate_shape=True,
                        use_resource=None, constraint=None,
                        synchronization=VariableSynchronization.AUTO,
                        aggregation=VariableAggregation.NONE):
            is_scalar = isinstance(shape, (list, tuple)) and not shape
            if partitioner is not None and not is_scalar:
                if not callable(partitioner):
                    raise ValueError("Partitioner must be callable, but received: %s"
                                     % partitioner)
                with get_default_graph().name_scope(None):
                    return self._get_partitioned_variable(
                        name, partitioner, shape=shape, dtype=dtype, initializer=initializer,
                        regularizer=regularizer, reuse=reuse, trainable=trainable,
                        collections=collections, caching_device=caching_device,
                        validate_shape=validate_shape, constraint=constraint,
                        synchronization=synchronization, aggregation=aggregation)
            # A partitioned variable may be reused without naming its partitioner.
            if reuse is True and partitioner is None and name in self._partitioned_vars:
                return self._get_partitioned_variable(
                    name, None, shape=shape, dtype=dtype, initializer=initializer,
                    regularizer=regularizer, reuse=reuse, trainable=trainable,
                    collections=collections, caching_device=caching_device,
                    validate_shape=validate_shape, constraint=constraint,
                    synchronization=synchronization, aggregation=aggregation)
            if "%s/part_0" % name in self._vars:
                raise ValueError("No partitioner was provided, but a partitioned version of the "
                                 "variable was found: %s/part_0. Perhaps a variable of the same "
                                 "name was already created with partitioning?" % name)
            return self._get_single_variable(
                name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                reuse=reuse, trainable=trainable, collections=collections,
                caching_device=caching_device, validate_shape=validate_shape,
                constraint=constraint, synchronization=synchronization, aggregation=aggregation)

        if trainable is None:
            trainable = synchronization != VariableSynchronization.ON_READ
        if custom_getter is None:
            return true_getter(name, shape=shape, dtype=dtype, initializer=initializer,
                               regularizer=regularizer, reuse=reuse, trainable=trainable,
                               collections=collections, caching_device=caching_device,
                               partitioner=partitioner, validate_shape=validate_shape,
                               use_resource=use_resource, constraint=constraint,
                               synchronization=synchronization, aggregation=aggregation)
        kwargs = {"getter": true_getter, "name": name, "shape": shape, "dtype": dtype,
                  "initializer": initializer, "regularizer": regularizer, "reuse": reuse,
                  "trainable": trainable, "collections": collections,
                  "caching_device": caching_device, "partitioner": partitioner,
                  "validate_shape": validate_shape, "use_resource": use_resource,
                  "synchronization": synchronization, "aggregation": aggregation}
        if _accepts(custom_getter, "constraint"):
            kwargs["constraint"] = constraint
        return custom_getter(**kwargs)

    def _get_partitioned_variable(self, name, partitioner, shape=None, dtype=dtypes.float32,
                                  initializer=None, regularizer=None, reuse=None,
                                  trainable=None, collections=None, caching_device=None,
                                  validate_shape=True, constraint=None,
                                  synchronization=VariableSynchronization.AUTO,
                                  aggregation=VariableAggregation.NONE):
        """Gets or creates the shards `name/part_<i>` and returns their PartitionedVariable.

        A callable initializer is called per shard with its `partition_info`; a Tensor or
        value initializer covers the full variable and is sliced per shard.
        """
        from . import array_ops
        from_value = initializer is not None and isinstance(initializer, Tensor)
        if name in self._vars:
            raise ValueError("A partitioner was provided, but an unpartitioned version of the "
                             "variable was found: %s.  Perhaps a variable of the same name was "
                             "already created without partitioning?" % name)
        shape = as_shape(shape)
        if from_value:
            shape = shape.merge_with(initializer.shape)
        partitions = None
        if not reuse or partitioner:
            partitions = _call_partitioner(partitioner, shape, dtype)
        if name in self._partitioned_vars:
            if reuse is False:
                raise ValueError("Partitioned variable with name %s already exists. Did you mean "
                                 "to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?" % name)
            existing = self._partitioned_vars[name]
            if not shape.is_compatible_with(existing.get_shape()):
                raise ValueError("Trying to reuse partitioned variable %s, but specified shape "
                                 "%s and found shape %s." % (name, shape, existing.get_shape()))
            if not dtypes.as_dtype(dtype).is_compatible_with(existing.dtype):
                raise ValueError("Trying to reuse partitioned variable %s, but specified dtype "
                                 "%s and found dtype %s." % (name, dtypes.as_dtype(dtype).name,
                                                             existing.dtype.name))
            if partitions is not None and existing._get_partitions() != partitions:
                raise ValueError("Trying to reuse partitioned variable %s, but specified "
                                 "partitions %s and found partitions %s." % (
                                     name, partitions, existing._get_partitions()))
            return existing
        if reuse is True:
            raise ValueError("PartitionedVariable %s does not exist, or was not created with "
                             "tf.get_variable(). Did you mean to set reuse=False or "
                             "reuse=tf.AUTO_REUSE in VarScope?" % name)
        slice_dim, num_slices = _slice_dim_and_num_slices(partitions)
        if "%s/part_0" % name in self._vars:
            if "%s/part_%d" % (name, num_slices - 1) not in self._vars:
                raise ValueError("Partitioner returned a different partitioning than what was "
                                 "already found.  Partitioner returned %d shards, and shard "
                                 "%s/part_0 was found, but %s/part_%d was not." % (
                                     num_slices, name, name, num_slices - 1))
            if "%s/part_%d" % (name, num_slices) in self._vars:
                raise ValueError("Partitioner returned a different partitioning than what was "
                                 "already found.  Partitioner returned %d shards, and shard "
                                 "%s/part_0 was found, but so was the extra shard %s/part_%d."
                                 % (num_slices, name, name, num_slices))
        graph = get_default_graph()
        shards = []
        for i, (offset, part_shape) in enumerate(_iter_slices(shape.as_list(), num_slices,
                                                              slice_dim)):
            info = _PartitionInfo(full_shape=shape.as_list(), var_offset=offset)
            part_name = "%s/part_%d" % (name, i)
            part_dtype = dtype
            with graph.name_scope(part_name + "/PartitionedInitializer"):
                if initializer is None:
                    init, init_from_value = self._get_default_initializer(part_name, dtype)
                    init_shape = None if init_from_value else part_shape
                elif callable(initializer):
                    init, init_shape = initializer, part_shape
                elif isinstance(initializer, Tensor):
                    init = array_ops.slice(initializer, offset, part_shape)
                    part_dtype = dtype = init.dtype  # the Tensor's type wins, as TF
                    init_shape = None
                else:
                    init = array_ops.slice(convert_to_tensor(initializer, dtype=dtype), offset,
                                           part_shape)
                    init_shape = None
            with graph.name_scope(None):
                var = self._get_single_variable(
                    part_name, shape=init_shape, dtype=part_dtype, initializer=init,
                    partition_info=info, regularizer=regularizer, reuse=reuse,
                    trainable=trainable, collections=collections, caching_device=caching_device,
                    validate_shape=validate_shape, constraint=constraint,
                    synchronization=synchronization, aggregation=aggregation)
            var._set_save_slice_info(Variable.SaveSliceInfo(name, shape.as_list(), offset,
                                                            part_shape))
            shards.append(var)
        partitioned = PartitionedVariable(name=name, shape=shape, dtype=dtype,
                                          variable_list=shards, partitions=partitions)
        self._partitioned_vars[name] = partitioned
        return partitioned

    def _get_single_variable(self, name, shape=None, dtype=dtypes.float32, initializer=None,
                             regularizer=None, partition_info=None, reuse=None, trainable=None,
                             collections=None, caching_device=None, validate_shape=True,
                             constraint=None, synchronization=VariableSynchronization.AUTO,
                             aggregation=VariableAggregation.NONE):
        """Gets or creates one Variable (a whole variable or one shard)."""
        from_value = initializer is not None and not callable(initializer)
        if shape is not None and from_value:
            raise ValueError("If initializer is a constant, do not specify shape.")
        dtype = dtypes.as_dtype(dtype)
        shape = as_shape(shape)
        if name in self._vars:
            found = self._vars[name]
            if reuse is False:
                where = "".join(traceback.format_list(self._defined_at.get(name, [])))
                raise ValueError("Variable %s already exists, disallowed. Did you mean to set "
                                 "reuse=True or reuse=tf.AUTO_REUSE in VarScope? Originally "
                                 "defined at:\n\n%s" % (name, where))
            if not shape.is_compatible_with(found.get_shape()):
                raise ValueError("Trying to share variable %s, but specified shape %s and found "
                                 "shape %s." % (name, shape, found.get_shape()))
            if not dtype.is_compatible_with(found.dtype):
                raise ValueError("Trying to share variable %s, but specified dtype %s and found "
                                 "dtype %s." % (name, dtype.name, found.dtype.name))
            return found
        if reuse is True:
            raise ValueError("Variable %s does not exist, or was not created with "
                             "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                             "VarScope?" % name)
        defaulted = initializer is None
        if defaulted:
            initializer, from_value = self._get_default_initializer(name, dtype)
        if from_value:
            init_val, variable_dtype = initializer, None
        else:
            if inspect.isclass(initializer):
                initializer = initializer()
            if shape.is_fully_defined():
                fn = initializer
                if _accepts(fn, "partition_info"):
                    init_val = lambda: fn(shape.as_list(), dtype=dtype,  # noqa: E731
                                          partition_info=partition_info)
                else:
                    init_val = lambda: fn(shape.as_list(), dtype=dtype)  # noqa: E731
                variable_dtype = dtype
            elif _required_args(initializer) == 0:
                init_val, variable_dtype = initializer, None
            elif defaulted:
                raise ValueError("Variable %s did not get an initializer, so its `shape` "
                                 "argument must be specified." % name)
            else:
                raise ValueError("The initializer passed for variable %s is not valid. It should "
                                 "be a callable with no arguments and the shape should not be "
                                 "provided, or an initializer and `shape` should be fully "
                                 "defined (got %s)." % (name, shape))
        var = Variable(initial_value=init_val, name=name, trainable=trainable,
                       collections=collections, caching_device=caching_device,
                       dtype=variable_dtype, validate_shape=validate_shape,
                       constraint=constraint, synchronization=synchronization,
                       aggregation=aggregation)
        self._vars[name] = var
        self._defined_at[name] = [f for f in traceback.extract_stack(limit=12)[:-3]
                                  if "/hpcflow/" not in f.filename][-5:][::-1]
        if regularizer:
            graph = var.graph
            with graph.colocate_with(var.op), graph.name_scope(name + "/Regularizer/"):
                loss = regularizer(var)
            if loss is not None:
                graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return var

    @staticmethod
    def _get_default_initializer(name, dtype):
        """glorot_uniform for floats, zeros for integers, bools and strings.

        Raises:
          ValueError: for other dtypes (complex), which need an explicit initializer.
        """
        dtype = dtypes.as_dtype(dtype)
        if dtype.is_floating:
            return init_ops.glorot_uniform_initializer(), False
        if dtype.is_integer or dtype.is_bool or dtype == dtypes.string:
            return init_ops.zeros_initializer(), False
        raise ValueError("An initializer for variable %s of %s is required" % (name, dtype))


class VariableScope:
    """The defaults `get_variable` uses in a scope: name prefix, reuse, initializer...

    Returned by `with variable_scope(...) as scope`; it can be re-entered later to share
    its variables (`variable_scope(scope, reuse=True)`).
    """

    def __init__(self, reuse, name="", initializer=None, regularizer=None, caching_device=None,
                 partitioner=None, custom_getter=None, name_scope="", dtype=dtypes.float32,
                 use_resource=None, constraint=None):
        self._name = name
        self._initializer = initializer
        self._regularizer = regularizer
        self._reuse = reuse
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint

    @property
    def name(self):
        return self._name

    @property
    def original_name_scope(self):
        """The name scope opened when the scope was first entered (e.g. "foo/")."""
        return self._name_scope

    @property
    def reuse(self):
        return self._reuse

    @property
    def initializer(self):
        return self._initializer

    @property
    def dtype(self):
        return self._dtype

    @property
    def use_resource(self):
        return self._use_resource

    @property
    def regularizer(self):
        return self._regularizer

    @property
    def caching_device(self):
        return self._caching_device

    @property
    def partitioner(self):
        return self._partitioner

    @property
    def custom_getter(self):
        return self._custom_getter

    @property
    def constraint(self):
        return self._constraint

    def reuse_variables(self):
        """Makes `get_variable` in this scope return existing variables from now on."""
        self._reuse = True

    def set_initializer(self, initializer):
        self._initializer = initializer

    def set_dtype(self, dtype):
        self._dtype = dtype

    def set_use_resource(self, use_resource):
        self._use_resource = use_resource

    def set_regularizer(self, regularizer):
        self._regularizer = regularizer

    def set_caching_device(self, caching_device):
        self._caching_device = caching_device

    def set_partitioner(self, partitioner):
        self._partitioner = partitioner

    def set_custom_getter(self, custom_getter):
        self._custom_getter = custom_getter

    def get_collection(self, name):
        """The items of collection `name` whose names start with this scope's name."""
        scope = self._name + "/" if self._name else ""
        return get_default_graph().get_collection(name, scope)

    def trainable_variables(self):
        return self.get_collection(GraphKeys.TRAINABLE_VARIABLES)

    def global_variables(self):
        return self.get_collection(GraphKeys.GLOBAL_VARIABLES)

    def local_variables(self):
        return self.get_collection(GraphKeys.LOCAL_VARIABLES)

    def get_variable(self, var_store, name, shape=None, dtype=None, initializer=None,
                     regularizer=None, reuse=None, trainable=None, collections=None,
                     caching_device=None, partitioner=None, validate_shape=True,
                     use_resource=None, custom_getter=None, constraint=None,
                     synchronization=VariableSynchronization.AUTO,
                     aggregation=VariableAggregation.NONE):
        """Gets or creates `<scope name>/<name>` in `var_store`, with this scope's defaults."""
        if regularizer is None:
            regularizer = self._regularizer
        if caching_device is None:
            caching_device = self._caching_device
        if partitioner is None:
            partitioner = self._partitioner
        if custom_getter is None:
            custom_getter = self._custom_getter
        if reuse is None:
            reuse = self._reuse
        if use_resource is None:
            use_resource = self._use_resource
        full_name = self._name + "/" + name if self._name else name
        # Variable names depend on the variable scope only: build outside any name scope.
        with get_default_graph().name_scope(None):
            if dtype is not None and initializer is not None and not callable(initializer):
                init_dtype = _value_dtype(initializer)
                if init_dtype != dtypes.as_dtype(dtype):
                    raise ValueError("Initializer type '%s' and explicit dtype '%s' don't match."
                                     % (init_dtype, dtypes.as_dtype(dtype)))
            if initializer is None:
                initializer = self._initializer
            if constraint is None:
                constraint = self._constraint
            if dtype is None:
                dtype = self._dtype
            return var_store.get_variable(
                full_name, shape=shape, dtype=dtype, initializer=initializer,
                regularizer=regularizer, reuse=reuse, trainable=trainable,
                collections=collections, caching_device=caching_device,
                partitioner=partitioner, validate_shape=validate_shape,
                use_resource=use_resource, custom_getter=custom_getter, constraint=constraint,
                synchronization=synchronization, aggregation=aggregation)

    def _get_partitioned_variable(self, var_store, name, shape=None, dtype=None,
                                  initializer=None, regularizer=None, trainable=None,
                                  collections=None, caching_device=None, partitioner=None,
                                  validate_shape=True, use_resource=None, constraint=None,
                                  synchronization=VariableSynchronization.AUTO,
                                  aggregation=VariableAggregation.NONE):
        initializer = self._initializer if initializer is None else initializer
        regularizer = self._regularizer if regularizer is None else regularizer
        constraint = self._constraint if constraint is None else constraint
        caching_device = self._caching_device if caching_device is None else caching_device
        partitioner = self._partitioner if partitioner is None else partitioner
        dtype = self._dtype if dtype is None else dtype
        if self._custom_getter is not None:
            raise ValueError("Private access to _get_partitioned_variable is not allowed when a "
                             "custom getter is set.  Current custom getter: %s." %
                             self._custom_getter)
        if partitioner is None:
            raise ValueError("No partitioner was specified")
        full_name = "/".join(n for n in (self._name, name) if n)
        with get_default_graph().name_scope(None):
            return var_store._get_partitioned_variable(
                full_name, partitioner, shape=shape, dtype=dtype, initializer=initializer,
                regularizer=regularizer, reuse=self._reuse, trainable=trainable,
                collections=collections, caching_device=caching_device,
                validate_shape=validate_shape, constraint=constraint,
                synchronization=synchronization, aggregation=aggregation)

    def __repr__(self):
        return "<VariableScope %r reuse=%s>" % (self._name, self._reuse)


class _VariableScopeStore(threading.local):
    """The current variable scope and the use counts of scope names (per thread)."""

    def __init__(self):
        super().__init__()
        self.current_scope = VariableScope(False)
        self.variable_scopes_count = {}

    def open_variable_scope(self, scope_name):
        self.variable_scopes_count[scope_name] = self.variable_scopes_count.get(scope_name, 0) + 1

    def close_variable_subscopes(self, scope_name):
        for k in list(self.variable_scopes_count):
            if scope_name is None or k.startswith(scope_name + "/"):
                self.variable_scopes_count[k] = 0

    def variable_scope_count(self, scope_name):
        return self.variable_scopes_count.get(scope_name, 0)


def get_variable_scope_store():
    """The default graph's variable scope store."""
    extras = get_default_graph()._extras
    store = extras.get(_SCOPE_STORE_KEY)
    if store is None:
        store = extras[_SCOPE_STORE_KEY] = _VariableScopeStore()
    return store


def get_variable_scope():
    """The current VariableScope (the root scope, named "", outside any variable_scope)."""
    return get_variable_scope_store().current_scope


def _get_default_variable_store():
    extras = get_default_graph()._extras
    store = extras.get(_STORE_KEY)
    if store is None:
        store = extras[_STORE_KEY] = _VariableStore()
    return store


@contextlib.contextmanager
def with_variable_store(store):
    """Makes `store` the default graph's variable store inside the block."""
    extras = get_default_graph()._extras
    old = extras.get(_STORE_KEY)
    extras[_STORE_KEY] = store
    try:
        yield
    finally:
        extras[_STORE_KEY] = old


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None, caching_device=None, partitioner=None,
                 validate_shape=True, use_resource=None, custom_getter=None, constraint=None,
                 synchronization=VariableSynchronization.AUTO,
                 aggregation=VariableAggregation.NONE):
    """Gets an existing variable `<scope>/<name>` or creates a new one (TF1 `tf.get_variable`).

    Args:
      name: the name within the current variable scope.
      shape: the shape of a new variable (checked against an existing one on reuse).
      dtype: the type (default: the scope's, float32).
      initializer: an initializer (callable `(shape, dtype, partition_info)`), a Tensor or
        a Python value (then `shape` must be None). Default: the scope's initializer, else
        glorot_uniform for floats and zeros for integers/bools.
      regularizer: a function of the new variable; its result goes to the
        REGULARIZATION_LOSSES collection.
      trainable: whether to add it to TRAINABLE_VARIABLES (default True).
      collections: collections for a new variable (default GLOBAL_VARIABLES).
      caching_device: device of the variable's read snapshot.
      partitioner: a function `(shape, dtype) -> partitions`; then a PartitionedVariable of
        shards `<name>/part_<i>` is returned.
      validate_shape: as `Variable`.
      custom_getter: `getter(getter, name, *args, **kwargs)` wrapping the creation.
      constraint: a projection applied by optimizers after updates.
      use_resource, synchronization, aggregation: accepted for TF compatibility.

    Returns:
      The Variable (or PartitionedVariable).

    Raises:
      ValueError: "Variable foo/w already exists, disallowed..." when the scope does not
        reuse; "Variable foo/w does not exist, or was not created with tf.get_variable()..."
        when it does; on shape or dtype mismatch when reusing; for a new variable without a
        shape or initializer.
    """
    return get_variable_scope().get_variable(
        _get_default_variable_store(), name, shape=shape, dtype=dtype, initializer=initializer,
        regularizer=regularizer, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner, validate_shape=validate_shape,
        use_resource=use_resource, custom_getter=custom_getter, constraint=constraint,
        synchronization=synchronization, aggregation=aggregation)


def get_local_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                       trainable=False, collections=None, caching_device=None,
                       partitioner=None, validate_shape=True, use_resource=None,
                       custom_getter=None, constraint=None,
                       synchronization=VariableSynchronization.AUTO,
                       aggregation=VariableAggregation.NONE):
    """As `get_variable`, in LOCAL_VARIABLES and not trainable by default."""
    collections = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, shape=shape, dtype=dtype, initializer=initializer,
                        regularizer=regularizer, trainable=trainable, collections=collections,
                        caching_device=caching_device, partitioner=partitioner,
                        validate_shape=validate_shape, use_resource=use_resource,
                        custom_getter=custom_getter, constraint=constraint,
                        synchronization=synchronization, aggregation=aggregation)


def _get_partitioned_variable(name, shape=None, dtype=None, initializer=None,
                              regularizer=None, trainable=True, collections=None,
                              caching_device=None, partitioner=None, validate_shape=True,
                              use_resource=None, constraint=None,
                              synchronization=VariableSynchronization.AUTO,
                              aggregation=VariableAggregation.NONE):
    """The PartitionedVariable `<scope>/<name>` (`name` may be None: the scope's name)."""
    scope = get_variable_scope()
    if scope.custom_getter is not None:
        raise ValueError("Private access to _get_partitioned_variable is not allowed when a "
                         "custom getter is set.  Current custom getter: %s." %
                         scope.custom_getter)
    return scope._get_partitioned_variable(
        _get_default_variable_store(), name, shape=shape, dtype=dtype, initializer=initializer,
        regularizer=regularizer, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner, validate_shape=validate_shape,
        use_resource=use_resource, constraint=constraint, synchronization=synchronization,
        aggregation=aggregation)


def _maybe_wrap_custom_getter(custom_getter, old_getter):
    """A getter calling `custom_getter` around `old_getter` (nested scopes compose getters)."""
    if old_getter is None:
        return custom_getter

    def wrapped_custom_getter(getter, *args, **kwargs):
        return custom_getter(functools.partial(old_getter, getter), *args, **kwargs)
    return wrapped_custom_getter


def _get_unique_variable_scope(prefix):
    """`prefix`, suffixed `_1`, `_2`... if already used in the current variable scope."""
    store = get_variable_scope_store()
    current = get_variable_scope()
    name = current.name + "/" + prefix if current.name else prefix
    if store.variable_scope_count(name) == 0:
        return prefix
    idx = 1
    while store.variable_scope_count(name + ("_%d" % idx)) > 0:
        idx += 1
    return prefix + ("_%d" % idx)


class _pure_variable_scope:  # noqa: N801 - TF's name
    """Enters a VariableScope (no name scope): the scope part of `variable_scope`."""

    def __init__(self, name_or_scope, reuse=None, initializer=None, regularizer=None,
                 caching_device=None, partitioner=None, custom_getter=None, old_name_scope=None,
                 dtype=dtypes.float32, use_resource=None, constraint=None):
        self._name_or_scope = name_or_scope
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._old_name_scope = old_name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint
        self._var_scope_store = get_variable_scope_store()
        self._last_variable_scope_object = None
        if isinstance(name_or_scope, VariableScope):
            self._new_name = name_or_scope.name
            # Jumping to a shared scope: a copy of it, with what this call overrides.
            scope = VariableScope(
                name_or_scope.reuse if not reuse else reuse, name=self._new_name,
                initializer=name_or_scope.initializer, regularizer=name_or_scope.regularizer,
                caching_device=name_or_scope.caching_device,
                partitioner=name_or_scope.partitioner, dtype=name_or_scope.dtype,
                custom_getter=name_or_scope.custom_getter,
                name_scope=name_or_scope.original_name_scope,
                use_resource=name_or_scope.use_resource, constraint=constraint)
            self._apply_overrides(scope, name_or_scope.custom_getter)
            self._cached_scope = scope

    def _apply_overrides(self, scope, old_getter):
        if self._initializer is not None:
            scope.set_initializer(self._initializer)
        if self._regularizer is not None:
            scope.set_regularizer(self._regularizer)
        if self._caching_device is not None:
            scope.set_caching_device(self._caching_device)
        if self._partitioner is not None:
            scope.set_partitioner(self._partitioner)
        if self._custom_getter is not None:
            scope.set_custom_getter(_maybe_wrap_custom_getter(self._custom_getter, old_getter))
        if self._dtype is not None:
            scope.set_dtype(self._dtype)
        if self._use_resource is not None:
            scope.set_use_resource(self._use_resource)

    def __enter__(self):
        store = self._var_scope_store
        self._old = store.current_scope
        if isinstance(self._name_or_scope, VariableScope):
            store.open_variable_scope(self._new_name)
            self._old_subscopes = copy.copy(store.variable_scopes_count)
            scope = self._cached_scope
        else:
            old = self._old
            self._new_name = (old.name + "/" + self._name_or_scope if old.name
                              else self._name_or_scope)
            self._reuse = self._reuse or old.reuse  # reuse is inherited by sub-scopes
            name_scope = (self._name_or_scope if self._old_name_scope is None
                          else self._old_name_scope)
            scope = VariableScope(
                self._reuse, name=self._new_name, initializer=old.initializer,
                regularizer=old.regularizer, caching_device=old.caching_device,
                partitioner=old.partitioner, dtype=old.dtype, use_resource=old.use_resource,
                custom_getter=old.custom_getter, name_scope=name_scope,
                constraint=self._constraint)
            self._apply_overrides(scope, old.custom_getter)
            store.open_variable_scope(self._new_name)
        store.current_scope = scope
        self._last_variable_scope_object = scope
        return scope

    def __exit__(self, exc_type, exc_value, tb):
        store = self._var_scope_store
        if store.current_scope is not self._last_variable_scope_object:
            raise RuntimeError("Improper nesting of variable_scope.")
        if isinstance(self._name_or_scope, VariableScope):
            store.variable_scopes_count = self._old_subscopes
        else:
            store.close_variable_subscopes(self._new_name)
        store.current_scope = self._old
        return False


class variable_scope:  # noqa: N801 - TF's name
    """A context manager opening a variable scope and a name scope (TF1 `tf.variable_scope`).

    `with variable_scope("foo"):` prefixes `get_variable` names with "foo/" and puts new ops
    in name scope "foo" ("foo_1" the second time). A VariableScope object re-enters that
    scope (its variables, with a fresh name scope); `default_name` is used, made unique,
    when `name_or_scope` is None.

    Args:
      name_or_scope: a string or a VariableScope.
      default_name: the name to uniquify when `name_or_scope` is None.
      values: Tensors the scope's ops use (to pick their graph).
      initializer, regularizer, caching_device, partitioner, custom_getter, dtype,
        use_resource, constraint: defaults for `get_variable` in the scope.
      reuse: True (reuse existing variables, in sub-scopes too), AUTO_REUSE (create if
        missing), or None/False (inherit the parent's).
      auxiliary_name_scope: if False, open no name scope (to re-enter a scope object).

    Raises:
      TypeError: if neither `name_or_scope` nor `default_name` is given, or they have the
        wrong types.
      ValueError: for an invalid `reuse`, or `reuse=True` with only a default name.
    """

    def __init__(self, name_or_scope, default_name=None, values=None, initializer=None,
                 regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                 reuse=None, dtype=None, use_resource=None, constraint=None,
                 auxiliary_name_scope=True):
        if default_name is None and name_or_scope is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if reuse is False:  # False and None mean the same: inherit
            reuse = None
        if not (reuse is True or reuse is None or reuse is AUTO_REUSE):
            raise ValueError("The reuse parameter must be True or False or None.")
        if not isinstance(auxiliary_name_scope, bool):
            raise TypeError("The auxiliary_name_scope must be `True` or `False`, while get %r"
                            % (auxiliary_name_scope,))
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._values = values or []
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._reuse = reuse
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint
        self._auxiliary_name_scope = auxiliary_name_scope
        self._graph = _graph_of(self._values)
        self._exit_stacks = []

    def __enter__(self):
        stack = contextlib.ExitStack()
        try:
            if not get_default_graph().building_function:
                stack.enter_context(self._graph.as_default())
            scope = self._enter(stack)
        except BaseException:
            stack.close()
            raise
        self._exit_stacks.append(stack)
        return scope

    def _pure_scope(self, name_or_scope, old_name_scope=None):
        return _pure_variable_scope(
            name_or_scope, reuse=self._reuse, initializer=self._initializer,
            regularizer=self._regularizer, caching_device=self._caching_device,
            partitioner=self._partitioner, custom_getter=self._custom_getter,
            old_name_scope=old_name_scope, dtype=self._dtype, use_resource=self._use_resource,
            constraint=self._constraint)

    def _enter(self, stack):
        graph = get_default_graph()
        current_name_scope = None
        if not self._auxiliary_name_scope:  # re-enter the current name scope
            scope = graph.get_name_scope()
            current_name_scope = graph.name_scope(scope + "/" if scope else "")
        if self._name_or_scope is not None:
            if not isinstance(self._name_or_scope, (VariableScope, str)):
                raise TypeError("VariableScope: name_or_scope must be a string or VariableScope.")
            if isinstance(self._name_or_scope, str):
                name_scope = self._name_or_scope
            else:
                name_scope = self._name_or_scope.name.split("/")[-1]
            if not (name_scope or current_name_scope):  # the root variable scope
                return stack.enter_context(self._pure_scope(self._name_or_scope))
            entered = stack.enter_context(current_name_scope or graph.name_scope(name_scope))
            if isinstance(self._name_or_scope, str):
                old_name_scope = entered
            else:
                old_name_scope = self._name_or_scope.original_name_scope
            return stack.enter_context(self._pure_scope(self._name_or_scope, old_name_scope))
        if self._reuse:
            raise ValueError("reuse=True cannot be used without a name_or_scope")
        entered = stack.enter_context(current_name_scope or graph.name_scope(self._default_name))
        unique_name = _get_unique_variable_scope(self._default_name)
        pure = _pure_variable_scope(
            unique_name, initializer=self._initializer, regularizer=self._regularizer,
            caching_device=self._caching_device, partitioner=self._partitioner,
            custom_getter=self._custom_getter, old_name_scope=entered, dtype=self._dtype,
            use_resource=self._use_resource, constraint=self._constraint)
        return stack.enter_context(pure)

    def __exit__(self, exc_type, exc_value, tb):
        return self._exit_stacks.pop().__exit__(exc_type, exc_value, tb)


@contextlib.contextmanager
def variable_op_scope(values, name_or_scope, default_name=None, initializer=None,
                      regularizer=None, caching_device=None, partitioner=None,
                      custom_getter=None, reuse=None, dtype=None, use_resource=None,
                      constraint=None):
    """Deprecated: `variable_scope(name_or_scope, default_name, values, ...)`."""
    with variable_scope(name_or_scope, default_name=default_name, values=values,
                        initializer=initializer, regularizer=regularizer,
                        caching_device=caching_device, partitioner=partitioner,
                        custom_getter=custom_getter, reuse=reuse, dtype=dtype,
                        use_resource=use_resource, constraint=constraint) as scope:
        yield scope
