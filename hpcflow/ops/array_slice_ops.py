"""Slicing: Slice, StridedSlice and its gradient, and `Tensor.__getitem__` (TF1 `array_ops`).

Importing this module installs `Tensor.__getitem__` (NumPy-style indexing built on
`strided_slice`, as TF's `_slice_helper`).
"""
import builtins
import numbers

import numpy as np

from ..framework import dtypes, registry, sharding, sharding_rules
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import Dimension, TensorShape, as_shape, unknown_shape
from .array_helpers import (
    _INDEX_DTYPES, _MASK_ATTRS, _apply, _as_index_list, _check_index_dtype, _check_rank,
    _const_as_shape, _const_ints, _dims, _index_input, _invalid, _masks, _math, _op_scope,
    _shape_str)
from .op_helpers import as_tensor


# `tf.newaxis`: inserts a length-1 dimension when used in `Tensor.__getitem__`.
newaxis = None


# -- Slice -------------------------------------------------------------------------------------

def _slice_shape(op):
    x, begin_t, size_t = op.inputs
    _check_index_dtype(begin_t, "begin", "Slice")
    _check_index_dtype(size_t, "size", "Slice")
    if begin_t.dtype != size_t.dtype:
        raise TypeError("Slice: begin (%s) and size (%s) must have the same dtype"
                        % (begin_t.dtype.name, size_t.dtype.name))
    _check_rank(begin_t, 1, "begin", "Slice")
    _check_rank(size_t, 1, "size", "Slice")
    dims = _dims(x.shape)
    begin = _const_ints(begin_t)
    sizes = _const_ints(size_t)
    n = begin_t.shape[0] if begin_t.shape.ndims == 1 else None
    n = n if n is not None else (size_t.shape[0] if size_t.shape.ndims == 1 else None)
    if dims is not None:
        for what, length in (("begin", begin_t.shape[0] if begin_t.shape.ndims else None),
                             ("size", size_t.shape[0] if size_t.shape.ndims else None)):
            if length is not None and length != len(dims):
                raise ValueError("Slice: length of %s (%d) must equal the rank of the input "
                                 "(%d)" % (what, length, len(dims)))
        n = len(dims)
    if n is None:
        return [(unknown_shape(), x.dtype)]
    if sizes is None:
        partial = _const_as_shape(size_t)
        if partial.ndims == n:
            return [(partial, x.dtype)]
        return [(unknown_shape(n), x.dtype)]
    out = []
    for i, s in enumerate(sizes):
        b = begin[i] if begin is not None else None
        d = dims[i] if dims is not None else None
        # Out-of-range blocks are reported when the op runs (as TF does).
        if s == -1:
            out.append(None if b is None or d is None or b > d else d - b)
        else:
            out.append(s if s >= 0 else None)
    return [(TensorShape(out), x.dtype)]


def _slice_kernel(x, begin, size):
    begin = _as_index_list(begin, "begin", "Slice")
    sizes = _as_index_list(size, "size", "Slice")
    shape_ = np.shape(x)
    if len(begin) != len(shape_) or len(sizes) != len(shape_):
        raise _invalid("Expected begin and size arguments to be 1-D tensors of size %d, but got "
                       "shapes [%d] and [%d] instead." % (len(shape_), len(begin), len(sizes)))
    index = []
    for i, (b, s, d) in enumerate(zip(begin, sizes, shape_)):
        if s == -1:
            s = d - b
        if not 0 <= b <= d:
            raise _invalid("Expected begin[%d] in [0, %d], but got %d" % (i, d, b))
        if not 0 <= s <= d - b:
            raise _invalid("Expected size[%d] in [0, %d], but got %d" % (i, d - b, s))
        index.append(builtins.slice(b, b + s))
    return np.asarray(x)[tuple(index)]


def _slice_grad(op, grad):
    x, begin_t = op.inputs[0], op.inputs[1]
    index_type = begin_t.dtype
    input_shape = shape(x, out_type=index_type)
    out_shape = shape(op.outputs[0], out_type=index_type)
    pad_shape = stack([rank(x), 1])
    before = reshape(begin_t, pad_shape)
    after = reshape(_math().subtract(_math().subtract(input_shape, out_shape), begin_t),
                    pad_shape)
    return [pad(grad, concat([before, after], 1)), None, None]


