"""Array ops (TF1 `array_ops`): shapes, reshaping, slicing, joining, gathering, creation.

Every op here is one registry record (shape function, numpy kernel, gradient, sharding
tag) next to its TF1-named Python wrapper. Index arguments (shapes, axes, begin/size,
paddings...) are graph inputs as in TF, so their values may be unknown when the graph is
built: shape functions read them with `tensor_util.constant_value` and infer what they can.
Importing this module also installs `Tensor.__getitem__` (NumPy-style indexing built on
`strided_slice`, as TF's `_slice_helper`).
"""
import builtins
import collections
import contextlib
import numbers

import numpy as np

from ..framework import dtypes, errors, registry, sharding, tensor_util
from ..framework.graph import Tensor, graph_for_inputs
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import Dimension, TensorShape, as_shape, unknown_shape
from .op_helpers import apply_op, as_tensor

# `tf.newaxis`: inserts a length-1 dimension when used in `Tensor.__getitem__`.
newaxis = None

_INDEX_DTYPES = (dtypes.int32, dtypes.int64)


# -- helpers ---------------------------------------------------------------------------------

def _invalid(message):
    """The error a kernel raises for a bad runtime value (the executor adds the op name)."""
    return errors.InvalidArgumentError(None, None, message)


# Shape-like values (int/bool, small) computed by other ops are folded while the graph is
# built, so `reshape(g, concat([expand_dims(size(i), 0), shape(p)[1:]], 0))` still gets a
# static shape (TF's shape inference evaluates such small constant subgraphs too).
_FOLD_MAX_ELEMENTS = 1000


def _const(t, depth=0, memo=None):
    """The build-time value of Tensor `t` as a numpy array, or None."""
    value = tensor_util.constant_value(t)
    if value is not None or not isinstance(t, Tensor) or depth > 32:
        return value
    op = t.op
    record = op._record
    if record is None or record.stateful or record.context or "numpy" not in record.kernels \
            or op.type in _NEVER_FOLD:
        return None
    if not (t.dtype.is_integer or t.dtype.is_bool) or not op.inputs:
        return None
    n = t.shape.num_elements()
    if n is None or n > _FOLD_MAX_ELEMENTS:
        return None
    memo = {} if memo is None else memo
    if t in memo:
        return memo[t]
    memo[t] = None
    args = []
    for x in op.inputs:
        if x.shape.num_elements() is None or x.shape.num_elements() > _FOLD_MAX_ELEMENTS:
            return None
        v = _const(x, depth + 1, memo)
        if v is None:
            return None
        args.append(v)
    try:
        result = record.kernels["numpy"](*args, **op.attrs)
    except Exception:  # noqa: BLE001 - a bad value is reported when the graph runs
        return None
    if len(op.outputs) > 1:
        result = result[t.value_index]
    memo[t] = np.asarray(result)
    return memo[t]


# Ops whose output is not a function of their inputs' values alone (they can be fed).
_NEVER_FOLD = frozenset(["PlaceholderWithDefault"])


def _const_as_shape(t):
    """A TensorShape from 1-D shape Tensor `t`: known entries where they can be inferred."""
    if t.op.type == "Shape":
        return t.op.inputs[0].shape
    value = _const(t)
    if value is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.asarray(value).reshape(-1)])
    if t.op.type == "Pack":
        dims = [_const_int(x) for x in t.op.inputs]
        return TensorShape([None if d is None or d < 0 else d for d in dims])
    if t.op.type == "ConcatV2":
        result = TensorShape([])
        for x in t.op.inputs[:-1]:
            part = _const_as_shape(x)
            if part.ndims is None:
                return unknown_shape(t.shape[0] if t.shape.ndims == 1 else None)
            result = result.concatenate(part)
        return result
    if t.op.type == "StridedSlice" and t.shape.ndims == 1:
        # shape(x)[a:b:c] with known bounds and no axis tricks: slice x's static dims.
        x, begin, end, strides = t.op.inputs
        masks = dict(zip(_MASK_ATTRS, _masks(t.op)))
        source = _const_as_shape(x)
        b, e, s = _const_ints(begin), _const_ints(end), _const_ints(strides)
        if source.ndims is not None and None not in (b, e, s) and len(s) == 1 and \
                not (masks["ellipsis_mask"] or masks["new_axis_mask"] or
                     masks["shrink_axis_mask"]):
            start = None if masks["begin_mask"] & 1 else b[0]
            stop = None if masks["end_mask"] & 1 else e[0]
            return TensorShape(list(source.as_tuple_or_none())[start:stop:s[0]])
    return tensor_util.constant_value_as_shape(t)


def _const_int(t):
    """The build-time value of scalar (or 1-element) Tensor `t` as an int, or None."""
    v = _const(t)
    if v is None:
        return None
    v = np.asarray(v)
    if v.size != 1:
        return None
    return int(v.reshape(-1)[0])


def _const_ints(t):
    """The build-time value of 1-D Tensor `t` as a list of ints, or None."""
    v = _const(t)
    if v is None:
        return None
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _dims(shape):
    """A TensorShape as a list of ints/None, or None for unknown rank."""
    shape = as_shape(shape)
    return None if shape.ndims is None else list(shape.as_tuple_or_none())


def _check_index_dtype(t, arg, op_name):
    if t.dtype not in _INDEX_DTYPES:
        raise TypeError("Value passed to parameter '%s' of %s has DataType %s not in list of "
                        "allowed values: int32, int64" % (arg, op_name, t.dtype.name))


def _check_rank(t, rank, arg, op_name):
    if t.shape.ndims is not None and t.shape.ndims != rank:
        raise ValueError("Shape must be rank %d but is rank %d for '%s' of %s (shape %s)"
                         % (rank, t.shape.ndims, arg, op_name, t.shape))


def _check_same_dtype(tensors, arg, op_name):
    types = [t.dtype for t in tensors]
    if any(d != types[0] for d in types):
        raise TypeError("Tensors in list passed to '%s' of '%s' Op have types [%s] that don't "
                        "all match." % (arg, op_name, ", ".join(d.name for d in types)))


def _index_input(value, arg, op_name, dtype=None):
    """Converts a shape/axis/index argument: Python ints become int32 (int64 when too big).

    Raises:
      TypeError: if the value is not integral (TF refuses float shapes and indices).
    """
    if isinstance(value, TensorShape):
        if not value.is_fully_defined():
            raise ValueError("Cannot convert a partially known TensorShape %s to a Tensor "
                             "(argument '%s' of %s)" % (value, arg, op_name))
        value = value.as_list()
    elif isinstance(value, Dimension):
        value = value.value
    elif isinstance(value, (list, tuple)) and not _contains_tensor(value):
        value = [v.value if isinstance(v, Dimension) else v for v in value]
    if dtype is not None:
        t = convert_to_tensor(value, dtype=dtype, name=arg)
    else:
        t = convert_to_tensor(value, preferred_dtype=dtypes.int32, name=arg)
    _check_index_dtype(t, arg, op_name)
    return t


def _contains_tensor(value):
    if isinstance(value, (list, tuple)):
        return builtins.any(_contains_tensor(v) for v in value)
    return is_tensor_like(value)


def _canonical_axis(axis, rank, op_name, arg="axis"):
    """`axis` in [-rank, rank) made non-negative.

    Raises:
      ValueError: naming the op when it is out of range.
    """
    if not -rank <= axis < rank:
        raise ValueError("%s: %s %d is out of range for a tensor of rank %d (expected in "
                         "[%d, %d))" % (op_name, arg, axis, rank, -rank, rank))
    return axis % rank if rank else axis


def _kernel_axis(axis, rank, op_name, arg="axis"):
    axis = int(np.asarray(axis).reshape(-1)[0]) if np.size(axis) == 1 else None
    if axis is None:
        raise _invalid("%s: %s must be a scalar" % (op_name, arg))
    if not -rank <= axis < rank:
        raise _invalid("%s: %s %d is out of range [%d, %d)" % (op_name, arg, axis, -rank, rank))
    return axis % rank if rank else axis


def _as_index_list(array, arg, op_name):
    array = np.asarray(array)
    if array.ndim != 1:
        raise _invalid("%s: %s must be 1-D, got shape %s" % (op_name, arg, list(array.shape)))
    return [int(v) for v in array]


