"""Graph ops that save and restore variables where they live: SaveHDF5, MergeHDF5Index, RestoreHDF5.

The Saver builds one SaveHDF5 and one RestoreHDF5 per device group of variables, on that
device, so in a placed MPI job every rank writes and reads its own variables and no
variable travels to rank 0. With several groups each SaveHDF5 writes a shard file and
MergeHDF5Index (on rank 0, after all of them) writes the index. In a data-parallel job
(no devices: every rank holds a replica) only rank 0 writes, and every rank restores its
replica from the shared file system.

Inputs are the checkpoint prefix, the global step and a per-save token (all fed by
`Saver.save`), then the variables themselves (their VariableV2 outputs: the stored arrays,
not copies). Attributes describe each variable: its checkpoint name, its session-state
name, and for a slice of a partitioned variable the full shape and offset.
"""
import errno

import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.graph import get_default_graph
from ..ops.op_helpers import apply_op
from . import format as ckpt_format
from . import reader as ckpt_reader
from . import writer as ckpt_writer


def _no_outputs(op):
    return []


def _is_data_parallel_replica(ctx):
    """True on ranks other than 0 of a data-parallel step: their replicas equal rank 0's."""
    return getattr(ctx.state, "dp_step", None) is not None and ctx.rank != 0


def _text(value):
    value = np.asarray(value).reshape(()).item()
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _io_error(error, what):
    """The TF error for an OSError while writing `what` (never Aborted/Unavailable: a
    MonitoredSession would retry those forever)."""
    cls = {errno.ENOSPC: errors.ResourceExhaustedError, errno.EDQUOT: errors.ResourceExhaustedError,
           errno.EACCES: errors.PermissionDeniedError, errno.EPERM: errors.PermissionDeniedError,
           errno.EROFS: errors.PermissionDeniedError,
           errno.ENOENT: errors.NotFoundError}.get(error.errno, errors.UnknownError)
    return cls(None, None, "%s: %s" % (what, error))


def _entries(keys, var_names, full_shapes, var_offsets, values):
    return [ckpt_writer.Entry(key, value, full_shape, offset, var_name)
            for key, var_name, full_shape, offset, value
            in zip(keys, var_names, full_shapes, var_offsets, values)]


# -- SaveHDF5 ------------------------------------------------------------------------------------

def _save_kernel(ctx, prefix, step, token, *values, keys, var_names, full_shapes, var_offsets,
                 shard, num_shards):
    if _is_data_parallel_replica(ctx):
        return None
    prefix, step = _text(prefix), int(step)
    entries = _entries(keys, var_names, full_shapes, var_offsets, values)
    try:
        if num_shards == 1:
            ckpt_writer.write_checkpoint(prefix, entries, step, ctx.rank)
        else:
            path = ckpt_format.shard_filename(prefix, shard, num_shards, _text(token))
            ckpt_writer.write_shard(path, entries, step, ctx.rank)
    except OSError as e:
        raise _io_error(e, "Cannot write checkpoint %s on rank %d" % (prefix, ctx.rank)) from None
    return None


