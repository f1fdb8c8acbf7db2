"""Gathers and scatters by index: GatherV2, GatherNd, ScatterNd, TensorScatterUpdate/Add/Sub
(TF1 `array_ops`)."""
import builtins

import numpy as np

from ..framework import registry, sharding, sharding_rules
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape, unknown_shape
from .array_helpers import (
    _apply, _as_index_list, _check_index_dtype, _check_rank, _const_as_shape, _const_int, _dims,
    _index_input, _invalid, _kernel_axis, _math, _op_scope, _shape_str)
from .op_helpers import as_tensor


# -- GatherV2, GatherNd, ScatterNd -------------------------------------------------------------

def _gather_shape(op):
    params, indices, axis_t = op.inputs
    _check_index_dtype(indices, "indices", "GatherV2")
    _check_index_dtype(axis_t, "axis", "GatherV2")
    _check_rank(axis_t, 0, "axis", "GatherV2")
    p_dims = _dims(params.shape)
    i_dims = _dims(indices.shape)
    axis = _const_int(axis_t)
    if p_dims is None or i_dims is None:
        return [(unknown_shape(), params.dtype)]
    if axis is None:
        return [(unknown_shape(len(p_dims) + len(i_dims) - 1), params.dtype)]
    if not -len(p_dims) <= axis < len(p_dims):
        raise ValueError("GatherV2: Shape must be at least rank %d but is rank %d (axis %d "
                         "of params %s)" % ((axis if axis >= 0 else -axis - 1) + 1,
                                            len(p_dims), axis, params.shape))
    axis %= len(p_dims)
    return [(TensorShape(p_dims[:axis] + i_dims + p_dims[axis + 1:]), params.dtype)]


def _format_index(flat_position, shape_):
    return ",".join(str(int(i)) for i in np.unravel_index(flat_position, shape_)) \
        if len(shape_) else ""


def _gather_kernel(params, indices, axis, *, batch_dims):
    params = np.asarray(params)
    indices = np.asarray(indices)
    axis = _kernel_axis(axis, params.ndim, "GatherV2")
    limit = params.shape[axis]
    bad = (indices < 0) | (indices >= limit)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise _invalid("indices[%s] = %d is not in [0, %d)"
                       % (_format_index(position, indices.shape),
                          int(indices.reshape(-1)[position]), limit))
    return np.take(params, indices, axis=axis)


def _gather_grad(op, grad):
    from ..framework.indexed_slices import IndexedSlices
    params, indices, axis_t = op.inputs
    graph = params.graph
    with graph.colocate_with(params.op):
        params_shape = shape(params)
    indices_size = expand_dims(size(indices), 0)
    axis = _const_int(axis_t)
    if axis == 0:
        # Sparse: only the gathered rows get a gradient (an embedding stays untouched).
        values_shape = concat([indices_size, params_shape[1:]], 0)
        values = reshape(grad, values_shape)
        flat_indices = reshape(indices, indices_size)
        return [IndexedSlices(values, flat_indices, params_shape), None, None]
    from . import segment_ops
    math_ops = _math()
    axis = axis_t if axis is None else axis
    outer_shape = params_shape[:axis]
    outer_dims = size(outer_shape)
    inner_shape = params_shape[axis:][1:]
    inner_dims = size(inner_shape)
    outer_axes = range(outer_dims)
    inner_axes = range(math_ops.add(outer_dims, 1),
                       math_ops.add(math_ops.add(outer_dims, 1), inner_dims))
    values = reshape(grad, concat([outer_shape, indices_size, inner_shape], 0))
    flat_indices = reshape(indices, indices_size)
    # Bring the gathered axis to the front, sum rows per index, then move it back.
    values_t = transpose(values, concat([[outer_dims], outer_axes, inner_axes], 0))
    params_grad = segment_ops.unsorted_segment_sum(values_t, flat_indices, params_shape[axis])
    params_grad = transpose(params_grad, concat([math_ops.add(outer_axes, 1), [0], inner_axes],
                                                0))
    params_grad.set_shape(params.shape)
    return [params_grad, None, None]


