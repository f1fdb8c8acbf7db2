"""Softmax and losses (TF1 `tf.nn`): Softmax/LogSoftmax, the fused softmax cross-entropies
(which output the loss AND its backprop, as TF's do), the sigmoid and weighted
cross-entropies, log_poisson_loss and L2Loss."""
import numpy as np

from ..framework import errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor, name_scope
from ..framework.tensor_shape import TensorShape
from . import array_ops, math_ops
from .nn_helpers import (
    _FLOATS, _INDEX_TYPES, _axis_alias, _cast_like, _check_dtype, _check_same_dtype,
    _compute_dtype, _merge_dims, _with_rank, _with_rank_at_least)
from .op_helpers import apply_op, as_tensor


def _is_zeros(tensor):
    """True when `tensor` is known to be all zeros (e.g. autodiff's filler for unused outputs)."""
    if tensor.op.type in ("ZerosLike", "Zeros"):
        return True
    value = tensor_util.constant_value(tensor)
    return value is not None and not np.any(value)


# ---------------------------------------------------------------------------------------------
# Softmax and log-softmax over the last axis (other axes are transposed there, as TF does).

def _softmax_shape(op):
    x = op.inputs[0]
    _check_dtype(x, op.type, "logits", _FLOATS)
    _with_rank_at_least(x.shape, 1, "logits of %s" % op.type)
    return [(x.shape, x.dtype)]


def _log_softmax_array(x):
    # Shift by the row max so exp never overflows; an empty last axis stays empty.
    if x.shape[-1] == 0:
        return x.copy()
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax_kernel(logits):
    x = logits.astype(_compute_dtype(logits.dtype), copy=False)
    if x.shape[-1] == 0:
        return logits.copy()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return (e / np.sum(e, axis=-1, keepdims=True)).astype(logits.dtype, copy=False)


def _log_softmax_kernel(logits):
    x = logits.astype(_compute_dtype(logits.dtype), copy=False)
    return _log_softmax_array(x).astype(logits.dtype, copy=False)


def _softmax_grad(op, grad):
    y = op.outputs[0]
    return [(grad - math_ops.reduce_sum(grad * y, -1, keepdims=True)) * y]


def _log_softmax_grad(op, grad):
    softmax_ = math_ops.exp(op.outputs[0])
    return [grad - math_ops.reduce_sum(grad, -1, keepdims=True) * softmax_]


registry.register_op("Softmax", shape=_softmax_shape, numpy=_softmax_kernel,
                     gradient=_softmax_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("LogSoftmax", shape=_softmax_shape, numpy=_log_softmax_kernel,
                     gradient=_log_softmax_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))


def _static_axis(axis, what):
    if isinstance(axis, Tensor):
        value = tensor_util.constant_value(axis)
        if value is None:
            raise ValueError("%s must be known when the graph is built, got tensor %s"
                             % (what, axis.name))
        axis = value
    return int(np.asarray(axis))


def _swap_last_perm(rank, axis):
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return perm


def _on_last_axis(compute, x, axis, name):
    """Applies `compute(t, name)` (which works on the last axis) along `axis` of `x`."""
    if axis == -1:
        return compute(x, name)
    rank = x.shape.ndims
    if rank is not None and not -rank <= axis < rank:
        raise errors.InvalidArgumentError(
            None, None, "`dim` must be in the range [%d, %d) where %d is the number of "
            "dimensions in the input. Received: dim=%d" % (-rank, rank, rank, axis))
    if rank is not None and axis == rank - 1:
        return compute(x, name)
    if rank is None:
        raise ValueError("Applying %s along axis %d needs the rank of %s to be known"
                         % (name or "softmax", axis, x.name))
    perm = _swap_last_perm(rank, axis % rank)
    moved = compute(array_ops.transpose(x, perm), None)
    return array_ops.transpose(moved, perm, name=name)