def _shape_str(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


def _broadcast_dims(a, b, op_name):
    """Static NumPy broadcasting of two dim lists (None: unknown dim); None if rank unknown.

    Raises:
      ValueError: if two known dims differ and neither is 1.
    """
    if a is None or b is None:
        return None
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        elif x == y:
            out.append(x)
        else:
            raise ValueError("%s: incompatible shapes for broadcasting: %s and %s"
                             % (op_name, _shape_str(["?" if d is None else d for d in a]),
                                _shape_str(["?" if d is None else d for d in b])))
    return out


def _apply(op_type, inputs, attrs=None, name=None):
    """`op_helpers.apply_op` (which picks the function graph being built, if any)."""
    return apply_op(op_type, inputs, attrs, name=name)


def _math():
    # math_ops imports this module, so gradients and composites import it when they run.
    from . import math_ops
    return math_ops


# -- Identity, StopGradient --------------------------------------------------------------------

def _same_shape(op):
    x = op.inputs[0]
    return [(x.shape, x.dtype)]


def _identity_kernel(x):
    return x


registry.register_op("Identity", shape=_same_shape, numpy=_identity_kernel,
                     gradient=lambda op, grad: [grad], sharding=sharding.ELEMENTWISE)
registry.register_op("StopGradient", shape=_same_shape, numpy=_identity_kernel,
                     sharding=sharding.ELEMENTWISE)
# A cut for autodiff: no gradient flows back through stop_gradient.
registry.not_differentiable("StopGradient")


def identity(input, name=None):  # noqa: A002 - TF's argument name
    """Returns a tensor with the same shape and contents as `input`.

    Args:
      input: a Tensor (or convertible value).
      name: a name for the operation (default "Identity").

    Returns:
      A Tensor of the same dtype and shape.
    """
    with _op_scope(name, "Identity", [input]) as scope:
        input = as_tensor(input, name="input")
        return _apply("Identity", [input], name=scope)


def stop_gradient(input, name=None):  # noqa: A002
    """Passes `input` through unchanged but blocks gradients (autodiff treats it as constant).

    Args:
      input: a Tensor.
      name: a name for the operation (default "StopGradient").

    Returns:
      A Tensor equal to `input`.
    """
    with _op_scope(name, "StopGradient", [input]) as scope:
        input = as_tensor(input, name="input")
        return _apply("StopGradient", [input], name=scope)


# -- Shape, ShapeN, Size, Rank -----------------------------------------------------------------

def _shape_shape(op):
    x = op.inputs[0]
    out_type = dtypes.as_dtype(op.get_attr("out_type"))
    return [(TensorShape([x.shape.ndims]), out_type)]


def _shape_kernel(x, *, out_type):
    return np.array(np.shape(x), dtype=dtypes.as_dtype(out_type).np_dtype)


def _shape_n_shape(op):
    out_type = dtypes.as_dtype(op.get_attr("out_type"))
    return [(TensorShape([x.shape.ndims]), out_type) for x in op.inputs]


def _shape_n_kernel(*xs, out_type, N):  # noqa: N803 - TF's attr name
    np_type = dtypes.as_dtype(out_type).np_dtype
    return tuple(np.array(np.shape(x), dtype=np_type) for x in xs)


def _size_shape(op):
    return [(TensorShape([]), dtypes.as_dtype(op.get_attr("out_type")))]


def _size_kernel(x, *, out_type):
    return np.array(np.size(x), dtype=dtypes.as_dtype(out_type).np_dtype)


def _rank_shape(op):
    return [(TensorShape([]), dtypes.int32)]


def _rank_kernel(x):
    return np.array(np.ndim(x), dtype=np.int32)


# The shape of a batch-split tensor differs between ranks: these need the whole tensor.
registry.register_op("Shape", shape=_shape_shape, numpy=_shape_kernel, sharding=sharding.GATHER)
registry.register_op("ShapeN", shape=_shape_n_shape, numpy=_shape_n_kernel,
                     sharding=sharding.GATHER)
registry.register_op("Size", shape=_size_shape, numpy=_size_kernel, sharding=sharding.GATHER)
registry.register_op("Rank", shape=_rank_shape, numpy=_rank_kernel, sharding=sharding.GATHER)
registry.not_differentiable("Shape", "ShapeN", "Size", "Rank")


def _check_out_type(out_type, op_name):
    out_type = dtypes.as_dtype(out_type)
    if out_type not in _INDEX_DTYPES:
        raise TypeError("%s: out_type must be int32 or int64, got %s" % (op_name, out_type.name))
    return out_type


@contextlib.contextmanager
def _op_scope(name, default, values=()):
    """TF's `with name_scope(name, default, values) as scope`, on the graph of `values`.

    Inputs converted inside get names under the scope ("Reshape/shape"), and the op created
    with `name=scope` takes the scope's own name ("Reshape"), as TF's op wrappers do.
    """
    graph = graph_for_inputs(values)
    with graph.as_default(), graph.name_scope(name if name is not None else default) as scope:
        yield scope


def shape(input, name=None, out_type=dtypes.int32):  # noqa: A002
    """Returns the shape of `input` as a 1-D integer tensor.

    As TF1, a fully defined static shape gives a constant (named like the Shape op).

    Args:
      input: a Tensor.
      name: a name for the operation (default "Shape").
      out_type: int32 (default) or int64.

    Returns:
      A 1-D Tensor of `out_type`.
    """
    return shape_internal(input, name, optimize=True, out_type=out_type)


def shape_internal(input, name=None, optimize=True, out_type=dtypes.int32):  # noqa: A002
    """`shape` with control over the constant-folding of fully defined shapes."""
    out_type = _check_out_type(out_type, "Shape")
    if not isinstance(input, Tensor) and getattr(input, "dense_shape", None) is not None and \
            hasattr(input, "indices"):
        # A SparseTensor or IndexedSlices: its dense shape is the shape.
        dense_shape = as_tensor(input.dense_shape)
        return dense_shape if dense_shape.dtype == out_type else \
            _math().cast(dense_shape, out_type)
    with _op_scope(name, "Shape", [input]) as scope:
        input = as_tensor(input, name="input")
        if optimize and input.shape.is_fully_defined():
            from .constant_op import constant
            return constant(np.array(input.shape.as_list(), dtype=out_type.np_dtype),
                            name=scope)
        return _apply("Shape", [input], {"out_type": out_type.name}, name=scope)


def shape_n(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """Returns the shapes of a list of tensors (op ShapeN).

    Args:
      input: a list of Tensors.
      out_type: int32 (default) or int64.
      name: a name for the operation (default "ShapeN").

    Returns:
      A list of 1-D Tensors, one per input.
    """
    out_type = _check_out_type(out_type, "ShapeN")
    if not input:
        raise ValueError("shape_n needs at least one tensor")
    with _op_scope(name, "ShapeN", input) as scope:
        tensors = [as_tensor(t, name="input") for t in input]
        outputs = _apply("ShapeN", tensors, {"out_type": out_type.name, "N": len(tensors)},
                           name=scope)
    return outputs if isinstance(outputs, list) else [outputs]


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    """Returns the number of elements of `input` (a constant when statically known).

    Args:
      input: a Tensor.
      name: a name for the operation (default "Size").
      out_type: int32 (default) or int64.

    Returns:
      A scalar Tensor of `out_type`.
    """
    out_type = _check_out_type(out_type, "Size")
    with _op_scope(name, "Size", [input]) as scope:
        input = as_tensor(input, name="input")
        n = input.shape.num_elements()
        if n is not None:
            from .constant_op import constant
            return constant(np.array(n, dtype=out_type.np_dtype), name=scope)
        return _apply("Size", [input], {"out_type": out_type.name}, name=scope)


def rank(input, name=None):  # noqa: A002
    """Returns the rank of `input` as an int32 scalar (a constant when statically known).

    Args:
      input: a Tensor.
      name: a name for the operation (default "Rank").

    Returns:
      A scalar int32 Tensor.
    """
    with _op_scope(name, "Rank", [input]) as scope:
        input = as_tensor(input, name="input")
        if input.shape.ndims is not None:
            from .constant_op import constant
            return constant(np.array(input.shape.ndims, dtype=np.int32), name=scope)
        return _apply("Rank", [input], name=scope)


# -- Reshape -----------------------------------------------------------------------------------

def _reshape_shape(op):
    x, shape_t = op.inputs
    _check_index_dtype(shape_t, "shape", "Reshape")
    _check_rank(shape_t, 1, "shape", "Reshape")
    value = _const_ints(shape_t)
    n_in = x.shape.num_elements()
    if value is None:
        return [(_const_as_shape(shape_t), x.dtype)]
    unknown = [i for i, d in enumerate(value) if d == -1]
    if len(unknown) > 1 or builtins.any(d < -1 for d in value):
        # TF reports these when the op runs; the static shape just keeps the known sizes.
        return [(TensorShape([d if d >= 0 else None for d in value]), x.dtype)]
    known = int(np.prod([d for d in value if d != -1], dtype=np.int64))
    dims = list(value)
    if unknown:
        if n_in is not None:
            if known == 0:
                if n_in != 0:
                    raise ValueError("Reshape: cannot reshape a tensor with %d elements to "
                                     "shape %s" % (n_in, _shape_str(value)))
                dims[unknown[0]] = None
            elif n_in % known:
                raise ValueError("Cannot reshape a tensor with %d elements to shape %s (%d "
                                 "elements)" % (n_in, _shape_str(value), known))
            else:
                dims[unknown[0]] = n_in // known
        else:
            dims[unknown[0]] = None
    elif n_in is not None and known != n_in:
        raise ValueError("Cannot reshape a tensor with %d elements to shape %s (%d elements)"
                         % (n_in, _shape_str(value), known))
    elif n_in is None and x.shape.ndims is not None:
        # The input's known dims must divide the output size (its unknown ones are >= 0).
        known_in = int(np.prod([d for d in _dims(x.shape) if d is not None], dtype=np.int64))
        if known_in and known % known_in:
            raise ValueError("Reshape: dimension size must be evenly divisible by %d but is %d "
                             "(input shape %s, shape %s)" % (known_in, known, x.shape,
                                                             _shape_str(value)))
    return [(TensorShape(dims), x.dtype)]


def _reshape_kernel(tensor, shape):
    dims = _as_index_list(shape, "shape", "Reshape")
    unknown = [i for i, d in enumerate(dims) if d == -1]
    if len(unknown) > 1:
        raise _invalid("only one input size may be -1, not both %d and %d"
                       % (unknown[0], unknown[1]))
    for i, d in enumerate(dims):
        if d < -1:
            raise _invalid("size %d must be non-negative, not %d" % (i, d))
    n = int(np.size(tensor))
    known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
    if unknown:
        if known == 0:
            if n != 0:
                raise _invalid("Input to reshape is a tensor with %d values, but the requested "
                               "shape has 0" % n)
            raise _invalid("Reshape cannot infer the missing input size for an empty tensor "
                           "unless all specified input sizes are non-zero")
        if n % known:
            raise _invalid("Input to reshape is a tensor with %d values, but the requested "
                           "shape requires a multiple of %d" % (n, known))
        dims[unknown[0]] = n // known
    elif known != n:
        raise _invalid("Input to reshape is a tensor with %d values, but the requested shape "
                       "has %d" % (n, known))
    return np.reshape(tensor, dims)


def _reshape_grad(op, grad):
    return [reshape(grad, shape(op.inputs[0])), None]


# A batch-split input stays split only for some target shapes (e.g. a leading -1 whose
# row size matches): the tag cannot see the attrs, so the safe rule applies.
registry.register_op("Reshape", shape=_reshape_shape, numpy=_reshape_kernel,
                     gradient=_reshape_grad, sharding=sharding.GATHER)


def reshape(tensor, shape, name=None):  # noqa: F811 - TF's argument name shadows shape()
    """Reshapes `tensor` to `shape` (one entry may be -1: inferred from the size).

    Args:
      tensor: a Tensor.
      shape: a 1-D int32/int64 Tensor, list or TensorShape.
      name: a name for the operation (default "Reshape").

    Returns:
      A Tensor with the same elements, in the same (row-major) order.

    Raises:
      ValueError: at build time if the sizes are known not to match.
      InvalidArgumentError: at run time if they do not match.
    """
    with _op_scope(name, "Reshape", [tensor, shape]) as scope:
        tensor = as_tensor(tensor, name="tensor")
        shape_t = _index_input(shape, "shape", "Reshape")
        return _apply("Reshape", [tensor, shape_t], name=scope)


# -- Transpose ---------------------------------------------------------------------------------

def _check_perm(perm, rank, error):
    if len(perm) != rank:
        raise error("transpose expects a vector of size %d. But input(1) is a vector of size %d"
                    % (rank, len(perm)))
    seen = set()
    for d in perm:
        if not 0 <= d < rank:
            raise error("%d is out of range [0 .. %d)" % (d, rank))
        if d in seen:
            raise error("%d is duplicated in perm %s" % (d, _shape_str(perm)))
        seen.add(d)


def _transpose_shape(op):
    x, perm_t = op.inputs
    _check_index_dtype(perm_t, "perm", op.type)
    _check_rank(perm_t, 1, "perm", op.type)
    perm = _const_ints(perm_t)
    in_dims = _dims(x.shape)
    if perm is None:
        rank_ = len(in_dims) if in_dims is not None else perm_t.shape[0]
        return [(unknown_shape(rank_), x.dtype)]
    if in_dims is None:
        return [(unknown_shape(len(perm)), x.dtype)]
    if len(perm) != len(in_dims):
        raise ValueError("transpose expects a vector of size %d. But input(1) is a vector of "
                         "size %d" % (len(in_dims), len(perm)))
    # A repeated or out-of-range entry is reported when the op runs, as TF does.
    return [(TensorShape([in_dims[p] if 0 <= p < len(in_dims) else None for p in perm]),
             x.dtype)]


def _transpose_kernel(x, perm):
    perm = _as_index_list(perm, "perm", "Transpose")
    _check_perm(perm, np.ndim(x), _invalid)
    return np.transpose(x, perm)


def _conjugate_transpose_kernel(x, perm):
    return np.conj(_transpose_kernel(x, perm))


def _transpose_grad(op, grad):
    return [transpose(grad, invert_permutation(op.inputs[1])), None]


def _conjugate_transpose_grad(op, grad):
    return [transpose(grad, invert_permutation(op.inputs[1]), conjugate=True), None]


registry.register_op("Transpose", shape=_transpose_shape, numpy=_transpose_kernel,
                     gradient=_transpose_grad, sharding=sharding.GATHER)
registry.register_op("ConjugateTranspose", shape=_transpose_shape,
                     numpy=_conjugate_transpose_kernel, gradient=_conjugate_transpose_grad,
                     sharding=sharding.GATHER)


def transpose(a, perm=None, name="transpose", conjugate=False):
    """Permutes the dimensions of `a`: output dim i is input dim `perm[i]`.

    Args:
      a: a Tensor.
      perm: a permutation of the dimensions; None reverses them (matrix transpose for 2-D).
      name: a name for the operation (default "transpose").
      conjugate: also conjugate complex values (`tf.math.conj(tf.transpose(a))`).

    Returns:
      The transposed Tensor.

    Raises:
      ValueError: if `perm` is not a permutation of `[0, rank)`.
    """
    with _op_scope(name, "transpose", [a]) as scope:
        a = as_tensor(a, name="a")
        op_type = "ConjugateTranspose" if conjugate and a.dtype.is_complex else "Transpose"
        if perm is None:
            r = a.shape.ndims
            if r is not None:
                perm = np.arange(r - 1, -1, -1, dtype=np.int32)
            else:
                rank_t = rank(a)
                perm = _math().subtract(rank_t - 1, range(0, rank_t, 1))
        perm_t = _index_input(perm, "perm", op_type)
        return _apply(op_type, [a, perm_t], name=scope)


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Transposes the last two dimensions of `a` (rank >= 2).

    Raises:
      ValueError: if `a` has a known rank below 2.
    """
    with _op_scope(name, "matrix_transpose", [a]):
        a = as_tensor(a, name="a")
        r = a.shape.ndims
        if r is None:
            raise ValueError("matrix_transpose of %s needs a known rank" % a.name)
        if r < 2:
            raise ValueError("Argument 'a' should be a (batch) matrix, with rank >= 2.  Found: "
                             "%s" % a.shape)
        perm = list(builtins.range(r - 2)) + [r - 1, r - 2]
        return transpose(a, perm, conjugate=conjugate)


# -- ExpandDims, Squeeze -----------------------------------------------------------------------

def _expand_dims_shape(op):
    x, dim_t = op.inputs
    _check_index_dtype(dim_t, "dim", "ExpandDims")
    if dim_t.shape.num_elements() not in (None, 1):
        raise ValueError("ExpandDims: 'dim' must be a tensor with a single value, got shape %s"
                         % dim_t.shape)
    in_dims = _dims(x.shape)
    axis = _const_int(dim_t)
    if in_dims is None:
        return [(unknown_shape(), x.dtype)]
    r = len(in_dims)
    if axis is None:
        return [(unknown_shape(r + 1), x.dtype)]
    if not -r - 1 <= axis <= r:
        raise ValueError("Tried to expand dim index %d for tensor with %d dimensions."
                         % (axis, r))
    if axis < 0:
        axis += r + 1
    return [(TensorShape(in_dims[:axis] + [1] + in_dims[axis:]), x.dtype)]


def _expand_dims_kernel(x, dim):
    if np.size(dim) != 1:
        raise _invalid("'dim' must be a tensor with a single value")
    axis = int(np.asarray(dim).reshape(-1)[0])
    r = np.ndim(x)
    if not -r - 1 <= axis <= r:
        raise _invalid("Tried to expand dim index %d for tensor with %d dimensions." % (axis, r))
    return np.expand_dims(x, axis if axis >= 0 else axis + r + 1)


def _reshape_back_grad(op, grad):
    # ExpandDims / Squeeze only add or drop length-1 dims: reshape to the input's shape.
    grads = [reshape(grad, shape(op.inputs[0]))]
    return grads + [None] * (len(op.inputs) - 1)


registry.register_op("ExpandDims", shape=_expand_dims_shape, numpy=_expand_dims_kernel,
                     gradient=_reshape_back_grad, sharding=sharding.GATHER)


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    """Inserts a dimension of length 1 at index `axis` of `input`'s shape.

    Args:
      input: a Tensor.
      axis: an int scalar in `[-rank(input) - 1, rank(input)]`.
      name: a name for the operation (default "ExpandDims").
      dim: the deprecated TF1 spelling of `axis`.

    Returns:
      A Tensor with one more dimension.

    Raises:
      ValueError: if neither or both of `axis` and `dim` are given, or `axis` is out of range.
    """
    if axis is None and dim is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'")
    axis = dim if axis is None else axis
    with _op_scope(name, "ExpandDims", [input, axis]) as scope:
        input = as_tensor(input, name="input")
        axis_t = _index_input(axis, "dim", "ExpandDims")
        return _apply("ExpandDims", [input, axis_t], name=scope)


def _squeeze_shape(op):
    x = op.inputs[0]
    squeeze_dims = list(op.get_attr("squeeze_dims"))
    in_dims = _dims(x.shape)
    if in_dims is None:
        return [(unknown_shape(), x.dtype)]
    r = len(in_dims)
    wanted = set()
    for d in squeeze_dims:
        if not -r <= d < r:
            raise ValueError("Tried to squeeze dim index %d for tensor with %d dimensions."
                             % (d, r))
        wanted.add(d % r)
    out = []
    for i, d in enumerate(in_dims):
        if wanted:
            if i in wanted:
                if d is not None and d != 1:
                    raise ValueError("Can not squeeze dim[%d], expected a dimension of 1, got %d"
                                     % (i, d))
                continue
            out.append(d)
        else:
            if d is None:
                return [(unknown_shape(), x.dtype)]  # it may or may not be squeezed
            if d != 1:
                out.append(d)
    return [(TensorShape(out), x.dtype)]


def _squeeze_kernel(x, *, squeeze_dims):
    r = np.ndim(x)
    if not squeeze_dims:
        return np.reshape(x, [d for d in np.shape(x) if d != 1])
    axes = set()
    for d in squeeze_dims:
        if not -r <= d < r:
            raise _invalid("Tried to squeeze dim index %d for tensor with %d dimensions."
                           % (d, r))
        axes.add(d % r)
    for a in axes:
        if np.shape(x)[a] != 1:
            raise _invalid("Can not squeeze dim[%d], expected a dimension of 1, got %d"
                           % (a, np.shape(x)[a]))
    return np.reshape(x, [d for i, d in enumerate(np.shape(x)) if i not in axes])


registry.register_op("Squeeze", shape=_squeeze_shape, numpy=_squeeze_kernel,
                     gradient=_reshape_back_grad, sharding=sharding.GATHER)


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    """Removes dimensions of length 1 (all of them, or only those listed in `axis`).

    Args:
      input: a Tensor.
      axis: an int or list of ints; dims to remove (each must have length 1).
      name: a name for the operation (default "Squeeze").
      squeeze_dims: the deprecated TF1 spelling of `axis`.

    Returns:
      A Tensor with the same elements and fewer dimensions.

    Raises:
      ValueError: if a listed dim is known not to have length 1, or both args are given.
    """
    if axis is not None and squeeze_dims is not None:
        raise ValueError("Cannot specify both 'axis' and 'squeeze_dims'")
    axis = squeeze_dims if axis is None else axis
    if axis is None:
        axis = []
    elif np.ndim(axis) == 0:
        axis = [axis]
    axis = [int(a) for a in axis]
    with _op_scope(name, "Squeeze", [input]) as scope:
        input = as_tensor(input, name="input")
        return _apply("Squeeze", [input], {"squeeze_dims": axis}, name=scope)


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
                     gradient=_concat_grad, sharding=sharding.GATHER)
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
                     sharding=sharding.GATHER)
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


_MASK_ATTRS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _masks(op):
    return [op.get_attr(a) for a in _MASK_ATTRS]


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
                     gradient=_strided_slice_grad, sharding=sharding.GATHER)
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


# -- Tile --------------------------------------------------------------------------------------

def _tile_shape(op):
    x, multiples_t = op.inputs
    _check_index_dtype(multiples_t, "multiples", "Tile")
    _check_rank(multiples_t, 1, "multiples", "Tile")
    dims = _dims(x.shape)
    n = multiples_t.shape[0] if multiples_t.shape.ndims == 1 else None
    if dims is not None and n is not None and n != len(dims):
        raise ValueError("Tile: multiples has %d entries but the input has rank %d"
                         % (n, len(dims)))
    multiples = _const_ints(multiples_t)
    r = len(dims) if dims is not None else n
    if r is None:
        return [(unknown_shape(), x.dtype)]
    if multiples is None:
        return [(unknown_shape(r), x.dtype)]
    if builtins.any(m < 0 for m in multiples):
        raise ValueError("Tile: expected multiples to be non-negative, got %s"
                         % _shape_str(multiples))
    if dims is None:
        return [(TensorShape([0 if m == 0 else None for m in multiples]), x.dtype)]
    return [(TensorShape([0 if m == 0 else None if d is None else d * m
                          for d, m in zip(dims, multiples)]), x.dtype)]


def _tile_kernel(x, multiples):
    multiples = _as_index_list(multiples, "multiples", "Tile")
    if len(multiples) != np.ndim(x):
        raise _invalid("Expected multiples argument to be a vector of length %d but got "
                       "length %d" % (np.ndim(x), len(multiples)))
    for i, m in enumerate(multiples):
        if m < 0:
            raise _invalid("Expected multiples[%d] >= 0, but got %d" % (i, m))
    return np.tile(x, multiples) if np.ndim(x) else np.array(x)


def _tile_grad(op, grad):
    x, multiples_t = op.inputs
    dims = _dims(x.shape)
    multiples = _const_ints(multiples_t)
    if dims is not None and multiples is not None and builtins.all(d is not None for d in dims):
        # Static: view grad as [m0, d0, m1, d1, ...] and sum over the m axes.
        split_shape = [v for pair in zip(multiples, dims) for v in pair]
        axes = list(builtins.range(0, len(split_shape), 2))
    else:
        input_shape = shape(x, out_type=multiples_t.dtype)
        split_shape = reshape(transpose(stack([multiples_t, input_shape])), [-1])
        axes = range(0, size(split_shape), 2)
    input_grad = _math().reduce_sum(reshape(grad, split_shape), axes)
    input_grad.set_shape(x.shape)
    return [input_grad, None]


registry.register_op("Tile", shape=_tile_shape, numpy=_tile_kernel, gradient=_tile_grad,
                     sharding=sharding.GATHER)


def tile(input, multiples, name=None):  # noqa: A002
    """Repeats `input` `multiples[i]` times along each dimension i.

    Args:
      input: a Tensor of rank R.
      multiples: a 1-D int32/int64 list or Tensor of length R, each >= 0.
      name: a name for the operation (default "Tile").

    Returns:
      A Tensor with dims `input.shape[i] * multiples[i]`.

    Raises:
      ValueError: if `multiples` does not have one entry per dimension.
    """
    with _op_scope(name, "Tile", [input, multiples]) as scope:
        input = as_tensor(input, name="input")
        multiples_t = _index_input(multiples, "multiples", "Tile")
        return _apply("Tile", [input, multiples_t], name=scope)


# -- Pad, PadV2, MirrorPad, MirrorPadGrad ------------------------------------------------------

def _pad_shape(op):
    x, paddings_t = op.inputs[0], op.inputs[1]
    _check_index_dtype(paddings_t, "paddings", op.type)
    _check_rank(paddings_t, 2, "paddings", op.type)
    if len(op.inputs) == 3:
        constant_values = op.inputs[2]
        _check_rank(constant_values, 0, "constant_values", op.type)
        if constant_values.dtype != x.dtype:
            raise TypeError("%s: constant_values has dtype %s, expected %s like the input"
                            % (op.type, constant_values.dtype.name, x.dtype.name))
    p_dims = _dims(paddings_t.shape)
    dims = _dims(x.shape)
    if p_dims is not None and p_dims[1] is not None and p_dims[1] != 2:
        raise ValueError("%s: paddings must have shape [rank, 2], got %s"
                         % (op.type, paddings_t.shape))
    if dims is not None and p_dims is not None and p_dims[0] is not None and \
            p_dims[0] != len(dims):
        raise ValueError("%s: paddings must have shape [%d, 2] for an input of rank %d, got %s"
                         % (op.type, len(dims), len(dims), paddings_t.shape))
    r = len(dims) if dims is not None else (p_dims[0] if p_dims is not None else None)
    if r is None:
        return [(unknown_shape(), x.dtype)]
    value = _const(paddings_t)
    if value is None:
        return [(unknown_shape(r), x.dtype)]
    value = np.asarray(value).reshape(r, 2)
    if (value < 0).any():
        raise ValueError("%s: paddings must be non-negative, got %s" % (op.type, value.tolist()))
    out = []
    for i in builtins.range(r):
        d = dims[i] if dims is not None else None
        out.append(None if d is None else d + int(value[i, 0]) + int(value[i, 1]))
    return [(TensorShape(out), x.dtype)]


def _pad_arrays(x, paddings, op_name):
    x = np.asarray(x)
    paddings = np.asarray(paddings)
    if paddings.shape != (x.ndim, 2):
        raise _invalid("%s: the first dimension of paddings must be the rank of inputs %s, "
                       "got paddings of shape %s" % (op_name, _shape_str([x.ndim, 2]),
                                                     _shape_str(paddings.shape)))
    if (paddings < 0).any():
        raise _invalid("%s: paddings must be non-negative: %s" % (op_name, paddings.tolist()))
    return x, [(int(a), int(b)) for a, b in paddings]


def _pad_kernel(x, paddings):
    x, pads = _pad_arrays(x, paddings, "Pad")
    if x.dtype == object:
        return np.pad(x, pads, mode="constant", constant_values=b"")
    return np.pad(x, pads, mode="constant")


def _pad_v2_kernel(x, paddings, constant_values):
    x, pads = _pad_arrays(x, paddings, "PadV2")
    out = np.empty([d + a + b for d, (a, b) in zip(x.shape, pads)], dtype=x.dtype)
    out[...] = constant_values
    out[tuple(builtins.slice(a, a + d) for d, (a, _) in zip(x.shape, pads))] = x
    return out


def _check_mirror(d, before, after, mode, axis, error):
    limit = d - 1 if mode == "REFLECT" else d
    if before > limit or after > limit:
        raise error("MirrorPad: paddings must be no greater than the dimension size: %d, %d "
                    "greater than %d (mode %s, dimension %d)" % (before, after, limit, mode, axis))


def _mirror_index(d, before, after, mode):
    # Padded position -> source position along one axis.
    offset = 0 if mode == "REFLECT" else 1
    left = [before - j - offset for j in builtins.range(before)]
    right = [d - 2 + offset - k for k in builtins.range(after)]
    return np.array(left + list(builtins.range(d)) + right, dtype=np.int64)


def _mirror_pad_kernel(x, paddings, *, mode):
    x, pads = _pad_arrays(x, paddings, "MirrorPad")
    for axis, (a, b) in enumerate(pads):
        _check_mirror(x.shape[axis], a, b, mode, axis, _invalid)
        if a or b:
            x = np.take(x, _mirror_index(x.shape[axis], a, b, mode), axis=axis)
    return x


def _mirror_pad_grad_kernel(grad, paddings, *, mode):
    grad = np.asarray(grad)
    paddings = np.asarray(paddings)
    if paddings.shape != (grad.ndim, 2):
        raise _invalid("MirrorPadGrad: paddings must have shape [%d, 2], got %s"
                       % (grad.ndim, _shape_str(paddings.shape)))
    for axis, (a, b) in enumerate(paddings.tolist()):
        if not (a or b):
            continue
        d = grad.shape[axis] - a - b
        _check_mirror(d, a, b, mode, axis, _invalid)
        moved = np.moveaxis(grad, axis, 0)
        out = np.zeros((d,) + moved.shape[1:], dtype=grad.dtype)
        np.add.at(out, _mirror_index(d, a, b, mode), moved)
        grad = np.moveaxis(out, 0, axis)
    return grad


def _mirror_pad_grad_shape(op):
    grad, paddings_t = op.inputs
    _check_index_dtype(paddings_t, "paddings", "MirrorPadGrad")
    dims = _dims(grad.shape)
    value = _const(paddings_t)
    if dims is None:
        return [(unknown_shape(), grad.dtype)]
    if value is None:
        return [(unknown_shape(len(dims)), grad.dtype)]
    value = np.asarray(value).reshape(len(dims), 2)
    return [(TensorShape([None if d is None else d - int(value[i, 0]) - int(value[i, 1])
                          for i, d in enumerate(dims)]), grad.dtype)]


def _pad_grad(op, grad):
    x, paddings_t = op.inputs[0], op.inputs[1]
    pad_before = slice(paddings_t, [0, 0], stack([rank(x), 1]))
    begin = reshape(pad_before, [-1])
    x_grad = slice(grad, begin, shape(x, out_type=paddings_t.dtype))
    return [x_grad] + [None] * (len(op.inputs) - 1)


def _mirror_pad_grad(op, grad):
    return [_mirror_pad_grad_op(grad, op.inputs[1], op.get_attr("mode")), None]


def _mirror_pad_grad_grad(op, grad):
    return [pad(grad, op.inputs[1], mode=op.get_attr("mode")), None]


registry.register_op("Pad", shape=_pad_shape, numpy=_pad_kernel, gradient=_pad_grad,
                     sharding=sharding.GATHER)
registry.register_op("PadV2", shape=_pad_shape, numpy=_pad_v2_kernel, gradient=_pad_grad,
                     sharding=sharding.GATHER)
registry.register_op("MirrorPad", shape=_pad_shape, numpy=_mirror_pad_kernel,
                     gradient=_mirror_pad_grad, sharding=sharding.GATHER)
registry.register_op("MirrorPadGrad", shape=_mirror_pad_grad_shape,
                     numpy=_mirror_pad_grad_kernel, gradient=_mirror_pad_grad_grad,
                     sharding=sharding.GATHER)


def _mirror_pad_grad_op(grad, paddings, mode, name=None):
    with _op_scope(name, "MirrorPadGrad", [grad]) as scope:
        return _apply("MirrorPadGrad", [grad, paddings], {"mode": mode}, name=scope)


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    """Pads `tensor` with `paddings[i] = [before, after]` entries along each dimension i.

    Args:
      tensor: a Tensor of rank R.
      paddings: an int32/int64 list or Tensor of shape [R, 2].
      mode: "CONSTANT" (fill with `constant_values`), "REFLECT" (mirror without the edge;
        paddings < dim) or "SYMMETRIC" (mirror with the edge; paddings <= dim), any case.
      name: a name for the operation (default "Pad", "PadV2" or "MirrorPad").
      constant_values: the fill value for CONSTANT mode, of `tensor`'s dtype.

    Returns:
      The padded Tensor.

    Raises:
      ValueError: for an unknown mode or paddings of the wrong shape.
    """
    mode = str(mode).upper()
    if mode == "CONSTANT":
        if not is_tensor_like(constant_values) and np.ndim(constant_values) == 0 and \
                np.asarray(constant_values) == 0:
            op_type = "Pad"
        else:
            op_type = "PadV2"
    elif mode in ("REFLECT", "SYMMETRIC"):
        op_type = "MirrorPad"
    else:
        raise ValueError("Unknown padding mode: %s" % mode)
    with _op_scope(name, op_type, [tensor, paddings]) as scope:
        tensor = as_tensor(tensor, name="input")
        paddings_t = _index_input(paddings, "paddings", op_type)
        if op_type == "Pad":
            return _apply("Pad", [tensor, paddings_t], name=scope)
        if op_type == "MirrorPad":
            return _apply("MirrorPad", [tensor, paddings_t], {"mode": mode}, name=scope)
        from ..framework.tensor_conversion import convert_binary_operands
        _, value = convert_binary_operands(tensor, constant_values, "PadV2")
        return _apply("PadV2", [tensor, paddings_t, value], name=scope)


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
                     gradient=_gather_grad, sharding=sharding.GATHER)


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
                     sharding=sharding.GATHER)
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


# -- ReverseV2 ---------------------------------------------------------------------------------

def _reverse_shape(op):
    x, axis_t = op.inputs
    _check_index_dtype(axis_t, "axis", "ReverseV2")
    _check_rank(axis_t, 1, "axis", "ReverseV2")
    axes = _const_ints(axis_t)
    r = x.shape.ndims
    if axes is not None and r is not None:
        seen = set()
        for a in axes:
            a = _canonical_axis(a, r, "ReverseV2")
            if a in seen:
                raise ValueError("ReverseV2: axis %d specified more than once" % a)
            seen.add(a)
    return [(x.shape, x.dtype)]


def _reverse_kernel(x, axis):
    x = np.asarray(x)
    axes = [_kernel_axis(a, x.ndim, "ReverseV2") for a in _as_index_list(axis, "axis",
                                                                          "ReverseV2")]
    if len(set(axes)) != len(axes):
        raise _invalid("ReverseV2: an axis was specified more than once: %s" % axes)
    return np.flip(x, axis=tuple(axes)) if axes else x


def _reverse_grad(op, grad):
    return [reverse(grad, op.inputs[1]), None]


registry.register_op("ReverseV2", shape=_reverse_shape, numpy=_reverse_kernel,
                     gradient=_reverse_grad, sharding=sharding.GATHER)


def reverse(tensor, axis, name=None):
    """Reverses `tensor` along each dimension listed in `axis` (op ReverseV2).

    Args:
      tensor: a Tensor.
      axis: a 1-D int32/int64 list or Tensor of distinct dims (negative count from the end).
      name: a name for the operation (default "ReverseV2").

    Returns:
      A Tensor of the same shape.

    Raises:
      ValueError: if an axis is out of range or repeated.
    """
    with _op_scope(name, "ReverseV2", [tensor, axis]) as scope:
        tensor = as_tensor(tensor, name="tensor")
        axis_t = _index_input(axis, "axis", "ReverseV2")
        return _apply("ReverseV2", [tensor, axis_t], name=scope)


reverse_v2 = reverse


# -- boolean_mask ------------------------------------------------------------------------------

def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """Keeps the entries of `tensor` where the boolean `mask` is True.

    With `mask` of rank K matching `tensor.shape[axis:axis+K]`, those K dims are flattened
    and replaced by the number of True values.

    Args:
      tensor: a Tensor.
      mask: a boolean Tensor of known rank K >= 1.
      name: a name for the operation (default "boolean_mask").
      axis: the first dimension of `tensor` the mask applies to (default 0).

    Returns:
      A Tensor of rank `rank(tensor) - K + 1`.

    Raises:
      ValueError: if the mask's rank is unknown or 0, or its shape does not match.
    """
    with _op_scope(name, "boolean_mask", [tensor, mask]):
        tensor = as_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask", preferred_dtype=dtypes.bool)
        if mask.dtype != dtypes.bool:
            raise TypeError("boolean_mask: mask must be bool, got %s" % mask.dtype.name)
        mask_dims = _dims(mask.shape)
        if mask_dims is None:
            raise ValueError("Number of mask dimensions must be specified, even if some "
                             "dimensions are None.  E.g. shape=[None] is ok, but shape=None "
                             "is not.")
        k = len(mask_dims)
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        axis = 0 if axis is None else int(axis)
        t_shape = tensor.shape
        if t_shape.ndims is not None:
            axis = axis % t_shape.ndims if axis < 0 else axis
            if axis + k > t_shape.ndims:
                raise ValueError("boolean_mask: mask of rank %d at axis %d does not fit a "
                                 "tensor of rank %d" % (k, axis, t_shape.ndims))
            part = t_shape[axis:axis + k]
            if not part.is_compatible_with(mask.shape):
                raise ValueError("Shapes %s and %s are incompatible" % (part, mask.shape))
        full = shape(tensor)
        # The mask's element count is the product of the dims it covers.
        leading = reshape(size(mask), [1])
        tensor = reshape(tensor, concat([full[:axis], leading, full[axis + k:]], 0))
        if t_shape.ndims is not None:
            covered = t_shape[axis:axis + k].merge_with(mask.shape).num_elements()
            tensor.set_shape(t_shape[:axis].concatenate([covered])
                             .concatenate(t_shape[axis + k:]))
        mask = reshape(mask, [-1])
        indices = squeeze(where(mask), axis=[1])
        return gather(tensor, indices, axis=axis)


# -- Where, Select, SelectV2 -------------------------------------------------------------------

def _where_shape(op):
    cond = op.inputs[0]
    return [(TensorShape([None, cond.shape.ndims]), dtypes.int64)]


def _where_kernel(condition):
    return np.argwhere(np.asarray(condition)).astype(np.int64)


def _select_shape(op):
    cond, x, y = op.inputs
    if cond.dtype != dtypes.bool:
        raise TypeError("Select: condition must be bool, got %s" % cond.dtype.name)
    if x.dtype != y.dtype:
        raise TypeError("Select: x (%s) and y (%s) must have the same dtype"
                        % (x.dtype.name, y.dtype.name))
    try:
        data = x.shape.merge_with(y.shape)
    except ValueError:
        raise ValueError("Select: x and y must have the same shape, got %s and %s"
                         % (x.shape, y.shape)) from None
    c = _dims(cond.shape)
    d = _dims(data)
    if c is None or d is None:
        return [(data, x.dtype)]
    if len(c) == 0:
        return [(data, x.dtype)]
    if len(c) == 1 and len(d) > 1:
        if c[0] is not None and d[0] is not None and c[0] != d[0]:
            raise ValueError("Select: condition of length %d must match the first dim of x "
                             "(shape %s)" % (c[0], data))
        if d[0] is None and c[0] is not None:
            data = TensorShape([c[0]] + d[1:])
        return [(data, x.dtype)]
    try:
        return [(data.merge_with(cond.shape), x.dtype)]
    except ValueError:
        raise ValueError("Select: condition (shape %s) must be a scalar, a vector matching "
                         "the first dim of x, or have x's shape %s" % (cond.shape, data)) \
            from None


def _select_kernel(condition, x, y):
    condition, x, y = np.asarray(condition), np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        raise _invalid("'then' and 'else' must have the same size.  but received: %s vs. %s"
                       % (_shape_str(x.shape), _shape_str(y.shape)))
    if condition.ndim == 0:
        return (x if condition else y).copy()
    if condition.ndim == 1 and x.ndim > 1:
        if condition.shape[0] != x.shape[0]:
            raise _invalid("Number of batches of 'then' must match size of 'cond', but saw: %d "
                           "vs. %d" % (x.shape[0], condition.shape[0]))
        condition = condition.reshape(condition.shape + (1,) * (x.ndim - 1))
    elif condition.shape != x.shape:
        raise _invalid("'cond' and 'then' must have the same shape (or cond a scalar or a "
                       "vector over the first dim): %s vs. %s" % (_shape_str(condition.shape),
                                                                  _shape_str(x.shape)))
    return np.where(condition, x, y)


def _select_grad(op, grad):
    cond = op.inputs[0]
    zeros = zeros_like(op.inputs[1])
    return [None, where(cond, grad, zeros), where(cond, zeros, grad)]


def _select_v2_shape(op):
    cond, x, y = op.inputs
    if cond.dtype != dtypes.bool:
        raise TypeError("SelectV2: condition must be bool, got %s" % cond.dtype.name)
    if x.dtype != y.dtype:
        raise TypeError("SelectV2: x (%s) and y (%s) must have the same dtype"
                        % (x.dtype.name, y.dtype.name))
    dims = _broadcast_dims(_dims(cond.shape), _dims(x.shape), "SelectV2")
    dims = _broadcast_dims(dims, _dims(y.shape), "SelectV2")
    return [(unknown_shape() if dims is None else TensorShape(dims), x.dtype)]


def _select_v2_kernel(condition, x, y):
    try:
        out_shape = np.broadcast_shapes(np.shape(condition), np.shape(x), np.shape(y))
    except ValueError:
        raise _invalid("condition, then and else must be broadcastable: %s, %s, %s"
                       % (_shape_str(np.shape(condition)), _shape_str(np.shape(x)),
                          _shape_str(np.shape(y)))) from None
    return np.asarray(np.where(condition, x, y), dtype=np.asarray(x).dtype).reshape(out_shape)


def _select_v2_grad(op, grad):
    cond, x, y = op.inputs
    zeros = zeros_like(grad)
    math_ops = _math()
    x_grad = math_ops._reduce_to_shape(where_v2(cond, grad, zeros), x)
    y_grad = math_ops._reduce_to_shape(where_v2(cond, zeros, grad), y)
    return [None, x_grad, y_grad]


registry.register_op("Where", shape=_where_shape, numpy=_where_kernel, sharding=sharding.GATHER)
registry.not_differentiable("Where")
registry.register_op("Select", shape=_select_shape, numpy=_select_kernel,
                     gradient=_select_grad, sharding=sharding.ELEMENTWISE)
registry.register_op("SelectV2", shape=_select_v2_shape, numpy=_select_v2_kernel,
                     gradient=_select_v2_grad, sharding=sharding.ELEMENTWISE)


def where(condition, x=None, y=None, name=None):
    """TF1 `tf.where`: coordinates of True entries, or an element-wise select.

    With only `condition`: an int64 [num_true, rank] Tensor of the coordinates where
    `condition` is true (non-zero), in row-major order. With `x` and `y`: elements of `x`
    where `condition` is true, else of `y`; `x` and `y` have the same shape, and
    `condition` is a scalar, has their shape, or is a vector matching their first dim.

    Args:
      condition: a bool Tensor.
      x, y: Tensors of the same dtype and shape (both or neither).
      name: a name for the operation (default "Where" / "Select").

    Returns:
      A Tensor.

    Raises:
      ValueError: if only one of x and y is given, or the shapes do not fit.
    """
    if x is None and y is None:
        with _op_scope(name, "Where", [condition]) as scope:
            condition = convert_to_tensor(condition, preferred_dtype=dtypes.bool,
                                          name="condition")
            return _apply("Where", [condition], name=scope)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    from ..framework.tensor_conversion import convert_binary_operands
    with _op_scope(name, "Select", [condition, x, y]) as scope:
        condition = convert_to_tensor(condition, preferred_dtype=dtypes.bool, name="condition")
        x, y = convert_binary_operands(x, y, "Select")
        return _apply("Select", [condition, x, y], name=scope)


def where_v2(condition, x=None, y=None, name=None):
    """TF2-style `where`: like `where`, but `condition`, `x` and `y` broadcast together.

    Raises:
      ValueError: if only one of x and y is given, or the shapes do not broadcast.
    """
    if x is None and y is None:
        return where(condition, name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    from ..framework.tensor_conversion import convert_binary_operands
    with _op_scope(name, "SelectV2", [condition, x, y]) as scope:
        condition = convert_to_tensor(condition, preferred_dtype=dtypes.bool, name="condition")
        x, y = convert_binary_operands(x, y, "SelectV2")
        return _apply("SelectV2", [condition, x, y], name=scope)


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
                     sharding=sharding.ELEMENTWISE)
registry.register_op("OnesLike", shape=_same_shape, numpy=_ones_like_kernel,
                     sharding=sharding.ELEMENTWISE)
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


# -- BroadcastTo, BroadcastArgs ----------------------------------------------------------------

def _broadcast_to_shape(op):
    x, shape_t = op.inputs
    _check_index_dtype(shape_t, "shape", "BroadcastTo")
    _check_rank(shape_t, 1, "shape", "BroadcastTo")
    target = _const_as_shape(shape_t)
    value = _const_ints(shape_t)
    t_dims = _dims(target) if value is None else value
    x_dims = _dims(x.shape)
    if t_dims is None:
        return [(unknown_shape(), x.dtype)]
    if x_dims is not None:
        if len(x_dims) > len(t_dims):
            raise ValueError("BroadcastTo: input of rank %d cannot be broadcast to shape %s of "
                             "rank %d" % (len(x_dims), _shape_str(t_dims), len(t_dims)))
        for a, b in zip(x_dims[::-1], t_dims[::-1]):
            if a is not None and b is not None and a != 1 and a != b:
                raise ValueError("BroadcastTo: incompatible shapes: %s vs. %s"
                                 % (x.shape, _shape_str(t_dims)))
    return [(TensorShape(t_dims), x.dtype)]


def _broadcast_to_kernel(x, shape):
    dims = _as_index_list(shape, "shape", "BroadcastTo")
    try:
        return np.array(np.broadcast_to(x, dims))
    except ValueError:
        raise _invalid("Incompatible shapes: %s vs. %s" % (_shape_str(np.shape(x)),
                                                            _shape_str(dims))) from None


def _broadcast_to_grad(op, grad):
    return [_math()._reduce_to_shape(grad, op.inputs[0]), None]


def _broadcast_args_shape(op):
    s0, s1 = op.inputs
    n0 = s0.shape[0] if s0.shape.ndims else None
    n1 = s1.shape[0] if s1.shape.ndims else None
    n = None if n0 is None or n1 is None else max(n0, n1)
    return [(TensorShape([n]), s0.dtype)]


def _broadcast_args_kernel(s0, s1):
    try:
        out = np.broadcast_shapes(tuple(_as_index_list(s0, "s0", "BroadcastArgs")),
                                  tuple(_as_index_list(s1, "s1", "BroadcastArgs")))
    except ValueError:
        raise _invalid("Incompatible shapes: %s vs. %s" % (_shape_str(np.ravel(s0)),
                                                            _shape_str(np.ravel(s1)))) from None
    return np.array(out, dtype=np.asarray(s0).dtype)


registry.register_op("BroadcastTo", shape=_broadcast_to_shape, numpy=_broadcast_to_kernel,
                     gradient=_broadcast_to_grad, sharding=sharding.GATHER)
registry.register_op("BroadcastArgs", shape=_broadcast_args_shape,
                     numpy=_broadcast_args_kernel, sharding=sharding.GATHER)
registry.not_differentiable("BroadcastArgs")


def broadcast_to(input, shape, name=None):  # noqa: A002
    """Broadcasts `input` to `shape` with NumPy's rules.

    Args:
      input: a Tensor.
      shape: a 1-D int32/int64 list or Tensor.
      name: a name for the operation (default "BroadcastTo").

    Returns:
      A Tensor of the given shape.

    Raises:
      ValueError: at build time if the shapes are known to be incompatible.
    """
    with _op_scope(name, "BroadcastTo", [input, shape]) as scope:
        input = as_tensor(input, name="input")
        shape_t = _index_input(shape, "shape", "BroadcastTo")
        return _apply("BroadcastTo", [input, shape_t], name=scope)


def broadcast_dynamic_shape(shape_x, shape_y):
    """The broadcast of two 1-D shape Tensors (op BroadcastArgs)."""
    with _op_scope(None, "BroadcastArgs", [shape_x, shape_y]) as scope:
        shape_x = _index_input(shape_x, "s0", "BroadcastArgs")
        shape_y = _index_input(shape_y, "s1", "BroadcastArgs",
                               dtype=None if isinstance(shape_y, Tensor) else shape_x.dtype)
        return _apply("BroadcastArgs", [shape_x, shape_y], name=scope)


def broadcast_static_shape(shape_x, shape_y):
    """The broadcast of two TensorShapes.

    Raises:
      ValueError: if they are incompatible.
    """
    dims = _broadcast_dims(_dims(shape_x), _dims(shape_y), "broadcast_static_shape")
    return unknown_shape() if dims is None else TensorShape(dims)


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


# -- Unique, InvertPermutation, EnsureShape ----------------------------------------------------

UniqueOutput = collections.namedtuple("Unique", ["y", "idx"])


def _unique_shape(op):
    x = op.inputs[0]
    _check_rank(x, 1, "x", "Unique")
    return [(TensorShape([None]), x.dtype), (x.shape.with_rank(1),
                                             dtypes.as_dtype(op.get_attr("out_idx")))]


def _unique_kernel(x, *, out_idx):
    x = np.asarray(x)
    if x.ndim != 1:
        raise _invalid("unique expects a 1D vector.")
    order = {}
    idx = np.empty(x.shape, dtype=dtypes.as_dtype(out_idx).np_dtype)
    values = []
    for i, v in enumerate(x.tolist()):
        j = order.get(v)
        if j is None:
            j = order[v] = len(values)
            values.append(x[i])
        idx[i] = j
    return np.array(values, dtype=x.dtype).reshape(-1), idx


registry.register_op("Unique", shape=_unique_shape, numpy=_unique_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("Unique")


def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of 1-D `x` in order of first appearance, and each element's index.

    Returns:
      A namedtuple `(y, idx)` with `x == gather(y, idx)`.
    """
    out_idx = _check_out_type(out_idx, "Unique")
    with _op_scope(name, "Unique", [x]) as scope:
        x = as_tensor(x, name="x")
        y, idx = _apply("Unique", [x], {"out_idx": out_idx.name}, name=scope)
    return UniqueOutput(y, idx)


def _invert_permutation_shape(op):
    x = op.inputs[0]
    if x.dtype not in _INDEX_DTYPES:
        raise TypeError("InvertPermutation: x must be int32 or int64, got %s" % x.dtype.name)
    _check_rank(x, 1, "x", "InvertPermutation")
    return [(x.shape.with_rank(1), x.dtype)]


def _invert_permutation_kernel(x):
    perm = _as_index_list(x, "x", "InvertPermutation")
    n = len(perm)
    out = np.full(n, -1, dtype=np.asarray(x).dtype)
    for i, p in enumerate(perm):
        if not 0 <= p < n:
            raise _invalid("%d is not between 0 and %d" % (p, n))
        if out[p] != -1:
            raise _invalid("%d is duplicated in the input." % p)
        out[p] = i
    return out


registry.register_op("InvertPermutation", shape=_invert_permutation_shape,
                     numpy=_invert_permutation_kernel, sharding=sharding.GATHER)
registry.not_differentiable("InvertPermutation")


def invert_permutation(x, name=None):
    """The inverse permutation: `y[x[i]] = i` (op InvertPermutation).

    Raises:
      InvalidArgumentError: at run time if `x` is not a permutation of `[0, len(x))`.
    """
    with _op_scope(name, "InvertPermutation", [x]) as scope:
        x = _index_input(x, "x", "InvertPermutation")
        return _apply("InvertPermutation", [x], name=scope)


def _ensure_shape_shape(op):
    x = op.inputs[0]
    wanted = TensorShape(op.get_attr("shape")) if op.get_attr("shape") is not None \
        else unknown_shape()
    try:
        return [(x.shape.merge_with(wanted), x.dtype)]
    except ValueError:
        raise ValueError("EnsureShape: shape %s of %s is not compatible with %s"
                         % (x.shape, x.name, wanted)) from None


def _ensure_shape_kernel(x, *, shape):
    if shape is not None and not TensorShape(shape).is_compatible_with(np.shape(x)):
        raise _invalid("Shape of tensor %s is not compatible with expected shape %s."
                       % (_shape_str(np.shape(x)), TensorShape(shape)))
    return x


registry.register_op("EnsureShape", shape=_ensure_shape_shape, numpy=_ensure_shape_kernel,
                     gradient=lambda op, grad: [grad], sharding=sharding.ELEMENTWISE)


def ensure_shape(x, shape, name=None):  # noqa: F811
    """Returns `x`, checking at run time that its shape is compatible with `shape`.

    Raises:
      ValueError: at build time if the static shapes are incompatible.
      InvalidArgumentError: at run time if the value's shape is.
    """
    shape = as_shape(shape)
    with _op_scope(name, "EnsureShape", [x]) as scope:
        x = as_tensor(x, name="x")
        return _apply("EnsureShape", [x], {"shape": None if shape.ndims is None
                                            else list(shape.as_tuple_or_none())}, name=scope)


# -- IdentityN, ReverseSequence, TensorScatter{Update,Add,Sub}, meshgrid ------------------------

def _identity_n_shape(op):
    return [(t.shape, t.dtype) for t in op.inputs]


def _identity_n_kernel(*inputs, T):  # noqa: N803 - TF's attr name
    return tuple(inputs)


registry.register_op("IdentityN", shape=_identity_n_shape, numpy=_identity_n_kernel,
                     gradient=lambda op, *grads: list(grads), sharding=sharding.ELEMENTWISE)


def identity_n(input, name=None):  # noqa: A002
    """Returns a list of tensors equal to the list `input` (one op, op type IdentityN)."""
    with _op_scope(name, "IdentityN", input) as scope:
        tensors = [as_tensor(t, name="input") for t in input]
        out = _apply("IdentityN", tensors, {"T": [t.dtype.name for t in tensors]},
                       name=scope)
    return out if isinstance(out, list) else [out]


def _reverse_sequence_shape(op):
    x, lengths = op.inputs
    seq_dim, batch_dim = op.get_attr("seq_dim"), op.get_attr("batch_dim")
    _check_index_dtype(lengths, "seq_lengths", "ReverseSequence")
    _check_rank(lengths, 1, "seq_lengths", "ReverseSequence")
    dims = _dims(x.shape)
    if dims is not None:
        for what, d in (("seq_dim", seq_dim), ("batch_dim", batch_dim)):
            if d >= len(dims):  # negative ones are refused when the op runs, as TF
                raise ValueError("ReverseSequence: %s %d out of range for input of rank %d"
                                 % (what, d, len(dims)))
        n = lengths.shape[0] if lengths.shape.ndims == 1 else None
        if n is not None and batch_dim >= 0 and dims[batch_dim] is not None and \
                n != dims[batch_dim]:
            raise ValueError("ReverseSequence: length of seq_lengths (%d) must equal the batch "
                             "dimension (%d)" % (n, dims[batch_dim]))
    return [(x.shape, x.dtype)]


def _reverse_sequence_kernel(x, seq_lengths, *, seq_dim, batch_dim):
    x = np.asarray(x)
    for what, d in (("seq_dim", seq_dim), ("batch_dim", batch_dim)):
        if not 0 <= d < x.ndim:
            raise _invalid("Invalid %s %d" % (what, d))
    if seq_dim == batch_dim:
        raise _invalid("seq_dim == batch_dim == %d" % seq_dim)
    lengths = _as_index_list(seq_lengths, "seq_lengths", "ReverseSequence")
    if len(lengths) != x.shape[batch_dim]:
        raise _invalid("Length of seq_lengths != input.dims(%d), (%d vs. %d)"
                       % (batch_dim, len(lengths), x.shape[batch_dim]))
    out = x.copy()
    for b, n in enumerate(lengths):
        if not 0 <= n <= x.shape[seq_dim]:
            raise _invalid("seq_lens(%d) = %d not in [0, %d]" % (b, n, x.shape[seq_dim]))
        index = [builtins.slice(None)] * x.ndim
        index[batch_dim] = b
        index[seq_dim] = builtins.slice(0, n)
        source = list(index)
        source[seq_dim] = builtins.slice(n - 1, None, -1) if n else builtins.slice(0, 0)
        out[tuple(index)] = x[tuple(source)]
    return out


def _reverse_sequence_grad(op, grad):
    return [reverse_sequence(grad, op.inputs[1], seq_axis=op.get_attr("seq_dim"),
                             batch_axis=op.get_attr("batch_dim")), None]


registry.register_op("ReverseSequence", shape=_reverse_sequence_shape,
                     numpy=_reverse_sequence_kernel, gradient=_reverse_sequence_grad,
                     sharding=sharding.GATHER)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None,  # noqa: A002
                     seq_dim=None, batch_dim=None):
    """Reverses the first `seq_lengths[b]` entries along `seq_axis` of each batch entry b.

    Args:
      input: a Tensor.
      seq_lengths: a 1-D int32/int64 Tensor with one length per batch entry.
      seq_axis: the sequence dimension (TF1 also accepts `seq_dim`).
      batch_axis: the batch dimension (default 0; TF1 also accepts `batch_dim`).
      name: a name for the operation (default "ReverseSequence").

    Returns:
      A Tensor of the input's shape.

    Raises:
      ValueError: if the axes are invalid or the lengths do not match the batch size.
      InvalidArgumentError: at run time if a length exceeds the sequence dimension.
    """
    seq_axis = seq_dim if seq_axis is None else seq_axis
    batch_axis = batch_dim if batch_axis is None else batch_axis
    if seq_axis is None:
        raise ValueError("reverse_sequence needs seq_axis")
    batch_axis = 0 if batch_axis is None else batch_axis
    with _op_scope(name, "ReverseSequence", [input, seq_lengths]) as scope:
        input = as_tensor(input, name="input")
        lengths = _index_input(seq_lengths, "seq_lengths", "ReverseSequence")
        return _apply("ReverseSequence", [input, lengths],
                        {"seq_dim": int(seq_axis), "batch_dim": int(batch_axis)}, name=scope)


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
