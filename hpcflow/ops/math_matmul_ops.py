"""Matrix multiplication: MatMul, BatchMatMulV2 and tensordot (TF1 `math_ops`)."""
import builtins
import numbers
import warnings

import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor, is_tensor_like
from ..framework.tensor_shape import TensorShape, unknown_shape
from .math_helpers import (
    _FLOATS, _INDEX, _apply, _array_ops, _check_dtype, _check_same_dtype, _dense_grad, _op_scope,
    _shape_text)

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))


# ---------------------------------------------------------------------------------------------
# Matrix multiplication.

_MATMUL_TYPES = _FLOATS + _INDEX


def _matrix_dims(shape, transpose, param):
    if shape.ndims is not None and shape.ndims != 2:
        raise ValueError("Shape must be rank 2 but is rank %d (input '%s')" % (shape.ndims, param))
    if shape.ndims is None:
        return None, None
    rows, cols = shape
    return (cols, rows) if transpose else (rows, cols)


def _matmul_shape(op):
    _check_same_dtype(op, ("a", "b"))
    a, b = op.inputs
    _check_dtype(a, _MATMUL_TYPES, "a")
    m, k_a = _matrix_dims(a.shape, op.get_attr("transpose_a"), "a")
    k_b, n = _matrix_dims(b.shape, op.get_attr("transpose_b"), "b")
    if k_a is not None and k_b is not None and k_a != k_b:
        raise ValueError("Dimensions must be equal, but are %d and %d" % (k_a, k_b))
    return [(TensorShape([m, n]), a.dtype)]


def _matmul_arrays(a, b):
    if a.shape[-1] != b.shape[-2]:
        raise errors.InvalidArgumentError(
            None, None, "Matrix size-incompatible: In[0]: %s, In[1]: %s"
            % (_shape_text(a.shape), _shape_text(b.shape)))
    if a.dtype == np.float16:  # accumulate in float32, as TF
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    return np.matmul(a, b)


def _matmul_kernel(a, b, *, transpose_a, transpose_b):
    if a.ndim != 2 or b.ndim != 2:
        raise errors.InvalidArgumentError(None, None, "In[0] and In[1] must be matrices, got "
                                          "shapes %s and %s" % (_shape_text(a.shape),
                                                                _shape_text(b.shape)))
    return _matmul_arrays(a.T if transpose_a else a, b.T if transpose_b else b)


def _matmul_grad(op, grad):
    a, b = op.inputs
    t_a, t_b = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if not t_a and not t_b:
        return [matmul(grad, b, transpose_b=True), matmul(a, grad, transpose_a=True)]
    if not t_a and t_b:
        return [matmul(grad, b), matmul(grad, a, transpose_a=True)]
    if t_a and not t_b:
        return [matmul(b, grad, transpose_b=True), matmul(a, grad)]
    return [matmul(b, grad, transpose_a=True, transpose_b=True),
            matmul(grad, a, transpose_a=True, transpose_b=True)]


def _batch_dims(shape, param):
    if shape.ndims is None:
        return None
    if shape.ndims < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d (input '%s')"
                         % (shape.ndims, param))
    return shape[:-2]


def _batch_matmul_shape(op):
    _check_same_dtype(op)
    x, y = op.inputs
    _check_dtype(x, _MATMUL_TYPES + (dtypes.int16,))
    bx, by = _batch_dims(x.shape, "x"), _batch_dims(y.shape, "y")
    if bx is None or by is None:
        return [(unknown_shape(), x.dtype)]
    batch = broadcast_static_shape(bx, by)
    m, k_x = x.shape[-2:]
    if op.get_attr("adj_x"):
        m, k_x = k_x, m
    k_y, n = y.shape[-2:]
    if op.get_attr("adj_y"):
        k_y, n = n, k_y
    if k_x is not None and k_y is not None and k_x != k_y:
        raise ValueError("Dimensions must be equal, but are %d and %d" % (k_x, k_y))
    return [(batch.concatenate([m, n]), x.dtype)]


def _batch_matmul_kernel(x, y, *, adj_x, adj_y):
    if x.ndim < 2 or y.ndim < 2:
        raise errors.InvalidArgumentError(None, None, "In[0] and In[1] ndims must be >= 2: %d "
                                          "and %d" % (x.ndim, y.ndim))
    if adj_x:
        x = np.swapaxes(x, -1, -2)
    if adj_y:
        y = np.swapaxes(y, -1, -2)
    if x.shape[:-2] != y.shape[:-2]:
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            raise errors.InvalidArgumentError(
                None, None, "In[0] and In[1] must have compatible batch dimensions: %s vs. %s"
                % (_shape_text(x.shape), _shape_text(y.shape))) from None
    return _matmul_arrays(x, y)