def softmax(logits, axis=None, name=None, dim=None):
    """Computes softmax activations: `exp(logits) / reduce_sum(exp(logits), axis)`, stably.

    Args:
      logits: a non-empty floating point Tensor.
      axis: the dimension softmax is performed on (default -1, the last). `dim` is its
        deprecated TF1 alias.
      name: a name for the operation.

    Returns:
      A Tensor of the same type and shape as `logits`.

    Raises:
      InvalidArgumentError: if `axis` is out of range of `logits`' rank.
      TypeError: if `logits` is not floating point.
    """
    axis = _axis_alias(axis, dim, -1)
    logits = as_tensor(logits, name="logits")
    return _on_last_axis(lambda t, n: apply_op("Softmax", [t], name=n or "Softmax"),
                         logits, _static_axis(axis, "softmax axis"), name)


def log_softmax(logits, axis=None, name=None, dim=None):
    """Computes log softmax activations: `logits - log(reduce_sum(exp(logits), axis))`.

    Args and errors as `softmax`.
    """
    axis = _axis_alias(axis, dim, -1)
    logits = as_tensor(logits, name="logits")
    return _on_last_axis(lambda t, n: apply_op("LogSoftmax", [t], name=n or "LogSoftmax"),
                         logits, _static_axis(axis, "log_softmax axis"), name)


# ---------------------------------------------------------------------------------------------
# Fused softmax cross-entropies: one kernel outputs the per-example loss and its backprop.

def _xent_shape(op):
    features, labels = op.inputs
    _check_dtype(features, op.type, "features", _FLOATS)
    _check_same_dtype(op.type, features, "features", labels, "labels")
    fs = _with_rank(features.shape, 2, "logits of %s" % op.type)
    ls = _with_rank(labels.shape, 2, "labels of %s" % op.type)
    batch = _merge_dims(fs[0], ls[0], "the batch of logits and labels")
    classes = _merge_dims(fs[1], ls[1], "the classes of logits and labels")
    return [(TensorShape([batch]), features.dtype),
            (TensorShape([batch, classes]), features.dtype)]


def _softmax_xent_kernel(features, labels):
    dtype = _compute_dtype(features.dtype)
    x = features.astype(dtype, copy=False)
    z = labels.astype(dtype, copy=False)
    log_sm = _log_softmax_array(x)
    loss = -np.sum(z * log_sm, axis=1)
    backprop = np.exp(log_sm) - z
    return loss.astype(features.dtype, copy=False), backprop.astype(features.dtype, copy=False)


def _softmax_curvature(logits, v):
    """The softmax Jacobian (symmetric) applied to v: `(v - sum(v * s)) * s`, s = softmax."""
    s = softmax(logits)
    return (v - math_ops.reduce_sum(v * s, -1, keepdims=True)) * s


def _softmax_xent_grad(op, grad_loss, grad_backprop):
    logits = op.inputs[0]
    grad_loss = array_ops.expand_dims(grad_loss, -1)
    grad_logits = grad_loss * op.outputs[1]
    grad_labels = grad_loss * -log_softmax(logits)
    # backprop = softmax(logits) - labels: its own gradient (second-order use) is the softmax
    # curvature for logits and -1 for labels.
    if grad_backprop is not None and not _is_zeros(grad_backprop):
        grad_logits = grad_logits + _softmax_curvature(logits, grad_backprop)
        grad_labels = grad_labels - grad_backprop
    return [grad_logits, grad_labels]


registry.register_op("SoftmaxCrossEntropyWithLogits", shape=_xent_shape,
                     numpy=_softmax_xent_kernel, gradient=_softmax_xent_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1)))


def _sparse_xent_shape(op):
    features, labels = op.inputs
    _check_dtype(features, op.type, "features", _FLOATS)
    _check_dtype(labels, op.type, "labels", _INDEX_TYPES)
    fs = _with_rank(features.shape, 2, "logits of %s" % op.type)
    ls = _with_rank(labels.shape, 1, "labels of %s" % op.type)
    batch = _merge_dims(fs[0], ls[0], "the batch of logits and labels")
    return [(TensorShape([batch]), features.dtype), (TensorShape([batch, fs[1]]), features.dtype)]


