"""The sharding rules op records name (see sharding.py for the states R, S, P).

A rule gets the op, its inputs' states and `state_of` (the state of any earlier tensor) and
returns a Decision, or None when the op's tag should decide. Every rule keeps the invariant
data_parallel.py relies on: each S tensor holds exactly the rows the one-process run
computes, and the P tensors of the ranks sum to the one-process value. Rules that take a
configuration (which inputs are row-aligned) are built by the functions at the end.
"""
import numpy as np

from . import tensor_util
from .sharding import P, R, S, Decision, all_replicated, same


def _const_ints(t):
    value = tensor_util.constant_value(t)
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def _rank(t):
    return t.shape.ndims


def _batch_independent(t, out_rank):
    """True if R tensor `t` broadcasts against the batch axis rather than aligning with it."""
    r = _rank(t)
    if r is None or out_rank is None:
        return False
    return r < out_rank or t.shape[0] == 1


def _axes(op, input_index=1):
    x = op.inputs[0]
    axes = _const_ints(op.inputs[input_index]) if len(op.inputs) > input_index else None
    rank = _rank(x)
    if axes is None or rank is None:
        return None
    return [a % rank if rank else a for a in axes]


def elementwise(op, states):
    """Output element i from input elements i: S stays S; R inputs aligned with the batch
    are cut to this rank's rows, P inputs summed first."""
    if S not in states:  # partial sums meeting replicated values: sum first, stay replicated
        return all_replicated(op, states)
    out_rank = op.outputs[0].shape.ndims if op.outputs else None
    convert = {}
    for i, (t, s) in enumerate(zip(op.inputs, states)):
        if s == P:
            convert[i] = R
        elif s == R and not _batch_independent(t, out_rank):
            convert[i] = "local_rows"
    return Decision([S] * len(op.outputs), convert)


# -- linear ops --------------------------------------------------------------------------------

def pass_through(op, states, state_of):
    """Identity-like ops (Identity, Cast, Neg...): the first input's state, whatever it is."""
    return Decision([states[0]] * len(op.outputs),
                    {i: R for i, s in enumerate(states[1:], 1) if s != R})


def linear_add(op, states, state_of):
    """Add, Sub, AddN: a sum of partial sums is a partial sum."""
    return same(op, P) if all(s == P for s in states) else None


def scale(op, states, state_of):
    """Mul: a partial sum times a value that does not vary along the batch stays partial."""
    out_rank = _rank(op.outputs[0])
    if states.count(P) == 1 and all(s == P or (s == R and _batch_independent(x, out_rank))
                                    for x, s in zip(op.inputs, states)):
        return same(op, P)
    return None


def divide(op, states, state_of):
    """RealDiv, Div: a partial sum divided by a value that does not vary along the batch."""
    if states[0] == P and states[1] == R and \
            _batch_independent(op.inputs[1], _rank(op.outputs[0])):
        return same(op, P)
    return None


def select(op, states, state_of):
    """Select/SelectV2/Where(cond, x, y): element-wise in all three inputs."""
    return elementwise(op, states) if len(op.inputs) == 3 else None


# -- shapes ------------------------------------------------------------------------------------

def shape_of_rows(op, states, state_of):
    """Shape and Size of S tensors report the global batch (the one-process value)."""
    if states[0] != S:
        return None
    return Decision([R], rewrite="_DPGlobalShape" if op.type == "Shape" else "_DPGlobalSize")


def replicated(op, states, state_of):
    """Rank: the same on every rank whatever its input's state."""
    return same(op, R)


def like(op, states, state_of):
    """ZerosLike, OnesLike: rows for rows."""
    return same(op, S if states[0] == S else R)


def reshape(op, states, state_of):
    if states[0] == P:
        return Decision([P], {1: R} if states[1] != R else None)
    if states[0] != S:
        return None
    if _reshape_keeps_rows(op):
        return Decision([S], rewrite="_DPShardReshape")
    return all_replicated(op, states)


