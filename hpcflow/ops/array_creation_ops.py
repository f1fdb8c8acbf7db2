"""Array ops that create tensors: Fill, zeros/ones(_like), eye and the diagonal ops, Range,
LinSpace, OneHot, sequence_mask, meshgrid (TF1 `array_ops`)."""
import builtins

import numpy as np

from ..framework import dtypes, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import Dimension, TensorShape, unknown_shape
from .array_helpers import (
    _apply, _as_index_list, _check_index_dtype, _check_rank, _const, _const_as_shape, _const_int,
    _const_ints, _contains_tensor, _dims, _index_input, _invalid, _math, _op_scope, _same_shape,
    _shape_str)
from .op_helpers import as_tensor


# -- Fill, zeros, ones, ZerosLike, OnesLike ----------------------------------------------------

def _fill_shape(op):
    dims_t, value = op.inputs
    _check_index_dtype(dims_t, "dims", "Fill")
    _check_rank(dims_t, 1, "dims", "Fill")
    if value.shape.ndims is not None and value.shape.ndims != 0:
        raise ValueError("Fill: value must be a scalar, got shape %s" % value.shape)
    dims = _const_ints(dims_t)
    if dims is not None:
        for d in dims:
            if d < 0:
                raise ValueError("Fill dimensions must be >= 0, got %s" % _shape_str(dims))
        return [(TensorShape(dims), value.dtype)]
    return [(_const_as_shape(dims_t), value.dtype)]


def _fill_kernel(dims, value):
    dims = _as_index_list(dims, "dims", "Fill")
    value = np.asarray(value)
    if value.ndim != 0:
        raise _invalid("value must be a scalar, got shape %s" % _shape_str(value.shape))
    if builtins.any(d < 0 for d in dims):
        raise _invalid("dims must be non-negative, got %s" % _shape_str(dims))
    return np.full(dims, value, dtype=value.dtype)


def _fill_grad(op, grad):
    return [None, _math().reduce_sum(grad)]


def _zeros_like_kernel(x):
    x = np.asarray(x)
    return np.full(x.shape, b"" if x.dtype == object else 0, dtype=x.dtype)


def _ones_like_kernel(x):
    x = np.asarray(x)
    if x.dtype == object:
        raise _invalid("OnesLike is not defined for strings")
    return np.ones(x.shape, dtype=x.dtype)


# Constant fills are the same on every rank; a fill shaped by a split tensor is not.
registry.register_op("Fill", shape=_fill_shape, numpy=_fill_kernel, gradient=_fill_grad,
                     sharding=sharding.GATHER)
registry.register_op("ZerosLike", shape=_same_shape, numpy=_zeros_like_kernel,
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.like))
registry.register_op("OnesLike", shape=_same_shape, numpy=_ones_like_kernel,
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.like))
registry.not_differentiable("ZerosLike", "OnesLike")


def fill(dims, value, name=None):
    """Creates a tensor of shape `dims` filled with the scalar `value`.

    Args:
      dims: a 1-D int32/int64 list or Tensor, each >= 0.
      value: a scalar; its dtype is the output's.
      name: a name for the operation (default "Fill").

    Returns:
      A Tensor.

    Raises:
      ValueError: if `value` is not a scalar or a dim is negative.
    """
    with _op_scope(name, "Fill", [dims, value]) as scope:
        dims_t = _index_input(dims, "dims", "Fill")
        value = as_tensor(value, name="value")
        return _apply("Fill", [dims_t, value], name=scope)


def _fill_value(dtype, one):
    if dtype == dtypes.string:
        return b""
    if dtype == dtypes.bool:
        return builtins.bool(one)
    return 1 if one else 0


