"""Array ops that join or cut tensors along an axis: ConcatV2, Split, SplitV, Pack (stack),
Unpack (unstack) (TF1 `array_ops`)."""
import builtins
import numbers

import numpy as np

from ..framework import dtypes, registry, sharding, sharding_rules
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import Dimension, TensorShape, unknown_shape
from .array_helpers import (
    _apply, _as_index_list, _canonical_axis, _check_index_dtype, _check_rank, _check_same_dtype,
    _const_int, _const_ints, _dims, _index_input, _invalid, _kernel_axis, _op_scope, _shape_str)
from .op_helpers import as_tensor


# -- ConcatV2, ConcatOffset --------------------------------------------------------------------

def _concat_shape(op):
    values, axis_t = op.inputs[:-1], op.inputs[-1]
    _check_same_dtype(values, "values", "ConcatV2")
    _check_index_dtype(axis_t, "axis", "ConcatV2")
    _check_rank(axis_t, 0, "axis", "ConcatV2")
    dtype = values[0].dtype
    ranks = [v.shape.ndims for v in values if v.shape.ndims is not None]
    for r in ranks:
        if r != ranks[0]:
            raise ValueError("ConcatV2: Shape must be rank %d but is rank %d (all inputs must "
                             "have the same rank)" % (ranks[0], r))
    if not ranks:
        return [(unknown_shape(), dtype)]
    r = ranks[0]
    if r == 0:
        raise ValueError("Can't concatenate scalars (use tf.stack instead)")
    axis = _const_int(axis_t)
    if axis is None:
        return [(unknown_shape(r), dtype)]
    axis = _canonical_axis(axis, r, "ConcatV2")
    out = [None] * r
    total = 0
    for v in values:
        dims = _dims(v.shape)
        if dims is None:
            total = None
            continue
        for i, d in enumerate(dims):
            if i == axis:
                total = None if total is None or d is None else total + d
            elif d is not None:
                if out[i] is not None and out[i] != d:
                    raise ValueError("ConcatV2: Dimension %d in both shapes must be equal, but "
                                     "are %d and %d. Shapes are %s" % (
                                         i, out[i], d, ", ".join(str(t.shape) for t in values)))
                out[i] = d
    out[axis] = total
    return [(TensorShape(out), dtype)]


def _concat_kernel(*args, N):  # noqa: N803
    values, axis = args[:-1], args[-1]
    values = [np.asarray(v) for v in values]
    r = values[0].ndim
    if r == 0:
        raise _invalid("ConcatOp : Can't concatenate scalars (use tf.stack instead)")
    axis = _kernel_axis(axis, r, "ConcatV2")
    for i, v in enumerate(values):
        if v.ndim != r or builtins.any(v.shape[j] != values[0].shape[j]
                                       for j in builtins.range(r) if j != axis):
            raise _invalid("ConcatOp : Dimensions of inputs should match: shape[0] = %s vs. "
                           "shape[%d] = %s" % (_shape_str(values[0].shape), i,
                                               _shape_str(v.shape)))
    return np.concatenate(values, axis=axis)


def _concat_grad(op, grad):
    values, axis_t = op.inputs[:-1], op.inputs[-1]
    if len(values) == 1:
        return [grad, None]
    axis = _const_int(axis_t)
    r = values[0].shape.ndims
    if axis is not None and r is not None:
        axis = axis % r
        sizes = [v.shape[axis] for v in values]
        if builtins.all(s is not None for s in sizes):
            return list(split(grad, sizes, axis=axis)) + [None]
    # Sizes known only at run time: slice each input's block out at its offset.
    shapes = shape_n(values, out_type=axis_t.dtype)
    offsets = _concat_offset(axis_t, shapes)
    return [slice(grad, o, s) for o, s in zip(offsets, shapes)] + [None]


def _concat_offset_shape(op):
    return [(t.shape, t.dtype) for t in op.inputs[1:]]