def _reshape_keeps_rows(op):
    """True if the reshape keeps axis 0 as the batch: same trailing element count."""
    x, shape = op.inputs
    if shape.op.type == "Shape" and x.op.type == "Sum" and \
            x.op.inputs[1].op.type == "BroadcastGradientArgs":
        # reshape(reduce_sum(grad, rx), shape(x)) in broadcasting ops' gradients: the sum
        # kept the rows (see _sums_only_within_rows), the reshape restores x's row shape.
        return True
    x_dims = x.shape.as_tuple_or_none()
    if x_dims is None or any(d is None for d in x_dims[1:]):
        return False
    row = int(np.prod(x_dims[1:], dtype=np.int64))
    target = _const_ints(shape)
    if target is None and shape.op.type == "Shape":  # reshape(grad, shape(x)) in gradients
        target_dims = shape.op.inputs[0].shape.as_tuple_or_none()
        if target_dims is None or any(d is None for d in target_dims[1:]):
            return False
        return int(np.prod(target_dims[1:], dtype=np.int64)) == row
    if not target or target[0] != -1 or any(d < 0 for d in target[1:]):
        return False
    return int(np.prod(target[1:], dtype=np.int64)) == row


def layout(op, states, state_of):
    """ExpandDims, Squeeze, Transpose, Tile: split if axis 0 stays the batch axis."""
    if states[0] not in (S, P):
        return None
    if states[0] == P and op.type != "Tile":
        return Decision([P])
    if _keeps_batch_axis(op):
        return Decision([S])
    return all_replicated(op, states)


def _keeps_batch_axis(op):
    t = op.type
    if t == "ExpandDims":
        axis = _const_ints(op.inputs[1])
        rank = _rank(op.inputs[0])
        return axis is not None and rank is not None and axis[0] % (rank + 1) != 0
    if t == "Squeeze":
        dims = op.get_attr("squeeze_dims")
        rank = _rank(op.inputs[0])
        return bool(dims) and rank is not None and all(d % rank != 0 for d in dims)
    if t == "Transpose":
        perm = _const_ints(op.inputs[1])
        return perm is not None and perm[0] == 0
    if t == "Tile":
        multiples = _const_ints(op.inputs[1])
        return multiples is not None and multiples[0] == 1
    return False


def join(op, states, state_of):
    """ConcatV2, Pack: split when joining beside the batch axis."""
    if S not in states:
        return None
    t = op.type
    axis = op.get_attr("axis") if t == "Pack" else (_const_ints(op.inputs[-1]) or [None])[0]
    n_values = len(op.inputs) if t == "Pack" else len(op.inputs) - 1
    if axis is not None and axis != 0 and (t == "Pack" or axis > 0 or axis < -1) and \
            all(s in (S, R) for s in states[:n_values]):
        convert = {i: "local_rows" for i, s in enumerate(states[:n_values]) if s == R}
        return Decision([S], convert)
    return all_replicated(op, states)


def strided_slice(op, states, state_of):
    """Slicing that keeps every row (`x[:, 1:3]`) stays split."""
    if states[0] != S or any(s != R for s in states[1:]):
        return None
    if _strided_slice_keeps_rows(op):
        return Decision([S])
    return all_replicated(op, states)


def _strided_slice_keeps_rows(op):
    attrs = op.attrs
    begin_mask, end_mask = attrs.get("begin_mask", 0), attrs.get("end_mask", 0)
    if attrs.get("ellipsis_mask", 0) & 1 or attrs.get("new_axis_mask", 0) & 1 or \
            attrs.get("shrink_axis_mask", 0) & 1:
        return False
    strides = _const_ints(op.inputs[3])
    return bool(begin_mask & 1) and bool(end_mask & 1) and strides is not None and strides[0] == 1


def gather(op, states, state_of):
    """GatherV2 of replicated params by split indices along axis 0: rows for rows."""
    if states[0] == R and states[1] == S and _const_ints(op.inputs[2]) == [0]:
        return Decision([S])
    return None