def _sparse_xent_kernel(features, labels):
    num_classes = features.shape[1]
    bad = (labels < 0) | (labels >= num_classes)
    if np.any(bad):
        raise errors.InvalidArgumentError(
            None, None, "Received a label value of %d which is outside the valid range of "
            "[0, %d).  Label values: %s" % (labels[bad][0], num_classes,
                                             " ".join(str(v) for v in labels.ravel())))
    dtype = _compute_dtype(features.dtype)
    log_sm = _log_softmax_array(features.astype(dtype, copy=False))
    rows = np.arange(labels.shape[0])
    loss = -log_sm[rows, labels]
    backprop = np.exp(log_sm)
    backprop[rows, labels] -= 1
    return loss.astype(features.dtype, copy=False), backprop.astype(features.dtype, copy=False)


def _sparse_xent_grad(op, grad_loss, grad_backprop):
    logits = op.inputs[0]
    grad_logits = array_ops.expand_dims(grad_loss, -1) * op.outputs[1]
    if grad_backprop is not None and not _is_zeros(grad_backprop):
        # backprop = softmax(logits) - one_hot(labels): TF refuses this second derivative;
        # it is just the softmax curvature.
        grad_logits = grad_logits + _softmax_curvature(logits, grad_backprop)
    return [grad_logits, None]


registry.register_op("SparseSoftmaxCrossEntropyWithLogits", shape=_sparse_xent_shape,
                     numpy=_sparse_xent_kernel, gradient=_sparse_xent_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1)))


def _flatten_to_2d(tensor, num_classes):
    return array_ops.reshape(tensor, [-1, num_classes])


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None):
    """Per-example softmax cross entropy `-sum(labels * log_softmax(logits), axis)`.

    Backpropagates into both `logits` and `labels` (wrap labels in `stop_gradient` to
    prevent that). Each row of `labels` should be a probability distribution.

    Args:
      labels: a Tensor like `logits`, each vector along `axis` a distribution.
      logits: unscaled log probabilities, floating point.
      axis: the class dimension (default -1). `dim` is its deprecated alias.
      name: a name for the operation.

    Returns:
      A Tensor of `logits`' type with the shape of `logits` minus `axis`.

    Raises:
      ValueError: if the shapes of `labels` and `logits` differ.
      TypeError: if their dtypes differ or are not floating point.
    """
    axis = _axis_alias(axis, dim, -1)
    with name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = as_tensor(logits, name="logits")
        labels = as_tensor(labels, dtype=None if isinstance(labels, Tensor) else logits.dtype,
                           name="labels")
        if labels.dtype != logits.dtype and labels.dtype.is_floating:
            labels = _cast_like(labels, logits)  # as TF: labels follow the logits' type
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError("Dimensions must be equal: logits %s and labels %s of %s have "
                             "different shapes" % (logits.shape, labels.shape, scope[:-1]))
        axis = _static_axis(axis, "cross entropy axis")
        rank = logits.shape.ndims
        if rank is not None and rank == 0:
            raise ValueError("Logits cannot be scalars - received shape %s." % logits.shape)
        if rank is not None and not -rank <= axis < rank:
            raise errors.InvalidArgumentError(
                None, None, "`axis` %d is out of range for logits of rank %d" % (axis, rank))
        if axis != -1 and (rank is None or axis % rank != rank - 1):
            if rank is None:
                raise ValueError("softmax_cross_entropy_with_logits along axis %d needs the "
                                 "rank of the logits to be known" % axis)
            perm = _swap_last_perm(rank, axis % rank)
            logits = array_ops.transpose(logits, perm)
            labels = array_ops.transpose(labels, perm)
        if logits.shape.ndims == 2:
            loss, _ = apply_op("SoftmaxCrossEntropyWithLogits", [logits, labels], name=scope)
            return loss
        # Other ranks: flatten the leading dims into one batch, then restore them.
        num_classes = logits.shape[-1] if logits.shape.ndims is not None else None
        if num_classes is None:
            num_classes = array_ops.shape(logits)[-1]
        loss, _ = apply_op("SoftmaxCrossEntropyWithLogits",
                           [_flatten_to_2d(logits, num_classes),
                            _flatten_to_2d(labels, num_classes)],
                           name="SoftmaxCrossEntropyWithLogits")
        if logits.shape.ndims is not None and logits.shape[:-1].is_fully_defined():
            out_shape = logits.shape[:-1].as_list()
        else:
            out_shape = array_ops.shape(logits)[:-1]
        result = array_ops.reshape(loss, out_shape, name=scope)
        if logits.shape.ndims is not None:
            result.set_shape(logits.shape[:-1])
        return result


