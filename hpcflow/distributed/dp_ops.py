"""Ops the data-parallel rewrite inserts (never built by users).

In a data-parallel step every rank runs the same graph on its block of the batch. A tensor
is then in one of three states (see data_parallel.py): R, replicated (every rank holds the
one-process value); S, split (each rank holds its rows of the one-process value); P,
partial (the one-process value is the sum of the ranks' values). These ops convert between
states and give shape ops the global batch size, so that every S tensor holds exactly the
rows the one-process run computes.
"""
import numpy as np

from ..framework import dtypes, errors, registry
from ..framework.tensor_shape import TensorShape, unknown_shape


def split_counts(rows, size):
    """Rows per rank: consecutive blocks, the first `rows % size` ranks one row more."""
    base, extra = divmod(int(rows), int(size))
    return [base + (1 if r < extra else 0) for r in range(size)]


class DataParallelStep:
    """What a rank knows about the batch of the current step."""

    def __init__(self, rank, counts, collectives):
        self.rank = rank
        self.counts = list(counts)
        self.global_rows = sum(self.counts)
        self.local_rows = self.counts[rank]
        self.offset = sum(self.counts[:rank])
        self.collectives = collectives
        self.failed = False
        self.step_id = None
        # Where the step's gradients go when rank 0 applies the updates alone: a
        # parameter_server.ParameterServer on rank 0, an UpdateClient elsewhere.
        self.updates = None

    def set_global_rows(self, global_rows, op_name):
        """Sets this step's batch size when an input op (not a feed) produces the rows.

        Raises:
          InvalidArgumentError: if the step already has a batch of another size.
        """
        if self.global_rows not in (0, global_rows):
            raise errors.InvalidArgumentError(
                None, None, "%s yields a batch of %d rows in a step whose batch has %d rows "
                "(a fed batch or another reader): a data-parallel step has one batch size"
                % (op_name, global_rows, self.global_rows))
        self.counts = split_counts(global_rows, len(self.counts))
        self.global_rows = global_rows
        self.local_rows = self.counts[self.rank]
        self.offset = sum(self.counts[:self.rank])


def _step(ctx):
    step = getattr(ctx.state, "dp_step", None)
    if step is None:
        raise errors.InternalError(None, None, "%s runs only in a data-parallel step" % ctx.op_name)
    return step


def _same_as_input(op):
    return [(t.shape, t.dtype) for t in op.inputs]


def _first_input(op):
    t = op.inputs[0]
    return [(t.shape, t.dtype)]


# -- state conversions ------------------------------------------------------------------------

def _allreduce_kernel(ctx, *arrays, what):
    step = _step(ctx)
    results = step.collectives.allreduce_sum(arrays, step.failed, what)
    return results[0] if len(results) == 1 else tuple(results)


def _allgather_rows_kernel(ctx, array, *, what):
    step = _step(ctx)
    return step.collectives.allgather_rows(array, step.failed, what)


def _local_rows_kernel(ctx, array, *, what):
    step = _step(ctx)
    if np.ndim(array) == 0 or np.shape(array)[0] == 1:
        return array  # broadcasts along the batch: the same on every rank
    if np.shape(array)[0] != step.global_rows:
        raise errors.InvalidArgumentError(
            None, None, "Incompatible shapes: %s has shape %s where the batch has %d rows"
            % (what, list(np.shape(array)), step.global_rows))
    return array[step.offset:step.offset + step.local_rows]


def _fetch_rows_kernel(ctx, array, *, what):
    step = _step(ctx)
    result = step.collectives.gather_rows(array, step.failed, what)
    return array if result is None else result


def _fetch_sum_kernel(ctx, array, *, what):
    step = _step(ctx)
    result = step.collectives.reduce_sum_to_root(array, step.failed, what)
    return array if result is None else result


def _push_updates_kernel(ctx, *arrays, what):
    step = _step(ctx)
    if step.updates is None:
        raise errors.InternalError(None, None, "%s: this step has no parameter server" % what)
    step.updates.push(step, arrays)


def _no_outputs(op):
    return []