def _static_dims(shape_):
    """`shape_` as a list of non-negative ints when it is a plain Python/numpy shape."""
    if isinstance(shape_, TensorShape):
        return shape_.as_list() if shape_.is_fully_defined() else None
    if isinstance(shape_, Tensor) or _contains_tensor(shape_):
        return None
    if isinstance(shape_, (list, tuple)):
        shape_ = [v.value if isinstance(v, Dimension) else v for v in shape_]
    try:
        array = np.asarray(shape_)
    except (TypeError, ValueError):
        return None
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        return None
    dims = [int(d) for d in array.reshape(-1)]
    return dims if builtins.all(d >= 0 for d in dims) else None


def _filled(shape_, dtype, one, name, default_name):
    from .constant_op import constant
    dtype = dtypes.as_dtype(dtype)
    value = _fill_value(dtype, one)
    with _op_scope(name, default_name, [shape_]) as scope:
        dims = _static_dims(shape_)
        # Small known shapes become a constant, as TF1 (keeps GraphDefs small otherwise).
        if dims is not None and int(np.prod(dims, dtype=np.int64)) < 1000:
            return constant(np.full(dims, value, dtype=dtype.np_dtype), dtype=dtype, name=scope)
        shape_t = _index_input(shape_, "shape", "Fill")
        if shape_t.shape.ndims == 0:
            shape_t = reshape(shape_t, [-1])
        return fill(shape_t, constant(value, dtype=dtype), name=scope)


def zeros(shape, dtype=dtypes.float32, name=None):  # noqa: F811 - TF's argument name
    """Creates a tensor of `shape` with all elements zero (False / b"" for bool / string).

    Args:
      shape: a list of ints, a TensorShape or a 1-D int32/int64 Tensor.
      dtype: the element type (default float32).
      name: a name for the operation (default "zeros").

    Returns:
      A Tensor (a constant when the shape is known and small, else a Fill).
    """
    return _filled(shape, dtype, False, name, "zeros")


def ones(shape, dtype=dtypes.float32, name=None):  # noqa: F811
    """Creates a tensor of `shape` with all elements one (True for bool).

    Args:
      shape: a list of ints, a TensorShape or a 1-D int32/int64 Tensor.
      dtype: the element type (default float32).
      name: a name for the operation (default "ones").

    Returns:
      A Tensor.
    """
    return _filled(shape, dtype, True, name, "ones")


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """Creates a tensor of zeros with the shape of `tensor` (and its dtype, or `dtype`).

    Args:
      tensor: a Tensor.
      dtype: the output dtype (default: tensor's).
      name: a name for the operation (default "zeros_like").
      optimize: use a constant when the static shape is fully defined.

    Returns:
      A Tensor.
    """
    return _like(tensor, dtype, name, optimize, one=False)


def ones_like(tensor, dtype=None, name=None, optimize=True):
    """Creates a tensor of ones with the shape of `tensor` (and its dtype, or `dtype`).

    Args:
      tensor: a Tensor.
      dtype: the output dtype (default: tensor's).
      name: a name for the operation (default "ones_like").
      optimize: use a constant when the static shape is fully defined.

    Returns:
      A Tensor.
    """
    return _like(tensor, dtype, name, optimize, one=True)


def _like(tensor, dtype, name, optimize, one):
    default_name = "ones_like" if one else "zeros_like"
    with _op_scope(name, default_name, [tensor]) as scope:
        tensor = as_tensor(tensor, name="tensor")
        dtype = tensor.dtype if dtype is None else dtypes.as_dtype(dtype)
        if optimize and tensor.shape.is_fully_defined() and tensor.dtype != dtypes.variant:
            return _filled(tensor.shape.as_list(), dtype, one, scope, default_name)
        if dtype == tensor.dtype:
            return _apply("OnesLike" if one else "ZerosLike", [tensor], name=scope)
        return _filled(shape_internal(tensor, optimize=optimize), dtype, one, scope,
                       default_name)


# -- eye, MatrixDiag, MatrixDiagPart, MatrixSetDiag, Diag, DiagPart -----------------------------

