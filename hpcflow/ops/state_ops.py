"""Variable storage ops: VariableV2, Assign, AssignAdd/Sub, Scatter*, ScatterNd*, CountUpTo.

A variable's value lives in the session's `SessionState`, keyed by the VariableV2 op's
name. The VariableV2 kernel returns the stored array itself (no copy: Session.run copies
what it returns to the user). Ops writing a variable name it with the attr `var_name`
instead of taking its value as an input, so that Assign works on an uninitialized variable
and the distributed runtime can tell which ops touch which state. Assign stores a fresh
copy; the other updates change the stored array in place, so training a 1M-row embedding
never copies it. Every op of this module is created on the variable's device.
"""
import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.graph import Tensor, get_default_graph
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from .op_helpers import apply_op

# -- VariableV2 ----------------------------------------------------------------------------------


def _variable_shape(op):
    shape = op.get_attr("shape")
    return [(unknown_shape() if shape is None else TensorShape(shape),
             dtypes.as_dtype(op.get_attr("dtype")))]


def _variable_kernel(ctx, *, shape, dtype, container, shared_name):
    return ctx.state.read_variable(ctx.op_name)


registry.register_op("VariableV2", shape=_variable_shape, numpy=_variable_kernel, context=True,
                     stateful=True, sharding=sharding.REPLICATED)


def variable_op_v2(shape, dtype, name="Variable", container="", shared_name=""):
    """Creates a VariableV2 op (the variable's storage; its output is the current value).

    Args:
      shape: the static shape (a TensorShape, list, or None for unknown).
      dtype: the element type.
      name: the op name (a trailing '/' means exactly this name).
      container, shared_name: kept for TF compatibility (values are keyed by op name).

    Returns:
      The op's output Tensor.
    """
    shape = as_shape(shape) if shape is not None else unknown_shape()
    attrs = {"shape": None if shape.ndims is None else list(shape.as_tuple_or_none()),
             "dtype": dtypes.as_dtype(dtype).name, "container": container or "",
             "shared_name": shared_name or ""}
    return get_default_graph().create_op("VariableV2", [], attrs, name=name).outputs[0]


# -- resolving the variable an op acts on -------------------------------------------------------

def _variable_op(ref, op_type):
    """The VariableV2 op behind `ref` (a Variable or its VariableV2 output tensor).

    Raises:
      TypeError: if `ref` is not a variable ("requires l-value input", as TF says).
    """
    if isinstance(ref, Tensor):
        op = ref.op
    elif hasattr(ref, "_variable_name") and hasattr(ref, "op"):
        op = ref.op
    else:
        op = None
    if op is None or op.type != "VariableV2":
        raise TypeError("Input 'ref' of '%s' Op requires l-value input (a Variable), got %r"
                        % (op_type, ref))
    return op


def _graph_for(var_op):
    """The graph to build a state op in: the default graph if it is (a function graph nested
    in) the variable's graph, so updates inside cond/while bodies stay in the body; else the
    variable's own graph, as TF takes the graph from the `ref` input."""
    graph = get_default_graph()
    outer = graph
    while outer is not None:
        if outer is var_op.graph:
            return graph
        outer = getattr(outer, "outer_graph", None)
    return var_op.graph


def _convert_value(value, var_op, op_type, arg="value", dtype=None):
    """`value` as a Tensor of the variable's dtype; a Tensor of another dtype is a TypeError."""
    dtype = dtype or var_op.outputs[0].dtype
    if is_tensor_like(value):
        tensor = convert_to_tensor(value)
        if tensor.dtype != dtype:
            raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                            "argument 'ref' (variable %s)." % (arg, op_type, tensor.dtype.name,
                                                               dtype.name, var_op.name))
        return tensor
    try:
        return convert_to_tensor(value, dtype=dtype, name=arg)
    except (TypeError, ValueError) as e:
        raise TypeError("Input '%s' of '%s' Op (variable %s): cannot convert %r to %s: %s"
                        % (arg, op_type, var_op.name, value, dtype.name, e)) from None