# -- reductions and contractions ---------------------------------------------------------------

def sum_or_mean(op, states, state_of):
    """Sum/Mean: over the batch axis a partial sum (the mean divides by the global count);
    within rows, still split."""
    if states[0] not in (S, P) or states[1] != R:
        return None
    if states[0] == P:
        return same(op, P)
    axes = _axes(op)
    if axes is None and op.type == "Sum" and _sums_only_within_rows(op, state_of):
        return Decision([S])
    if axes is None:
        return all_replicated(op, states)
    if 0 in axes:
        return Decision([P]) if op.type == "Sum" else Decision([P], rewrite="_DPShardMean")
    return Decision([S])


def _sums_only_within_rows(op, state_of):
    """True if Sum `op` reduces its S input by axes that never include the batch axis.

    Gradients of broadcasting binary ops (Sub, Mul, ...) sum by the axes a
    BroadcastGradientArgs op computes at run time. When both of its shapes are those of S
    tensors of the gradient's rank, both have the global batch as axis 0, so axis 0 is
    never among the axes.
    """
    axes_op = op.inputs[1].op
    if state_of is None or axes_op.type != "BroadcastGradientArgs":
        return False
    rank = _rank(op.inputs[0])
    return rank is not None and all(
        s.op.type == "Shape" and state_of(s.op.inputs[0]) == S and
        _rank(s.op.inputs[0]) == rank for s in axes_op.inputs)


def order_reduction(op, states, state_of):
    """Max, ArgMax, Cumsum...: within rows still split; over the batch, gather first."""
    if states[0] != S or any(s != R for s in states[1:]):
        return None
    axes = _axes(op)
    if axes is not None and 0 not in axes:
        return Decision([S] * len(op.outputs))
    return all_replicated(op, states)


def matmul(op, states, state_of):
    """Rows times weights: rows; rows^T times rows: a partial sum; partial times whole:
    partial."""
    transpose_a = op.get_attr("transpose_a")
    transpose_b = op.get_attr("transpose_b")
    a, b = states
    if a == S and b == R and not transpose_a:
        return Decision([S])
    if a == S and b == S and transpose_a and not transpose_b:
        return Decision([P])
    if (a == P and b == R) or (a == R and b == P):
        return Decision([P])
    return all_replicated(op, states)


# -- rules configured per op -------------------------------------------------------------------

def batch_contraction(*aligned):
    """An op summing over the batch the rows of its inputs at `aligned` (BiasAddGrad,
    Conv2DBackpropFilter, L2Loss): a partial sum."""
    def rule(op, states, state_of):
        if all((states[i] == S) == (i in aligned) for i in range(len(states))):
            return Decision([P] * len(op.outputs))
        return all_replicated(op, states)
    return rule


def row_aligned(*aligned):
    """An op treating rows independently, whose inputs at `aligned` are row-aligned with the
    batch and whose other inputs are used whole (softmax, conv2d, pooling, bias_add...)."""
    def rule(op, states, state_of):
        # A rank-1 input has no row structure: its one axis is the batch (softmax of a vector).
        rows_ok = op.type == "OneHot" or (_rank(op.inputs[0]) or 0) >= 2
        if rows_ok and states[0] == S and all(s == R for i, s in enumerate(states)
                                              if i not in aligned):
            convert = {i: "local_rows" for i in aligned if i < len(states) and states[i] == R}
            convert.update({i: R for i in aligned if i < len(states) and states[i] == P})
            return Decision([S] * len(op.outputs), convert)
        return all_replicated(op, states)
    return rule


def local_shape_input(shape_input, grad_input):
    """An op given its output's global shape as input `shape_input` (Conv2DBackpropInput,
    AvgPoolGrad): rows of `grad_input` give rows, with each rank's own shape."""
    def rule(op, states, state_of):
        if states[grad_input] == S and all(s == R for i, s in enumerate(states)
                                            if i != grad_input):
            return Decision([S], local_shape_inputs=(shape_input,))
        return all_replicated(op, states)
    return rule