registry.register_op("_DPPushUpdates", shape=_no_outputs, numpy=_push_updates_kernel,
                     context=True, stateful=True)
registry.register_op("_DPAllReduce", shape=_same_as_input, numpy=_allreduce_kernel,
                     context=True, stateful=True)
registry.register_op("_DPAllGatherRows", shape=_first_input, numpy=_allgather_rows_kernel,
                     context=True, stateful=True)
registry.register_op("_DPLocalRows", shape=_first_input, numpy=_local_rows_kernel,
                     context=True, stateful=True)
registry.register_op("_DPFetchRows", shape=_first_input, numpy=_fetch_rows_kernel,
                     context=True, stateful=True)
registry.register_op("_DPFetchSum", shape=_first_input, numpy=_fetch_sum_kernel,
                     context=True, stateful=True)


# -- global views of local shapes -------------------------------------------------------------

def _global_shape_kernel(ctx, array, *, out_type):
    shape = list(np.shape(array))
    shape[0] = _step(ctx).global_rows
    return np.array(shape, dtype=dtypes.as_dtype(out_type).np_dtype)


def _global_shape_shape(op):
    x = op.inputs[0]
    return [(TensorShape([x.shape.ndims]), dtypes.as_dtype(op.get_attr("out_type")))]


def _global_size_kernel(ctx, array, *, out_type):
    step = _step(ctx)
    rest = int(np.prod(np.shape(array)[1:], dtype=np.int64))
    return np.array(step.global_rows * rest, dtype=dtypes.as_dtype(out_type).np_dtype)


def _global_size_shape(op):
    return [(TensorShape([]), dtypes.as_dtype(op.get_attr("out_type")))]


def _shard_mean_kernel(ctx, array, axes, *, keep_dims, output_shape):
    # The one-process mean divides by the global count: this is each rank's share of it.
    step = _step(ctx)
    axes = tuple(int(a) % max(np.ndim(array), 1) for a in np.asarray(axes).reshape(-1))
    count = step.global_rows
    for a in axes:
        if a != 0:
            count *= np.shape(array)[a]
    total = np.sum(array, axis=axes, keepdims=keep_dims, dtype=array.dtype)
    if np.issubdtype(array.dtype, np.integer):
        return np.asarray(total // count, dtype=array.dtype)
    return np.asarray(total / np.asarray(count, dtype=array.dtype), dtype=array.dtype)


def _shard_mean_shape(op):
    return [(TensorShape(op.get_attr("output_shape")), op.inputs[0].dtype)]


def _shard_reshape_kernel(ctx, array, shape):
    target = [int(d) for d in np.asarray(shape).reshape(-1)]
    target[0] = -1  # the batch axis keeps this rank's rows
    return array.reshape(target)


def _unknown_shape_like_input(op):
    return [(unknown_shape(), op.inputs[0].dtype)]


registry.register_op("_DPGlobalShape", shape=_global_shape_shape, numpy=_global_shape_kernel,
                     context=True, stateful=True)
registry.register_op("_DPGlobalSize", shape=_global_size_shape, numpy=_global_size_kernel,
                     context=True, stateful=True)
registry.register_op("_DPShardMean", shape=_shard_mean_shape, numpy=_shard_mean_kernel,
                     context=True, stateful=True)
registry.register_op("_DPShardReshape", shape=_unknown_shape_like_input,
                     numpy=_shard_reshape_kernel, context=True, stateful=True)
for _name in ("_DPPushUpdates", "_DPAllReduce", "_DPAllGatherRows", "_DPLocalRows", "_DPFetchRows", "_DPFetchSum",
              "_DPGlobalShape", "_DPGlobalSize", "_DPShardMean", "_DPShardReshape"):
    registry.not_differentiable(_name)

from ..ops.collective_ops import USER_COLLECTIVES  # noqa: E402 - after the registrations

# Ops every rank must enter in the same order, even after a failure (see collectives.py).
COLLECTIVE_OPS = frozenset(["_DPPushUpdates", "_DPAllReduce", "_DPAllGatherRows",
                            "_DPFetchRows", "_DPFetchSum"]) | USER_COLLECTIVES