def _matrix_diag_shape(op):
    d = op.inputs[0]
    dims = _dims(d.shape)
    if dims is None:
        return [(unknown_shape(), d.dtype)]
    if not dims:
        raise ValueError("MatrixDiag: input must be at least rank 1, got a scalar")
    return [(TensorShape(dims + [dims[-1]]), d.dtype)]


def _matrix_diag_kernel(diagonal):
    diagonal = np.asarray(diagonal)
    if diagonal.ndim < 1:
        raise _invalid("MatrixDiag: input must be at least rank 1")
    n = diagonal.shape[-1]
    out = np.zeros(diagonal.shape + (n,), dtype=diagonal.dtype)
    i = np.arange(n)
    out[..., i, i] = diagonal
    return out


def _matrix_diag_part_shape(op):
    x = op.inputs[0]
    dims = _dims(x.shape)
    if dims is None:
        return [(unknown_shape(), x.dtype)]
    if len(dims) < 2:
        raise ValueError("MatrixDiagPart: input must be at least rank 2, got shape %s"
                         % x.shape)
    m, n = dims[-2], dims[-1]
    k = None if m is None or n is None else min(m, n)
    return [(TensorShape(dims[:-2] + [k]), x.dtype)]


def _matrix_diag_part_kernel(x):
    x = np.asarray(x)
    if x.ndim < 2:
        raise _invalid("MatrixDiagPart: input must be at least rank 2")
    return np.ascontiguousarray(np.diagonal(x, axis1=-2, axis2=-1))


def _matrix_set_diag_shape(op):
    x, d = op.inputs
    if x.dtype != d.dtype:
        raise TypeError("MatrixSetDiag: diagonal (%s) must have the input's dtype %s"
                        % (d.dtype.name, x.dtype.name))
    return [(x.shape, x.dtype)]  # a diagonal of the wrong shape is reported at run time


def _matrix_set_diag_kernel(x, diagonal):
    x = np.asarray(x)
    out = x.copy()
    k = min(x.shape[-2], x.shape[-1])
    if np.shape(diagonal) != x.shape[:-2] + (k,):
        raise _invalid("MatrixSetDiag: diagonal must have shape %s, got %s"
                       % (_shape_str(x.shape[:-2] + (k,)), _shape_str(np.shape(diagonal))))
    i = np.arange(k)
    out[..., i, i] = diagonal
    return out


def _matrix_diag_grad(op, grad):
    return [matrix_diag_part(grad)]


def _matrix_diag_part_grad(op, grad):
    dims = _dims(op.inputs[0].shape)
    if dims is not None and dims[-2] is not None and dims[-2] == dims[-1]:
        return [matrix_diag(grad)]
    return [matrix_set_diag(zeros_like(op.inputs[0]), grad)]


def _matrix_set_diag_grad(op, grad):
    return [matrix_set_diag(grad, zeros_like(op.inputs[1])), matrix_diag_part(grad)]


def _diag_shape(op):
    d = op.inputs[0]
    dims = _dims(d.shape)
    if dims is None:
        return [(unknown_shape(), d.dtype)]
    if not dims:
        raise ValueError("Diag: input must be at least rank 1, got a scalar")
    return [(TensorShape(dims + dims), d.dtype)]


def _diag_kernel(diagonal):
    diagonal = np.asarray(diagonal)
    n = diagonal.size
    out = np.zeros((n, n), dtype=diagonal.dtype)
    out[np.arange(n), np.arange(n)] = diagonal.reshape(-1)
    return out.reshape(diagonal.shape + diagonal.shape)


def _diag_part_shape(op):
    x = op.inputs[0]
    dims = _dims(x.shape)
    if dims is None:
        return [(unknown_shape(), x.dtype)]
    k = len(dims) // 2
    if len(dims) % 2 or not k:
        raise ValueError("DiagPart: input must have an even, non-zero rank, got shape %s"
                         % x.shape)
    out = []
    for a, b in zip(dims[:k], dims[k:]):
        if a is not None and b is not None and a != b:
            raise ValueError("DiagPart: dims %d and %d of shape %s must match" % (a, b, x.shape))
        out.append(a if a is not None else b)
    return [(TensorShape(out), x.dtype)]