registry.register_op("Slice", shape=_slice_shape, numpy=_slice_kernel, gradient=_slice_grad,
                     sharding=sharding.GATHER)


def slice(input_, begin, size, name=None):  # noqa: A001 - TF's name
    """Extracts the block of `input_` starting at `begin` with extent `size`.

    Args:
      input_: a Tensor.
      begin: int32/int64 list or Tensor, one start index per dimension.
      size: int32/int64 list or Tensor, one extent per dimension; -1 means "to the end".
      name: a name for the operation (default "Slice").

    Returns:
      A Tensor of shape `size` (with -1 entries resolved).

    Raises:
      ValueError: at build time if the block is known to exceed the input.
      InvalidArgumentError: at run time if it does.
    """
    with _op_scope(name, "Slice", [input_, begin, size]) as scope:
        input_ = as_tensor(input_, name="input")
        begin_t = _index_input(begin, "begin", "Slice")
        size_t = _index_input(size, "size", "Slice", dtype=begin_t.dtype
                              if not isinstance(size, Tensor) else None)
        return _apply("Slice", [input_, begin_t, size_t], name=scope)


# -- StridedSlice, StridedSliceGrad ------------------------------------------------------------

_NEW_AXIS = -1
_SHRINK_AXIS = -2


def _strided_slice_plan(dims, begin, end, strides, begin_mask, end_mask, ellipsis_mask,
                        new_axis_mask, shrink_axis_mask, error):
    """TF's ValidateStridedSliceOp: canonical per-dim slices and the output shape.

    Args:
      dims: the input's dims (ints, or None where unknown at build time).
      begin, end: lists of ints, or None when unknown (strides must be known).
      error: the exception class to raise (ValueError at build, InvalidArgumentError at run).

    Returns:
      (slices, processing_shape, final_shape): one `(begin, end, stride, size)` per input
      dim (None where unknown), the shape of the strided block before new/shrink axes, and
      the output dims (None where unknown).
    """
    n = len(strides)
    for what, v in (("begin", begin), ("end", end)):
        if v is not None and len(v) != n:
            raise error("Expected begin, end, and strides to be 1D equal size tensors, but got "
                        "%s of length %d and strides of length %d instead." % (what, len(v), n))
    if ellipsis_mask & (ellipsis_mask - 1):
        raise error("Multiple ellipses in slice spec not allowed")
    # Sparse spec: everything after an ellipsis that adds axes, with an implicit trailing
    # ellipsis when none is given.
    sparse_dims = n
    num_add_axis_after_ellipsis = 0
    saw_ellipsis = False
    for i in builtins.range(n):
        if saw_ellipsis and (1 << i) & new_axis_mask:
            num_add_axis_after_ellipsis += 1
        if (1 << i) & ellipsis_mask:
            saw_ellipsis = True
    if not saw_ellipsis:
        ellipsis_mask |= 1 << n
        sparse_dims += 1
    rank_ = len(dims)
    dense = []  # (begin, end, stride, begin_masked, end_masked, shrink) per input dim
    gather = []
    full_index = 0
    for i in builtins.range(sparse_dims):
        bit = 1 << i
        if bit & ellipsis_mask:
            next_index = min(rank_ - (sparse_dims - i) + 1 + num_add_axis_after_ellipsis, rank_)
            while full_index < next_index:
                dense.append((0, 0, 1, True, True, False))
                gather.append(full_index)
                full_index += 1
        elif bit & new_axis_mask:
            gather.append(_NEW_AXIS)
        else:
            if full_index == rank_:
                raise error("Index out of range using input dim %d; input has only %d dims"
                            % (full_index, rank_))
            shrink = builtins.bool(bit & shrink_axis_mask)
            dense.append((None if begin is None else begin[i], None if end is None else end[i],
                          strides[i], builtins.bool(bit & begin_mask),
                          builtins.bool(bit & end_mask), shrink))
            gather.append(_SHRINK_AXIS if shrink else full_index)
            full_index += 1
    slices = []
    processing = []
    for i, (b, e, s, b_masked, e_masked, shrink) in enumerate(dense):
        d = dims[i]
        if s == 0:
            raise error("strides[%d] must be non-zero" % i)
        if d is None:
            processing.append(1 if shrink else None)
            slices.append(None)
            continue
        if shrink and s <= 0:
            raise error("only stride 1 allowed on non-range indexing.")
        valid = (0, d) if s > 0 else (-1, d - 1)

        def canonical(x, c, masked):
            if masked:
                return valid[c] if s > 0 else valid[(c + 1) & 1]
            x_fwd = d + x if x < 0 else x
            return valid[0] if x_fwd < valid[0] else valid[1] if x_fwd > valid[1] else x_fwd

        known = b is not None and e is not None
        if known:
            if shrink:
                x_fwd = d + b if b < 0 else b
                if x_fwd < 0 or x_fwd >= d:
                    raise error("slice index %d of dimension %d out of bounds." % (b, i))
                b, e = x_fwd, x_fwd + 1
            else:
                b, e = canonical(b, 0, b_masked), canonical(e, 1, e_masked)
            interval = e - b
        elif shrink:
            interval = 1
        elif b_masked and e_masked:
            interval = -d if s < 0 else d
            b, e = canonical(0, 0, True), canonical(0, 1, True)
            known = True
        else:
            processing.append(None)
            slices.append(None)
            continue
        if interval == 0 or ((interval < 0) != (s < 0)):
            size_ = 0
        else:
            size_ = abs(interval) // abs(s) + (1 if abs(interval) % abs(s) else 0)
        processing.append(size_)
        slices.append((b, e, s, size_) if known else None)
    final = []
    for g in gather:
        if g == _NEW_AXIS:
            final.append(1)
        elif g != _SHRINK_AXIS:
            final.append(processing[g])
    return slices, processing, final