def _batch_matmul_grad(op, grad):
    x, y = op.inputs
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")
    if not adj_x:
        if not adj_y:
            gx = matmul(grad, y, adjoint_b=True)
            gy = matmul(x, grad, adjoint_a=True)
        else:
            gx = matmul(grad, y)
            gy = matmul(grad, x, adjoint_a=True)
    else:
        if not adj_y:
            gx = matmul(y, grad, adjoint_b=True)
            gy = matmul(x, grad)
        else:
            gx = matmul(y, grad, adjoint_a=True, adjoint_b=True)
            gy = matmul(grad, x, adjoint_a=True, adjoint_b=True)
    # Batch dims may have been broadcast (BatchMatMulV2): sum them back.
    return [_reduce_to_shape(gx, x), _reduce_to_shape(gy, y)]


registry.register_op("MatMul", shape=_matmul_shape, numpy=_matmul_kernel,
                     gradient=_dense_grad(_matmul_grad),
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.matmul))
# Batch dims of both operands may be split or broadcast: the safe rule.
registry.register_op("BatchMatMulV2", shape=_batch_matmul_shape, numpy=_batch_matmul_kernel,
                     gradient=_dense_grad(_batch_matmul_grad), sharding=sharding.GATHER)


def _convert_pair(x, y, op_type, names):
    """Like convert_binary_operands, naming the operands as the op's inputs ("a", "b")."""
    if is_tensor_like(x) or not is_tensor_like(y):
        x = convert_to_tensor(x, name=names[0])
        y = _convert_like(y, x.dtype, op_type, names[1])
    else:
        y = convert_to_tensor(y, name=names[1])
        x = _convert_like(x, y.dtype, op_type, names[0])
    if x.dtype != y.dtype:
        raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                        "argument '%s'." % (names[1], op_type, y.dtype.name, x.dtype.name,
                                            names[0]))
    return x, y


def _convert_like(value, dtype, op_type, name):
    if is_tensor_like(value):
        return convert_to_tensor(value, name=name)
    try:
        return convert_to_tensor(value, dtype=dtype, name=name)
    except (TypeError, ValueError):
        return convert_to_tensor(value, name=name)  # the dtype check then names both


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """Multiplies matrix a by matrix b (op MatMul; BatchMatMulV2 for rank > 2 or unknown).

    Rank > 2 inputs are batches of matrices whose batch dims broadcast (TF2's BatchMatMulV2).
    For real dtypes adjoint is transpose. `a_is_sparse`/`b_is_sparse` are hints TF uses to
    pick another kernel with the same result; hpcflow accepts and ignores them.

    Args:
      a: Tensor of rank >= 2 (float16/32/64, int32, int64).
      b: Tensor of a's dtype and rank >= 2.
      transpose_a, transpose_b: transpose the last two dims of a / b first.
      adjoint_a, adjoint_b: conjugate-transpose a / b first.
      a_is_sparse, b_is_sparse: ignored hints.
      name: optional op name (default "MatMul").

    Returns:
      A Tensor of a's dtype.

    Raises:
      ValueError: if both transpose_x and adjoint_x are set, or the inner dimensions (or
        batch dims) are statically incompatible, or a rank is below 2.
      TypeError: if a and b have different dtypes.
    """
    with _op_scope(name, "MatMul", [a, b]) as scope:
        if transpose_a and adjoint_a:
            raise ValueError("Only one of transpose_a and adjoint_a can be True.")
        if transpose_b and adjoint_b:
            raise ValueError("Only one of transpose_b and adjoint_b can be True.")
        a, b = _convert_pair(a, b, "MatMul", ("a", "b"))
        t_a = builtins.bool(transpose_a or adjoint_a)
        t_b = builtins.bool(transpose_b or adjoint_b)
        ra, rb = a.shape.ndims, b.shape.ndims
        if ra is None or ra > 2 or rb is None or rb > 2:
            return _apply("BatchMatMulV2", [a, b], {"adj_x": t_a, "adj_y": t_b}, name=scope)
        return _apply("MatMul", [a, b], {"transpose_a": t_a, "transpose_b": t_b}, name=scope)