# Params are needed whole: an index may point at any row.
registry.register_op("GatherV2", shape=_gather_shape, numpy=_gather_kernel,
                     gradient=_gather_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.gather))


def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """Gathers slices of `params` along `axis` at `indices`.

    Output shape: `params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis+1:]`.

    Args:
      params: the Tensor (or Variable) to gather from.
      indices: an int32/int64 Tensor of indices in `[0, params.shape[axis])`.
      validate_indices: ignored (TF1 compatibility); indices are always checked.
      name: a name for the operation (default "GatherV2").
      axis: the dimension of `params` to gather along (default `batch_dims`).
      batch_dims: the number of leading dims of `params` and `indices` that are batch dims.

    Returns:
      A Tensor of `params`' dtype. Its gradient w.r.t. `params` is an `IndexedSlices` for
      axis 0.

    Raises:
      InvalidArgumentError: at run time if an index is out of range.
    """
    if axis is None:
        axis = batch_dims
    if batch_dims != 0:
        return _batch_gather(params, indices, axis, batch_dims, name)
    if hasattr(params, "sparse_read") and not isinstance(params, Tensor) and \
            _is_zero(axis):
        return params.sparse_read(indices, name=name)
    with _op_scope(name, "GatherV2", [params, indices]) as scope:
        params = as_tensor(params, name="params")
        indices = as_tensor(indices, name="indices")
        axis_t = _index_input(axis, "axis", "GatherV2")
        return _apply("GatherV2", [params, indices, axis_t], {"batch_dims": 0}, name=scope)


def _is_zero(axis):
    return not isinstance(axis, Tensor) and np.ndim(axis) == 0 and int(axis) == 0


def _batch_gather(params, indices, axis, batch_dims, name):
    # Batched gather as one plain gather: fold the batch dims into the gathered axis and
    # offset each batch's indices by its position (so gradients come from GatherV2's).
    params = as_tensor(params, name="params")
    indices = as_tensor(indices, name="indices")
    p_rank, i_rank = params.shape.ndims, indices.shape.ndims
    if p_rank is None or i_rank is None or isinstance(axis, Tensor):
        raise ValueError("gather with batch_dims needs params and indices of known rank and "
                         "a Python int axis")
    if batch_dims < 0:
        batch_dims += i_rank
    axis = axis % p_rank if axis < 0 else axis
    if not 0 <= batch_dims <= i_rank or batch_dims > axis:
        raise ValueError("gather: batch_dims (%d) must be in [0, rank(indices)=%d] and <= axis "
                         "(%d)" % (batch_dims, i_rank, axis))
    if batch_dims == 0:
        return gather(params, indices, name=name, axis=axis)
    math_ops = _math()
    p_dims = _dims(params.shape)
    with params.graph.name_scope(name or "Gather"):
        if axis != batch_dims:  # move the gathered axis right after the batch dims
            perm = list(builtins.range(batch_dims)) + [axis] + \
                [d for d in builtins.range(batch_dims, p_rank) if d != axis]
            params = transpose(params, perm)
        p_shape = shape(params, out_type=indices.dtype)
        batch_size = math_ops.reduce_prod(p_shape[:batch_dims])
        axis_size = p_shape[batch_dims]
        offsets = reshape(math_ops.multiply(range(batch_size, dtype=indices.dtype), axis_size),
                          concat([shape(indices, out_type=indices.dtype)[:batch_dims],
                                  ones([i_rank - batch_dims], dtype=indices.dtype)], 0))
        flat_params = reshape(params, concat([[-1], p_shape[batch_dims + 1:]], 0))
        flat_indices = reshape(math_ops.add(indices, offsets), [-1])
        result = gather(flat_params, flat_indices)
        i_shape = shape(indices, out_type=indices.dtype)
        result = reshape(result, concat([i_shape, p_shape[batch_dims + 1:]], 0))
        if axis != batch_dims:
            # Result dims: batch, indices' own dims, then params dims before/after axis.
            n_idx = i_rank - batch_dims
            n_mid = axis - batch_dims
            order = list(builtins.range(batch_dims))
            order += [i_rank + j for j in builtins.range(n_mid)]
            order += [batch_dims + j for j in builtins.range(n_idx)]
            order += list(builtins.range(i_rank + n_mid, i_rank + p_rank - batch_dims - 1))
            result = transpose(result, order)
        result.set_shape(p_dims[:axis] + _dims(indices.shape)[batch_dims:] + p_dims[axis + 1:])
        return result