def _diag_part_kernel(x):
    x = np.asarray(x)
    k = x.ndim // 2
    if x.ndim % 2 or not k or x.shape[:k] != x.shape[k:]:
        raise _invalid("DiagPart: input must have shape [D1..Dk, D1..Dk], got %s"
                       % _shape_str(x.shape))
    n = int(np.prod(x.shape[:k], dtype=np.int64))
    return np.ascontiguousarray(x.reshape(n, n).diagonal()).reshape(x.shape[:k])


registry.register_op("MatrixDiag", shape=_matrix_diag_shape, numpy=_matrix_diag_kernel,
                     gradient=_matrix_diag_grad, sharding=sharding.GATHER)
registry.register_op("MatrixDiagPart", shape=_matrix_diag_part_shape,
                     numpy=_matrix_diag_part_kernel, gradient=_matrix_diag_part_grad,
                     sharding=sharding.GATHER)
registry.register_op("MatrixSetDiag", shape=_matrix_set_diag_shape,
                     numpy=_matrix_set_diag_kernel, gradient=_matrix_set_diag_grad,
                     sharding=sharding.GATHER)
registry.register_op("Diag", shape=_diag_shape, numpy=_diag_kernel,
                     gradient=lambda op, grad: [diag_part(grad)], sharding=sharding.GATHER)
registry.register_op("DiagPart", shape=_diag_part_shape, numpy=_diag_part_kernel,
                     gradient=lambda op, grad: [diag(grad)], sharding=sharding.GATHER)


def matrix_diag(diagonal, name="diag"):
    """Batched diagonal matrices: `[..., N]` -> `[..., N, N]` with `diagonal` on the diagonal."""
    with _op_scope(name, "MatrixDiag", [diagonal]) as scope:
        diagonal = as_tensor(diagonal, name="diagonal")
        return _apply("MatrixDiag", [diagonal], name=scope)


def matrix_diag_part(input, name="diag_part"):  # noqa: A002
    """Batched main diagonals: `[..., M, N]` -> `[..., min(M, N)]`."""
    with _op_scope(name, "MatrixDiagPart", [input]) as scope:
        input = as_tensor(input, name="input")
        return _apply("MatrixDiagPart", [input], name=scope)


def matrix_set_diag(input, diagonal, name="set_diag"):  # noqa: A002
    """Replaces the main diagonal of each matrix of `input` with `diagonal`."""
    with _op_scope(name, "MatrixSetDiag", [input, diagonal]) as scope:
        input = as_tensor(input, name="input")
        diagonal = convert_to_tensor(diagonal, dtype=input.dtype, name="diagonal")
        return _apply("MatrixSetDiag", [input, diagonal], name=scope)


def diag(diagonal, name=None):
    """`tf.diag`: a rank-2k tensor with `diagonal` (rank k) on its diagonal."""
    with _op_scope(name, "Diag", [diagonal]) as scope:
        diagonal = as_tensor(diagonal, name="diagonal")
        return _apply("Diag", [diagonal], name=scope)