def _numpy_index(slices):
    index = []
    for b, e, s, size_ in slices:
        if size_ == 0:
            index.append(builtins.slice(0, 0))
        else:
            index.append(builtins.slice(b, e if e >= 0 else None, s))
    return tuple(index)


def _check_slice_args(op, tensors, op_name):
    for t, arg in zip(tensors, ("begin", "end", "strides")):
        _check_index_dtype(t, arg, op_name)
        _check_rank(t, 1, arg, op_name)
    if builtins.any(t.dtype != tensors[0].dtype for t in tensors):
        raise TypeError("%s: begin, end and strides must have the same dtype, got %s"
                        % (op_name, ", ".join(t.dtype.name for t in tensors)))


def _strided_slice_shape(op):
    x, begin_t, end_t, strides_t = op.inputs
    _check_slice_args(op, [begin_t, end_t, strides_t], "StridedSlice")
    dims = _dims(x.shape)
    strides = _const_ints(strides_t)
    if dims is None or strides is None:
        return [(unknown_shape(), x.dtype)]
    _, _, final = _strided_slice_plan(dims, _const_ints(begin_t), _const_ints(end_t), strides,
                                      *_masks(op), error=ValueError)
    return [(TensorShape(final), x.dtype)]


def _strided_slice_kernel(x, begin, end, strides, *, begin_mask, end_mask, ellipsis_mask,
                          new_axis_mask, shrink_axis_mask):
    x = np.asarray(x)
    slices, _, final = _strided_slice_plan(
        list(x.shape), _as_index_list(begin, "begin", "StridedSlice"),
        _as_index_list(end, "end", "StridedSlice"),
        _as_index_list(strides, "strides", "StridedSlice"),
        begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask,
        error=_invalid)
    return x[_numpy_index(slices)].reshape(final)


def _strided_slice_grad(op, grad):
    x, begin_t, end_t, strides_t = op.inputs
    masks = dict(zip(_MASK_ATTRS, _masks(op)))
    x_shape = shape(x, out_type=begin_t.dtype)
    return [strided_slice_grad(x_shape, begin_t, end_t, strides_t, grad, **masks),
            None, None, None]


def _strided_slice_grad_shape(op):
    shape_t, begin_t, end_t, strides_t, dy = op.inputs
    _check_slice_args(op, [begin_t, end_t, strides_t], "StridedSliceGrad")
    return [(_const_as_shape(shape_t), dy.dtype)]


def _strided_slice_grad_kernel(shape, begin, end, strides, dy, *, begin_mask, end_mask,
                               ellipsis_mask, new_axis_mask, shrink_axis_mask):
    dims = _as_index_list(shape, "shape", "StridedSliceGrad")
    slices, processing, final = _strided_slice_plan(
        dims, _as_index_list(begin, "begin", "StridedSliceGrad"),
        _as_index_list(end, "end", "StridedSliceGrad"),
        _as_index_list(strides, "strides", "StridedSliceGrad"),
        begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask, error=_invalid)
    dy = np.asarray(dy)
    if list(dy.shape) != final:
        raise _invalid("shape of dy was %s instead of %s" % (_shape_str(dy.shape),
                                                            _shape_str(final)))
    out = np.zeros(dims, dtype=dy.dtype)
    out[_numpy_index(slices)] = dy.reshape(processing)
    return out