def _concat_offset_kernel(concat_dim, *shapes, N):  # noqa: N803
    shapes = [np.asarray(s) for s in shapes]
    r = shapes[0].size
    axis = _kernel_axis(concat_dim, r, "ConcatOffset", "concat_dim")
    offsets = []
    running = 0
    for s in shapes:
        o = np.zeros_like(s)
        o[axis] = running
        running += int(s[axis])
        offsets.append(o)
    return tuple(offsets)


registry.register_op("ConcatV2", shape=_concat_shape, numpy=_concat_kernel,
                     gradient=_concat_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.join))
registry.register_op("ConcatOffset", shape=_concat_offset_shape, numpy=_concat_offset_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("ConcatOffset")


def _concat_offset(axis, shapes, name=None):
    with _op_scope(name, "ConcatOffset", [axis]) as scope:
        outputs = _apply("ConcatOffset", [axis] + list(shapes), {"N": len(shapes)},
                           name=scope)
    return outputs if isinstance(outputs, list) else [outputs]


def concat(values, axis, name="concat"):
    """Concatenates tensors along dimension `axis`.

    Args:
      values: a list of Tensors of the same dtype and rank, equal in every dim but `axis`.
      axis: an int scalar; negative counts from the end.
      name: a name for the operation (default "concat").

    Returns:
      A Tensor holding the inputs one after the other along `axis`.

    Raises:
      ValueError: if the ranks differ or other dims are known not to match.
    """
    if not isinstance(values, (list, tuple)):
        values = [values]
    if not values:
        raise ValueError("concat expects at least one tensor, got an empty list")
    if len(values) == 1:
        with _op_scope(name, "concat", values):
            axis_t = _index_input(axis, "concat_dim", "ConcatV2", dtype=dtypes.int32)
            axis_t.shape.assert_has_rank(0)
            return identity(values[0], name=name)
    with _op_scope(name, "concat", values) as scope:
        tensors = [as_tensor(v, name="values") for v in values]
        axis_t = _index_input(axis, "axis", "ConcatV2")
        return _apply("ConcatV2", tensors + [axis_t], {"N": len(tensors)}, name=scope)


# -- Split, SplitV -----------------------------------------------------------------------------

def _split_shape(op):
    axis_t, value = op.inputs
    n = op.get_attr("num_split")
    _check_index_dtype(axis_t, "split_dim", "Split")
    dims = _dims(value.shape)
    axis = _const_int(axis_t)
    if dims is None:
        return [(unknown_shape(), value.dtype)] * n
    if axis is None:
        return [(unknown_shape(len(dims)), value.dtype)] * n
    axis = _canonical_axis(axis, len(dims), "Split", "split_dim")
    d = dims[axis]
    if d is not None and d % n:
        raise ValueError("Dimension size must be evenly divisible by %d but is %d for 'Split' "
                         "(split_dim %d)" % (n, d, axis))
    out = list(dims)
    out[axis] = None if d is None else d // n
    return [(TensorShape(out), value.dtype)] * n


def _split_kernel(split_dim, value, *, num_split):
    axis = _kernel_axis(split_dim, np.ndim(value), "Split", "split_dim")
    d = np.shape(value)[axis]
    if d % num_split:
        raise _invalid("Number of ways to split should evenly divide the split dimension, but "
                       "got split_dim %d (size = %d) and num_split %d" % (axis, d, num_split))
    return tuple(np.split(value, num_split, axis=axis))


def _split_v_sizes(sizes, total, error):
    sizes = list(sizes)
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1:
        raise error("There can only be one -1 in the input.")
    for s in sizes:
        if s < -1:
            raise error("Split sizes must be >= -1, got %d" % s)
    known = sum(s for s in sizes if s != -1)
    if total is None:
        return [None if s == -1 else s for s in sizes]
    if (unknown and known > total) or (not unknown and known != total):
        raise error("Determined shape must either match input shape along split_dim exactly "
                    "if fully specified, or be less than the size of the input along split_dim "
                    "if not fully specified.  Got: %d (size of split dimension %d)"
                    % (known, total))
    if unknown:
        sizes[unknown[0]] = total - known
    return sizes


def _split_v_shape(op):
    value, sizes_t, axis_t = op.inputs
    n = op.get_attr("num_split")
    _check_index_dtype(sizes_t, "size_splits", "SplitV")
    _check_index_dtype(axis_t, "split_dim", "SplitV")
    dims = _dims(value.shape)
    axis = _const_int(axis_t)
    sizes = _const_ints(sizes_t)
    if sizes is not None and len(sizes) != n:
        raise ValueError("SplitV: size_splits has %d entries but num_split is %d"
                         % (len(sizes), n))
    if dims is None:
        return [(unknown_shape(), value.dtype)] * n
    if axis is None:
        return [(unknown_shape(len(dims)), value.dtype)] * n
    axis = _canonical_axis(axis, len(dims), "SplitV", "split_dim")
    if sizes is None:
        sizes = [None] * n
    else:
        sizes = _split_v_sizes(sizes, dims[axis], ValueError)
    result = []
    for s in sizes:
        out = list(dims)
        out[axis] = s
        result.append((TensorShape(out), value.dtype))
    return result


def _split_v_kernel(value, size_splits, split_dim, *, num_split):
    axis = _kernel_axis(split_dim, np.ndim(value), "SplitV", "split_dim")
    sizes = _as_index_list(size_splits, "size_splits", "SplitV")
    if len(sizes) != num_split:
        raise _invalid("size_splits has %d entries, expected num_split = %d"
                       % (len(sizes), num_split))
    sizes = _split_v_sizes(sizes, np.shape(value)[axis], _invalid)
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.split(value, cuts, axis=axis))


