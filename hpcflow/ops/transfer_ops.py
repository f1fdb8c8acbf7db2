"""_Send and _Recv: the ops the partitioner puts on each side of an edge cut between ranks.

They are never built by users: the master inserts them when it splits a graph across MPI
ranks (see distributed/partition.py). The kernels use the rank's transport (buffer-based
MPI with a small header); a _Send without input carries a control dependency as an empty
token.
"""
import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.tensor_shape import TensorShape, unknown_shape


def _transport(ctx):
    transport = getattr(ctx.state, "transport", None)
    if transport is None:
        raise errors.InternalError(None, None, "Op %s needs an MPI transport, but this session "
                                   "runs in a single process" % ctx.op_name)
    return transport


def _send_shape(op):
    return []


def _send_kernel(ctx, *tensor, peer, tag, edge):
    value = tensor[0] if tensor else np.zeros(0, np.uint8)
    _transport(ctx).send_tensor(value, peer, tag)
    return ()


def _recv_shape(op):
    shape = op.get_attr("shape")
    return [(unknown_shape() if shape is None else TensorShape(shape),
             dtypes.as_dtype(op.get_attr("dtype")))]


def _recv_kernel(ctx, *, peer, tag, edge, dtype, shape):
    return _transport(ctx).recv_tensor(peer, tag, "tensor %s" % edge)


registry.register_op("_Send", shape=_send_shape, numpy=_send_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.register_op("_Recv", shape=_recv_shape, numpy=_recv_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("_Send", "_Recv")