def _strided_slice_grad_grad(op, grad):
    _, begin_t, end_t, strides_t, _ = op.inputs
    masks = dict(zip(_MASK_ATTRS, _masks(op)))
    return [None, None, None, None,
            strided_slice(grad, begin_t, end_t, strides_t, **masks)]


registry.register_op("StridedSlice", shape=_strided_slice_shape, numpy=_strided_slice_kernel,
                     gradient=_strided_slice_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.strided_slice))
registry.register_op("StridedSliceGrad", shape=_strided_slice_grad_shape,
                     numpy=_strided_slice_grad_kernel, gradient=_strided_slice_grad_grad,
                     sharding=sharding.GATHER)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """Extracts a strided slice of `input_` (the op behind `tensor[...]`), with TF's masks.

    Args:
      input_: a Tensor.
      begin, end, strides: 1-D int32/int64 lists or Tensors of equal length (strides
        default to 1).
      begin_mask, end_mask: bit i set means begin/end i is ignored (the widest range).
      ellipsis_mask: bit i set means entry i is `...` (at most one bit).
      new_axis_mask: bit i set means entry i inserts a length-1 dimension.
      shrink_axis_mask: bit i set means entry i indexes (removing that dimension).
      var: the Variable `input_` reads, if any: the result then has an
        `assign(value, name=None)` method writing `value` into that slice.
      name: a name for the operation (default "StridedSlice").

    Returns:
      The slice, as a Tensor.

    Raises:
      ValueError: at build time when an index is known to be out of bounds.
      InvalidArgumentError: at run time when it is.
    """
    attrs = {"begin_mask": int(begin_mask), "end_mask": int(end_mask),
             "ellipsis_mask": int(ellipsis_mask), "new_axis_mask": int(new_axis_mask),
             "shrink_axis_mask": int(shrink_axis_mask)}
    if strides is None:
        strides = ones_like(_index_input(begin, "begin", "StridedSlice"))
    with _op_scope(name, "StridedSlice", [input_, begin, end, strides]) as scope:
        input_ = as_tensor(input_, name="input")
        begin_t = _index_input(begin, "begin", "StridedSlice")
        end_t = _index_input(end, "end", "StridedSlice",
                             dtype=None if isinstance(end, Tensor) else begin_t.dtype)
        strides_t = _index_input(strides, "strides", "StridedSlice",
                                 dtype=None if isinstance(strides, Tensor) else begin_t.dtype)
        result = _apply("StridedSlice", [input_, begin_t, end_t, strides_t], attrs,
                          name=scope)
    if var is not None:
        def assign(value, name=None):
            from . import state_ops
            return state_ops.strided_slice_assign(var, begin_t, end_t, strides_t, value,
                                                  name=name, **attrs)
        result.assign = assign
    return result


def strided_slice_grad(shape, begin, end, strides, dy, begin_mask=0, end_mask=0,
                       ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, name=None):
    """The gradient of `strided_slice`: `dy` scattered into zeros of shape `shape`."""
    attrs = {"begin_mask": int(begin_mask), "end_mask": int(end_mask),
             "ellipsis_mask": int(ellipsis_mask), "new_axis_mask": int(new_axis_mask),
             "shrink_axis_mask": int(shrink_axis_mask)}
    with _op_scope(name, "StridedSliceGrad", [dy, shape, begin, end, strides]) as scope:
        tensors = [_index_input(v, arg, "StridedSliceGrad")
                   for v, arg in ((shape, "shape"), (begin, "begin"), (end, "end"),
                                  (strides, "strides"))]
        dy = as_tensor(dy, name="dy")
        return _apply("StridedSliceGrad", tensors + [dy], attrs, name=scope)


# -- Tensor.__getitem__ ------------------------------------------------------------------------

_SLICE_TYPE_ERROR = ("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and "
                     "scalar tf.int32/tf.int64 tensors are valid indices")


