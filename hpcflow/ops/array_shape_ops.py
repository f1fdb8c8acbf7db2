"""Array ops that change a tensor's shape, not its values: Identity, IdentityN, Shape, Size,
Rank, Reshape, ExpandDims, Squeeze, BroadcastTo, EnsureShape (TF1 `array_ops`)."""
import builtins

import numpy as np

from ..framework import dtypes, registry, sharding, sharding_rules
from ..framework.graph import Tensor
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from .array_helpers import (
    _apply, _as_index_list, _broadcast_dims, _check_index_dtype, _check_out_type, _check_rank,
    _const_as_shape, _const_int, _const_ints, _dims, _index_input, _invalid, _math, _op_scope,
    _same_shape, _shape_str)
from .op_helpers import as_tensor


# -- Identity, StopGradient --------------------------------------------------------------------

def _identity_kernel(x):
    return x


registry.register_op("Identity", shape=_same_shape, numpy=_identity_kernel,
                     gradient=lambda op, grad: [grad],
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.pass_through))
registry.register_op("StopGradient", shape=_same_shape, numpy=_identity_kernel,
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.pass_through))
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


# -- IdentityN --------------------------------------------------------------------------------

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
registry.register_op("Shape", shape=_shape_shape, numpy=_shape_kernel,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.shape_of_rows))
registry.register_op("ShapeN", shape=_shape_n_shape, numpy=_shape_n_kernel,
                     sharding=sharding.GATHER)
registry.register_op("Size", shape=_size_shape, numpy=_size_kernel,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.shape_of_rows))
registry.register_op("Rank", shape=_rank_shape, numpy=_rank_kernel,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.replicated))
registry.not_differentiable("Shape", "ShapeN", "Size", "Rank")


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
                     gradient=_reshape_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.reshape))


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
                     gradient=_reshape_back_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.layout))


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
                     gradient=_reshape_back_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.layout))


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


# -- EnsureShape ------------------------------------------------------------------------------

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
                     gradient=lambda op, grad: [grad],
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.pass_through))


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