def batch_gather(params, indices, name=None):
    """`gather` with `batch_dims = rank(indices) - 1` (TF1 `tf.batch_gather`)."""
    indices = as_tensor(indices, name="indices")
    r = indices.shape.ndims
    if r is None:
        raise ValueError("batch_gather needs indices of known rank")
    return gather(params, indices, name=name or "BatchGather", axis=r - 1, batch_dims=r - 1)


def _gather_nd_shape(op):
    params, indices = op.inputs
    _check_index_dtype(indices, "indices", "GatherNd")
    p_dims = _dims(params.shape)
    i_dims = _dims(indices.shape)
    if i_dims is not None and len(i_dims) == 0:
        raise ValueError("GatherNd: indices must be at least a vector, got a scalar")
    if p_dims is None or i_dims is None or i_dims[-1] is None:
        return [(unknown_shape(), params.dtype)]
    k = i_dims[-1]
    if k > len(p_dims):
        raise ValueError("GatherNd: indices.shape[-1] must be <= params.rank, but saw indices "
                         "shape %s and params shape %s" % (indices.shape, params.shape))
    return [(TensorShape(i_dims[:-1] + p_dims[k:]), params.dtype)]


def _nd_coordinates(indices, dims, op_name):
    """Flattened [N, K] coordinates, checked against `dims` (the first K dims)."""
    indices = np.asarray(indices)
    k = indices.shape[-1]
    n = int(np.prod(indices.shape[:-1], dtype=np.int64))
    flat = indices.reshape(n, k).astype(np.int64)
    bad = ((flat < 0) | (flat >= np.array(dims[:k], dtype=np.int64))).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _invalid("%s: indices[%s] = [%s] does not index into param shape %s"
                       % (op_name, _format_index(i, indices.shape[:-1]),
                          ", ".join(str(int(v)) for v in flat[i]), _shape_str(dims)))
    return flat


def _gather_nd_kernel(params, indices):
    params = np.asarray(params)
    indices = np.asarray(indices)
    if indices.ndim == 0:
        raise _invalid("GatherNd: indices must be at least a vector")
    k = indices.shape[-1]
    if k > params.ndim:
        raise _invalid("GatherNd: indices.shape[-1] = %d must be <= params rank %d"
                       % (k, params.ndim))
    flat = _nd_coordinates(indices, params.shape, "GatherNd")
    rows = params[tuple(flat.T)] if k else np.broadcast_to(params, (flat.shape[0],) +
                                                           params.shape)
    return np.ascontiguousarray(rows).reshape(indices.shape[:-1] + params.shape[k:])


def _gather_nd_grad(op, grad):
    from ..framework.indexed_slices import IndexedSlices
    params, indices = op.inputs
    params_shape = shape(params, out_type=indices.dtype)
    if indices.shape.ndims == 2 and indices.shape[-1] == 1:
        return [IndexedSlices(grad, squeeze(indices, axis=-1), params_shape), None]
    return [scatter_nd(indices, grad, params_shape), None]


registry.register_op("GatherNd", shape=_gather_nd_shape, numpy=_gather_nd_kernel,
                     gradient=_gather_nd_grad, sharding=sharding.GATHER)


def gather_nd(params, indices, name=None, batch_dims=0):
    """Gathers slices of `params` at multi-dimensional `indices` (last dim: coordinates).

    Output shape: `indices.shape[:-1] + params.shape[indices.shape[-1]:]`.

    Args:
      params: the Tensor to gather from.
      indices: an int32/int64 Tensor whose last dim K <= rank(params).
      name: a name for the operation (default "GatherNd").
      batch_dims: only 0 is supported.

    Returns:
      A Tensor of `params`' dtype.

    Raises:
      ValueError: if batch_dims is not 0.
      InvalidArgumentError: at run time if a coordinate is out of range.
    """
    if batch_dims != 0:
        raise ValueError("gather_nd: batch_dims=%r is not supported (only 0)" % (batch_dims,))
    with _op_scope(name, "GatherNd", [params, indices]) as scope:
        params = as_tensor(params, name="params")
        indices = as_tensor(indices, name="indices")
        return _apply("GatherNd", [params, indices], name=scope)