def tensordot(a, b, axes, name=None):
    """Tensor contraction of a and b over `axes` (TF `tf.tensordot`), via transpose+matmul.

    Args:
      a: Tensor of known rank.
      b: Tensor of a's dtype and known rank.
      axes: an int N (last N axes of a with first N of b) or a pair of int lists
        [a_axes, b_axes] of equal length.
      name: optional name (default "Tensordot").

    Returns:
      A Tensor of shape a_free_dims + b_free_dims.

    Raises:
      ValueError: if ranks are unknown, axes are malformed or out of range, or the
        contracted dims differ.
    """
    array_ops = _array_ops()
    with _op_scope(name, "Tensordot", [a, b]) as scope:
        a, b = _convert_pair(a, b, "Tensordot", ("a", "b"))
        ra, rb = a.shape.ndims, b.shape.ndims
        if ra is None or rb is None:
            raise ValueError("tensordot needs inputs of known rank, got %s and %s"
                             % (a.shape, b.shape))
        if isinstance(axes, numbers.Integral):
            if axes < 0 or axes > builtins.min(ra, rb):
                raise ValueError("'axes' must be at most the rank of a (%d) and b (%d), got %d"
                                 % (ra, rb, axes))
            a_axes, b_axes = list(builtins.range(ra - axes, ra)), list(builtins.range(axes))
        else:
            axes = tensor_util.constant_value(axes) if isinstance(axes, Tensor) else axes
            if axes is None or len(axes) != 2:
                raise ValueError("'axes' must be an int or a pair of axis lists, got %r"
                                 % (axes,))
            a_axes = [int(v) for v in np.asarray(axes[0]).reshape(-1)]
            b_axes = [int(v) for v in np.asarray(axes[1]).reshape(-1)]
            if len(a_axes) != len(b_axes):
                raise ValueError("Different number of contraction axes 'a' and 'b', %d != %d."
                                 % (len(a_axes), len(b_axes)))
        a_axes = [ax % ra if -ra <= ax < ra else _axis_error(ax, ra) for ax in a_axes]
        b_axes = [ax % rb if -rb <= ax < rb else _axis_error(ax, rb) for ax in b_axes]
        for i, j in zip(a_axes, b_axes):
            da, db = a.shape[i], b.shape[j]
            if da is not None and db is not None and da != db:
                raise ValueError("Dimensions must be equal, but are %d and %d (tensordot axes "
                                 "%d of a and %d of b)" % (da, db, i, j))
        a_free = [i for i in builtins.range(ra) if i not in a_axes]
        b_free = [i for i in builtins.range(rb) if i not in b_axes]
        a_2d, a_free_dims = _tensordot_reshape(a, a_free, a_axes, array_ops)
        b_2d, b_free_dims = _tensordot_reshape(b, b_axes, b_free, array_ops, flipped=True)
        product = matmul(a_2d, b_2d)
        if isinstance(a_free_dims, list) and isinstance(b_free_dims, list):
            return array_ops.reshape(product, a_free_dims + b_free_dims, name=scope)
        result = array_ops.reshape(product, array_ops.concat(
            [_as_shape_tensor(a_free_dims), _as_shape_tensor(b_free_dims)], 0), name=scope)
        result.set_shape([a.shape[i] for i in a_free] + [b.shape[i] for i in b_free])
        return result


def _axis_error(axis, rank):
    raise ValueError("tensordot axis %d is out of range for a tensor of rank %d" % (axis, rank))


def _as_shape_tensor(dims):
    if isinstance(dims, list):
        from .constant_op import constant
        return constant(np.array(dims, dtype=np.int32))
    return dims


def _tensordot_reshape(t, first, second, array_ops, flipped=False):
    """t transposed to `first + second` axes and reshaped to 2-D; also the free dims.

    The free dims are `first` (for a) or `second` (for b, `flipped`): a Python list when
    static, else a 1-D int32 Tensor gathered from shape(t).
    """
    perm = first + second
    if perm != list(builtins.range(len(perm))):
        t_perm = array_ops.transpose(t, perm)
    else:
        t_perm = t
    free = second if flipped else first
    dims = list(t.shape)
    free_static = [dims[i] for i in free]
    rows_static = [dims[i] for i in first]
    cols_static = [dims[i] for i in second]

    def product(values):
        n = 1
        for v in values:
            n *= v
        return n

    if None not in rows_static and None not in cols_static:
        t_2d = array_ops.reshape(t_perm, [product(rows_static), product(cols_static)])
    elif None not in cols_static:
        t_2d = array_ops.reshape(t_perm, [-1, product(cols_static)])
    elif None not in rows_static:
        t_2d = array_ops.reshape(t_perm, [product(rows_static), -1])
    else:
        shape = array_ops.shape(t)
        rows = reduce_prod(array_ops.gather(shape, first))
        t_2d = array_ops.reshape(t_perm, array_ops.stack([rows, -1]))
    if None in free_static:
        free_dims = array_ops.gather(array_ops.shape(t), free)
    else:
        free_dims = free_static
    return t_2d, free_dims


# Ops of the other math modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .math_broadcast_ops import _reduce_to_shape, broadcast_static_shape  # noqa: E402
from .math_reduction_ops import reduce_prod  # noqa: E402