def softmax_cross_entropy_with_logits(labels=None, logits=None, dim=-1, name=None, axis=None):
    """Per-example softmax cross entropy (TF1 version: no gradient flows into `labels`).

    Same as `softmax_cross_entropy_with_logits_v2` with `labels` wrapped in `stop_gradient`.
    """
    axis = _axis_alias(axis, None if dim == -1 else dim, -1)
    if labels is None or logits is None:
        raise ValueError("Both labels= and logits= must be provided.")
    with name_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
    return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, axis=axis,
                                                name=scope)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Per-example softmax cross entropy with integer class labels.

    Args:
      labels: int32/int64 Tensor of shape `logits.shape[:-1]`, values in [0, num_classes).
      logits: floating point Tensor of shape `[d_0, ..., d_{r-1}, num_classes]`.
      name: a name for the operation.

    Returns:
      A Tensor of `logits`' type and the shape of `labels`.

    Raises:
      ValueError: if `logits` is a scalar or the shapes do not agree.
      TypeError: if labels are not int32/int64.
      InvalidArgumentError: at run time, if a label is outside [0, num_classes).
    """
    if labels is None or logits is None:
        raise ValueError("Both labels= and logits= must be provided.")
    with name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]):
        labels = as_tensor(labels, name="labels")
        logits = as_tensor(logits, name="logits")
        _check_dtype(labels, "SparseSoftmaxCrossEntropyWithLogits", "labels", _INDEX_TYPES)
        _check_dtype(logits, "SparseSoftmaxCrossEntropyWithLogits", "logits", _FLOATS)
        ls, gs = labels.shape, logits.shape
        if gs.ndims == 0:
            raise ValueError("Logits cannot be scalars - received shape %s." % gs)
        if ls.ndims is not None and gs.ndims is not None and (
                ls.ndims != gs.ndims - 1 or not ls.is_compatible_with(gs[:-1])):
            raise ValueError("`labels.shape` must equal `logits.shape` except for the last "
                             "dimension. Received: labels.shape=%s and logits.shape=%s"
                             % (ls, gs))
        if gs.ndims == 2:
            loss, _ = apply_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels],
                               name=name or "SparseSoftmaxCrossEntropyWithLogits")
            return loss
        num_classes = gs[-1] if gs.ndims is not None else None
        if num_classes is None:
            num_classes = array_ops.shape(logits)[-1]
        loss, _ = apply_op("SparseSoftmaxCrossEntropyWithLogits",
                           [_flatten_to_2d(logits, num_classes), array_ops.reshape(labels, [-1])],
                           name="SparseSoftmaxCrossEntropyWithLogits")
        out_shape = ls.as_list() if ls.is_fully_defined() else array_ops.shape(labels)
        result = array_ops.reshape(loss, out_shape, name=name)
        result.set_shape(ls)
        return result


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Element-wise logistic loss `max(x, 0) - x * z + log(1 + exp(-abs(x)))`, stable.

    Args:
      labels: a Tensor of the type and shape of `logits`, values in [0, 1].
      logits: a floating point Tensor.
      name: a name for the operation (default "logistic_loss").

    Returns:
      A Tensor of the shape of `logits` with the element-wise losses.

    Raises:
      ValueError: if `logits` and `labels` have different shapes.
    """
    if labels is None or logits is None:
        raise ValueError("Both labels= and logits= must be provided.")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits, labels = _logits_and_labels(logits, labels)
        # Selects (not max/abs) so the gradient at 0 is sigmoid(0) - z, as TF's.
        zeros = array_ops.zeros_like(logits)
        cond = math_ops.greater_equal(logits, zeros)
        relu_logits = array_ops.where(cond, logits, zeros)
        neg_abs_logits = array_ops.where(cond, math_ops.negative(logits), logits)
        return math_ops.add(relu_logits - logits * labels,
                            math_ops.log1p(math_ops.exp(neg_abs_logits)), name=scope)


