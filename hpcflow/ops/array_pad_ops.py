"""Array ops that repeat or pad a tensor: Tile, Pad, PadV2, MirrorPad, MirrorPadGrad
(TF1 `array_ops`)."""
import builtins

import numpy as np

from ..framework import registry, sharding, sharding_rules
from ..framework.tensor_conversion import is_tensor_like
from ..framework.tensor_shape import TensorShape, unknown_shape
from .array_helpers import (
    _apply, _as_index_list, _check_index_dtype, _check_rank, _const, _const_ints, _dims,
    _index_input, _invalid, _math, _op_scope, _shape_str)
from .op_helpers import as_tensor


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
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.layout))


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


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_creation_ops import range  # noqa: E402
from .array_join_ops import stack  # noqa: E402
from .array_reorder_ops import transpose  # noqa: E402
from .array_shape_ops import rank, reshape, shape, size  # noqa: E402
from .array_slice_ops import slice  # noqa: E402
