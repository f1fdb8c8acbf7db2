"""Gradient clipping by norm: clip_by_norm, global_norm, clip_by_global_norm (TF1)."""
from ..framework.graph import get_default_graph
from ..framework.indexed_slices import IndexedSlices
from ..framework.tensor_conversion import convert_to_tensor


def _values(t):
    return t.values if isinstance(t, IndexedSlices) else t


def _rebuild(t, new_values):
    if isinstance(t, IndexedSlices):
        return IndexedSlices(new_values, t.indices, t.dense_shape)
    return new_values


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2norm(t, axes), clip_norm): scales t so its L2 norm <= clip_norm."""
    from . import array_ops, math_ops
    with get_default_graph().name_scope(name or "clip_by_norm"):
        values = convert_to_tensor(_values(t), name="t")
        clip_norm = math_ops.cast(convert_to_tensor(clip_norm), values.dtype)
        l2sum = math_ops.reduce_sum(values * values, axes, keepdims=True)
        pred = l2sum > 0
        # Avoid a NaN gradient at zero: take sqrt of 1 where the sum is 0.
        l2sum_safe = array_ops.where(pred, l2sum, array_ops.ones_like(l2sum))
        l2norm = array_ops.where(pred, math_ops.sqrt(l2sum_safe), l2sum)
        clipped = values * clip_norm / math_ops.maximum(l2norm, clip_norm)
        return _rebuild(t, array_ops.identity(clipped, name="clipped"))


def global_norm(t_list, name=None):
    """sqrt(sum(l2norm(t)**2 for t in t_list)), ignoring None entries.

    Raises:
      TypeError: if t_list is not a sequence.
    """
    from . import math_ops
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    with get_default_graph().name_scope(name or "global_norm"):
        sums = []
        for t in t_list:
            if t is None:
                continue
            values = convert_to_tensor(_values(t))
            sums.append(math_ops.reduce_sum(values * values))
        if not sums:
            raise ValueError("global_norm needs at least one tensor")
        dtype = sums[0].dtype
        total = math_ops.add_n([s if s.dtype == dtype else math_ops.cast(s, dtype) for s in sums])
        return math_ops.sqrt(total, name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scales every tensor by clip_norm / max(global_norm, clip_norm).

    Returns:
      (list of clipped tensors (None kept as None), the global norm used).

    Raises:
      TypeError: if t_list is not a sequence.
    """
    from . import array_ops, math_ops
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    t_list = list(t_list)
    with get_default_graph().name_scope(name or "clip_by_global_norm"):
        norm = use_norm if use_norm is not None else global_norm(t_list)
        clip_norm = math_ops.cast(convert_to_tensor(clip_norm), norm.dtype)
        # TF1: scale = clip_norm * min(1 / norm, 1 / clip_norm); inf norm gives NaNs, as TF.
        scale = clip_norm * math_ops.minimum(1.0 / norm, 1.0 / clip_norm)
        clipped = []
        for i, t in enumerate(t_list):
            if t is None:
                clipped.append(None)
                continue
            values = convert_to_tensor(_values(t))
            s = scale if scale.dtype == values.dtype else math_ops.cast(scale, values.dtype)
            clipped.append(_rebuild(t, array_ops.identity(values * s, name="_clipped_%d" % i)))
        return clipped, norm


def clip_by_average_norm(t, clip_norm, name=None):
    """Clips by the L2 norm divided by the number of elements."""
    from . import array_ops, math_ops
    with get_default_graph().name_scope(name or "clip_by_average_norm"):
        t = convert_to_tensor(t)
        n = math_ops.cast(array_ops.size(t), t.dtype)
        l2norm_inv = math_ops.rsqrt(math_ops.reduce_sum(t * t))
        clip_norm = math_ops.cast(convert_to_tensor(clip_norm), t.dtype)
        return t * clip_norm * math_ops.minimum(l2norm_inv * n, 1.0 / clip_norm)
