"""Array ops that reorder elements: Transpose, InvertPermutation, ReverseV2,
ReverseSequence (TF1 `array_ops`)."""
import builtins

import numpy as np

from ..framework import registry, sharding, sharding_rules
from ..framework.tensor_shape import TensorShape, unknown_shape
from .array_helpers import (
    _INDEX_DTYPES, _apply, _as_index_list, _canonical_axis, _check_index_dtype, _check_rank,
    _const_ints, _dims, _index_input, _invalid, _kernel_axis, _math, _op_scope, _shape_str)
from .op_helpers import as_tensor


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
                     gradient=_transpose_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.layout))
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


# -- InvertPermutation ------------------------------------------------------------------------

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


# -- ReverseSequence --------------------------------------------------------------------------

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


# Ops of the other array modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .array_creation_ops import range  # noqa: E402
from .array_shape_ops import rank  # noqa: E402
