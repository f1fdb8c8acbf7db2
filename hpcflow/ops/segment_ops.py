"""Segment reductions: unsorted_segment_sum (densifies sparse gradients) and segment_sum."""
import numpy as np

from ..framework import dtypes, errors, registry, sharding, tensor_util
from ..framework.tensor_shape import TensorShape, unknown_shape
from .op_helpers import apply_op, as_tensor


def _unsorted_segment_sum_shape(op):
    data, segment_ids, num_segments = op.inputs
    if not segment_ids.dtype.is_integer:
        raise TypeError("segment_ids must be integers, got %s" % segment_ids.dtype.name)
    n = tensor_util.constant_value(num_segments)
    ids_rank = segment_ids.shape.ndims
    if data.shape.ndims is None or ids_rank is None:
        return [(unknown_shape(), data.dtype)]
    if not data.shape[:ids_rank].is_compatible_with(segment_ids.shape):
        raise ValueError("data.shape %s must start with segment_ids.shape %s"
                         % (data.shape, segment_ids.shape))
    first = None if n is None else int(n)
    return [(TensorShape([first]).concatenate(data.shape[ids_rank:]), data.dtype)]


def _unsorted_segment_sum_kernel(data, segment_ids, num_segments):
    num_segments = int(num_segments)
    ids = np.asarray(segment_ids).reshape(-1)
    if ids.size and (ids.max() >= num_segments):
        bad = int(ids[ids >= num_segments][0])
        raise errors.InvalidArgumentError(
            None, None, "segment_ids[%d] = %d is out of range [0, %d)"
            % (int(np.argmax(ids >= num_segments)), bad, num_segments))
    inner = data.shape[np.ndim(segment_ids):]
    out = np.zeros((num_segments,) + inner, dtype=data.dtype)
    flat = data.reshape((ids.size,) + inner)
    keep = ids >= 0  # negative ids are dropped, as TF does
    np.add.at(out, ids[keep], flat[keep])
    return out


def _unsorted_segment_sum_grad(op, grad):
    from . import array_ops, math_ops
    segment_ids = op.inputs[1]
    # Rows with negative ids got no contribution: clamp for gather, then zero them.
    safe_ids = array_ops.where_v2(segment_ids >= 0, segment_ids, array_ops.zeros_like(segment_ids))
    gathered = array_ops.gather(grad, safe_ids)
    mask = array_ops.reshape(segment_ids >= 0, array_ops.concat(
        [array_ops.shape(segment_ids), array_ops.ones(
            [array_ops.rank(gathered) - array_ops.rank(segment_ids)], dtype=dtypes.int32)], 0))
    return [gathered * math_ops.cast(mask, gathered.dtype), None, None]


registry.register_op("UnsortedSegmentSum", shape=_unsorted_segment_sum_shape,
                     numpy=_unsorted_segment_sum_kernel, gradient=_unsorted_segment_sum_grad,
                     sharding=sharding.GATHER)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Sums rows of `data` into `num_segments` segments by `segment_ids` (TF1 semantics).

    Raises:
      InvalidArgumentError: at run time if an id is >= num_segments.
    """
    data = as_tensor(data, name="data")
    segment_ids = as_tensor(segment_ids, name="segment_ids")
    num_segments = as_tensor(num_segments, name="num_segments")
    return apply_op("UnsortedSegmentSum", [data, segment_ids, num_segments],
                    name=name or "UnsortedSegmentSum")