def _state_op(op_type, ref, inputs_fn, attrs, name, check_shape=True, output_shape="variable"):
    """Builds `op_type` updating `ref` on the variable's device; returns its output tensor.

    `inputs_fn(var_op)` converts the op's inputs (inside the right graph). With
    `check_shape`, the first input's static shape must match the variable's. The output's
    static shape is the variable's (merged with the value's when checked), or the value's
    when `output_shape` is "value" (an Assign that may change the shape).
    """
    var_op = _variable_op(ref, op_type)
    graph = _graph_for(var_op)
    with graph.as_default(), graph.colocate_with(var_op):
        inputs = inputs_fn(var_op)
        var_shape = var_op.outputs[0].shape
        if check_shape and not var_shape.is_compatible_with(inputs[0].shape):
            raise ValueError("Shapes %s and %s are incompatible: the value of %s (op %r) must "
                             "have the shape of variable %s" % (var_shape, inputs[0].shape,
                                                                 op_type, name or op_type,
                                                                 var_op.name))
        attrs = dict(attrs, var_name=var_op.name)
        out = apply_op(op_type, inputs, attrs, name=name or op_type, graph=graph)
    if check_shape:
        out.set_shape(var_shape.merge_with(inputs[0].shape))
    elif output_shape == "variable":
        out.set_shape(var_shape)
    return out


def _writable_variable(ctx, name):
    # In-place updates need a writable array: a value stored by someone else (a restore from
    # a read-only buffer) is replaced by a private copy once.
    value = ctx.state.read_variable(name)
    if not value.flags.writeable:
        value = ctx.state.write_variable(name, np.array(value, copy=True))
    return value


class _Lock:
    """`with _Lock(ctx, use_locking):` holds the session state's lock when asked to."""

    __slots__ = ("lock",)

    def __init__(self, ctx, use_locking):
        self.lock = ctx.state.lock if use_locking else None

    def __enter__(self):
        if self.lock is not None:
            self.lock.acquire()

    def __exit__(self, *exc):
        if self.lock is not None:
            self.lock.release()


