"""top_k and in_top_k (TF1 `tf.nn`): TopKV2, with a GatherLastAxis/ScatterLastAxis pair for
its gradient, and InTopKV2."""
import collections

import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor, name_scope
from ..framework.tensor_shape import TensorShape, unknown_shape
from .nn_helpers import (
    _INDEX_TYPES, _REALS, _check_dtype, _check_same_dtype, _compute_dtype, _merge_dims,
    _static_or_dynamic_shape, _with_rank, _with_rank_at_least)
from .op_helpers import apply_op, as_tensor


# ---------------------------------------------------------------------------------------------
# top_k / in_top_k, with a gather/scatter pair along the last axis for top_k's gradient.

def _top_k_shape(op):
    x, k = op.inputs
    _check_dtype(x, op.type, "input", _REALS)
    _check_dtype(k, op.type, "k", ("int32",))
    _with_rank(k.shape, 0, "k of %s" % op.type)
    xs = _with_rank_at_least(x.shape, 1, "input of %s" % op.type)
    k_value = tensor_util.constant_value(k)
    if k_value is not None:
        k_value = int(k_value)
        if k_value < 0:
            raise ValueError("Need k >= 0, got %d" % k_value)
        if xs.ndims is not None and xs[-1] is not None and xs[-1] < k_value:
            raise ValueError("input must have last dimension >= k = %d but is %d"
                             % (k_value, xs[-1]))
    index_type = dtypes.as_dtype(op.get_attr("index_type"))
    if xs.ndims is None:
        return [(unknown_shape(), x.dtype), (unknown_shape(), index_type)]
    out = xs[:-1].concatenate([k_value])
    return [(out, x.dtype), (out, index_type)]


def _top_k_kernel(x, k, *, sorted, index_type):  # noqa: A002 - TF's attr name
    k = int(k)
    n = x.shape[-1]
    if k < 0:
        raise errors.InvalidArgumentError(None, None, "Need k >= 0, got %d" % k)
    if n < k:
        raise errors.InvalidArgumentError(None, None, "input must have at least k columns. "
                                          "Had %d, needed %d" % (n, k))
    # Descending, ties by ascending index (TF's order): a stable ascending sort of the
    # reversed rows, read backwards.
    order = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    indices = (n - 1) - order
    values = np.take_along_axis(x, indices, axis=-1)
    return values, indices.astype(dtypes.as_dtype(index_type).np_dtype)


def _top_k_grad(op, grad_values, grad_indices=None):
    x = op.inputs[0]
    indices = op.outputs[1]
    return [apply_op("ScatterLastAxis", [grad_values, indices, _static_or_dynamic_shape(x)],
                     name="ScatterLastAxis"), None]


registry.register_op("TopKV2", shape=_top_k_shape, numpy=_top_k_kernel, gradient=_top_k_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))


def _scatter_last_axis_shape(op):
    updates, indices, shape = op.inputs
    _check_dtype(indices, op.type, "indices", _INDEX_TYPES)
    out = tensor_util.constant_value_as_shape(shape)
    if not updates.shape.is_compatible_with(indices.shape):
        raise ValueError("%s: updates %s and indices %s must have the same shape"
                         % (op.type, updates.shape, indices.shape))
    return [(out, updates.dtype)]


def _scatter_last_axis_kernel(updates, indices, shape):
    """out[..., indices[..., j]] += updates[..., j] on zeros of `shape`."""
    shape = tuple(int(d) for d in shape)
    n = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    k = indices.shape[-1] if indices.ndim else 0
    flat = indices.reshape(rows, k).astype(np.int64) + (np.arange(rows) * n)[:, None]
    dtype = _compute_dtype(updates.dtype)
    out = np.zeros(rows * n, dtype=dtype)
    np.add.at(out, flat.reshape(-1), updates.reshape(-1).astype(dtype, copy=False))
    return out.reshape(shape).astype(updates.dtype, copy=False)


def _gather_last_axis_shape(op):
    params, indices = op.inputs
    _check_dtype(indices, op.type, "indices", _INDEX_TYPES)
    if params.shape.ndims is not None and indices.shape.ndims is not None:
        if not params.shape[:-1].is_compatible_with(indices.shape[:-1]):
            raise ValueError("%s: params %s and indices %s differ before the last axis"
                             % (op.type, params.shape, indices.shape))
    return [(indices.shape, params.dtype)]


def _gather_last_axis_kernel(params, indices):
    return np.take_along_axis(params, indices.astype(np.int64), axis=-1)


def _scatter_last_axis_grad(op, grad):
    return [apply_op("GatherLastAxis", [grad, op.inputs[1]], name="GatherLastAxis"), None, None]