registry.register_op("SaveHDF5", shape=_no_outputs, numpy=_save_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("SaveHDF5")


def _slice_attrs(variables):
    keys, var_names, full_shapes, var_offsets = [], [], [], []
    for key, variable, slice_info in variables:
        keys.append(key)
        var_names.append(variable.op.name)
        if slice_info is None:
            full_shapes.append(None)
            var_offsets.append(None)
        else:
            full_shapes.append([int(d) for d in slice_info.full_shape])
            var_offsets.append([int(d) for d in slice_info.var_offset])
    return {"keys": keys, "var_names": var_names, "full_shapes": full_shapes,
            "var_offsets": var_offsets}


def save_hdf5(prefix, step, token, variables, shard=0, num_shards=1, name="SaveHDF5"):
    """Builds the op saving `variables` (one device group) to a checkpoint or shard file.

    Args:
      prefix, step, token: scalar string / int64 / string Tensors (fed at save time).
      variables: [(checkpoint name, Variable, SaveSliceInfo or None)].
      shard, num_shards: this group's shard index and the number of groups; with one group
        the op writes the whole checkpoint at `prefix`.
      name: the op name.

    Returns:
      The Operation.
    """
    attrs = _slice_attrs(variables)
    attrs.update(shard=int(shard), num_shards=int(num_shards))
    inputs = [prefix, step, token] + [v._ref() for _, v, _ in variables]
    return apply_op("SaveHDF5", inputs, attrs, name=name)


# -- MergeHDF5Index ------------------------------------------------------------------------------

def _merge_kernel(ctx, prefix, step, token, *, num_shards):
    if _is_data_parallel_replica(ctx):
        return None
    prefix, token = _text(prefix), _text(token)
    shards = [ckpt_format.shard_filename(prefix, i, num_shards, token) for i in range(num_shards)]
    try:
        ckpt_writer.write_index(prefix, shards, int(step), token, ctx.rank)
    except OSError as e:
        raise _io_error(e, "Cannot write the index of checkpoint %s" % prefix) from None
    return None


registry.register_op("MergeHDF5Index", shape=_no_outputs, numpy=_merge_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("MergeHDF5Index")


def merge_hdf5_index(prefix, step, token, num_shards, shard_ops, name="MergeHDF5Index"):
    """Builds the op writing the index of `num_shards` shards once `shard_ops` have run.

    Returns:
      The Operation.
    """
    graph = get_default_graph()
    with graph.control_dependencies(shard_ops):
        return apply_op("MergeHDF5Index", [prefix, step, token], {"num_shards": int(num_shards)},
                        name=name)


# -- RestoreHDF5 ---------------------------------------------------------------------------------

def _shape_text(shape):
    return "[%s]" % ",".join("?" if d is None else str(d) for d in shape)


def _check_value(value, key, var_name, shape, dtype_name, prefix, what):
    stored_dtype = ckpt_format.tf_dtype_name(value.dtype)
    if stored_dtype != dtype_name:
        raise errors.InvalidArgumentError(
            None, None, "Restoring variable %s from checkpoint %s: %s has dtype %s in the "
            "checkpoint but the variable has dtype %s" % (var_name, prefix, what, stored_dtype,
                                                          dtype_name))
    if shape is not None and (len(shape) != value.ndim or any(
            d is not None and d != n for d, n in zip(shape, value.shape))):
        raise errors.InvalidArgumentError(
            None, None, "Restoring variable %s from checkpoint %s: %s has shape %s in the "
            "checkpoint but the variable has shape %s" % (
                var_name, prefix, what, _shape_text(value.shape), _shape_text(shape)))


def _restore_kernel(ctx, prefix, *, keys, var_names, full_shapes, var_offsets, shapes,
                    dtype_names, reshape):
    prefix = _text(prefix)
    values = []
    # Read and verify everything first: a damaged or mismatched checkpoint changes nothing.
    with ckpt_reader.CheckpointReader(prefix) as reader:
        stored_shapes = reader.get_variable_to_shape_map()
        requests = []
        for key, var_name, full_shape, offset, shape in zip(keys, var_names, full_shapes,
                                                            var_offsets, shapes):
            if key not in stored_shapes:
                raise errors.NotFoundError(
                    None, None, "Key %s not found in checkpoint %s (restoring variable %s)"
                    % (key, prefix, var_name))
            if full_shape is None:
                requests.append((key, None, None))
                continue
            if list(stored_shapes[key]) != list(full_shape):
                raise errors.InvalidArgumentError(
                    None, None, "Restoring variable %s from checkpoint %s: partitioned "
                    "variable %s has shape %s in the checkpoint but %s in the graph" % (
                        var_name, prefix, key, _shape_text(stored_shapes[key]),
                        _shape_text(full_shape)))
            requests.append((key, offset, shape))
        for value, key, var_name, full_shape, offset, shape, dtype_name in zip(
                reader.read_many(requests), keys, var_names, full_shapes, var_offsets, shapes,
                dtype_names):
            if full_shape is None:
                if reshape and shape is not None and None not in shape and \
                        value.size == int(np.prod(shape, dtype=np.int64)):
                    value = value.reshape(shape)
                _check_value(value, key, var_name, shape, dtype_name, prefix, key)
            else:
                _check_value(value, key, var_name, shape, dtype_name, prefix,
                             "the slice of %s at %s" % (key, list(offset)))
            if dtype_name == "string":
                value = np.asarray(value, dtype=object)
            values.append(value)
    with ctx.state.lock:
        for var_name, value in zip(var_names, values):
            ctx.state.write_variable(var_name, value)
    return None


registry.register_op("RestoreHDF5", shape=_no_outputs, numpy=_restore_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("RestoreHDF5")


def restore_hdf5(prefix, variables, reshape=False, name="RestoreHDF5"):
    """Builds the op restoring `variables` (one device group) from checkpoint `prefix`.

    Args:
      prefix: a scalar string Tensor.
      variables: [(checkpoint name, Variable, SaveSliceInfo or None)].
      reshape: accept a stored value of another shape with the same number of elements.
      name: the op name.

    Returns:
      The Operation.
    """
    attrs = _slice_attrs(variables)
    attrs["shapes"] = [None if v.shape.ndims is None else list(v.shape.as_tuple_or_none())
                       for _, v, _ in variables]
    attrs["dtype_names"] = [dtypes.as_dtype(v.dtype).base_dtype.name for _, v, _ in variables]
    attrs["reshape"] = bool(reshape)
    return apply_op("RestoreHDF5", [prefix], attrs, name=name)