def _shape_text(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


# -- Assign ----------------------------------------------------------------------------------

def _value_shape(op):
    return [(op.inputs[0].shape, op.inputs[0].dtype)]


def _assign_kernel(ctx, value, *, var_name, validate_shape, use_locking):
    with _Lock(ctx, use_locking):
        old = ctx.state.variables.get(var_name)
        if validate_shape and old is not None and old.shape != np.shape(value):
            raise errors.InvalidArgumentError(
                None, None, "Assign requires shapes of both tensors to match. lhs shape= %s "
                "rhs shape= %s (variable %s)" % (_shape_text(old.shape),
                                                  _shape_text(np.shape(value)), var_name))
        return ctx.state.write_variable(var_name, np.array(value, copy=True))


registry.register_op("Assign", shape=_value_shape, numpy=_assign_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """Stores `value` in the variable `ref` (TF1 `tf.assign`).

    Args:
      ref: a Variable (or its VariableV2 tensor); it may be uninitialized.
      value: the new value, convertible to the variable's dtype.
      validate_shape: if True (default), `value` must have the variable's shape.
      use_locking: if True, the update holds the session state's lock.
      name: the op name (default "Assign").

    Returns:
      A Tensor holding the new value once the assignment is done.

    Raises:
      TypeError: if `ref` is not a variable or `value` a Tensor of another dtype.
      ValueError: if the static shapes are incompatible and `validate_shape` is True.
    """
    if not _is_ref(ref) and hasattr(ref, "assign"):  # e.g. a PartitionedVariable
        return ref.assign(value, name=name)
    validate_shape = True if validate_shape is None else bool(validate_shape)
    use_locking = True if use_locking is None else bool(use_locking)
    out = _state_op("Assign", ref, lambda var_op: [_convert_value(value, var_op, "Assign")],
                    {"validate_shape": validate_shape, "use_locking": use_locking}, name,
                    check_shape=validate_shape, output_shape="value")
    return out


def _is_ref(ref):
    if isinstance(ref, Tensor):
        return True
    return hasattr(ref, "_variable_name")


# -- AssignAdd / AssignSub ---------------------------------------------------------------------

def _dense_update(ufunc):
    def kernel(ctx, value, *, var_name, use_locking):
        with _Lock(ctx, use_locking):
            var = _writable_variable(ctx, var_name)
            if var.shape != np.shape(value):
                raise errors.InvalidArgumentError(
                    None, None, "Parameters and update must be the same size (variable %s has "
                    "shape %s, update %s)" % (var_name, _shape_text(var.shape),
                                              _shape_text(np.shape(value))))
            ufunc(var, value, out=var)
            return var
    return kernel


registry.register_op("AssignAdd", shape=_value_shape, numpy=_dense_update(np.add), context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.register_op("AssignSub", shape=_value_shape, numpy=_dense_update(np.subtract),
                     context=True, stateful=True, sharding=sharding.GATHER)


def assign_add(ref, value, use_locking=None, name=None):
    """Adds `value` to the variable `ref` in place (TF1 `tf.assign_add`).

    Returns:
      A Tensor holding the new value once the addition is done.

    Raises:
      TypeError: if `ref` is not a variable or `value` a Tensor of another dtype.
      ValueError: if the static shapes differ (no broadcasting, as TF).
    """
    if not _is_ref(ref) and hasattr(ref, "assign_add"):
        return ref.assign_add(value, name=name)
    return _state_op("AssignAdd", ref,
                     lambda var_op: [_convert_value(value, var_op, "AssignAdd")],
                     {"use_locking": bool(use_locking)}, name)


def assign_sub(ref, value, use_locking=None, name=None):
    """Subtracts `value` from the variable `ref` in place (TF1 `tf.assign_sub`).

    Returns:
      A Tensor holding the new value once the subtraction is done.

    Raises:
      TypeError: if `ref` is not a variable or `value` a Tensor of another dtype.
      ValueError: if the static shapes differ.
    """
    if not _is_ref(ref) and hasattr(ref, "assign_sub"):
        return ref.assign_sub(value, name=name)
    return _state_op("AssignSub", ref,
                     lambda var_op: [_convert_value(value, var_op, "AssignSub")],
                     {"use_locking": bool(use_locking)}, name)


# -- Scatter* ------------------------------------------------------------------------------------

def _scatter_shape(op):
    indices, updates = op.inputs
    if not indices.dtype.is_integer:
        raise TypeError("indices must be int32 or int64, got %s" % indices.dtype.name)
    return [(unknown_shape(), updates.dtype)]


def _check_indices(flat_indices, num_rows, var_name):
    bad = (flat_indices < 0) | (flat_indices >= num_rows)
    if bad.any():
        i = int(np.argmax(bad))
        raise errors.InvalidArgumentError(
            None, None, "indices[%d] = %d is not in [0, %d) (variable %s)"
            % (i, int(flat_indices[i]), num_rows, var_name))


def _scatter_divide_at(var, indices, updates):
    if var.dtype.kind in "iu":  # C++ integer division truncates toward zero; numpy floors
        for i, u in zip(indices, updates if np.ndim(updates) else [updates] * len(indices)):
            q = np.abs(var[i]) // np.abs(u)
            var[i] = np.where((var[i] < 0) != (u < 0), -q, q)
    else:
        np.divide.at(var, indices, updates)


def _scatter_update_at(var, indices, updates):
    var[indices] = updates


_SCATTER_FUNCS = {
    "ScatterUpdate": _scatter_update_at,
    "ScatterAdd": np.add.at,
    "ScatterSub": np.subtract.at,
    "ScatterMul": np.multiply.at,
    "ScatterDiv": _scatter_divide_at,
    "ScatterMax": np.maximum.at,
    "ScatterMin": np.minimum.at,
}


def _scatter_kernel(apply):
    def kernel(ctx, indices, updates, *, var_name, use_locking):
        with _Lock(ctx, use_locking):
            var = _writable_variable(ctx, var_name)
            if var.ndim == 0:
                raise errors.InvalidArgumentError(
                    None, None, "params must be at least 1-D, got shape [] (variable %s)"
                    % var_name)
            indices = np.asarray(indices)
            flat_indices = indices.reshape(-1)
            updates = np.asarray(updates)
            if updates.ndim and updates.shape != indices.shape + var.shape[1:]:
                raise errors.InvalidArgumentError(
                    None, None, "Must have updates.shape = indices.shape + params.shape[1:] or "
                    "updates.shape = [], got updates.shape %s, indices.shape %s, params.shape %s"
                    " (variable %s)" % (_shape_text(updates.shape), _shape_text(indices.shape),
                                        _shape_text(var.shape), var_name))
            _check_indices(flat_indices, var.shape[0], var_name)
            if updates.ndim:
                updates = updates.reshape((flat_indices.size,) + var.shape[1:])
            # ufunc.at applies repeated indices one after the other (duplicates accumulate).
            apply(var, flat_indices, updates)
            return var
    return kernel


for _op_type, _apply in _SCATTER_FUNCS.items():
    registry.register_op(_op_type, shape=_scatter_shape, numpy=_scatter_kernel(_apply),
                         context=True, stateful=True, sharding=sharding.GATHER)


def _scatter(op_type, ref, indices, updates, use_locking, name):
    def inputs(var_op):
        indices_t = convert_to_tensor(indices, name="indices")
        if not indices_t.dtype.is_integer:
            raise TypeError("Input 'indices' of '%s' Op must be int32 or int64, got %s"
                            % (op_type, indices_t.dtype.name))
        updates_t = _convert_value(updates, var_op, op_type, arg="updates")
        var_shape = var_op.outputs[0].shape
        if updates_t.shape.ndims not in (None, 0) and var_shape.ndims is not None \
                and indices_t.shape.ndims is not None:
            expected = indices_t.shape.concatenate(var_shape[1:])
            if not expected.is_compatible_with(updates_t.shape):
                raise ValueError("%s (op %r) on variable %s: updates.shape %s must be "
                                 "indices.shape + params.shape[1:] = %s" % (
                                     op_type, name or op_type, var_op.name, updates_t.shape,
                                     expected))
        return [indices_t, updates_t]

    return _state_op(op_type, ref, inputs, {"use_locking": bool(use_locking)}, name,
                     check_shape=False)


def scatter_update(ref, indices, updates, use_locking=True, name=None):
    """Sets rows `ref[indices[i]] = updates[i]` in place (TF1 `tf.scatter_update`).

    With repeated indices, one of the updates wins (the last, here; TF leaves it open).

    Args:
      ref: a Variable (at least 1-D).
      indices: int32/int64 Tensor of row indices.
      updates: Tensor of shape `indices.shape + ref.shape[1:]`, or a scalar.
      use_locking: if True, the update holds the session state's lock.
      name: the op name (default "ScatterUpdate").

    Returns:
      A Tensor holding the updated variable.

    Raises:
      TypeError / ValueError: for bad dtypes or static shapes; InvalidArgumentError at run
        time for an out-of-range index.
    """
    return _scatter("ScatterUpdate", ref, indices, updates, use_locking, name)


def scatter_add(ref, indices, updates, use_locking=False, name=None):
    """Adds `updates` to rows `indices` of `ref` in place; repeated indices accumulate.

    See `scatter_update` for the arguments. Returns the updated variable.
    """
    return _scatter("ScatterAdd", ref, indices, updates, use_locking, name)


def scatter_sub(ref, indices, updates, use_locking=False, name=None):
    """Subtracts `updates` from rows `indices` of `ref` in place; repeated indices accumulate."""
    return _scatter("ScatterSub", ref, indices, updates, use_locking, name)


def scatter_mul(ref, indices, updates, use_locking=False, name=None):
    """Multiplies rows `indices` of `ref` by `updates` in place."""
    return _scatter("ScatterMul", ref, indices, updates, use_locking, name)


def scatter_div(ref, indices, updates, use_locking=False, name=None):
    """Divides rows `indices` of `ref` by `updates` in place (integers truncate, as TF)."""
    return _scatter("ScatterDiv", ref, indices, updates, use_locking, name)


def scatter_max(ref, indices, updates, use_locking=False, name=None):
    """Sets rows `indices` of `ref` to the maximum of themselves and `updates`."""
    return _scatter("ScatterMax", ref, indices, updates, use_locking, name)


def scatter_min(ref, indices, updates, use_locking=False, name=None):
    """Sets rows `indices` of `ref` to the minimum of themselves and `updates`."""
    return _scatter("ScatterMin", ref, indices, updates, use_locking, name)


# -- ScatterNd* ----------------------------------------------------------------------------------

def _scatter_nd_kernel(apply):
    def kernel(ctx, indices, updates, *, var_name, use_locking):
        with _Lock(ctx, use_locking):
            var = _writable_variable(ctx, var_name)
            indices = np.asarray(indices)
            if indices.ndim < 1 or indices.shape[-1] > var.ndim:
                raise errors.InvalidArgumentError(
                    None, None, "indices.shape[-1] must be <= params.rank, got indices.shape %s "
                    "for params of shape %s (variable %s)" % (
                        _shape_text(indices.shape), _shape_text(var.shape), var_name))
            depth = indices.shape[-1]
            flat = indices.reshape(-1, depth)
            slice_shape = var.shape[depth:]
            updates = np.asarray(updates)
            expected = indices.shape[:-1] + slice_shape
            if updates.ndim and updates.shape != expected:
                raise errors.InvalidArgumentError(
                    None, None, "updates.shape %s must be indices.shape[:-1] + params.shape"
                    "[indices.shape[-1]:] = %s (variable %s)" % (
                        _shape_text(updates.shape), _shape_text(expected), var_name))
            for k in range(depth):
                bad = (flat[:, k] < 0) | (flat[:, k] >= var.shape[k])
                if bad.any():
                    i = int(np.argmax(bad))
                    raise errors.InvalidArgumentError(
                        None, None, "indices[%d] = [%s] does not index into param shape %s "
                        "(variable %s)" % (i, ", ".join(str(int(v)) for v in flat[i]),
                                           _shape_text(var.shape), var_name))
            if updates.ndim:
                updates = updates.reshape((flat.shape[0],) + slice_shape)
            apply(var, tuple(flat.T), updates)
            return var
    return kernel


_SCATTER_ND_FUNCS = {
    "ScatterNdUpdate": _scatter_update_at,
    "ScatterNdAdd": np.add.at,
    "ScatterNdSub": np.subtract.at,
}

for _op_type, _apply in _SCATTER_ND_FUNCS.items():
    registry.register_op(_op_type, shape=_scatter_shape, numpy=_scatter_nd_kernel(_apply),
                         context=True, stateful=True, sharding=sharding.GATHER)


def scatter_nd_update(ref, indices, updates, use_locking=True, name=None):
    """Sets `ref[indices[i]] = updates[i]` where each index row addresses leading dims."""
    return _scatter_nd("ScatterNdUpdate", ref, indices, updates, use_locking, name)


def scatter_nd_add(ref, indices, updates, use_locking=False, name=None):
    """Adds `updates[i]` to `ref[indices[i]]` in place; repeated indices accumulate."""
    return _scatter_nd("ScatterNdAdd", ref, indices, updates, use_locking, name)


def scatter_nd_sub(ref, indices, updates, use_locking=False, name=None):
    """Subtracts `updates[i]` from `ref[indices[i]]` in place."""
    return _scatter_nd("ScatterNdSub", ref, indices, updates, use_locking, name)


def _scatter_nd(op_type, ref, indices, updates, use_locking, name):
    def inputs(var_op):
        indices_t = convert_to_tensor(indices, name="indices")
        if not indices_t.dtype.is_integer:
            raise TypeError("Input 'indices' of '%s' Op must be int32 or int64, got %s"
                            % (op_type, indices_t.dtype.name))
        return [indices_t, _convert_value(updates, var_op, op_type, arg="updates")]

    return _state_op(op_type, ref, inputs, {"use_locking": bool(use_locking)}, name,
                     check_shape=False)


# -- StridedSliceAssign (`v[1:3].assign(x)`) ----------------------------------------------------

_SLICE_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _strided_slice_assign_shape(op):
    return [(unknown_shape(), op.inputs[3].dtype)]


def _strided_slice_assign_kernel(ctx, begin, end, strides, value, *, var_name, begin_mask,
                                 end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask):
    from . import array_ops
    var = _writable_variable(ctx, var_name)
    ints = [[int(i) for i in np.asarray(a).reshape(-1)] for a in (begin, end, strides)]
    # The slice semantics are StridedSlice's: reuse its plan, then write through a view.
    slices, _, final = array_ops._strided_slice_plan(
        list(var.shape), ints[0], ints[1], ints[2], begin_mask, end_mask, ellipsis_mask,
        new_axis_mask, shrink_axis_mask, error=array_ops._invalid)
    final = tuple(final)
    value = np.asarray(value)
    if value.shape != final:
        raise errors.InvalidArgumentError(
            None, None, "sliced l-value shape %s does not match r-value shape %s (variable %s)"
            % (_shape_text(final), _shape_text(value.shape), var_name))
    view = var[array_ops._numpy_index(slices)]
    view[...] = value.reshape(view.shape)
    return var


registry.register_op("StridedSliceAssign", shape=_strided_slice_assign_shape,
                     numpy=_strided_slice_assign_kernel, context=True, stateful=True,
                     sharding=sharding.GATHER)


def strided_slice_assign(ref, begin, end, strides, value, name=None, begin_mask=0, end_mask=0,
                         ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0):
    """Assigns `value` to the slice `ref[begin:end:strides]` (masks as `strided_slice`).

    `value` must have the slice's shape. Returns the updated variable.

    Raises:
      InvalidArgumentError: at run time if `value` does not have the slice's shape.
    """
    def inputs(var_op):
        index = [convert_to_tensor(t, name=n) for t, n in ((begin, "begin"), (end, "end"),
                                                            (strides, "strides"))]
        return index + [_convert_value(value, var_op, "StridedSliceAssign")]

    masks = {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
             "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask}
    return _state_op("StridedSliceAssign", ref, inputs, masks, name, check_shape=False)


# -- CountUpTo -----------------------------------------------------------------------------------

def _count_up_to_shape(op):
    return [(TensorShape([]), dtypes.as_dtype(op.get_attr("dtype")))]


def _count_up_to_kernel(ctx, *, var_name, limit, dtype):
    with ctx.state.lock:
        var = _writable_variable(ctx, var_name)
        before = var.copy()
        if int(before) >= limit:
            raise errors.OutOfRangeError(None, None, "Reached limit of %d" % limit)
        var += 1
        return before


registry.register_op("CountUpTo", shape=_count_up_to_shape, numpy=_count_up_to_kernel,
                     context=True, stateful=True, sharding=sharding.REPLICATED)


def count_up_to(ref, limit, name=None):
    """Increments the scalar int variable `ref` until it reaches `limit`.

    Returns:
      A Tensor holding the value before the increment.

    Raises:
      TypeError: if `ref` is not an int32/int64 scalar variable.
      OutOfRangeError: at run time, once the value has reached `limit`.
    """
    var_op = _variable_op(ref, "CountUpTo")
    var_t = var_op.outputs[0]
    if var_t.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError("count_up_to needs an int32 or int64 variable, %s is %s"
                        % (var_op.name, var_t.dtype.name))
    if var_t.shape.ndims not in (None, 0):
        raise ValueError("count_up_to needs a scalar variable, %s has shape %s"
                         % (var_op.name, var_t.shape))
    graph = _graph_for(var_op)
    with graph.as_default(), graph.colocate_with(var_op):
        return apply_op("CountUpTo", [], {"var_name": var_op.name, "limit": int(limit),
                                          "dtype": var_t.dtype.name},
                        name=name or "CountUpTo", graph=graph)


# -- initialization status -----------------------------------------------------------------------

def _is_initialized_kernel(ctx, *, var_name):
    return np.array(ctx.state.is_initialized(var_name))


registry.register_op("IsVariableInitialized",
                     shape=lambda op: [(TensorShape([]), dtypes.bool)],
                     numpy=_is_initialized_kernel, context=True, stateful=True,
                     sharding=sharding.REPLICATED)


def is_variable_initialized(ref, name=None):
    """A scalar bool Tensor: whether variable `ref` holds a value in the running session."""
    var_op = _variable_op(ref, "IsVariableInitialized")
    graph = _graph_for(var_op)
    with graph.as_default(), graph.colocate_with(var_op):
        return apply_op("IsVariableInitialized", [], {"var_name": var_op.name},
                        name=name or "IsVariableInitialized", graph=graph)


def _initialized_value_kernel(ctx, initial_value, *, var_name):
    value = ctx.state.variables.get(var_name)
    return initial_value if value is None else value


registry.register_op("VariableInitializedValue", shape=_value_shape,
                     numpy=_initialized_value_kernel, context=True, stateful=True,
                     sharding=sharding.REPLICATED)


def initialized_value(ref, initial_value, name=None):
    """The variable's value if it is initialized, else `initial_value` (no error either way).

    TF builds this as a `cond`; a functional cond would capture (and so read) the variable
    before choosing, so hpcflow makes it one op.
    """
    var_op = _variable_op(ref, "VariableInitializedValue")
    graph = _graph_for(var_op)
    with graph.as_default(), graph.colocate_with(var_op):
        out = apply_op("VariableInitializedValue", [initial_value], {"var_name": var_op.name},
                       name=name or "initialized_value", graph=graph)
    out.set_shape(var_op.outputs[0].shape)
    return out


registry.not_differentiable(
    "VariableV2", "Assign", "AssignAdd", "AssignSub", *_SCATTER_FUNCS, *_SCATTER_ND_FUNCS,
    "StridedSliceAssign", "CountUpTo", "IsVariableInitialized", "VariableInitializedValue")