def _scatter_nd_shape(op):
    indices, updates, shape_t = op.inputs
    _check_index_dtype(indices, "indices", "ScatterNd")
    _check_index_dtype(shape_t, "shape", "ScatterNd")
    if indices.dtype != shape_t.dtype:
        raise TypeError("ScatterNd: indices (%s) and shape (%s) must have the same dtype"
                        % (indices.dtype.name, shape_t.dtype.name))
    out = _const_as_shape(shape_t)
    i_dims, u_dims, o_dims = _dims(indices.shape), _dims(updates.shape), _dims(out)
    if i_dims is not None and u_dims is not None and o_dims is not None and \
            i_dims and i_dims[-1] is not None:
        expected = i_dims[:-1] + o_dims[i_dims[-1]:]
        if not TensorShape(u_dims).is_compatible_with(expected):
            raise ValueError("ScatterNd: updates shape %s must be indices.shape[:-1] + "
                             "shape[indices.shape[-1]:] = %s" % (updates.shape,
                                                                 TensorShape(expected)))
    return [(out, updates.dtype)]


def _scatter_nd_kernel(indices, updates, shape):
    dims = _as_index_list(shape, "shape", "ScatterNd")
    indices = np.asarray(indices)
    updates = np.asarray(updates)
    k = indices.shape[-1]
    expected = indices.shape[:-1] + tuple(dims[k:])
    if updates.shape != expected:
        raise _invalid("ScatterNd: updates shape %s must be %s" % (_shape_str(updates.shape),
                                                                   _shape_str(expected)))
    flat = _nd_coordinates(indices, dims, "ScatterNd")
    out = np.zeros(dims, dtype=updates.dtype)
    rows = updates.reshape((flat.shape[0],) + tuple(dims[k:]))
    if k:
        np.add.at(out, tuple(flat.T), rows)
    else:
        out += rows.sum(axis=0)
    return out


def _scatter_nd_grad(op, grad):
    return [None, gather_nd(grad, op.inputs[0]), None]


registry.register_op("ScatterNd", shape=_scatter_nd_shape, numpy=_scatter_nd_kernel,
                     gradient=_scatter_nd_grad, sharding=sharding.GATHER)


def scatter_nd(indices, updates, shape, name=None):
    """Scatters `updates` into a zero tensor of `shape` at `indices` (duplicates summed).

    Args:
      indices: int32/int64 Tensor [..., K] of coordinates into the first K dims of `shape`.
      updates: a Tensor of shape `indices.shape[:-1] + shape[K:]`.
      shape: the 1-D output shape, of `indices`' dtype.
      name: a name for the operation (default "ScatterNd").

    Returns:
      A Tensor of `updates`' dtype and the given shape.

    Raises:
      InvalidArgumentError: at run time if a coordinate is out of range.
    """
    with _op_scope(name, "ScatterNd", [indices, updates, shape]) as scope:
        indices = as_tensor(indices, name="indices")
        updates = as_tensor(updates, name="updates")
        shape_t = _index_input(shape, "shape", "ScatterNd",
                               dtype=None if isinstance(shape, Tensor) else indices.dtype)
        return _apply("ScatterNd", [indices, updates, shape_t], name=scope)


# -- TensorScatterUpdate, TensorScatterAdd, TensorScatterSub ----------------------------------

def _tensor_scatter_shape(op):
    tensor, indices, updates = op.inputs
    _check_index_dtype(indices, "indices", op.type)
    if tensor.dtype != updates.dtype:
        raise TypeError("%s: updates (%s) must have the tensor's dtype %s"
                        % (op.type, updates.dtype.name, tensor.dtype.name))
    t_dims, i_dims = _dims(tensor.shape), _dims(indices.shape)
    if t_dims is not None and i_dims and i_dims[-1] is not None:
        if i_dims[-1] > len(t_dims):
            raise ValueError("%s: indices.shape[-1] = %d must be <= rank(tensor) = %d"
                             % (op.type, i_dims[-1], len(t_dims)))
        expected = TensorShape(i_dims[:-1] + t_dims[i_dims[-1]:])
        if not expected.is_compatible_with(updates.shape):
            raise ValueError("%s: updates must have shape %s, got %s"
                             % (op.type, expected, updates.shape))
    return [(tensor.shape, tensor.dtype)]