def _logits_and_labels(logits, labels):
    """Both as Tensors (labels in the logits' dtype unless already a Tensor), same shape.

    Raises:
      ValueError: if their shapes differ.
    """
    logits = as_tensor(logits, name="logits")
    labels = as_tensor(labels, dtype=None if isinstance(labels, Tensor) else logits.dtype,
                       name="labels")
    if not logits.shape.is_compatible_with(labels.shape):
        raise ValueError("`logits` and `labels` must have the same shape, received (%s vs "
                         "%s)." % (logits.shape, labels.shape))
    return logits, labels


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None,
                                       targets=None):
    """Logistic loss with positive examples weighted by `pos_weight`, computed stably:
    `(1 - z) * x + (1 + (q - 1) * z) * (log(1 + exp(-abs(x))) + max(-x, 0))`.

    `targets` is the deprecated alias of `labels`.

    Raises:
      ValueError: if `logits` and `labels` have different shapes.
    """
    if labels is None:
        labels = targets
    elif targets is not None:
        raise ValueError("Cannot specify both 'labels' and 'targets'")
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("labels, logits and pos_weight must be provided.")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits, labels = _logits_and_labels(logits, labels)
        pos_weight = as_tensor(pos_weight, dtype=None if isinstance(pos_weight, Tensor)
                               else logits.dtype, name="pos_weight")
        log_weight = 1 + (pos_weight - 1) * labels
        softplus_neg = math_ops.log1p(math_ops.exp(-math_ops.abs(logits))) + relu(-logits)
        return math_ops.add((1 - labels) * logits, log_weight * softplus_neg, name=scope)


def log_poisson_loss(targets, log_input, compute_full_loss=False, name=None):
    """Poisson negative log likelihood `exp(log_input) - log_input * targets`, element-wise.

    With `compute_full_loss`, adds the Stirling approximation of `log(targets!)` for
    targets > 1.
    """
    with name_scope(name, "log_poisson_loss", [log_input, targets]) as scope:
        log_input = as_tensor(log_input, name="log_input")
        targets = as_tensor(targets, dtype=None if isinstance(targets, Tensor)
                            else log_input.dtype, name="targets")
        if not log_input.shape.is_compatible_with(targets.shape):
            raise ValueError("log_input and targets must have the same shape (%s vs %s)"
                             % (log_input.shape, targets.shape))
        result = math_ops.exp(log_input) - log_input * targets
        if compute_full_loss:
            # Stirling's log(targets!) only where targets > 1 (0 elsewhere, as TF); evaluated
            # on 1 elsewhere so that log(0) never makes a NaN, even in the unused branch.
            ones = array_ops.ones_like(targets)
            use = math_ops.greater(targets, ones)
            safe = array_ops.where(use, targets, ones)
            point_five = as_tensor(0.5, dtype=targets.dtype)
            two_pi = as_tensor(2 * np.pi, dtype=targets.dtype)
            stirling = (safe * math_ops.log(safe) - safe
                        + point_five * math_ops.log(two_pi * safe))
            result = result + array_ops.where(use, stirling, array_ops.zeros_like(targets))
        return array_ops.identity(result, name=scope)


# ---------------------------------------------------------------------------------------------
# L2Loss: half the squared L2 norm.

def _l2_loss_shape(op):
    t = op.inputs[0]
    _check_dtype(t, op.type, "t", _FLOATS)
    return [(TensorShape([]), t.dtype)]


def _l2_loss_kernel(t):
    x = t.astype(_compute_dtype(t.dtype), copy=False)
    return np.asarray(np.sum(x * x) / 2, dtype=t.dtype)


def _l2_loss_grad(op, grad):
    return [op.inputs[0] * grad]


registry.register_op("L2Loss", shape=_l2_loss_shape, numpy=_l2_loss_kernel,
                     gradient=_l2_loss_grad,
                     sharding=sharding.Rule(sharding.REDUCTION,
                                            sharding_rules.batch_contraction(0)))


def l2_loss(t, name=None):
    """Half the squared L2 norm of `t`: `sum(t ** 2) / 2` (a scalar of t's type)."""
    t = as_tensor(t, name="t")
    return apply_op("L2Loss", [t], name=name or "L2Loss")


# Ops of the other nn modules, used inside functions (composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .nn_activation_ops import relu  # noqa: E402