def _split_grad(op, *grads):
    return [None, concat(list(grads), op.inputs[0])]


def _split_v_grad(op, *grads):
    return [concat(list(grads), op.inputs[2]), None, None]


registry.register_op("Split", shape=_split_shape, numpy=_split_kernel, gradient=_split_grad,
                     sharding=sharding.GATHER)
registry.register_op("SplitV", shape=_split_v_shape, numpy=_split_v_kernel,
                     gradient=_split_v_grad, sharding=sharding.GATHER)


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Splits `value` along `axis` into equal parts or parts of the given sizes.

    Args:
      value: the Tensor to split.
      num_or_size_splits: an int (number of equal parts: must divide the dim) or a 1-D list
        / Tensor of sizes, one of which may be -1 (the rest).
      axis: an int scalar; negative counts from the end.
      num: the number of outputs, when it cannot be inferred from `num_or_size_splits`.
      name: a name for the operation (default "split").

    Returns:
      A list of Tensors.

    Raises:
      ValueError: if the number of outputs cannot be inferred, or sizes do not match.
    """
    with _op_scope(name, "split", [value]) as scope:
        value = as_tensor(value, name="value")
        if isinstance(num_or_size_splits, (numbers.Integral, Dimension)) and \
                not isinstance(num_or_size_splits, builtins.bool):
            n = int(num_or_size_splits.value if isinstance(num_or_size_splits, Dimension)
                    else num_or_size_splits)
            if n < 1:
                raise ValueError("split: num_split must be positive, got %d" % n)
            axis_t = _index_input(axis, "split_dim", "Split")
            out = _apply("Split", [axis_t, value], {"num_split": n}, name=scope)
            return out if isinstance(out, list) else [out]
        sizes_t = _index_input(num_or_size_splits, "size_splits", "SplitV")
        if sizes_t.shape.ndims == 0:
            raise ValueError("Rank-0 tensors are not supported as the num_or_size_splits "
                             "argument to split. Argument provided: %s" % (num_or_size_splits,))
        if num is None:
            num = sizes_t.shape[0] if sizes_t.shape.ndims == 1 else None
            if num is None:
                raise ValueError("Cannot infer num from shape %s" % sizes_t.shape)
        axis_t = _index_input(axis, "split_dim", "SplitV")
        out = _apply("SplitV", [value, sizes_t, axis_t], {"num_split": int(num)}, name=scope)
        return out if isinstance(out, list) else [out]


# -- Pack (stack), Unpack (unstack) ------------------------------------------------------------

def _pack_shape(op):
    values = op.inputs
    axis = op.get_attr("axis")
    _check_same_dtype(values, "values", "Pack")
    merged = unknown_shape()
    for v in values:
        try:
            merged = merged.merge_with(v.shape)
        except ValueError:
            raise ValueError("Shapes of all inputs must match: values[0].shape = %s != "
                             "values[%d].shape = %s" % (values[0].shape, values.index(v),
                                                        v.shape)) from None
    dims = _dims(merged)
    if dims is None:
        return [(unknown_shape(), values[0].dtype)]
    axis = _canonical_axis(axis, len(dims) + 1, "Pack")
    return [(TensorShape(dims[:axis] + [len(values)] + dims[axis:]), values[0].dtype)]


def _pack_kernel(*values, axis, N):  # noqa: N803
    values = [np.asarray(v) for v in values]
    for i, v in enumerate(values):
        if v.shape != values[0].shape:
            raise _invalid("Shapes of all inputs must match: values[0].shape = %s != "
                           "values[%d].shape = %s" % (_shape_str(values[0].shape), i,
                                                      _shape_str(v.shape)))
    return np.stack(values, axis=axis)


def _pack_grad(op, grad):
    return unstack(grad, num=op.get_attr("N"), axis=op.get_attr("axis"))


def _unpack_shape(op):
    value = op.inputs[0]
    num = op.get_attr("num")
    axis = op.get_attr("axis")
    dims = _dims(value.shape)
    if dims is None:
        return [(unknown_shape(), value.dtype)] * num
    axis = _canonical_axis(axis, len(dims), "Unpack")
    if dims[axis] is not None and dims[axis] != num:
        raise ValueError("Dimension must be %d but is %d for 'Unpack' (axis %d of shape %s)"
                         % (num, dims[axis], axis, value.shape))
    return [(TensorShape(dims[:axis] + dims[axis + 1:]), value.dtype)] * num


def _unpack_kernel(value, *, num, axis):
    value = np.asarray(value)
    axis = _kernel_axis(axis, value.ndim, "Unpack")
    if value.shape[axis] != num:
        raise _invalid("Input shape axis %d must equal %d, got shape %s"
                       % (axis, num, _shape_str(value.shape)))
    return tuple(np.take(value, i, axis=axis) for i in builtins.range(num))


def _unpack_grad(op, *grads):
    return [stack(list(grads), axis=op.get_attr("axis"))]


registry.register_op("Pack", shape=_pack_shape, numpy=_pack_kernel, gradient=_pack_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.join))
registry.register_op("Unpack", shape=_unpack_shape, numpy=_unpack_kernel,
                     gradient=_unpack_grad, sharding=sharding.GATHER)


def stack(values, axis=0, name="stack"):
    """Stacks a list of rank-R tensors into one rank-(R+1) tensor along a new `axis`.

    Args:
      values: a list of Tensors (or convertible values) of the same shape and dtype.
      axis: where the new dimension goes, in `[-(R+1), R+1)`.
      name: a name for the operation (default "stack").

    Returns:
      The stacked Tensor.

    Raises:
      ValueError: if `axis` is out of range or the shapes are known to differ.
    """
    if axis == 0:
        try:
            # A list of constants becomes one constant; one holding Tensors is autopacked.
            return convert_to_tensor(values, name=name)
        except (TypeError, ValueError):
            pass
    values = list(values)
    if not values:
        raise ValueError("stack expects a non-empty list of tensors")
    with _op_scope(name, "stack", values) as scope:
        tensors = [as_tensor(v, name="values") for v in values]
        r = tensors[0].shape.ndims
        if r is not None:
            expanded = r + 1
            if axis < -expanded or axis >= expanded:
                raise ValueError("axis = %d not in [%d, %d)" % (axis, -expanded, expanded))
        return _apply("Pack", tensors, {"axis": int(axis), "N": len(tensors)}, name=scope)


def unstack(value, num=None, axis=0, name="unstack"):
    """Splits `value` along `axis` into a list of `num` tensors of one less rank.

    Args:
      value: a Tensor of rank R > 0.
      num: the length of `axis` (inferred from the static shape when None).
      axis: the dimension to unstack along, in `[-R, R)`.
      name: a name for the operation (default "unstack").

    Returns:
      A list of `num` Tensors.

    Raises:
      ValueError: if `num` is None and cannot be inferred, or `axis` is out of range.
    """
    value = as_tensor(value, name="value")
    if num is None:
        dims = _dims(value.shape)
        if dims is None:
            raise ValueError("Cannot infer num from shape %s" % value.shape)
        if not -len(dims) <= axis < len(dims):
            raise ValueError("axis = %d not in [%d, %d)" % (axis, -len(dims), len(dims)))
        num = dims[axis]
        if num is None:
            raise ValueError("Cannot infer num from shape %s" % value.shape)
    if num == 0:
        return []
    with _op_scope(name, "unstack", [value]) as scope:
        out = _apply("Unpack", [value], {"num": int(num), "axis": int(axis)}, name=scope)
    return out if isinstance(out, list) else [out]


def parallel_stack(values, name="parallel_stack"):
    """As `stack(values)` along axis 0 (TF runs the copies in parallel; the result is equal)."""
    return stack(values, axis=0, name=name)


def _get_dtype_from_nested_lists(values):
    for v in values:
        if is_tensor_like(v):
            return convert_to_tensor(v).dtype
        if isinstance(v, (list, tuple)):
            d = _get_dtype_from_nested_lists(v)
            if d is not None:
                return d
    return None


def _autopacking_helper(values, dtype, name):
    """Packs a nested list holding Tensors, from the inside out (TF's `_autopacking_helper`)."""
    from .constant_op import constant
    must_pack = False
    converted = []
    with _op_scope(name, name, list(_flatten_tensors(values))) as scope:
        for i, elem in enumerate(values):
            if is_tensor_like(elem):
                elem = convert_to_tensor(elem)
                if dtype is not None and elem.dtype != dtype:
                    raise TypeError("Cannot convert a list containing a tensor of dtype %s to "
                                    "%s (Tensor is: %r)" % (elem.dtype.name, dtype.name, elem))
                converted.append(elem)
                must_pack = True
            elif isinstance(elem, (list, tuple)):
                packed = _autopacking_helper(elem, dtype, str(i))
                if isinstance(packed, Tensor):
                    must_pack = True
                converted.append(packed)
            else:
                converted.append(elem)
        if not must_pack:
            return converted
        tensors = []
        for i, elem in enumerate(converted):
            if isinstance(elem, Tensor):
                tensors.append(elem)
            else:
                tensors.append(constant(elem, dtype=dtype, name=str(i)))
        return _apply("Pack", tensors, {"axis": 0, "N": len(tensors)}, name=scope)


def _flatten_tensors(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flatten_tensors(v)
        elif isinstance(v, Tensor):
            yield v


def _autopacking(values, dtype=None, name="packed"):
    """Converts a nested list/tuple mixing Tensors and Python numbers into one Tensor.

    Used by `convert_to_tensor`: non-Tensor leaves become constants of the dtype of the first
    Tensor found (or `dtype`), then each level is stacked with a Pack op.

    Raises:
      TypeError: if a Tensor's dtype differs from `dtype`.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    inferred = _get_dtype_from_nested_lists(values)
    if dtype is None:
        dtype = inferred
    result = _autopacking_helper(values, dtype, name or "packed")
    if not isinstance(result, Tensor):  # no Tensor after all: a plain constant
        from .constant_op import constant
        return constant(result, dtype=dtype, name=name or "Const")
    return result


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_shape_ops import identity, shape_n  # noqa: E402
from .array_slice_ops import slice  # noqa: E402