def diag_part(input, name=None):  # noqa: A002
    """`tf.diag_part`: the diagonal of a rank-2k tensor of shape [D1..Dk, D1..Dk]."""
    with _op_scope(name, "DiagPart", [input]) as scope:
        input = as_tensor(input, name="input")
        return _apply("DiagPart", [input], name=scope)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    """An identity matrix, or a batch of them.

    Args:
      num_rows: rows of each matrix.
      num_columns: columns (default: `num_rows`).
      batch_shape: a list of leading batch dims (default: none).
      dtype: the element type (default float32).
      name: a name for the operation (default "eye").

    Returns:
      A Tensor of shape `batch_shape + [num_rows, num_columns]`.
    """
    dtype = dtypes.as_dtype(dtype)
    with _op_scope(name, "eye", [num_rows, num_columns]):
        is_square = num_columns is None
        batch = [] if batch_shape is None else list(batch_shape)
        num_columns = num_rows if num_columns is None else num_columns
        static = builtins.all(not isinstance(v, Tensor) for v in [num_rows, num_columns] + batch)
        if static:
            num_rows, num_columns = int(num_rows), int(num_columns)
            diag_shape = batch + [min(num_rows, num_columns)]
            full_shape = batch + [num_rows, num_columns]
        else:
            math_ops = _math()
            num_rows = _index_input(num_rows, "num_rows", "eye", dtype=dtypes.int32)
            num_columns = _index_input(num_columns, "num_columns", "eye", dtype=dtypes.int32)
            batch_t = _index_input(batch, "batch_shape", "eye", dtype=dtypes.int32)
            diag_shape = concat([batch_t, [math_ops.minimum(num_rows, num_columns)]], 0)
            full_shape = concat([batch_t, [num_rows, num_columns]], 0)
        if is_square:
            return matrix_diag(ones(diag_shape, dtype=dtype))
        return matrix_set_diag(zeros(full_shape, dtype=dtype), ones(diag_shape, dtype=dtype))


# -- Range, LinSpace ---------------------------------------------------------------------------

_RANGE_TYPES = (dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64)


def _range_count(start, limit, delta, dtype, error):
    if delta == 0:
        raise error("Requires delta != 0: %s" % (delta,))
    if delta > 0 and start > limit:
        raise error("Requires start <= limit when delta > 0: %s/%s" % (start, limit))
    if delta < 0 and start < limit:
        raise error("Requires start >= limit when delta < 0: %s/%s" % (start, limit))
    if dtype.is_integer:
        return (abs(int(limit) - int(start)) + abs(int(delta)) - 1) // abs(int(delta))
    np_type = dtype.np_dtype.type
    return int(np.ceil(np.abs((np_type(limit) - np_type(start)) / np_type(delta))))


def _range_shape(op):
    start, limit, delta = op.inputs
    for t, arg in zip(op.inputs, ("start", "limit", "delta")):
        _check_rank(t, 0, arg, "Range")
        if t.dtype != start.dtype:
            raise TypeError("Range: %s has dtype %s, expected %s" % (arg, t.dtype.name,
                                                                     start.dtype.name))
    if start.dtype not in _RANGE_TYPES:
        raise TypeError("Range: dtype %s is not one of int32, int64, float32, float64"
                        % start.dtype.name)
    values = [_const(t) for t in op.inputs]
    if builtins.any(v is None for v in values):
        return [(TensorShape([None]), start.dtype)]
    n = _range_count(*[np.asarray(v).item() for v in values], start.dtype, ValueError)
    return [(TensorShape([n]), start.dtype)]


def _range_kernel(start, limit, delta):
    dtype = dtypes.as_dtype(np.asarray(start).dtype)
    s, l_, d = (np.asarray(v).item() for v in (start, limit, delta))
    n = _range_count(s, l_, d, dtype, _invalid)
    np_type = dtype.np_dtype
    return (np.asarray(start, np_type) + np.arange(n, dtype=np_type) *
            np.asarray(delta, np_type)).astype(np_type, copy=False)


