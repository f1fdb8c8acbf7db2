"""DynamicPartition and DynamicStitch (TF's data_flow ops) and embedding_lookup over sharded
parameters (TF1 `tf.nn`)."""
import numpy as np

from ..framework import dtypes, errors, registry, sharding, tensor_util
from ..framework.graph import name_scope
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import array_ops, clip_ops, math_ops
from .nn_helpers import _check_dtype, _check_same_dtype
from .op_helpers import apply_op, as_tensor


# ---------------------------------------------------------------------------------------------
# DynamicPartition / DynamicStitch (TF's data_flow ops) and embedding_lookup over shards.

def _dynamic_partition_shape(op):
    data, partitions = op.inputs
    _check_dtype(partitions, op.type, "partitions", ("int32",))
    num = op.get_attr("num_partitions")
    if num < 1:
        raise ValueError("%s: num_partitions must be at least 1, got %d" % (op.type, num))
    p_rank = partitions.shape.ndims
    if data.shape.ndims is None or p_rank is None:
        return [(unknown_shape(), data.dtype)] * num
    if not data.shape[:p_rank].is_compatible_with(partitions.shape):
        raise ValueError("%s: data.shape %s must start with partitions.shape %s"
                         % (op.type, data.shape, partitions.shape))
    out = TensorShape([None]).concatenate(data.shape[p_rank:])
    return [(out, data.dtype)] * num


def _dynamic_partition_kernel(data, partitions, *, num_partitions):
    flat = partitions.reshape(-1)
    bad = (flat < 0) | (flat >= num_partitions)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise errors.InvalidArgumentError(None, None, "partitions[%d] = %d is not in [0, %d)"
                                          % (i, flat[i], num_partitions))
    if data.shape[:partitions.ndim] != partitions.shape:
        raise errors.InvalidArgumentError(
            None, None, "data.shape %s must start with partitions.shape %s"
            % (data.shape, partitions.shape))
    rows = data.reshape((flat.size,) + data.shape[partitions.ndim:])
    outs = tuple(rows[flat == i] for i in range(num_partitions))
    return outs[0] if num_partitions == 1 else outs


def _dynamic_partition_grad(op, *grads):
    # Partition the positions the same way, then stitch the gradients back into place.
    data, partitions = op.inputs
    num = op.get_attr("num_partitions")
    prefix_shape = array_ops.shape(partitions)
    positions = array_ops.reshape(array_ops.range(array_ops.size(partitions)), prefix_shape)
    partitioned = dynamic_partition(positions, partitions, num)
    if num == 1:
        partitioned = [partitioned]
    stitched = dynamic_stitch(partitioned, list(grads))
    return [array_ops.reshape(stitched, array_ops.shape(data)), None]


registry.register_op("DynamicPartition", shape=_dynamic_partition_shape,
                     numpy=_dynamic_partition_kernel, gradient=_dynamic_partition_grad,
                     sharding=sharding.GATHER)


def _dynamic_stitch_shape(op):
    n = op.get_attr("N")
    indices, data = op.inputs[:n], op.inputs[n:]
    for t in indices:
        _check_dtype(t, op.type, "indices", ("int32",))
    for t in data[1:]:
        _check_same_dtype(op.type, data[0], "data", t, "data")
    inner = None
    for i, d in zip(indices, data):
        if i.shape.ndims is None or d.shape.ndims is None:
            continue
        if not d.shape[:i.shape.ndims].is_compatible_with(i.shape):
            raise ValueError("%s: data shape %s must start with indices shape %s"
                             % (op.type, d.shape, i.shape))
        rest = d.shape[i.shape.ndims:]
        inner = rest if inner is None else inner.merge_with(rest)
    values = [tensor_util.constant_value(i) for i in indices]
    first = None
    if all(v is not None for v in values):
        sizes = [int(v.max()) + 1 for v in values if v.size]
        first = max(sizes) if sizes else 0
    if inner is None:
        return [(unknown_shape(), data[0].dtype)]
    return [(TensorShape([first]).concatenate(inner), data[0].dtype)]


def _dynamic_stitch_kernel(*inputs, N):  # noqa: N803 - TF's attr name
    indices, data = inputs[:N], inputs[N:]
    inner = None
    for i, d in zip(indices, data):
        if d.shape[:i.ndim] != i.shape:
            raise errors.InvalidArgumentError(
                None, None, "data shape %s must start with indices shape %s" % (d.shape, i.shape))
        if inner is None:
            inner = d.shape[i.ndim:]
        elif d.shape[i.ndim:] != inner:
            raise errors.InvalidArgumentError(
                None, None, "data shapes %s and %s disagree after the indices' dims"
                % (inner, d.shape[i.ndim:]))
        if i.size and i.min() < 0:
            raise errors.InvalidArgumentError(None, None, "indices must be non-negative, got %d"
                                              % i.min())
    size = max([int(i.max()) + 1 for i in indices if i.size] or [0])
    out = np.zeros((size,) + tuple(inner), dtype=data[0].dtype)
    for i, d in zip(indices, data):  # later inputs overwrite earlier ones, as TF
        out[i.reshape(-1)] = d.reshape((i.size,) + tuple(inner))
    return out


def _dynamic_stitch_grad(op, grad):
    n = op.get_attr("N")
    return [None] * n + [array_ops.gather(grad, op.inputs[i]) for i in range(n)]


registry.register_op("DynamicStitch", shape=_dynamic_stitch_shape,
                     numpy=_dynamic_stitch_kernel, gradient=_dynamic_stitch_grad,
                     sharding=sharding.GATHER)