def _gather_last_axis_grad(op, grad):
    params, indices = op.inputs
    return [apply_op("ScatterLastAxis", [grad, indices, _static_or_dynamic_shape(params)],
                     name="ScatterLastAxis"), None]


# ScatterLastAxis takes the full output shape as an input: a batch split would disagree with
# it, so it asks for a gather (safe).
registry.register_op("ScatterLastAxis", shape=_scatter_last_axis_shape,
                     numpy=_scatter_last_axis_kernel, gradient=_scatter_last_axis_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.row_aligned(0, 1)))
registry.register_op("GatherLastAxis", shape=_gather_last_axis_shape,
                     numpy=_gather_last_axis_kernel, gradient=_gather_last_axis_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1)))

TopKResult = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted=True, index_type=dtypes.int32, name=None):  # noqa: A002
    """The `k` largest entries of the last axis of `input` and their indices.

    Args:
      input: a real Tensor with a last dimension >= k.
      k: an int or int32 scalar Tensor.
      sorted: accepted; results are always sorted descending (equal values by ascending
        index, as TF).
      index_type: int32 (default) or int64.
      name: a name for the operation (default "TopKV2").

    Returns:
      A namedtuple (values, indices), both of shape `input.shape[:-1] + [k]`.

    Raises:
      ValueError: at build time, if k is negative or larger than a known last dimension.
    """
    x = as_tensor(input, name="input")
    index_type = dtypes.as_dtype(index_type)
    if index_type.name not in _INDEX_TYPES:
        raise TypeError("top_k index_type must be int32 or int64, got %s" % index_type.name)
    op_name = name or "TopKV2"
    k_tensor = as_tensor(k, dtype=None if isinstance(k, Tensor) else dtypes.int32,
                         name=op_name + "/k")
    values, indices = apply_op("TopKV2", [x, k_tensor],
                               {"sorted": bool(sorted), "index_type": index_type.name},
                               name=op_name)
    return TopKResult(values, indices)


def _in_top_k_shape(op):
    predictions, targets, k = op.inputs
    _check_dtype(predictions, op.type, "predictions", ("float32",))
    _check_dtype(targets, op.type, "targets", _INDEX_TYPES)
    _check_same_dtype(op.type, targets, "targets", k, "k")
    _with_rank(k.shape, 0, "k of %s" % op.type)
    ps = _with_rank(predictions.shape, 2, "predictions of %s" % op.type)
    ts = _with_rank(targets.shape, 1, "targets of %s" % op.type)
    batch = _merge_dims(ps[0], ts[0], "the batch of predictions and targets")
    return [(TensorShape([batch]), dtypes.bool)]


def _in_top_k_kernel(predictions, targets, k):
    batch, num_classes = predictions.shape
    k = int(k)
    if targets.shape != (batch,):
        raise errors.InvalidArgumentError(
            None, None, "targets must have shape [%d], got %s" % (batch, targets.shape))
    in_range = (targets >= 0) & (targets < num_classes)
    safe = np.where(in_range, targets, 0)
    target_values = predictions[np.arange(batch), safe]
    more_probable = np.sum(predictions > target_values[:, None], axis=1)
    # TF answers False whenever the row holds a non-finite value or the target is invalid.
    finite_rows = np.all(np.isfinite(predictions), axis=1)
    return in_range & finite_rows & (more_probable < k)


registry.register_op("InTopKV2", shape=_in_top_k_shape, numpy=_in_top_k_kernel,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1)))
registry.not_differentiable("InTopKV2")


def in_top_k(predictions, targets, k, name=None):
    """Whether each target is among the top `k` predictions of its row.

    Ties straddling the top-k boundary count as in the top k (the target is in when fewer
    than k classes score strictly higher); a row with a non-finite value, or an
    out-of-range target, gives False.

    Args:
      predictions: float32 [batch, classes].
      targets: int32/int64 [batch] class ids.
      k: an int (or a scalar Tensor of the targets' type).
      name: name scope (default "in_top_k").

    Returns:
      A bool Tensor [batch].
    """
    with name_scope(name, "in_top_k", [predictions, targets]):
        # The op takes float32 predictions: Python/numpy values are converted to it.
        predictions = as_tensor(predictions, dtype=None if isinstance(predictions, Tensor)
                                else dtypes.float32, name="predictions")
        targets = as_tensor(targets, name="targets")
        k = as_tensor(k, dtype=None if isinstance(k, Tensor) else targets.dtype, name="k")
        return apply_op("InTopKV2", [predictions, targets, k], name="InTopKV2")
