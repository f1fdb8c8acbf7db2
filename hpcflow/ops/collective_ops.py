"""Collectives as graph ops, for scripts written Horovod-style: allreduce, broadcast, allgather.

In a data-parallel job every rank runs the graph on its own block of the batch, so a
tensor computed from the data has a per-rank value; these ops combine those per-rank values
explicitly (sum or mean, rank 0's value, concatenation in rank order) and give every rank
the result. hpcflow already combines gradients by itself, so most scripts need none of
these. In one process, or where the graph is placed on ranks explicitly (the op then runs
on a single rank), each is the identity.
"""
import numpy as np

from ..framework import registry, sharding
from ..framework.tensor_shape import unknown_shape
from .op_helpers import apply_op, as_tensor


def _step(ctx):
    return getattr(ctx.state, "dp_step", None)


def _same_shape(op):
    x = op.inputs[0]
    return [(x.shape, x.dtype)]


def _allreduce_kernel(ctx, x, *, average):
    step = _step(ctx)
    if step is None:
        return x
    total = step.collectives.allreduce_sum([x], step.failed, "allreduce in %s" % ctx.op_name)[0]
    if average:
        total = np.asarray(total / len(step.counts), dtype=x.dtype)
    return total


def _broadcast_kernel(ctx, x, *, root_rank):
    step = _step(ctx)
    if step is None:
        return x
    return step.collectives.broadcast_value(x, root_rank, step.failed,
                                            "broadcast in %s" % ctx.op_name)


def _allgather_shape(op):
    x = op.inputs[0]
    if x.shape.ndims is None:
        return [(unknown_shape(), x.dtype)]
    return [(unknown_shape(1).concatenate(x.shape[1:]), x.dtype)]


def _allgather_kernel(ctx, x):
    step = _step(ctx)
    if step is None:
        return x
    return step.collectives.allgather_rows(x, step.failed, "allgather in %s" % ctx.op_name)


def _allreduce_grad_kernel(ctx, grad, *, average):
    step = _step(ctx)
    if step is None or not average:
        return grad
    return np.asarray(grad / len(step.counts), dtype=grad.dtype)


def _allreduce_grad(op, grad):
    # Each rank's value enters the result once (or scaled by 1/size for the mean), and the
    # gradient arriving here is the same on every rank: it flows back scaled the same way.
    return [apply_op("HpcflowAllreduceGrad", [grad], {"average": op.get_attr("average")})]


registry.register_op("HpcflowAllreduce", shape=_same_shape, numpy=_allreduce_kernel,
                     context=True, stateful=True, gradient=_allreduce_grad,
                     sharding=sharding.GATHER)
registry.register_op("HpcflowAllreduceGrad", shape=_same_shape, numpy=_allreduce_grad_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("HpcflowAllreduceGrad")
registry.register_op("HpcflowBroadcast", shape=_same_shape, numpy=_broadcast_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.register_op("HpcflowAllgather", shape=_allgather_shape, numpy=_allgather_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("HpcflowBroadcast", "HpcflowAllgather")

# Ops the data-parallel rewrite must leave alone: they combine per-rank values themselves.
USER_COLLECTIVES = frozenset(["HpcflowAllreduce", "HpcflowBroadcast", "HpcflowAllgather"])


def allreduce(tensor, average=True, name=None):
    """The sum (or, with `average`, the mean) over ranks of each rank's value of `tensor`.

    Horovod's default is the average; so is hpcflow's. Differentiable: each rank's value
    receives the (replicated) incoming gradient, divided by the number of ranks for the mean,
    so that gradients equal those of the same script in one process.
    """
    tensor = as_tensor(tensor, name="tensor")
    return apply_op("HpcflowAllreduce", [tensor], {"average": bool(average)},
                    name=name or "HpcflowAllreduce")


def broadcast(tensor, root_rank=0, name=None):
    """Rank `root_rank`'s value of `tensor`, on every rank."""
    tensor = as_tensor(tensor, name="tensor")
    return apply_op("HpcflowBroadcast", [tensor], {"root_rank": int(root_rank)},
                    name=name or "HpcflowBroadcast")


def allgather(tensor, name=None):
    """Every rank's value of `tensor` concatenated along axis 0, in rank order."""
    tensor = as_tensor(tensor, name="tensor")
    return apply_op("HpcflowAllgather", [tensor], name=name or "HpcflowAllgather")