def _tensor_scatter_kernel(mode):
    def kernel(tensor, indices, updates):
        tensor, indices, updates = np.asarray(tensor), np.asarray(indices), np.asarray(updates)
        k = indices.shape[-1]
        expected = indices.shape[:-1] + tensor.shape[k:]
        if updates.shape != expected:
            raise _invalid("updates must have shape %s, got %s" % (_shape_str(expected),
                                                                  _shape_str(updates.shape)))
        flat = _nd_coordinates(indices, tensor.shape, "TensorScatter")
        rows = updates.reshape((flat.shape[0],) + tensor.shape[k:])
        out = tensor.copy()
        index = tuple(flat.T)
        if mode == "update":
            out[index] = rows
        elif mode == "add":
            np.add.at(out, index, rows)
        else:
            np.subtract.at(out, index, rows)
        return out
    return kernel


def _tensor_scatter_update_grad(op, grad):
    indices, updates = op.inputs[1], op.inputs[2]
    return [tensor_scatter_update(grad, indices, zeros_like(updates)), None,
            gather_nd(grad, indices)]


def _tensor_scatter_add_grad(op, grad):
    return [grad, None, gather_nd(grad, op.inputs[1])]


def _tensor_scatter_sub_grad(op, grad):
    return [grad, None, _math().negative(gather_nd(grad, op.inputs[1]))]


registry.register_op("TensorScatterUpdate", shape=_tensor_scatter_shape,
                     numpy=_tensor_scatter_kernel("update"),
                     gradient=_tensor_scatter_update_grad, sharding=sharding.GATHER)
registry.register_op("TensorScatterAdd", shape=_tensor_scatter_shape,
                     numpy=_tensor_scatter_kernel("add"), gradient=_tensor_scatter_add_grad,
                     sharding=sharding.GATHER)
registry.register_op("TensorScatterSub", shape=_tensor_scatter_shape,
                     numpy=_tensor_scatter_kernel("sub"), gradient=_tensor_scatter_sub_grad,
                     sharding=sharding.GATHER)


def _tensor_scatter(op_type, tensor, indices, updates, name):
    with _op_scope(name, op_type, [tensor, indices, updates]) as scope:
        tensor = as_tensor(tensor, name="tensor")
        indices = as_tensor(indices, name="indices")
        updates = convert_to_tensor(updates, dtype=tensor.dtype, name="updates")
        return _apply(op_type, [tensor, indices, updates], name=scope)


def tensor_scatter_update(tensor, indices, updates, name=None):
    """A copy of `tensor` with the slices at `indices` replaced by `updates` (scatter_nd
    coordinates). With duplicate indices, which update wins is unspecified (as in TF).

    Raises:
      InvalidArgumentError: at run time if a coordinate is out of range.
    """
    return _tensor_scatter("TensorScatterUpdate", tensor, indices, updates, name)


def tensor_scatter_add(tensor, indices, updates, name=None):
    """A copy of `tensor` with `updates` added at `indices` (duplicates summed)."""
    return _tensor_scatter("TensorScatterAdd", tensor, indices, updates, name)


def tensor_scatter_sub(tensor, indices, updates, name=None):
    """A copy of `tensor` with `updates` subtracted at `indices` (duplicates summed)."""
    return _tensor_scatter("TensorScatterSub", tensor, indices, updates, name)


tensor_scatter_nd_update = tensor_scatter_update
tensor_scatter_nd_add = tensor_scatter_add
tensor_scatter_nd_sub = tensor_scatter_sub


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_creation_ops import ones, range, zeros_like  # noqa: E402
from .array_join_ops import concat  # noqa: E402
from .array_reorder_ops import transpose  # noqa: E402
from .array_shape_ops import expand_dims, reshape, shape, size, squeeze  # noqa: E402