registry.register_op("Range", shape=_range_shape, numpy=_range_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("Range")


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 - TF's name
    """A sequence `start, start + delta, ...` up to but excluding `limit` (TF1 `tf.range`).

    With one argument, it is the limit and the sequence starts at 0. The dtype is the
    widest of the arguments' in int32 < int64 < float32 < float64 (Python ints are
    int32, floats float32) unless `dtype` is given.

    Args:
      start, limit, delta: scalars or scalar Tensors.
      dtype: the output dtype.
      name: a name for the operation (default "range").

    Returns:
      A 1-D Tensor.

    Raises:
      ValueError: at build time if delta is 0 or has the wrong sign.
      InvalidArgumentError: at run time for the same.
    """
    if limit is None:
        start, limit = 0, start
    with _op_scope(name, "Range", [start, limit, delta]) as scope:
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
            args = [convert_to_tensor(v, dtype=dtype, name=n)
                    for v, n in ((start, "start"), (limit, "limit"), (delta, "delta"))]
        else:
            raw = ((start, "start"), (limit, "limit"), (delta, "delta"))
            kinds = []
            for v, n in raw:
                kind = as_tensor(v).dtype if is_tensor_like(v) else \
                    dtypes.as_dtype(tensor_util.make_ndarray(v).dtype)
                if kind not in _RANGE_TYPES:
                    raise TypeError("range: %s has dtype %s, not one of int32, int64, "
                                    "float32, float64" % (n, kind.name))
                kinds.append(kind)
            inferred = max(kinds, key=_RANGE_TYPES.index)
            # Python numbers are converted straight to the inferred type; Tensors are cast.
            args = []
            for (v, n), kind in zip(raw, kinds):
                if is_tensor_like(v):
                    t = as_tensor(v, name=n)
                    args.append(t if kind == inferred else _math().cast(t, inferred))
                else:
                    args.append(convert_to_tensor(v, dtype=inferred, name=n))
        return _apply("Range", args, name=scope)


def _linspace_shape(op):
    start, stop, num = op.inputs
    if not start.dtype.is_floating:
        raise TypeError("LinSpace: start must be float32 or float64, got %s" % start.dtype.name)
    if stop.dtype != start.dtype:
        raise TypeError("LinSpace: stop (%s) must have start's dtype %s"
                        % (stop.dtype.name, start.dtype.name))
    _check_index_dtype(num, "num", "LinSpace")
    for t, arg in zip(op.inputs, ("start", "stop", "num")):
        _check_rank(t, 0, arg, "LinSpace")
    n = _const_int(num)
    return [(TensorShape([n if n is None or n > 0 else None]), start.dtype)]


def _linspace_kernel(start, stop, num):
    n = int(num)
    if n <= 0:
        raise _invalid("Requires num > 0: %d" % n)
    np_type = np.asarray(start).dtype
    start, stop = np_type.type(start), np_type.type(stop)
    if n == 1:
        return np.array([start], dtype=np_type)
    step = (stop - start) / np_type.type(n - 1)
    out = start + np.arange(n, dtype=np_type) * step
    out[-1] = stop
    return out.astype(np_type, copy=False)


registry.register_op("LinSpace", shape=_linspace_shape, numpy=_linspace_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("LinSpace")


def linspace(start, stop, num, name=None):
    """`num` evenly spaced values from `start` to `stop` inclusive (op LinSpace).

    Args:
      start, stop: float32/float64 scalars (stop takes start's dtype).
      num: an int32/int64 scalar > 0.
      name: a name for the operation (default "LinSpace").

    Returns:
      A 1-D Tensor of `num` values.
    """
    with _op_scope(name, "LinSpace", [start, stop, num]) as scope:
        if isinstance(start, Tensor) or not isinstance(stop, Tensor):
            start = convert_to_tensor(start, name="start", preferred_dtype=dtypes.float32)
            stop = convert_to_tensor(stop, dtype=start.dtype, name="stop") \
                if not isinstance(stop, Tensor) else stop
        else:
            start = convert_to_tensor(start, dtype=stop.dtype, name="start")
        num = _index_input(num, "num", "LinSpace")
        return _apply("LinSpace", [start, stop, num], name=scope)


lin_space = linspace


# -- OneHot ------------------------------------------------------------------------------------

def _one_hot_shape(op):
    indices, depth_t, on_value, off_value = op.inputs
    axis = op.get_attr("axis")
    if not indices.dtype.is_integer:
        raise TypeError("OneHot: indices must be integers, got %s" % indices.dtype.name)
    if depth_t.dtype != dtypes.int32:
        raise TypeError("OneHot: depth must be int32, got %s" % depth_t.dtype.name)
    _check_rank(depth_t, 0, "depth", "OneHot")
    _check_rank(on_value, 0, "on_value", "OneHot")
    _check_rank(off_value, 0, "off_value", "OneHot")
    if on_value.dtype != off_value.dtype:
        raise TypeError("OneHot: on_value (%s) and off_value (%s) must have the same dtype"
                        % (on_value.dtype.name, off_value.dtype.name))
    dims = _dims(indices.shape)
    if axis < -1:
        raise ValueError("OneHot: axis must be >= -1, got %d" % axis)
    if dims is None:
        return [(unknown_shape(), on_value.dtype)]
    if axis > len(dims):
        return [(unknown_shape(), on_value.dtype)]  # reported when the op runs, as TF
    depth = _const_int(depth_t)
    if depth is not None and depth < 0:
        raise ValueError("OneHot: depth must be non-negative, got %d" % depth)
    position = len(dims) if axis == -1 else axis
    return [(TensorShape(dims[:position] + [depth] + dims[position:]), on_value.dtype)]


def _one_hot_kernel(indices, depth, on_value, off_value, *, axis):
    indices = np.asarray(indices)
    depth = int(depth)
    if depth < 0:
        raise _invalid("OneHot: depth must be non-negative, got: %d" % depth)
    if not -1 <= axis <= indices.ndim:
        raise _invalid("Expected axis to be -1 or between [0, %d).  But received: %d"
                       % (indices.ndim + 1, axis))
    on = np.asarray(on_value)
    hot = indices[..., None] == np.arange(depth)
    out = np.where(hot, on, np.asarray(off_value)).astype(on.dtype, copy=False)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return np.ascontiguousarray(out)


# Rows are independent only for axis=-1, which the tag cannot see: the safe rule applies.
registry.register_op("OneHot", shape=_one_hot_shape, numpy=_one_hot_kernel,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.row_aligned(0)))
registry.not_differentiable("OneHot")


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot encodes `indices`: `on_value` where `indices == j` at position j, else off.

    Indices outside `[0, depth)` give a row of `off_value`.

    Args:
      indices: an integer Tensor.
      depth: an int32 scalar, the size of the new dimension.
      on_value / off_value: scalars (default 1 and 0) of `dtype`.
      axis: where the new dimension goes (default -1: last).
      dtype: the output dtype (default: that of on/off_value, else float32).
      name: a name for the operation (default "one_hot").

    Returns:
      A Tensor of rank `rank(indices) + 1`.

    Raises:
      TypeError: if on_value, off_value and dtype disagree.
    """
    with _op_scope(name, "one_hot", [indices, depth, on_value, off_value]) as scope:
        on_exists = on_value is not None
        off_exists = off_value is not None
        on_dtype = as_tensor(on_value).dtype if on_exists and is_tensor_like(on_value) \
            else None
        off_dtype = as_tensor(off_value).dtype if off_exists and is_tensor_like(off_value) \
            else None
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
        if on_exists or off_exists:
            if dtype is not None:
                if on_dtype is not None and on_dtype != dtype:
                    raise TypeError("dtype %s of on_value does not match dtype parameter %s"
                                    % (on_dtype.name, dtype.name))
                if off_dtype is not None and off_dtype != dtype:
                    raise TypeError("dtype %s of off_value does not match dtype parameter %s"
                                    % (off_dtype.name, dtype.name))
            else:
                dtype = on_dtype or off_dtype
                if dtype is None:
                    dtype = tensor_util.make_ndarray(on_value if on_exists else off_value).dtype
                    dtype = dtypes.as_dtype(dtype)
        if dtype is None:
            dtype = dtypes.float32
        if on_dtype is not None and off_dtype is not None and on_dtype != off_dtype:
            raise TypeError("dtype %s of on_value does not match dtype %s of off_value"
                            % (on_dtype.name, off_dtype.name))
        on_t = convert_to_tensor(1 if on_value is None else on_value, dtype=dtype,
                                 name="on_value")
        off_t = convert_to_tensor(0 if off_value is None else off_value, dtype=dtype,
                                  name="off_value")
        indices_t = as_tensor(indices, name="indices")
        depth_t = convert_to_tensor(depth, dtype=dtypes.int32, name="depth") \
            if not isinstance(depth, Tensor) else depth
        return _apply("OneHot", [indices_t, depth_t, on_t, off_t],
                        {"axis": -1 if axis is None else int(axis)}, name=scope)


# -- sequence_mask -----------------------------------------------------------------------------

def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool, name=None):
    """A mask with `mask[i..., j] = j < lengths[i...]`, of shape `lengths.shape + [maxlen]`.

    Args:
      lengths: an integer Tensor.
      maxlen: a scalar (default: the largest length).
      dtype: the output dtype (default bool).
      name: a name for the operation (default "SequenceMask").

    Returns:
      A Tensor of `dtype`.

    Raises:
      ValueError: if `maxlen` is not a scalar.
    """
    math_ops = _math()
    with _op_scope(name, "SequenceMask", [lengths, maxlen]):
        lengths = as_tensor(lengths, name="lengths")
        if maxlen is None:
            maxlen = math_ops.reduce_max(lengths)
            maxlen = math_ops.maximum(convert_to_tensor(0, dtype=maxlen.dtype), maxlen)
        else:
            maxlen = convert_to_tensor(maxlen, name="maxlen")
        if maxlen.shape.ndims is not None and maxlen.shape.ndims != 0:
            raise ValueError("maxlen must be scalar for sequence_mask")
        row_vector = range(convert_to_tensor(0, dtype=maxlen.dtype), maxlen,
                           convert_to_tensor(1, dtype=maxlen.dtype))
        matrix = expand_dims(lengths, -1)
        if matrix.dtype != maxlen.dtype:
            matrix = math_ops.cast(matrix, maxlen.dtype)
        result = math_ops.less(row_vector, matrix)
        dtype = dtypes.as_dtype(dtype)
        return result if dtype == dtypes.bool else math_ops.cast(result, dtype)


# -- meshgrid ---------------------------------------------------------------------------------

def meshgrid(*args, **kwargs):
    """N-D coordinate arrays from 1-D coordinate vectors, as `np.meshgrid`.

    Args:
      *args: 1-D Tensors (or lists) of the same dtype.
      indexing: "xy" (Cartesian, default) or "ij" (matrix), keyword only.
      name: a name for the operation (default "meshgrid"), keyword only.

    Returns:
      A list of N Tensors of rank N.

    Raises:
      TypeError: for an unknown keyword argument.
      ValueError: for an unknown indexing mode.
    """
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError("'%s' is an invalid keyword argument for this function"
                        % next(iter(kwargs)))
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    with _op_scope(name, "meshgrid", args):
        ndim = len(args)
        ones_shape = (1,) * ndim
        output = [reshape(stack(x), ones_shape[:i] + (-1,) + ones_shape[i + 1:])
                  for i, x in enumerate(args)]
        shapes = [size(x) for x in args]
        output_dtype = as_tensor(args[0]).dtype
        if indexing == "xy" and ndim > 1:
            output[0] = reshape(output[0], (1, -1) + (1,) * (ndim - 2))
            output[1] = reshape(output[1], (-1, 1) + (1,) * (ndim - 2))
            shapes[0], shapes[1] = shapes[1], shapes[0]
        mult_fact = ones(shapes, output_dtype)
        return [_math().multiply(x, mult_fact) for x in output]


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_join_ops import concat, stack  # noqa: E402
from .array_shape_ops import expand_dims, reshape, shape_internal, size  # noqa: E402