def _check_index(idx):
    if isinstance(idx, (numbers.Integral, Dimension)) and not isinstance(idx, builtins.bool):
        return
    if isinstance(idx, np.ndarray) and idx.ndim == 0 and idx.dtype.kind in "iu":
        return
    dtype = getattr(idx, "dtype", None)
    try:
        dtype = None if dtype is None else dtypes.as_dtype(dtype)
    except TypeError:
        dtype = None
    if dtype is None or dtype not in _INDEX_DTYPES or \
            (getattr(idx, "shape", None) is not None and as_shape(idx.shape).ndims == 1):
        raise TypeError(_SLICE_TYPE_ERROR + ", got %r" % (idx,))


def _index_value(idx):
    if isinstance(idx, Dimension):
        return idx.value
    if isinstance(idx, np.ndarray):
        return int(idx)
    if is_tensor_like(idx) and not isinstance(idx, Tensor):
        return convert_to_tensor(idx)
    return idx


def _is_undefined(value):
    return isinstance(value, Dimension) and value.value is None


def _slice_helper(tensor, slice_spec, var=None):
    """`tensor[slice_spec]` as TF: ints, slices, `...`, `tf.newaxis`, scalar int Tensors.

    A boolean Tensor or array as the whole index applies `boolean_mask`.

    Raises:
      TypeError: for an index of another kind (float, rank-1 tensor, list...).
      ValueError: if an index is known out of bounds at build time.
    """
    if isinstance(slice_spec, builtins.bool) or \
            (isinstance(slice_spec, Tensor) and slice_spec.dtype == dtypes.bool) or \
            (isinstance(slice_spec, np.ndarray) and slice_spec.dtype == np.bool_):
        return boolean_mask(tensor=tensor, mask=slice_spec)
    if not isinstance(slice_spec, (list, tuple)):
        slice_spec = [slice_spec]
    begin, end, strides = [], [], []
    index = 0
    new_axis_mask = shrink_axis_mask = begin_mask = end_mask = ellipsis_mask = 0
    for s in slice_spec:
        if isinstance(s, builtins.slice):
            if s.start is not None and not _is_undefined(s.start):
                _check_index(s.start)
                begin.append(_index_value(s.start))
            else:
                begin.append(0)
                begin_mask |= 1 << index
            if s.stop is not None and not _is_undefined(s.stop):
                _check_index(s.stop)
                end.append(_index_value(s.stop))
            else:
                end.append(0)
                end_mask |= 1 << index
            if s.step is not None and not _is_undefined(s.step):
                _check_index(s.step)
                strides.append(_index_value(s.step))
            else:
                strides.append(1)
        elif s is Ellipsis:
            begin.append(0)
            end.append(0)
            strides.append(1)
            ellipsis_mask |= 1 << index
        elif s is newaxis:
            begin.append(0)
            end.append(0)
            strides.append(1)
            new_axis_mask |= 1 << index
        else:
            _check_index(s)
            s = _index_value(s)
            begin.append(s)
            # The kernel ignores `end` on a shrunk axis; TF still builds `s + 1`.
            end.append(s + 1 if not isinstance(s, Tensor) else _math().add(s, 1))
            strides.append(1)
            shrink_axis_mask |= 1 << index
        index += 1
    with _op_scope(None, "strided_slice", [tensor] + begin + end + strides) as name:
        tensor = as_tensor(tensor)
        if begin:
            packed = [stack(v) for v in (begin, end, strides)]
            if builtins.any(p.dtype == dtypes.int64 for p in packed):
                packed = [p if p.dtype == dtypes.int64 else _math().cast(p, dtypes.int64)
                          for p in packed]
        else:
            from .constant_op import constant
            empty = constant([], dtype=dtypes.int32)
            packed = [empty, empty, empty]
        return strided_slice(tensor, packed[0], packed[1], packed[2], begin_mask=begin_mask,
                             end_mask=end_mask, shrink_axis_mask=shrink_axis_mask,
                             new_axis_mask=new_axis_mask, ellipsis_mask=ellipsis_mask,
                             var=var, name=name)


Tensor.__getitem__ = _slice_helper


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_creation_ops import ones_like  # noqa: E402
from .array_join_ops import concat, stack  # noqa: E402
from .array_pad_ops import pad  # noqa: E402
from .array_select_ops import boolean_mask  # noqa: E402
from .array_shape_ops import rank, reshape, shape  # noqa: E402