def dynamic_partition(data, partitions, num_partitions, name=None):
    """Splits `data` into `num_partitions` tensors by the int32 `partitions` (TF1 semantics).

    Returns:
      A list of `num_partitions` Tensors: outputs[i] holds the rows of data (in order)
      whose partition is i.

    Raises:
      InvalidArgumentError: at run time, if a partition is outside [0, num_partitions).
    """
    data = as_tensor(data, name="data")
    partitions = as_tensor(partitions, name="partitions")
    outputs = apply_op("DynamicPartition", [data, partitions],
                       {"num_partitions": int(num_partitions)}, name=name or "DynamicPartition")
    return outputs if isinstance(outputs, list) else [outputs]


def dynamic_stitch(indices, data, name=None):
    """Interleaves `data` into one tensor: `merged[indices[m][i]] = data[m][i]`.

    Later (m, i) win on duplicate indices; rows no index names are zero.
    """
    indices = [as_tensor(i, name="indices") for i in indices]
    data = [as_tensor(d, name="data") for d in data]
    if len(indices) != len(data) or not indices:
        raise ValueError("dynamic_stitch needs as many indices as data tensors (and at least "
                         "one), got %d and %d" % (len(indices), len(data)))
    return apply_op("DynamicStitch", indices + data, {"N": len(indices)},
                    name=name or "DynamicStitch")


parallel_dynamic_stitch = dynamic_stitch


def _clip_rows(embeddings, ids, max_norm):
    """Clips each looked-up embedding to L2 norm <= max_norm (no-op when max_norm is None)."""
    if max_norm is None:
        return embeddings
    ids_rank = ids.shape.ndims
    rank = embeddings.shape.ndims
    if ids_rank is None or rank is None:
        raise ValueError("embedding_lookup with max_norm needs the ranks of ids and params")
    return clip_ops.clip_by_norm(embeddings, max_norm, axes=list(range(ids_rank, rank)))


def _partition_list(params):
    if hasattr(params, "_get_variable_list"):  # a PartitionedVariable
        return list(params._get_variable_list())
    if isinstance(params, (list, tuple)):
        return list(params)
    return [params]


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                     max_norm=None):
    """Looks up rows `ids` of `params`, a tensor or a list of shards of one (TF1 semantics).

    With P shards, id i lives in shard `i % P` at row `i // P` ("mod"), or ("div") the ids
    are split in contiguous ranges, the first `num_ids % P` shards holding one id more.
    The rows are gathered from each shard and stitched back in the order of `ids`.

    Args:
      params: a Tensor/Variable, a list of them (shards of equal shape but the first dim),
        or a PartitionedVariable.
      ids: an int32/int64 Tensor of any shape.
      partition_strategy: "mod" or "div" (only used with several shards).
      name: a name for the operation (default "embedding_lookup").
      validate_indices: accepted for compatibility (ids are always checked).
      max_norm: if given, each looked-up row is clipped to this L2 norm.

    Returns:
      A Tensor of shape `ids.shape + params.shape[1:]`. Its gradient with respect to each
      shard is an IndexedSlices.

    Raises:
      ValueError: if params is empty or the strategy is unknown.
      InvalidArgumentError: at run time, for an id out of range.
    """
    shards = _partition_list(params)
    if not shards:
        raise ValueError("Need at least one param")
    if partition_strategy not in ("mod", "div"):
        raise ValueError("Unrecognized partition strategy: " + str(partition_strategy))
    with name_scope(name, "embedding_lookup", shards + [ids]) as scope:
        ids = as_tensor(ids, name="ids")
        if len(shards) == 1:
            gathered = array_ops.gather(shards[0], ids, name=scope)
            return array_ops.identity(_clip_rows(gathered, ids, max_norm))
        shards = [as_tensor(p) for p in shards]
        num = len(shards)
        flat_ids = array_ops.reshape(ids, [-1])
        positions = array_ops.range(array_ops.size(flat_ids))
        if partition_strategy == "mod":
            assignments = flat_ids % num
            new_ids = flat_ids // num
        else:
            new_ids, assignments = _div_assignments(shards, flat_ids)
        assignments = math_ops.cast(assignments, dtypes.int32)
        gather_ids = dynamic_partition(new_ids, assignments, num)
        gather_positions = dynamic_partition(positions, assignments, num)
        rows = [array_ops.gather(p, i) for p, i in zip(shards, gather_ids)]
        stitched = dynamic_stitch(gather_positions, rows, name=scope)
        inner = shards[0].shape[1:]
        if ids.shape.is_fully_defined() and inner.is_fully_defined():
            out_shape = ids.shape.as_list() + inner.as_list()
        else:
            out_shape = array_ops.concat([array_ops.shape(ids),
                                          array_ops.shape(shards[0])[1:]], 0)
        result = array_ops.reshape(stitched, out_shape)
        if ids.shape.ndims is not None and inner.ndims is not None:
            result.set_shape(ids.shape.concatenate(inner))
        return _clip_rows(result, ids, max_norm)


def _div_assignments(shards, flat_ids):
    """TF's "div" strategy: (row within the shard, shard) for each id."""
    num = len(shards)
    first_dims = [p.shape[0] for p in shards]
    if all(d is not None for d in first_dims):
        total = as_tensor(sum(first_dims), dtype=flat_ids.dtype)
    else:
        total = math_ops.add_n([math_ops.cast(array_ops.shape(p)[0], flat_ids.dtype)
                                for p in shards])
    ids_per_partition = total // num
    extras = total % num
    assignments = math_ops.maximum(flat_ids // (ids_per_partition + 1),
                                   (flat_ids - extras) // ids_per_partition)
    in_extras = math_ops.cast(math_ops.less(assignments, extras), flat_ids.dtype)
    new_ids = (in_extras * (flat_ids % (ids_per_partition + 1))
               + (1 - in_extras) * ((flat_ids - extras) % ids_per_partition))
    return new_ids, assignments
