"""The neural-network ops family (`tf.nn`): activations, softmax and cross-entropies, bias_add,
conv2d, pooling, dropout, normalization, embedding lookup and top_k.

Primitive ops (one registry record each) are the ones TF has as kernels and whose numerics or
speed need one: activations and their `*Grad` ops, Softmax/LogSoftmax, the fused
cross-entropies (which output the loss AND its backprop, as TF's do), BiasAdd, Conv2D with
its two backprop ops (im2col + GEMM in numpy), MaxPool/AvgPool with their grad ops, L2Loss,
TopKV2 (with GatherLastAxis/ScatterLastAxis for its gradient), InTopKV2,
DynamicPartition/DynamicStitch. Everything else (sigmoid and weighted cross-entropies,
dropout, moments, batch normalization, fused_batch_norm, l2_normalize, lrn, conv1d,
conv2d_transpose, ...) is composed from primitives of this and the math/array modules, so
its gradient comes for free.

Every grad op has its own gradient, so second derivatives work through the whole family.
"""
import collections
import numbers

import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import Tensor, name_scope
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import array_ops, clip_ops, constant_op, math_ops, random_ops
from .op_helpers import apply_op, as_tensor

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_REALS = _FLOATS + ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_INDEX_TYPES = ("int32", "int64")

# im2col buffers are built batch-chunk by batch-chunk so that one chunk holds at most this
# many elements (~64 MB of float32): a big batch never materializes one huge patch matrix.
_IM2COL_CHUNK_ELEMENTS = 1 << 24
# Conv2DBackpropInput switches from GEMM + col2im to one GEMM per window offset below this
# many input channels (measured: 10x faster for a 1-channel first layer).
_PER_OFFSET_MAX_CHANNELS = 8


# ---------------------------------------------------------------------------------------------
# Helpers shared by the shape functions and wrappers.

def _check_dtype(tensor, op_type, param, allowed):
    if tensor.dtype.name not in allowed:
        raise TypeError("Value passed to parameter '%s' of op %s has DataType %s not in list of "
                        "allowed values: %s" % (param, op_type, tensor.dtype.name,
                                                ", ".join(allowed)))


def _check_same_dtype(op_type, a, a_name, b, b_name):
    if a.dtype != b.dtype:
        raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                        "argument '%s'." % (b_name, op_type, b.dtype.name, a.dtype.name, a_name))


def _with_rank(shape, rank, what):
    if shape.ndims is not None and shape.ndims != rank:
        raise ValueError("Shape must be rank %d but is rank %d for %s (shape %s)"
                         % (rank, shape.ndims, what, shape))
    return shape if shape.ndims is not None else unknown_shape(rank)


def _with_rank_at_least(shape, rank, what):
    if shape.ndims is not None and shape.ndims < rank:
        raise ValueError("Shape must be at least rank %d but is rank %d for %s (shape %s)"
                         % (rank, shape.ndims, what, shape))
    return shape


def _merge_dims(a, b, what):
    if a is not None and b is not None and a != b:
        raise ValueError("Dimensions must be equal, but are %d and %d for %s" % (a, b, what))
    return a if a is not None else b


def _compute_dtype(dtype):
    # float16 kernels accumulate in float32 (as TF's do), then cast back.
    return np.float32 if dtype == np.float16 else dtype


def _is_zeros(tensor):
    """True when `tensor` is known to be all zeros (e.g. autodiff's filler for unused outputs)."""
    if tensor.op.type in ("ZerosLike", "Zeros"):
        return True
    value = tensor_util.constant_value(tensor)
    return value is not None and not np.any(value)


def _static_or_dynamic_shape(tensor):
    """`tensor`'s shape as a constant when fully known (no op needed at run time), else Shape."""
    if tensor.shape.is_fully_defined():
        return constant_op.constant(tensor.shape.as_list(), dtype=dtypes.int32)
    return array_ops.shape(tensor)


def _unary_shape(op):
    x = op.inputs[0]
    return [(x.shape, x.dtype)]


def _grad_pair_shape(op):
    """Shape of a `(gradients, features)` grad op: both inputs alike, output alike."""
    g, x = op.inputs[0], op.inputs[1]
    _check_same_dtype(op.type, g, "gradients", x, "features")
    return [(g.shape.merge_with(x.shape), g.dtype)]


def _float_unary_shape(op):
    _check_dtype(op.inputs[0], op.type, "features", _FLOATS)
    return _unary_shape(op)


def _real_unary_shape(op):
    _check_dtype(op.inputs[0], op.type, "features", _REALS)
    return _unary_shape(op)


def _stable_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _where_negative(y, value):
    """`value` where y < 0, else 0 (a graph op): the shared second-order term of Elu/Selu."""
    return array_ops.where_v2(math_ops.less(y, array_ops.zeros_like(y)), value,
                              array_ops.zeros_like(value))


# ---------------------------------------------------------------------------------------------
# Activations. Each has a TF-style grad op (`ReluGrad(gradients, features)`...) so that the
# backward pass is one fused kernel, and each grad op has its own gradient.

def _relu_kernel(features):
    return np.maximum(features, 0).astype(features.dtype, copy=False)


def _relu_grad_kernel(gradients, features):
    # TF's kernel multiplies by the mask (so inf * 0 gives nan, as in TF); np.where was
    # 10x slower here (6.5 ms vs 0.5 ms on a 64x28x28x32 activation).
    return np.multiply(gradients, features > 0, dtype=gradients.dtype)


def _relu6_kernel(features):
    return np.clip(features, 0, 6).astype(features.dtype, copy=False)


def _relu6_grad_kernel(gradients, features):
    keep = (features > 0) & (features < 6)
    return np.where(keep, gradients, 0).astype(gradients.dtype, copy=False)


def _elu_kernel(features):
    x = features
    return np.where(x < 0, np.expm1(np.minimum(x, 0)), x).astype(x.dtype, copy=False)


def _elu_grad_kernel(gradients, outputs):
    # d elu / dx = elu(x) + 1 where x < 0: TF's EluGrad takes the op's outputs.
    return np.where(outputs < 0, gradients * (outputs + 1), gradients).astype(
        gradients.dtype, copy=False)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu_kernel(features):
    x = features
    neg = (_SELU_SCALE * _SELU_ALPHA) * np.expm1(np.minimum(x, 0))
    return np.where(x > 0, _SELU_SCALE * x, neg).astype(x.dtype, copy=False)


def _selu_grad_kernel(gradients, outputs):
    neg = gradients * (outputs + _SELU_SCALE * _SELU_ALPHA)
    return np.where(outputs < 0, neg, gradients * _SELU_SCALE).astype(gradients.dtype, copy=False)


def _leaky_relu_kernel(features, *, alpha):
    x = features
    return np.where(x > 0, x, x * alpha).astype(x.dtype, copy=False)


def _leaky_relu_grad_kernel(gradients, features, *, alpha):
    return np.where(features > 0, gradients, gradients * alpha).astype(gradients.dtype, copy=False)


def _softplus_kernel(features):
    return np.logaddexp(features, 0).astype(features.dtype, copy=False)


def _softplus_grad_kernel(gradients, features):
    return (gradients * _stable_sigmoid(features)).astype(gradients.dtype, copy=False)


def _softsign_kernel(features):
    return (features / (1 + np.abs(features))).astype(features.dtype, copy=False)


def _softsign_grad_kernel(gradients, features):
    return (gradients / np.square(1 + np.abs(features))).astype(gradients.dtype, copy=False)


def _relu_grad(op, grad):
    return [_grad_op("ReluGrad", grad, op.outputs[0])]


def _relu_grad_grad(op, grad):
    # ReluGrad is linear in its gradients input; the mask has zero derivative.
    return [_grad_op("ReluGrad", grad, op.inputs[1]), None]


def _relu6_grad(op, grad):
    return [_grad_op("Relu6Grad", grad, op.outputs[0])]


def _relu6_grad_grad(op, grad):
    return [_grad_op("Relu6Grad", grad, op.inputs[1]), None]


def _elu_grad(op, grad):
    return [_grad_op("EluGrad", grad, op.outputs[0])]


def _elu_grad_grad(op, grad):
    dy, y = op.inputs
    return [_grad_op("EluGrad", grad, y), _where_negative(y, grad * dy)]


def _selu_grad(op, grad):
    return [_grad_op("SeluGrad", grad, op.outputs[0])]


def _selu_grad_grad(op, grad):
    dy, y = op.inputs
    return [_grad_op("SeluGrad", grad, y), _where_negative(y, grad * dy)]


def _leaky_relu_grad(op, grad):
    return [_grad_op("LeakyReluGrad", grad, op.inputs[0], alpha=op.get_attr("alpha"))]


def _leaky_relu_grad_grad(op, grad):
    return [_grad_op("LeakyReluGrad", grad, op.inputs[1], alpha=op.get_attr("alpha")), None]


def _softplus_grad(op, grad):
    return [_grad_op("SoftplusGrad", grad, op.inputs[0])]


def _softplus_grad_grad(op, grad):
    dy, x = op.inputs
    s = math_ops.sigmoid(x)
    return [_grad_op("SoftplusGrad", grad, x), grad * dy * s * (1 - s)]


def _softsign_grad(op, grad):
    return [_grad_op("SoftsignGrad", grad, op.inputs[0])]


def _softsign_grad_grad(op, grad):
    dy, x = op.inputs
    denominator = 1 + math_ops.abs(x)
    d2x = grad * dy * -2 * math_ops.sign(x) / (denominator * denominator * denominator)
    return [_grad_op("SoftsignGrad", grad, x), d2x]


def _grad_op(op_type, gradients, features, **attrs):
    return apply_op(op_type, [gradients, features], attrs or None, name=op_type)


for _type, _kernel, _grad_type, _grad_kernel, _gradient, _gradient2, _shape in (
        ("Relu", _relu_kernel, "ReluGrad", _relu_grad_kernel, _relu_grad, _relu_grad_grad,
         _real_unary_shape),
        ("Relu6", _relu6_kernel, "Relu6Grad", _relu6_grad_kernel, _relu6_grad, _relu6_grad_grad,
         _real_unary_shape),
        ("Elu", _elu_kernel, "EluGrad", _elu_grad_kernel, _elu_grad, _elu_grad_grad,
         _float_unary_shape),
        ("Selu", _selu_kernel, "SeluGrad", _selu_grad_kernel, _selu_grad, _selu_grad_grad,
         _float_unary_shape),
        ("LeakyRelu", _leaky_relu_kernel, "LeakyReluGrad", _leaky_relu_grad_kernel,
         _leaky_relu_grad, _leaky_relu_grad_grad, _float_unary_shape),
        ("Softplus", _softplus_kernel, "SoftplusGrad", _softplus_grad_kernel, _softplus_grad,
         _softplus_grad_grad, _float_unary_shape),
        ("Softsign", _softsign_kernel, "SoftsignGrad", _softsign_grad_kernel, _softsign_grad,
         _softsign_grad_grad, _float_unary_shape)):
    registry.register_op(_type, shape=_shape, numpy=_kernel, gradient=_gradient,
                         sharding=sharding.ELEMENTWISE)
    registry.register_op(_grad_type, shape=_grad_pair_shape, numpy=_grad_kernel,
                         gradient=_gradient2, sharding=sharding.ELEMENTWISE)


def _activation(op_type, features, name, attrs=None):
    features = as_tensor(features, name="features")
    return apply_op(op_type, [features], attrs, name=name or op_type)


def relu(features, name=None):
    """Computes rectified linear: `max(features, 0)`.

    Args:
      features: a real Tensor.
      name: a name for the op (default "Relu").

    Returns:
      A Tensor of the same type and shape as `features`.
    """
    return _activation("Relu", features, name)


def relu6(features, name=None):
    """Computes Rectified Linear 6: `min(max(features, 0), 6)`."""
    return _activation("Relu6", features, name)


def elu(features, name=None):
    """Computes exponential linear: `exp(features) - 1` if < 0, `features` otherwise.

    Raises:
      TypeError: if `features` is not a floating point Tensor.
    """
    return _activation("Elu", features, name)


def selu(features, name=None):
    """Computes scaled exponential linear: `scale * alpha * (exp(features) - 1)` if < 0,
    `scale * features` otherwise (alpha ~ 1.6733, scale ~ 1.0507)."""
    return _activation("Selu", features, name)


def leaky_relu(features, alpha=0.2, name=None):
    """Computes the Leaky ReLU: `features` where positive, `alpha * features` elsewhere.

    Integer features are cast to float32 first, as TF does.
    """
    with name_scope(name, "LeakyRelu", [features]) as scope:
        features = as_tensor(features, name="features")
        if features.dtype.is_integer:
            features = math_ops.cast(features, dtypes.float32)
        if isinstance(alpha, np.ndarray):
            alpha = alpha.item()
        return apply_op("LeakyRelu", [features], {"alpha": float(alpha)}, name=scope)


def softplus(features, name=None):
    """Computes softplus: `log(exp(features) + 1)`, without overflow."""
    return _activation("Softplus", features, name)


def softsign(features, name=None):
    """Computes softsign: `features / (abs(features) + 1)`."""
    return _activation("Softsign", features, name)


def crelu(features, name=None, axis=-1):
    """Concatenated ReLU: `concat([relu(features), relu(-features)], axis)`."""
    with name_scope(name, "CRelu", [features]) as scope:
        features = as_tensor(features, name="features")
        c = array_ops.concat([features, math_ops.negative(features)], axis, name="concat")
        return relu(c, name=scope)


def swish(features, beta=1.0):
    """Computes the SiLU/Swish activation `features * sigmoid(beta * features)`."""
    with name_scope(None, "swish", [features]) as scope:
        features = as_tensor(features, name="features")
        beta = as_tensor(beta, dtype=features.dtype, name="beta")
        return math_ops.multiply(features, math_ops.sigmoid(beta * features), name=scope)


silu = swish


def relu_layer(x, weights, biases, name=None):
    """Computes `relu(matmul(x, weights) + biases)`."""
    with name_scope(name, "relu_layer", [x, weights, biases]) as scope:
        x = as_tensor(x, name="x")
        weights = as_tensor(weights, name="weights")
        biases = as_tensor(biases, name="biases")
        return relu(bias_add(math_ops.matmul(x, weights), biases), name=scope)


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


def _axis_alias(axis, dim, default):
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'")
    if axis is None:
        axis = dim
    return default if axis is None else axis


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
        logits = as_tensor(logits, name="logits")
        labels = as_tensor(labels, dtype=None if isinstance(labels, Tensor) else logits.dtype,
                           name="labels")
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError("`logits` and `labels` must have the same shape, received (%s vs "
                             "%s)." % (logits.shape, labels.shape))
        # Selects (not max/abs) so the gradient at 0 is sigmoid(0) - z, as TF's.
        zeros = array_ops.zeros_like(logits)
        cond = math_ops.greater_equal(logits, zeros)
        relu_logits = array_ops.where(cond, logits, zeros)
        neg_abs_logits = array_ops.where(cond, math_ops.negative(logits), logits)
        return math_ops.add(relu_logits - logits * labels,
                            math_ops.log1p(math_ops.exp(neg_abs_logits)), name=scope)


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
        logits = as_tensor(logits, name="logits")
        labels = as_tensor(labels, dtype=None if isinstance(labels, Tensor) else logits.dtype,
                           name="labels")
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError("`logits` and `labels` must have the same shape, received (%s vs "
                             "%s)." % (logits.shape, labels.shape))
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
# bias_add.

_DATA_FORMATS = ("NHWC", "NCHW")


def _check_data_format(data_format, op_type):
    if data_format not in _DATA_FORMATS:
        raise ValueError("%s: data_format must be 'NHWC' or 'NCHW', got %r"
                         % (op_type, data_format))


def _bias_add_shape(op):
    value, bias = op.inputs
    data_format = op.get_attr("data_format")
    _check_data_format(data_format, op.type)
    _check_same_dtype(op.type, value, "value", bias, "bias")
    _with_rank(bias.shape, 1, "bias of %s" % op.type)
    vs = _with_rank_at_least(value.shape, 2, "value of %s" % op.type)
    if vs.ndims is not None:
        channel = vs[1] if data_format == "NCHW" and vs.ndims >= 3 else vs[-1]
        _merge_dims(channel, bias.shape[0], "the channels of value and bias")
    return [(value.shape, value.dtype)]


def _channel_axis(ndim, data_format):
    return 1 if data_format == "NCHW" and ndim >= 3 else ndim - 1


def _bias_add_kernel(value, bias, *, data_format):
    axis = _channel_axis(value.ndim, data_format)
    if value.shape[axis] != bias.shape[0]:
        raise errors.InvalidArgumentError(
            None, None, "Must provide as many biases as the channel dimension of the input "
            "tensor: %s vs. %d in %s" % (bias.shape, value.shape[axis], value.shape))
    shape = [1] * value.ndim
    shape[axis] = bias.shape[0]
    return (value + bias.reshape(shape)).astype(value.dtype, copy=False)


def _bias_add_grad_shape(op):
    g = op.inputs[0]
    data_format = op.get_attr("data_format")
    _check_data_format(data_format, op.type)
    gs = _with_rank_at_least(g.shape, 2, "out_backprop of %s" % op.type)
    if gs.ndims is None:
        return [(unknown_shape(1), g.dtype)]
    return [(TensorShape([gs[_channel_axis(gs.ndims, data_format)]]), g.dtype)]


def _bias_add_grad_kernel(out_backprop, *, data_format):
    axis = _channel_axis(out_backprop.ndim, data_format)
    others = tuple(i for i in range(out_backprop.ndim) if i != axis)
    dtype = _compute_dtype(out_backprop.dtype)
    return np.sum(out_backprop, axis=others, dtype=dtype).astype(out_backprop.dtype, copy=False)


def _bias_add_gradient(op, grad):
    bias_grad = apply_op("BiasAddGrad", [grad], {"data_format": op.get_attr("data_format")},
                         name="BiasAddGrad")
    return [grad, bias_grad]


def _bias_add_grad_gradient(op, grad):
    # BiasAddGrad sums over everything but the channel: its adjoint broadcasts back.
    out_backprop = op.inputs[0]
    return [apply_op("BiasAdd", [array_ops.zeros_like(out_backprop), grad],
                     {"data_format": op.get_attr("data_format")}, name="BiasAdd")]


registry.register_op("BiasAdd", shape=_bias_add_shape, numpy=_bias_add_kernel,
                     gradient=_bias_add_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("BiasAddGrad", shape=_bias_add_grad_shape, numpy=_bias_add_grad_kernel,
                     gradient=_bias_add_grad_gradient,
                     sharding=sharding.Rule(sharding.REDUCTION,
                                            sharding_rules.batch_contraction(0)))


def bias_add(value, bias, data_format=None, name=None):
    """Adds the 1-D `bias` to `value` along its channel dimension.

    Args:
      value: a Tensor of rank >= 2.
      bias: a 1-D Tensor of value's type, as long as value's channel dimension.
      data_format: "NHWC" (default: channels last) or "NCHW" (channels on axis 1). Formats
        starting with "NC" mean channels first, others channels last.
      name: a name for the operation (default "BiasAdd").

    Returns:
      A Tensor of the type and shape of `value`.

    Raises:
      ValueError: if `value` has rank < 2 or the channel sizes differ.
      TypeError: if the dtypes differ.
    """
    if data_format is None:
        data_format = "NHWC"
    elif isinstance(data_format, bytes):
        data_format = data_format.decode()
    data_format = "NCHW" if data_format.startswith("NC") else "NHWC"
    with name_scope(name, "BiasAdd", [value, bias]) as scope:
        value = as_tensor(value, name="input")
        bias = as_tensor(bias, dtype=value.dtype, name="bias")
        return apply_op("BiasAdd", [value, bias], {"data_format": data_format}, name=scope)


def xw_plus_b(x, weights, biases, name=None):
    """Computes `matmul(x, weights) + biases`.

    Args:
      x: a 2-D Tensor [batch, in_units].
      weights: a 2-D Tensor [in_units, out_units].
      biases: a 1-D Tensor [out_units].
      name: a name for the operation (default "xw_plus_b").
    """
    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        x = as_tensor(x, name="x")
        weights = as_tensor(weights, name="weights")
        biases = as_tensor(biases, name="biases")
        mm = math_ops.matmul(x, weights)
        return bias_add(mm, biases, name=scope)


# ---------------------------------------------------------------------------------------------
# Spatial geometry shared by convolution and pooling.

def _get_sequence(value, n, channel_index, name):
    """TF's expansion of int / n / n+2 element strides, ksize or dilations to n+2 elements."""
    if value is None:
        value = [1]
    elif isinstance(value, (numbers.Integral, np.integer)):
        value = [value]
    elif isinstance(value, Tensor):
        static = tensor_util.constant_value(value)
        if static is None:
            raise ValueError("%s must be known when the graph is built" % name)
        value = np.asarray(static).reshape(-1).tolist()
    value = [int(v) for v in value]
    if len(value) == n + 2:
        return value
    if len(value) == 1:
        value = value * n
    elif len(value) != n:
        raise ValueError("%s should be of length 1, %d or %d but was %d"
                         % (name, n, n + 2, len(value)))
    if channel_index == 1:
        return [1, 1] + value
    return [1] + value + [1]


def _spatial(values, data_format):
    """The (height, width) entries of a 4-element list in `data_format` order."""
    return (values[2], values[3]) if data_format == "NCHW" else (values[1], values[2])


def _to_nhwc_dims(dims, data_format):
    if data_format == "NCHW":
        return [dims[0], dims[2], dims[3], dims[1]]
    return list(dims)


def _from_nhwc_dims(dims, data_format):
    if data_format == "NCHW":
        return [dims[0], dims[3], dims[1], dims[2]]
    return list(dims)


def _output_size(size, ksize, stride, dilation, padding, pads, what):
    """(output size, pad before, pad after) along one spatial dim; None sizes stay None.

    SAME pads so that output = ceil(size / stride), the odd pixel going at the end (TF's
    rule); VALID does not pad; EXPLICIT uses `pads`.

    Raises:
      ValueError: if the (dilated) window does not fit the input.
    """
    effective = (ksize - 1) * dilation + 1
    if padding == "SAME":
        if size is None:
            return None, None, None
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        return out, total // 2, total - total // 2
    before, after = pads if padding == "EXPLICIT" else (0, 0)
    if size is None:
        return None, before, after
    padded = size + before + after
    if padded < effective:
        raise ValueError("Negative dimension size caused by subtracting %d from %d for the %s"
                         % (effective, padded, what))
    return (padded - effective) // stride + 1, before, after


def _normalize_padding(padding, op_type, allow_explicit):
    """("SAME"|"VALID"|"EXPLICIT", explicit_paddings as 8 ints or [])."""
    if isinstance(padding, (list, tuple)):
        if not allow_explicit:
            raise ValueError("Explicit padding is not supported by %s" % op_type)
        pairs = [list(p) for p in padding]
        if len(pairs) != 4 or any(len(p) != 2 for p in pairs):
            raise ValueError("When padding is a list, it must have 4 [before, after] pairs, "
                             "got %r for %s" % (padding, op_type))
        return "EXPLICIT", [int(v) for p in pairs for v in p]
    if isinstance(padding, bytes):
        padding = padding.decode()
    allowed = ("SAME", "VALID", "EXPLICIT") if allow_explicit else ("SAME", "VALID")
    if padding not in allowed or padding == "EXPLICIT":
        raise ValueError("Attr 'padding' of '%s' Op passed string %r not in: %s."
                         % (op_type, padding, ", ".join('"%s"' % a for a in allowed)))
    return padding, []


def _explicit_pairs(explicit_paddings, data_format):
    if not explicit_paddings:
        return (0, 0), (0, 0)
    pairs = [tuple(explicit_paddings[i:i + 2]) for i in range(0, 8, 2)]
    if data_format == "NCHW":
        return pairs[2], pairs[3]
    return pairs[1], pairs[2]


class _Geometry(collections.namedtuple(
        "_Geometry", "stride_h stride_w dilation_h dilation_w kernel_h kernel_w out_h out_w "
                     "pad_top pad_bottom pad_left pad_right")):
    """Everything a conv/pool kernel needs about the window walk, in NHWC terms."""

    def padded(self, x, value=0):
        pads = ((0, 0), (self.pad_top, self.pad_bottom), (self.pad_left, self.pad_right), (0, 0))
        if not any(p for pair in pads for p in pair):
            return x
        return np.pad(x, pads, constant_values=value)

    def crop(self, xp, height, width):
        return np.ascontiguousarray(xp[:, self.pad_top:self.pad_top + height,
                                       self.pad_left:self.pad_left + width, :])

    def offsets(self):
        """Yields (k, slice) for each window offset: the NHWC slice of the padded input that
        offset (kh, kw) of every window reads, k = kh * kernel_w + kw."""
        rows = max((self.out_h - 1) * self.stride_h + 1, 0)  # 0 for an empty output
        cols = max((self.out_w - 1) * self.stride_w + 1, 0)
        for kh in range(self.kernel_h):
            top = kh * self.dilation_h
            for kw in range(self.kernel_w):
                left = kw * self.dilation_w
                yield kh * self.kernel_w + kw, (slice(None), slice(top, top + rows, self.stride_h),
                                                slice(left, left + cols, self.stride_w),
                                                slice(None))


def _geometry(height, width, kernel_h, kernel_w, strides, dilations, padding,
              explicit_paddings, data_format, what):
    stride_h, stride_w = _spatial(strides, data_format)
    dilation_h, dilation_w = _spatial(dilations, data_format)
    pads_h, pads_w = _explicit_pairs(explicit_paddings, data_format)
    out_h, top, bottom = _output_size(height, kernel_h, stride_h, dilation_h, padding, pads_h,
                                      "height of " + what)
    out_w, left, right = _output_size(width, kernel_w, stride_w, dilation_w, padding, pads_w,
                                      "width of " + what)
    return _Geometry(stride_h, stride_w, dilation_h, dilation_w, kernel_h, kernel_w, out_h,
                     out_w, top, bottom, left, right)


def _to_nhwc(x, data_format):
    return x.transpose(0, 2, 3, 1) if data_format == "NCHW" else x


def _from_nhwc(x, data_format):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if data_format == "NCHW" else x


def _check_window_attrs(op_type, strides, dilations, data_format):
    """Checks TF makes when it builds the kernel, i.e. at run time (so: OpErrors)."""
    for name, values in (("strides", strides), ("dilations", dilations)):
        batch, channel = (values[0], values[1]) if data_format == "NCHW" else (values[0],
                                                                                values[3])
        if batch != 1 or channel != 1:
            raise errors.UnimplementedError(
                None, None, "%s: current implementation does not yet support %s in the batch "
                "and depth dimensions (got %s)" % (op_type, name, values))
        if min(values) < 1:
            raise errors.InvalidArgumentError(None, None, "%s: %s must be >= 1, got %s"
                                              % (op_type, name, values))


def _check_window_lists(op, names):
    data_format = op.get_attr("data_format")
    _check_data_format(data_format, op.type)
    for name in names:
        values = op.get_attr(name)
        if len(values) != 4:
            raise ValueError("%s: %s must have 4 elements, got %s" % (op.type, name, values))
        if any(v < 1 for v in values):
            raise ValueError("%s: %s must be positive, got %s" % (op.type, name, values))
    return data_format


# ---------------------------------------------------------------------------------------------
# conv2d: im2col + GEMM, with TF's Conv2DBackpropInput / Conv2DBackpropFilter ops.

def _windows(xp, geometry):
    """A read-only strided view (N, OH, OW, KH, KW, C) of the padded NHWC input: no copy."""
    n, _, _, c = xp.shape
    s_n, s_h, s_w, s_c = xp.strides
    g = geometry
    return np.lib.stride_tricks.as_strided(
        xp, shape=(n, g.out_h, g.out_w, g.kernel_h, g.kernel_w, c),
        strides=(s_n, s_h * g.stride_h, s_w * g.stride_w, s_h * g.dilation_h,
                 s_w * g.dilation_w, s_c), writeable=False)


def _batch_chunks(n, row_elements):
    step = max(1, _IM2COL_CHUNK_ELEMENTS // max(row_elements, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _conv_attrs(op):
    return {k: op.get_attr(k) for k in ("strides", "padding", "explicit_paddings",
                                         "data_format", "dilations", "use_cudnn_on_gpu")}


def _conv_geometry_from(x_nhwc_shape, filter_shape, attrs, what):
    return _geometry(x_nhwc_shape[1], x_nhwc_shape[2], filter_shape[0], filter_shape[1],
                     attrs["strides"], attrs["dilations"], attrs["padding"],
                     attrs["explicit_paddings"], attrs["data_format"], what)


def _check_conv_op_attrs(op):
    data_format = _check_window_lists(op, ("strides", "dilations"))
    padding = op.get_attr("padding")
    if padding not in ("SAME", "VALID", "EXPLICIT"):
        raise ValueError("Attr 'padding' of '%s' Op passed string %r not in: \"SAME\", "
                         "\"VALID\", \"EXPLICIT\"." % (op.type, padding))
    explicit = op.get_attr("explicit_paddings")
    if (padding == "EXPLICIT") != bool(explicit) or (explicit and len(explicit) != 8):
        raise ValueError("%s: explicit_paddings must hold 8 values exactly when padding is "
                         "EXPLICIT, got %r with padding %s" % (op.type, explicit, padding))
    if explicit:
        batch, channel = (0, 1) if data_format == "NCHW" else (0, 3)
        if any(explicit[2 * d] or explicit[2 * d + 1] for d in (batch, channel)) or \
                min(explicit) < 0:
            raise ValueError("%s: explicit paddings must be non-negative and 0 for the batch "
                             "and channel dimensions, got %s" % (op.type, explicit))
    return data_format


def _conv_output_shape(op, x_shape, filter_shape, what):
    """The static NHWC-or-NCHW output shape of Conv2D with input/filter static shapes."""
    data_format = op.get_attr("data_format")
    xs = _with_rank(x_shape, 4, "input of %s" % what)
    fs = _with_rank(filter_shape, 4, "filter of %s" % what)
    n, h, w, c = _to_nhwc_dims(list(xs), data_format)
    kh, kw, fc, o = list(fs)
    if c is not None and fc is not None and c != fc:
        raise ValueError("Depth of input (%d) does not match the input depth of filter (%d) "
                         "of %s: filter shape is [height, width, in_channels, out_channels] "
                         "and in_channels must equal the input's channels (grouped "
                         "convolutions are not supported)" % (c, fc, what))
    if kh is None or kw is None:
        return TensorShape(_from_nhwc_dims([n, None, None, o], data_format))
    g = _conv_geometry_from([n, h, w, c], [kh, kw], _conv_attrs(op), what)
    return TensorShape(_from_nhwc_dims([n, g.out_h, g.out_w, o], data_format))


def _conv2d_shape(op):
    x, w = op.inputs
    _check_dtype(x, op.type, "input", _FLOATS + ("int32",))
    _check_same_dtype(op.type, x, "input", w, "filter")
    _check_conv_op_attrs(op)
    return [(_conv_output_shape(op, x.shape, w.shape, op.type), x.dtype)]


def _conv2d_forward(x, w, g):
    """NHWC conv of `x` [N,H,W,C] with `w` [KH,KW,C,O] in compute dtype."""
    n = x.shape[0]
    kh, kw, c, o = w.shape
    xp = g.padded(x)
    w_matrix = w.reshape(kh * kw * c, o)
    out = np.empty((n, g.out_h, g.out_w, o), dtype=x.dtype)
    rows = out.reshape(-1, o)
    per_image = g.out_h * g.out_w
    for start, stop in _batch_chunks(n, per_image * kh * kw * c):
        cols = _windows(xp[start:stop], g).reshape(-1, kh * kw * c)
        np.matmul(cols, w_matrix, out=rows[start * per_image:stop * per_image])
    return out


def _conv2d_kernel(x, w, *, strides, padding, explicit_paddings, data_format, dilations,
                   use_cudnn_on_gpu):
    _check_window_attrs("Conv2D", strides, dilations, data_format)
    xn = _to_nhwc(x, data_format)
    if xn.shape[3] != w.shape[2]:
        raise errors.InvalidArgumentError(
            None, None, "input depth must be evenly divisible by filter depth: %d vs %d"
            % (xn.shape[3], w.shape[2]))
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
             "data_format": data_format, "dilations": dilations}
    g = _conv_geometry_from(xn.shape, w.shape, attrs, "Conv2D input")
    dtype = _compute_dtype(x.dtype)
    out = _conv2d_forward(xn.astype(dtype, copy=False), w.astype(dtype, copy=False), g)
    return _from_nhwc(out, data_format).astype(x.dtype, copy=False)


def _sizes_shape(sizes_tensor, what):
    shape = tensor_util.constant_value_as_shape(sizes_tensor)
    if shape.ndims is None:
        return unknown_shape(4)
    return _with_rank(shape, 4, what)


def _conv2d_backprop_input_shape(op):
    sizes, w, dy = op.inputs
    _check_dtype(sizes, op.type, "input_sizes", ("int32", "int64"))
    _check_same_dtype(op.type, w, "filter", dy, "out_backprop")
    _check_conv_op_attrs(op)
    input_shape = _sizes_shape(sizes, "input_sizes of %s" % op.type)
    _with_rank(dy.shape, 4, "out_backprop of %s" % op.type)
    if input_shape.is_fully_defined():
        expected = _conv_output_shape(op, input_shape, w.shape, op.type)
        if not expected.is_compatible_with(dy.shape):
            raise ValueError("%s: out_backprop has shape %s but convolving input_sizes %s "
                             "gives %s" % (op.type, dy.shape, input_shape, expected))
    return [(input_shape, w.dtype)]


def _conv2d_backprop_filter_shape(op):
    x, sizes, dy = op.inputs
    _check_dtype(sizes, op.type, "filter_sizes", ("int32", "int64"))
    _check_same_dtype(op.type, x, "input", dy, "out_backprop")
    _check_conv_op_attrs(op)
    filter_shape = _sizes_shape(sizes, "filter_sizes of %s" % op.type)
    _with_rank(dy.shape, 4, "out_backprop of %s" % op.type)
    expected = _conv_output_shape(op, x.shape, filter_shape, op.type)
    if not expected.is_compatible_with(dy.shape):
        raise ValueError("%s: out_backprop has shape %s but the convolution gives %s"
                         % (op.type, dy.shape, expected))
    return [(filter_shape, x.dtype)]


def _check_out_backprop(op_type, dy, g):
    if dy.shape[1] != g.out_h or dy.shape[2] != g.out_w:
        raise errors.InvalidArgumentError(
            None, None, "%s: size of out_backprop doesn't match computed: actual = %dx%d, "
            "computed = %dx%d" % (op_type, dy.shape[1], dy.shape[2], g.out_h, g.out_w))


def _conv2d_backprop_input_kernel(input_sizes, w, dy, *, strides, padding, explicit_paddings,
                                  data_format, dilations, use_cudnn_on_gpu):
    _check_window_attrs("Conv2DBackpropInput", strides, dilations, data_format)
    n, h, width, c = _to_nhwc_dims([int(v) for v in input_sizes], data_format)
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
             "data_format": data_format, "dilations": dilations}
    g = _conv_geometry_from([n, h, width, c], w.shape, attrs, "Conv2DBackpropInput input")
    dtype = _compute_dtype(w.dtype)
    dyn = _to_nhwc(dy, data_format).astype(dtype, copy=False)
    _check_out_backprop("Conv2DBackpropInput", dyn, g)
    kh, kw, fc, o = w.shape
    if fc != c or dyn.shape[0] != n or dyn.shape[3] != o:
        raise errors.InvalidArgumentError(
            None, None, "Conv2DBackpropInput: input_sizes %s, filter %s and out_backprop %s "
            "do not agree" % (list(input_sizes), w.shape, dy.shape))
    out_dtype = w.dtype
    dx = _conv2d_input_gradient(dyn, w.astype(dtype, copy=False), g, h, width)
    return _from_nhwc(dx, data_format).astype(out_dtype, copy=False)


def _conv2d_input_gradient(dy, w, g, height, width):
    """NHWC dx of a convolution from dy [N,OH,OW,O] and w [KH,KW,C,O], by the strategy that
    measured fastest: one GEMM per window offset for few channels; for stride 1, a forward
    convolution of dy with the flipped filter; else GEMM to patch gradients + col2im."""
    n = dy.shape[0]
    kh, kw, c, o = w.shape
    effective_h = (kh - 1) * g.dilation_h + 1
    effective_w = (kw - 1) * g.dilation_w + 1
    flipped_pads = (effective_h - 1 - g.pad_top, effective_h - 1 - g.pad_bottom,
                    effective_w - 1 - g.pad_left, effective_w - 1 - g.pad_right)
    if (c >= _PER_OFFSET_MAX_CHANNELS and g.stride_h == g.stride_w == 1
            and min(flipped_pads) >= 0):
        # The transposed correlation is itself a correlation: of dy, padded by (window - 1 -
        # pad), with the spatially flipped filter whose in/out channels are swapped.
        flipped = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))
        transposed = _Geometry(1, 1, g.dilation_h, g.dilation_w, kh, kw, height, width,
                               *flipped_pads)
        return _conv2d_forward(dy, flipped, transposed)
    dxp = np.zeros((n, height + g.pad_top + g.pad_bottom, width + g.pad_left + g.pad_right, c),
                   dtype=dy.dtype)
    if c < _PER_OFFSET_MAX_CHANNELS:
        # Few input channels: col2im's strided adds would move c values at a time; one
        # GEMM per window offset writes contiguous blocks instead.
        dy_rows = dy.reshape(-1, o)
        block = np.empty((dy_rows.shape[0], c), dtype=dy.dtype)
        for k, window in g.offsets():
            np.matmul(dy_rows, w[k // kw, k % kw].T, out=block)
            dxp[window] += block.reshape(n, g.out_h, g.out_w, c)
    else:
        # GEMM to patch gradients, then col2im: scatter each offset's patch back.
        w_t = w.reshape(kh * kw * c, o).T
        for start, stop in _batch_chunks(n, g.out_h * g.out_w * kh * kw * c):
            dcols = (dy[start:stop].reshape(-1, o) @ w_t).reshape(
                stop - start, g.out_h, g.out_w, kh, kw, c)
            target = dxp[start:stop]
            for k, window in g.offsets():
                target[window] += dcols[:, :, :, k // kw, k % kw, :]
    return g.crop(dxp, height, width)


def _conv2d_backprop_filter_kernel(x, filter_sizes, dy, *, strides, padding, explicit_paddings,
                                   data_format, dilations, use_cudnn_on_gpu):
    _check_window_attrs("Conv2DBackpropFilter", strides, dilations, data_format)
    kh, kw, c, o = [int(v) for v in filter_sizes]
    dtype = _compute_dtype(x.dtype)
    xn = _to_nhwc(x, data_format).astype(dtype, copy=False)
    attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit_paddings,
             "data_format": data_format, "dilations": dilations}
    g = _conv_geometry_from(xn.shape, [kh, kw], attrs, "Conv2DBackpropFilter input")
    dyn = _to_nhwc(dy, data_format).astype(dtype, copy=False)
    _check_out_backprop("Conv2DBackpropFilter", dyn, g)
    if xn.shape[3] != c or dyn.shape[3] != o or dyn.shape[0] != xn.shape[0]:
        raise errors.InvalidArgumentError(
            None, None, "Conv2DBackpropFilter: input %s, filter_sizes %s and out_backprop %s "
            "do not agree" % (x.shape, list(filter_sizes), dy.shape))
    xp = g.padded(xn)
    dw = np.zeros((kh * kw * c, o), dtype=dtype)
    for start, stop in _batch_chunks(xn.shape[0], g.out_h * g.out_w * kh * kw * c):
        cols = _windows(xp[start:stop], g).reshape(-1, kh * kw * c)
        dw += cols.T @ dyn[start:stop].reshape(-1, o)
    return dw.reshape(kh, kw, c, o).astype(x.dtype, copy=False)


def _conv2d_grad(op, grad):
    x, w = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv2DBackpropInput", [_static_or_dynamic_shape(x), w, grad], attrs,
                     name="Conv2DBackpropInput"),
            apply_op("Conv2DBackpropFilter", [x, _static_or_dynamic_shape(w), grad], attrs,
                     name="Conv2DBackpropFilter")]


def _conv2d_backprop_input_grad(op, grad):
    # dx = A^T(w) dy is bilinear in (w, dy): its adjoints are the filter backprop and a
    # forward convolution.
    _, w, dy = op.inputs
    attrs = _conv_attrs(op)
    return [None,
            apply_op("Conv2DBackpropFilter", [grad, _static_or_dynamic_shape(w), dy], attrs,
                     name="Conv2DBackpropFilter"),
            apply_op("Conv2D", [grad, w], attrs, name="Conv2D")]


def _conv2d_backprop_filter_grad(op, grad):
    x, _, dy = op.inputs
    attrs = _conv_attrs(op)
    return [apply_op("Conv2DBackpropInput", [_static_or_dynamic_shape(x), grad, dy], attrs,
                     name="Conv2DBackpropInput"),
            None,
            apply_op("Conv2D", [x, grad], attrs, name="Conv2D")]


# Sharding: Conv2D splits with its input's batch. The backprop-to-input op carries the batch
# in its third input (the first is a shape), so it asks for a gather (safe); the filter
# backprop sums over the batch: a partial result to combine.
registry.register_op("Conv2D", shape=_conv2d_shape, numpy=_conv2d_kernel,
                     gradient=_conv2d_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("Conv2DBackpropInput", shape=_conv2d_backprop_input_shape,
                     numpy=_conv2d_backprop_input_kernel, gradient=_conv2d_backprop_input_grad,
                     sharding=sharding.Rule(sharding.GATHER,
                                            sharding_rules.local_shape_input(0, 2)))
registry.register_op("Conv2DBackpropFilter", shape=_conv2d_backprop_filter_shape,
                     numpy=_conv2d_backprop_filter_kernel, gradient=_conv2d_backprop_filter_grad,
                     sharding=sharding.Rule(sharding.REDUCTION,
                                            sharding_rules.batch_contraction(0, 2)))


def _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu, op_type):
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    data_format = data_format or "NHWC"
    _check_data_format(data_format, op_type)
    channel_index = 1 if data_format == "NCHW" else 3
    padding, explicit = _normalize_padding(padding, op_type, allow_explicit=True)
    return {"strides": _get_sequence(strides, 2, channel_index, "strides"),
            "padding": padding, "explicit_paddings": explicit, "data_format": data_format,
            "dilations": _get_sequence(dilations, 2, channel_index, "dilations"),
            "use_cudnn_on_gpu": bool(use_cudnn_on_gpu)}


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    """Computes a 2-D convolution of a 4-D `input` with a 4-D `filter`.

    Args:
      input: [batch, height, width, channels] (NHWC) or [batch, channels, height, width].
      filter: [filter_height, filter_width, in_channels, out_channels], input's type.
        `filters` is its TF2 alias.
      strides: an int or a list of 1, 2 or 4 ints (4: in data_format order, batch and
        channel entries 1).
      padding: "SAME" (output = ceil(input / stride), the odd padding pixel at the end),
        "VALID", or a list of 4 [before, after] pairs in data_format order.
      use_cudnn_on_gpu: accepted for compatibility.
      data_format: "NHWC" (default) or "NCHW".
      dilations: like strides: the dilation rate of the filter.
      name: a name for the operation (default "Conv2D").

    Returns:
      A Tensor of input's type.

    Raises:
      ValueError: at build time, for a bad padding string, filter depth not matching the
        input's channels, or a window larger than the padded input.
      TypeError: if input and filter have different types.
    """
    if filter is None:
        filter = filters  # noqa: A001
    elif filters is not None:
        raise ValueError("Cannot specify both 'filter' and 'filters'")
    if filter is None or strides is None or padding is None:
        raise ValueError("conv2d needs filter, strides and padding")
    attrs = _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu, "Conv2D")
    x = as_tensor(input, name="input")
    w = as_tensor(filter, dtype=None if isinstance(filter, Tensor) else x.dtype, name="filter")
    return apply_op("Conv2D", [x, w], attrs, name=name or "Conv2D")


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None,  # noqa: A002
                          padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
                          dilations=(1, 1, 1, 1), name=None, filters=None):
    """The gradient of conv2d with respect to its input (op Conv2DBackpropInput).

    Args:
      input_sizes: int32 1-D Tensor, the shape of conv2d's input (data_format order).
      filter: the conv2d filter. `filters` is its alias.
      out_backprop: the gradient w.r.t. conv2d's output.
      Other args as `conv2d`.
    """
    filter = filter if filter is not None else filters  # noqa: A001
    attrs = _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu,
                           "Conv2DBackpropInput")
    input_sizes = as_tensor(input_sizes, dtype=None if isinstance(input_sizes, Tensor)
                            else dtypes.int32, name="input_sizes")
    w = as_tensor(filter, name="filter")
    dy = as_tensor(out_backprop, dtype=None if isinstance(out_backprop, Tensor) else w.dtype,
                   name="out_backprop")
    return apply_op("Conv2DBackpropInput", [input_sizes, w, dy], attrs,
                    name=name or "Conv2DBackpropInput")


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding,  # noqa: A002
                           use_cudnn_on_gpu=True, data_format="NHWC", dilations=(1, 1, 1, 1),
                           name=None):
    """The gradient of conv2d with respect to its filter (op Conv2DBackpropFilter).

    Args:
      input: conv2d's input.
      filter_sizes: int32 1-D Tensor, the filter's shape [kh, kw, in, out].
      out_backprop: the gradient w.r.t. conv2d's output.
      Other args as `conv2d`.
    """
    attrs = _conv_op_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu,
                           "Conv2DBackpropFilter")
    x = as_tensor(input, name="input")
    filter_sizes = as_tensor(filter_sizes, dtype=None if isinstance(filter_sizes, Tensor)
                             else dtypes.int32, name="filter_sizes")
    dy = as_tensor(out_backprop, dtype=None if isinstance(out_backprop, Tensor) else x.dtype,
                   name="out_backprop")
    return apply_op("Conv2DBackpropFilter", [x, filter_sizes, dy], attrs,
                    name=name or "Conv2DBackpropFilter")


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None,  # noqa: A002
                     padding="SAME", data_format="NHWC", name=None, input=None,  # noqa: A002
                     filters=None, dilations=None):
    """The transpose ("deconvolution") of conv2d: conv2d's gradient w.r.t. its input.

    Args:
      value: [batch, height, width, in_channels] (NHWC). `input` is its alias.
      filter: [height, width, output_channels, in_channels]: the filter of the conv2d this
        is the transpose of. `filters` is its alias.
      output_shape: 1-D shape of the result (4 ints, data_format order).
      strides, padding, data_format, dilations: as conv2d's.
      name: a name for the operation (default "conv2d_transpose").

    Raises:
      ValueError: if output_shape's channels differ from the filter's output channels.
    """
    value = value if value is not None else input
    filter = filter if filter is not None else filters  # noqa: A001
    with name_scope(name, "conv2d_transpose", [value, filter, output_shape]) as scope:
        value = as_tensor(value, name="value")
        w = as_tensor(filter, name="filter")
        output_shape = as_tensor(output_shape, dtype=None if isinstance(output_shape, Tensor)
                                 else dtypes.int32, name="output_shape")
        static = tensor_util.constant_value(output_shape)
        fmt = data_format.decode() if isinstance(data_format, bytes) else (data_format or "NHWC")
        if static is not None and w.shape.ndims == 4 and w.shape[2] is not None:
            channels = int(static[1] if fmt == "NCHW" else static[3])
            if channels != w.shape[2]:
                raise ValueError("output_shape does not match filter's output channels, %d != "
                                 "%d" % (channels, w.shape[2]))
        return conv2d_backprop_input(output_shape, w, value, strides=strides, padding=padding,
                                     data_format=fmt, dilations=dilations or 1, name=scope)


def conv1d(value=None, filters=None, stride=None, padding=None, use_cudnn_on_gpu=None,
           data_format=None, name=None, input=None, dilations=None):  # noqa: A002
    """A 1-D convolution of a 3-D input [batch, width, channels] ("NWC", default) or
    [batch, channels, width] ("NCW") with filters [width, in_channels, out_channels],
    computed as a conv2d of height 1."""
    value = value if value is not None else input
    if data_format in (None, "NWC", "NHWC"):
        data_format_2d, spatial_start = "NHWC", 1
    elif data_format in ("NCW", "NCHW"):
        data_format_2d, spatial_start = "NCHW", 2
    else:
        raise ValueError("data_format must be \"NWC\" or \"NCW\", got %r" % (data_format,))
    with name_scope(name, "conv1d", [value, filters]) as scope:
        value = as_tensor(value, name="value")
        filters = as_tensor(filters, name="filters")
        # TF's 1-D sequences: 1 or 3 entries, the channel at index 2 (NWC) or 1 (NCW).
        channel_1d, spatial_1d = (2, 1) if data_format_2d == "NHWC" else (1, 2)
        stride_w = _get_sequence(stride, 1, channel_1d, "stride")[spatial_1d]
        dilation_w = _get_sequence(dilations, 1, channel_1d, "dilations")[spatial_1d]
        if data_format_2d == "NHWC":
            strides_2d, dilations_2d = [1, 1, stride_w, 1], [1, 1, dilation_w, 1]
        else:
            strides_2d, dilations_2d = [1, 1, 1, stride_w], [1, 1, 1, dilation_w]
        expanded = array_ops.expand_dims(value, spatial_start)
        w = array_ops.expand_dims(filters, 0)
        result = conv2d(expanded, w, strides_2d, padding, data_format=data_format_2d,
                        dilations=dilations_2d)
        return array_ops.squeeze(result, [spatial_start], name=scope)


def atrous_conv2d(value, filters, rate, padding, name=None):
    """Dilated ("atrous") 2-D convolution: conv2d of NHWC `value` with `filters` dilated by
    `rate` (an int >= 1), stride 1.

    Raises:
      ValueError: if rate < 1.
    """
    if int(rate) < 1:
        raise ValueError("rate %s cannot be less than one" % (rate,))
    with name_scope(name, "atrous_conv2d", [value, filters]) as scope:
        return conv2d(value, filters, 1, padding, dilations=int(rate), name=scope)


def convolution(input, filter=None, padding=None, strides=None, dilation_rate=None,  # noqa: A002
                name=None, data_format=None, filters=None, dilations=None):
    """N-D convolution for N = 1 (input [batch, width, channels]) or N = 2 (conv2d).

    Args:
      input: rank 3 (1-D convolution) or rank 4 (2-D) Tensor.
      filter: [spatial..., in_channels, out_channels]. `filters` is its alias.
      padding: "SAME" or "VALID".
      strides: an int or N ints (default 1).
      dilation_rate: an int or N ints (default 1). `dilations` is its alias.
      name: name scope (default "convolution").
      data_format: "NWC"/"NCW" or "NHWC"/"NCHW" (default channels last).

    Raises:
      ValueError: for other ranks, or strides > 1 together with dilation_rate > 1.
    """
    filter = filter if filter is not None else filters  # noqa: A001
    dilation_rate = dilation_rate if dilation_rate is not None else dilations
    with name_scope(name, "convolution", [input, filter]) as scope:
        x = as_tensor(input, name="input")
        rank = x.shape.ndims
        if rank not in (3, 4):
            raise ValueError("convolution supports 1-D and 2-D convolutions (input rank 3 or "
                             "4), got input shape %s" % x.shape)
        n = rank - 2
        stride_list = _get_sequence(strides, n, n + 1, "strides")[1:-1]
        dilation_list = _get_sequence(dilation_rate, n, n + 1, "dilation_rate")[1:-1]
        if max(stride_list) > 1 and max(dilation_list) > 1:
            raise ValueError("strides > 1 not supported in conjunction with dilation_rate > 1")
        if n == 1:
            return conv1d(x, filter, stride_list, padding, data_format=data_format,
                          dilations=dilation_list, name=scope)
        return conv2d(x, filter, stride_list, padding, data_format=data_format or "NHWC",
                      dilations=dilation_list, name=scope)


# ---------------------------------------------------------------------------------------------
# Pooling: MaxPool / AvgPool with MaxPoolGrad(/GradGrad) and AvgPoolGrad.

def _pool_attrs(op):
    return {k: op.get_attr(k) for k in ("ksize", "strides", "padding", "data_format")}


def _pool_geometry(x_nhwc_shape, ksize, strides, padding, data_format, what):
    kernel_h, kernel_w = _spatial(ksize, data_format)
    return _geometry(x_nhwc_shape[1], x_nhwc_shape[2], kernel_h, kernel_w, strides,
                     [1, 1, 1, 1], padding, [], data_format, what)


def _pool_output_shape(op, x_shape):
    data_format = _check_window_lists(op, ("ksize", "strides"))
    if op.get_attr("padding") not in ("SAME", "VALID"):
        raise ValueError("Attr 'padding' of '%s' Op passed string %r not in: \"SAME\", "
                         "\"VALID\"." % (op.type, op.get_attr("padding")))
    xs = _with_rank(x_shape, 4, "input of %s" % op.type)
    n, h, w, c = _to_nhwc_dims(list(xs), data_format)
    g = _pool_geometry([n, h, w, c], what=op.type + " input", **_pool_attrs(op))
    return TensorShape(_from_nhwc_dims([n, g.out_h, g.out_w, c], data_format))


def _check_pool_window(op_type, ksize, strides, data_format):
    for name, values in (("ksize", ksize), ("strides", strides)):
        batch, channel = (values[0], values[1]) if data_format == "NCHW" else (values[0],
                                                                                values[3])
        if batch != 1 or channel != 1:
            raise errors.UnimplementedError(
                None, None, "%s: pooling over the batch or depth dimension is not supported "
                "(%s = %s)" % (op_type, name, values))


def _lowest(dtype):
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _max_pool_shape(op):
    x = op.inputs[0]
    _check_dtype(x, op.type, "input", _REALS)
    return [(_pool_output_shape(op, x.shape), x.dtype)]


def _max_pool_kernel(x, *, ksize, strides, padding, data_format):
    _check_pool_window("MaxPool", ksize, strides, data_format)
    xn = _to_nhwc(x, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "MaxPool input")
    xp = g.padded(xn, _lowest(x.dtype))
    out = None
    for _, window in g.offsets():
        if out is None:
            out = xp[window].copy()
        else:
            np.maximum(out, xp[window], out=out)
    return _from_nhwc(out, data_format)


def _argmax_offsets(xp, g):
    """For each output cell, the window offset k of its max (the first one on ties, as TF)."""
    best = None
    index = np.zeros((xp.shape[0], g.out_h, g.out_w, xp.shape[3]), dtype=np.int32)
    for k, window in g.offsets():
        values = xp[window]
        if best is None:
            best = values.copy()
            continue
        better = values > best  # strict: an earlier equal max keeps the gradient
        np.copyto(best, values, where=better)
        np.copyto(index, k, where=better)
    return index


def _max_pool_grad_shape(op):
    x, y, grad = op.inputs
    _check_dtype(x, op.type, "orig_input", _REALS)
    _check_same_dtype(op.type, x, "orig_input", y, "orig_output")
    _check_same_dtype(op.type, x, "orig_input", grad, "grad")
    out = _pool_output_shape(op, x.shape)
    if not out.is_compatible_with(y.shape) or not out.is_compatible_with(grad.shape):
        raise ValueError("%s: orig_output %s and grad %s must have the pooled shape %s"
                         % (op.type, y.shape, grad.shape, out))
    return [(x.shape, x.dtype)]


def _max_pool_grad_kernel(orig_input, orig_output, grad, *, ksize, strides, padding,
                          data_format):
    _check_pool_window("MaxPoolGrad", ksize, strides, data_format)
    xn = _to_nhwc(orig_input, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "MaxPoolGrad input")
    gn = _to_nhwc(grad, data_format)
    if gn.shape[1:3] != (g.out_h, g.out_w):
        raise errors.InvalidArgumentError(
            None, None, "MaxPoolGrad: grad has spatial shape %s, expected %s"
            % (gn.shape[1:3], (g.out_h, g.out_w)))
    index = _argmax_offsets(g.padded(xn, _lowest(orig_input.dtype)), g)
    dtype = _compute_dtype(grad.dtype)
    dxp = np.zeros((xn.shape[0], xn.shape[1] + g.pad_top + g.pad_bottom,
                    xn.shape[2] + g.pad_left + g.pad_right, xn.shape[3]), dtype=dtype)
    for k, window in g.offsets():
        dxp[window] += np.where(index == k, gn, 0)
    dx = g.crop(dxp, xn.shape[1], xn.shape[2])
    return _from_nhwc(dx, data_format).astype(grad.dtype, copy=False)


def _max_pool_grad_grad_shape(op):
    x, y, grad = op.inputs
    _check_same_dtype(op.type, x, "orig_input", y, "orig_output")
    _check_same_dtype(op.type, x, "orig_input", grad, "grad")
    out = _pool_output_shape(op, x.shape)
    if not x.shape.is_compatible_with(grad.shape):
        raise ValueError("%s: grad %s must have orig_input's shape %s"
                         % (op.type, grad.shape, x.shape))
    return [(out.merge_with(y.shape), x.dtype)]


def _max_pool_grad_grad_kernel(orig_input, orig_output, grad, *, ksize, strides, padding,
                               data_format):
    _check_pool_window("MaxPoolGradGrad", ksize, strides, data_format)
    xn = _to_nhwc(orig_input, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "MaxPoolGradGrad input")
    index = _argmax_offsets(g.padded(xn, _lowest(orig_input.dtype)), g)
    gp = g.padded(_to_nhwc(grad, data_format))
    out = np.zeros(index.shape, dtype=grad.dtype)
    for k, window in g.offsets():
        np.copyto(out, gp[window], where=index == k)
    return _from_nhwc(out, data_format)


def _max_pool_gradient(op, grad):
    return [apply_op("MaxPoolGrad", [op.inputs[0], op.outputs[0], grad], _pool_attrs(op),
                     name="MaxPoolGrad")]


def _max_pool_grad_gradient(op, grad):
    # Linear in `grad` (routes it to the argmax cells); the argmax itself is piecewise constant.
    x, y, _ = op.inputs
    return [None, None, apply_op("MaxPoolGradGrad", [x, y, grad], _pool_attrs(op),
                                 name="MaxPoolGradGrad")]


def _max_pool_grad_grad_gradient(op, grad):
    x, y, _ = op.inputs
    return [None, None, apply_op("MaxPoolGrad", [x, y, grad], _pool_attrs(op),
                                 name="MaxPoolGrad")]


def _valid_counts(size, g_out, stride, kernel, pad_before):
    starts = np.arange(g_out) * stride - pad_before
    return np.clip(starts + kernel, 0, size) - np.clip(starts, 0, size)


def _avg_divisor(g, height, width):
    """How many real (non-padding) inputs each output cell averages: TF excludes padding."""
    rows = _valid_counts(height, g.out_h, g.stride_h, g.kernel_h, g.pad_top)
    cols = _valid_counts(width, g.out_w, g.stride_w, g.kernel_w, g.pad_left)
    return np.outer(rows, cols)[None, :, :, None]


def _avg_pool_shape(op):
    x = op.inputs[0]
    _check_dtype(x, op.type, "value", _FLOATS)
    return [(_pool_output_shape(op, x.shape), x.dtype)]


def _avg_pool_kernel(x, *, ksize, strides, padding, data_format):
    _check_pool_window("AvgPool", ksize, strides, data_format)
    xn = _to_nhwc(x, data_format)
    g = _pool_geometry(xn.shape, ksize, strides, padding, data_format,
                       "AvgPool input")
    dtype = _compute_dtype(x.dtype)
    xp = g.padded(xn.astype(dtype, copy=False))
    total = np.zeros((xn.shape[0], g.out_h, g.out_w, xn.shape[3]), dtype=dtype)
    for _, window in g.offsets():
        total += xp[window]
    out = total / _avg_divisor(g, xn.shape[1], xn.shape[2]).astype(dtype)
    return _from_nhwc(out, data_format).astype(x.dtype, copy=False)


def _avg_pool_grad_shape(op):
    sizes, grad = op.inputs
    _check_dtype(sizes, op.type, "orig_input_shape", ("int32",))
    _check_dtype(grad, op.type, "grad", _FLOATS)
    input_shape = _sizes_shape(sizes, "orig_input_shape of %s" % op.type)
    if input_shape.is_fully_defined():
        out = _pool_output_shape(op, input_shape)
        if not out.is_compatible_with(grad.shape):
            raise ValueError("%s: grad has shape %s, expected the pooled shape %s"
                             % (op.type, grad.shape, out))
    else:
        _pool_output_shape(op, unknown_shape(4))
    return [(input_shape, grad.dtype)]


def _avg_pool_grad_kernel(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    _check_pool_window("AvgPoolGrad", ksize, strides, data_format)
    n, h, w, c = _to_nhwc_dims([int(v) for v in orig_input_shape], data_format)
    g = _pool_geometry([n, h, w, c], ksize, strides, padding, data_format,
                       "AvgPoolGrad input")
    dtype = _compute_dtype(grad.dtype)
    gn = _to_nhwc(grad, data_format).astype(dtype, copy=False)
    if gn.shape != (n, g.out_h, g.out_w, c):
        raise errors.InvalidArgumentError(
            None, None, "AvgPoolGrad: grad has shape %s, expected %s"
            % (grad.shape, _from_nhwc_dims([n, g.out_h, g.out_w, c], data_format)))
    share = gn / _avg_divisor(g, h, w).astype(dtype)
    dxp = np.zeros((n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c),
                   dtype=dtype)
    for _, window in g.offsets():
        dxp[window] += share
    dx = g.crop(dxp, h, w)
    return _from_nhwc(dx, data_format).astype(grad.dtype, copy=False)


def _avg_pool_gradient(op, grad):
    x = op.inputs[0]
    return [apply_op("AvgPoolGrad", [_static_or_dynamic_shape(x), grad], _pool_attrs(op),
                     name="AvgPoolGrad")]


def _avg_pool_grad_gradient(op, grad):
    # AvgPoolGrad is the adjoint of the linear AvgPool: its adjoint is AvgPool again.
    return [None, apply_op("AvgPool", [grad], _pool_attrs(op), name="AvgPool")]


registry.register_op("MaxPool", shape=_max_pool_shape, numpy=_max_pool_kernel,
                     gradient=_max_pool_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
registry.register_op("MaxPoolGrad", shape=_max_pool_grad_shape, numpy=_max_pool_grad_kernel,
                     gradient=_max_pool_grad_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1, 2)))
registry.register_op("MaxPoolGradGrad", shape=_max_pool_grad_grad_shape,
                     numpy=_max_pool_grad_grad_kernel, gradient=_max_pool_grad_grad_gradient,
                     sharding=sharding.ROW_WISE)
registry.register_op("AvgPool", shape=_avg_pool_shape, numpy=_avg_pool_kernel,
                     gradient=_avg_pool_gradient,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))
# The batch of AvgPoolGrad is in its second input (the first is a shape): gather (safe).
registry.register_op("AvgPoolGrad", shape=_avg_pool_grad_shape, numpy=_avg_pool_grad_kernel,
                     gradient=_avg_pool_grad_gradient,
                     sharding=sharding.Rule(sharding.GATHER,
                                            sharding_rules.local_shape_input(0, 1)))


def _pool(op_type, value, ksize, strides, padding, data_format, name):
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    data_format = data_format or "NHWC"
    _check_data_format(data_format, op_type)
    channel_index = 1 if data_format == "NCHW" else 3
    padding, _ = _normalize_padding(padding, op_type, allow_explicit=False)
    attrs = {"ksize": _get_sequence(ksize, 2, channel_index, "ksize"),
             "strides": _get_sequence(strides, 2, channel_index, "strides"),
             "padding": padding, "data_format": data_format}
    value = as_tensor(value, name="input")
    return apply_op(op_type, [value], attrs, name=name or op_type)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None,
             input=None):  # noqa: A002 - TF's argument name
    """Max pooling of a 4-D input.

    Args:
      value: [batch, height, width, channels] (NHWC) or NCHW. `input` is its alias.
      ksize: window size: an int or 1, 2 or 4 ints (4: data_format order, batch and channel
        entries 1).
      strides: like ksize.
      padding: "SAME" (padding never wins the max) or "VALID".
      data_format: "NHWC" (default) or "NCHW".
      name: a name for the operation (default "MaxPool").

    Raises:
      ValueError: for a bad padding string or a window larger than the input (VALID).
    """
    return _pool("MaxPool", value if value is not None else input, ksize, strides, padding,
                 data_format, name)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """`max_pool` under its TF2 name."""
    return max_pool(input, ksize, strides, padding, data_format, name)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None,
             input=None):  # noqa: A002 - TF's argument name
    """Average pooling of a 4-D input; with "SAME" padding each output averages only the
    real (non-padding) inputs of its window, as TF. Args as `max_pool`."""
    return _pool("AvgPool", value if value is not None else input, ksize, strides, padding,
                 data_format, name)


avg_pool2d = avg_pool


# ---------------------------------------------------------------------------------------------
# dropout.

def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Keeps each element of `x` with probability `1 - rate`, scaled by `1 / (1 - rate)`, and
    zeroes the others.

    Args:
      x: a floating point Tensor.
      keep_prob: (TF1) the probability to keep each element, in (0, 1].
      noise_shape: the shape of the random keep/drop mask (broadcast against x), e.g.
        [batch, 1] to drop whole rows. Default: x's shape.
      seed: the op seed of the mask's random_uniform (see set_random_seed).
      name: a name for the operation (default "dropout").
      rate: the probability to drop each element, in [0, 1). Give keep_prob or rate.

    Returns:
      A Tensor of x's shape and type. With a Python keep_prob of 1 (rate 0), `x` itself.

    Raises:
      ValueError: if both or neither of keep_prob and rate are given, if they are out of
        range, or if x is not floating point.
    """
    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'keep_prob' and 'rate'.")
    if keep_prob is not None:
        rate = 1 - keep_prob
    if rate is None:
        raise ValueError("`rate` must be provided. Received: rate=None")
    with name_scope(name, "dropout", [x]) as scope:
        x = as_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise ValueError("`x.dtype` must be a floating point tensor as `x` will be scaled. "
                             "Received: x_dtype=%s" % x.dtype.name)
        if isinstance(rate, numbers.Real):
            if not 0 <= rate < 1:
                raise ValueError("`rate` must be a scalar tensor or a float in the range "
                                 "[0, 1). Received: rate=%r" % (float(rate),))
            if rate == 0:
                return x
            scale = as_tensor(1 / (1 - rate), dtype=x.dtype)
            rate = as_tensor(rate, dtype=x.dtype, name="rate")
        else:
            rate = as_tensor(rate, dtype=None if isinstance(rate, Tensor) else x.dtype,
                             name="rate")
            if rate.shape.ndims not in (None, 0):
                raise ValueError("`rate` must be a scalar tensor, got shape %s" % rate.shape)
            scale = 1 / (1 - rate)
        noise_shape = _noise_shape(x, noise_shape)
        random_tensor = random_ops.random_uniform(noise_shape, seed=seed, dtype=x.dtype)
        keep_mask = math_ops.greater_equal(random_tensor, rate)
        scaled = math_ops.multiply(x, scale)
        result = array_ops.where_v2(keep_mask, scaled, array_ops.zeros_like(scaled), name=scope)
        if x.shape.ndims is not None and result.shape.is_compatible_with(x.shape):
            result.set_shape(x.shape)
        return result


def _noise_shape(x, noise_shape):
    """dropout's mask shape: x's by default; None entries of a list take x's dimension."""
    if noise_shape is None:
        return x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x)
    if isinstance(noise_shape, (list, tuple)) and any(d is None for d in noise_shape):
        if x.shape.ndims is not None and len(noise_shape) != x.shape.ndims:
            raise ValueError("noise_shape %s does not have the rank of x %s"
                             % (list(noise_shape), x.shape))
        dims = [x.shape[i] if d is None else d for i, d in enumerate(noise_shape)]
        if all(d is not None for d in dims):
            return dims
        dynamic = array_ops.shape(x)
        return array_ops.stack([dynamic[i] if d is None else d for i, d in enumerate(dims)])
    return noise_shape


# ---------------------------------------------------------------------------------------------
# Normalization: moments, batch_normalization, fused_batch_norm, l2_loss, l2_normalize.

def _keepdims_alias(keepdims, keep_dims):
    if keepdims is not None and keep_dims is not None:
        raise ValueError("Cannot specify both 'keepdims' and 'keep_dims'")
    value = keepdims if keepdims is not None else keep_dims
    return bool(value) if value is not None else False


def _axes_list(axes):
    if isinstance(axes, Tensor):
        value = tensor_util.constant_value(axes)
        if value is None:
            return axes
        axes = value
    return [int(a) for a in np.asarray(axes).reshape(-1)]


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """Mean and variance of `x` over `axes` (variance `mean((x - mean)^2)`, no Bessel term).

    Args:
      x: a Tensor.
      axes: ints (or a 1-D constant Tensor): the axes to reduce.
      shift: unused (as in TF).
      name: name scope (default "moments").
      keep_dims / keepdims: keep the reduced axes with size 1.

    Returns:
      (mean, variance), float16 inputs being reduced in float32 and cast back.
    """
    keepdims = _keepdims_alias(keepdims, keep_dims)
    with name_scope(name, "moments", [x, axes]):
        x = as_tensor(x, name="x")
        axes = _axes_list(axes)
        y = math_ops.cast(x, dtypes.float32) if x.dtype == dtypes.float16 else x
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        variance = math_ops.reduce_mean(
            math_ops.squared_difference(y, array_ops.stop_gradient(mean)), axes,
            keepdims=True, name="variance")
        if not keepdims:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        if x.dtype == dtypes.float16:
            return math_ops.cast(mean, dtypes.float16), math_ops.cast(variance, dtypes.float16)
        return mean, variance


def sufficient_statistics(x, axes, shift=None, keep_dims=None, name=None, keepdims=None):
    """(count, sum(x), sum(x^2), shift) over `axes`; shift (optional) is subtracted first.

    Returns:
      count: a scalar of x's dtype, the number of reduced elements.
      mean_ss, variance_ss: the (shifted) sum and sum of squares.
      shift: the shift as given (None when not given).
    """
    keepdims = _keepdims_alias(keepdims, keep_dims)
    with name_scope(name, "sufficient_statistics", [x, shift]):
        x = as_tensor(x, name="x")
        axes = _axes_list(axes)
        if x.shape.is_fully_defined() and not isinstance(axes, Tensor):
            size = 1
            for a in axes:
                size *= x.shape[a]
            count = as_tensor(size, dtype=x.dtype, name="count")
        else:
            shape = array_ops.shape(x)
            count = math_ops.cast(math_ops.reduce_prod(array_ops.gather(shape, axes)),
                                  x.dtype, name="count")
        if shift is not None:
            shift = as_tensor(shift, dtype=None if isinstance(shift, Tensor) else x.dtype,
                              name="shift")
            m_ss = math_ops.subtract(x, shift)
            v_ss = math_ops.squared_difference(x, shift)
        else:
            m_ss = x
            v_ss = math_ops.square(x)
        m_ss = math_ops.reduce_sum(m_ss, axes, keepdims=keepdims, name="mean_ss")
        v_ss = math_ops.reduce_sum(v_ss, axes, keepdims=keepdims, name="var_ss")
        return count, m_ss, v_ss, shift


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    """(mean, variance) from sufficient statistics (see `sufficient_statistics`)."""
    with name_scope(name, "normalize", [counts, mean_ss, variance_ss, shift]):
        divisor = math_ops.reciprocal(as_tensor(counts), name="divisor")
        if shift is not None:
            shifted_mean = math_ops.multiply(mean_ss, divisor, name="shifted_mean")
            mean = math_ops.add(shifted_mean, shift, name="mean")
        else:
            shifted_mean = math_ops.multiply(mean_ss, divisor, name="mean")
            mean = shifted_mean
        variance = math_ops.subtract(math_ops.multiply(variance_ss, divisor),
                                     math_ops.square(shifted_mean), name="variance")
        return mean, variance


def weighted_moments(x, axes, frequency_weights, name=None, keep_dims=None, keepdims=None):
    """Frequency-weighted mean and variance of `x` over `axes`.

    `frequency_weights` broadcasts against x; returns (mean, variance) with
    mean = sum(w x) / sum(w), variance = sum(w (x - mean)^2) / sum(w).
    """
    keepdims = _keepdims_alias(keepdims, keep_dims)
    with name_scope(name, "weighted_moments", [x, frequency_weights, axes]):
        x = as_tensor(x, name="x")
        axes = _axes_list(axes)
        weights = as_tensor(frequency_weights, dtype=None if isinstance(
            frequency_weights, Tensor) else x.dtype, name="frequency_weights")
        weighted_sum = math_ops.reduce_sum(weights * x, axes, keepdims=True)
        # Broadcast the weights to x's shape before summing them, as TF does.
        sum_of_weights = math_ops.reduce_sum(weights + array_ops.zeros_like(x), axes,
                                             keepdims=True)
        divisor = math_ops.reciprocal(sum_of_weights)
        mean = weighted_sum * divisor
        variance = math_ops.reduce_sum(
            weights * math_ops.squared_difference(x, array_ops.stop_gradient(mean)), axes,
            keepdims=True) * divisor
        if not keepdims:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """Normalizes: `scale * (x - mean) / sqrt(variance + variance_epsilon) + offset`.

    Args:
      x: the input Tensor.
      mean, variance: Tensors broadcastable against x.
      offset: (beta) added after normalizing, or None.
      scale: (gamma) multiplied after normalizing, or None.
      variance_epsilon: a small float avoiding division by zero.
      name: name scope (default "batchnorm").

    Returns:
      The normalized, scaled, offset Tensor.
    """
    with name_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        x = as_tensor(x, name="x")
        mean = as_tensor(mean, dtype=None if isinstance(mean, Tensor) else x.dtype, name="mean")
        variance = as_tensor(variance, dtype=None if isinstance(variance, Tensor) else x.dtype,
                             name="variance")
        inv = math_ops.rsqrt(variance + as_tensor(variance_epsilon, dtype=variance.dtype))
        if scale is not None:
            inv = inv * as_tensor(scale, dtype=None if isinstance(scale, Tensor)
                                  else inv.dtype, name="scale")
        if offset is not None:
            offset = as_tensor(offset, dtype=None if isinstance(offset, Tensor) else inv.dtype,
                               name="offset")
            shift = offset - mean * inv
        else:
            shift = -mean * inv
        return x * _cast_like(inv, x) + _cast_like(shift, x)


def _cast_like(t, like):
    return t if t.dtype == like.dtype else math_ops.cast(t, like.dtype)


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001,
                     data_format="NHWC", is_training=True, name=None,
                     exponential_avg_factor=1.0):
    """Batch normalization of a 4-D input over all but its channel axis (TF's fused op,
    composed here from moments and batch_normalization).

    Args:
      x: a 4-D Tensor (NHWC or NCHW).
      scale, offset: 1-D Tensors [channels].
      mean, variance: population statistics; required for inference (is_training=False),
        and blended with the batch statistics when training with exponential_avg_factor<1.
      epsilon: added to the variance (at least 1.001e-5, as TF).
      data_format: "NHWC" or "NCHW".
      is_training: normalize with the batch statistics (True) or with mean/variance.
      name: name scope.
      exponential_avg_factor: in training, the returned running statistics are
        `(1 - f) * old + f * batch` (f = 1 returns the batch statistics).

    Returns:
      (y, batch_mean, batch_variance); in training the returned variance is the unbiased
      (Bessel-corrected) one, as TF returns for the moving averages, while y uses the biased
      one.

    Raises:
      ValueError: if x is not 4-D, or inference is asked without mean and variance.
    """
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    _check_data_format(data_format, "FusedBatchNorm")
    epsilon = max(float(epsilon), 1.001e-5)
    with name_scope(name, "FusedBatchNorm", [x, scale, offset]):
        x = as_tensor(x, name="x")
        _with_rank(x.shape, 4, "x of fused_batch_norm")
        scale = as_tensor(scale, name="scale")
        offset = as_tensor(offset, name="offset")
        compute = x if x.dtype == scale.dtype else math_ops.cast(x, scale.dtype)
        axes = [0, 2, 3] if data_format == "NCHW" else [0, 1, 2]

        def channel(t):  # a [C] vector broadcastable against x
            return array_ops.reshape(t, [1, -1, 1, 1]) if data_format == "NCHW" else t

        if is_training:
            batch_mean, batch_var = moments(compute, axes)
            y = batch_normalization(compute, channel(batch_mean), channel(batch_var),
                                    channel(offset), channel(scale), epsilon)
            if x.shape.is_fully_defined():
                count = 1
                for a in axes:
                    count *= x.shape[a]
                count = as_tensor(float(count), dtype=batch_var.dtype)
            else:
                shape = array_ops.shape(x)
                count = math_ops.cast(math_ops.reduce_prod(array_ops.gather(shape, axes)),
                                      batch_var.dtype)
            unbiased = batch_var * count / math_ops.maximum(count - 1, 1)
            if exponential_avg_factor != 1.0:
                if mean is None or variance is None:
                    raise ValueError("fused_batch_norm with exponential_avg_factor != 1 needs "
                                     "the running mean and variance")
                f = float(exponential_avg_factor)
                batch_mean = (1 - f) * as_tensor(mean, name="mean") + f * batch_mean
                unbiased = (1 - f) * as_tensor(variance, name="variance") + f * unbiased
            out_mean, out_var = batch_mean, unbiased
        else:
            if mean is None or variance is None:
                raise ValueError("fused_batch_norm needs mean and variance when is_training "
                                 "is False")
            mean = as_tensor(mean, name="mean")
            variance = as_tensor(variance, name="variance")
            y = batch_normalization(compute, channel(mean), channel(variance), channel(offset),
                                    channel(scale), epsilon)
            out_mean, out_var = array_ops.identity(mean), array_ops.identity(variance)
        return _cast_like(y, x), out_mean, out_var


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5,  # noqa: A002
                                 name=None):
    """Local response normalization across channels (the last axis of a 4-D input):
    `input / (bias + alpha * sqr_sum) ** beta` with `sqr_sum[..., d]` the sum of squares of
    channels `d - depth_radius .. d + depth_radius`.

    Composed from pad, slices and sums (the channel count must be known when building).

    Raises:
      ValueError: if input is not 4-D with a known channel dimension.
    """
    with name_scope(name, "LRN", [input]) as scope:
        x = as_tensor(input, name="input")
        _check_dtype(x, "LRN", "input", ("float16", "float32"))
        xs = _with_rank(x.shape, 4, "input of LRN")
        channels = xs[3]
        if channels is None:
            raise ValueError("lrn needs the channel dimension of %s to be known" % x.name)
        radius = int(depth_radius)
        squares = array_ops.pad(math_ops.square(x), [[0, 0], [0, 0], [0, 0], [radius, radius]])
        windows = [squares[:, :, :, i:i + channels] for i in range(2 * radius + 1)]
        sqr_sum = math_ops.add_n(windows) if len(windows) > 1 else windows[0]
        base = as_tensor(float(bias), dtype=x.dtype) + as_tensor(float(alpha), dtype=x.dtype) \
            * sqr_sum
        return math_ops.multiply(x, math_ops.pow(base, as_tensor(-float(beta), dtype=x.dtype)),
                                 name=scope)


lrn = local_response_normalization


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


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """Divides `x` by its L2 norm along `axis`: `x / sqrt(max(sum(x**2, axis), epsilon))`.

    Args:
      x: a Tensor.
      axis: an int or list of ints (default: all axes). `dim` is its deprecated alias.
      epsilon: the lower bound of the squared norm (no division by zero).
      name: a name for the operation (default "l2_normalize").
    """
    axis = _axis_alias(axis, dim, None)
    with name_scope(name, "l2_normalize", [x]) as scope:
        x = as_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        x_inv_norm = math_ops.rsqrt(math_ops.maximum(
            square_sum, as_tensor(epsilon, dtype=square_sum.dtype)))
        return math_ops.multiply(x, x_inv_norm, name=scope)


def zero_fraction(value, name=None):
    """The fraction of zeros in `value`, as a float32 scalar (NaN for an empty value)."""
    with name_scope(name, "zero_fraction", [value]):
        value = as_tensor(value, name="value")
        zeros = math_ops.cast(math_ops.equal(value, array_ops.zeros_like(value)),
                              dtypes.float32)
        return math_ops.reduce_mean(zeros, name="fraction")


# ---------------------------------------------------------------------------------------------
# DynamicPartition / DynamicStitch (TF's data_flow ops) and embedding_lookup over shards.

def _dynamic_partition_shape(op):
    data, partitions = op.inputs
    _check_dtype(partitions, op.type, "partitions", ("int32",))
    num = op.get_attr("num_partitions")
    if num < 1:
        raise ValueError("%s: num_partitions must be at least 1, got %d" % (op.type, num))
    p_rank = partitions.shape.ndims
    if data.shape.ndims is None or p_rank is None:
        return [(unknown_shape(), data.dtype)] * num
    if not data.shape[:p_rank].is_compatible_with(partitions.shape):
        raise ValueError("%s: data.shape %s must start with partitions.shape %s"
                         % (op.type, data.shape, partitions.shape))
    out = TensorShape([None]).concatenate(data.shape[p_rank:])
    return [(out, data.dtype)] * num


def _dynamic_partition_kernel(data, partitions, *, num_partitions):
    flat = partitions.reshape(-1)
    bad = (flat < 0) | (flat >= num_partitions)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise errors.InvalidArgumentError(None, None, "partitions[%d] = %d is not in [0, %d)"
                                          % (i, flat[i], num_partitions))
    if data.shape[:partitions.ndim] != partitions.shape:
        raise errors.InvalidArgumentError(
            None, None, "data.shape %s must start with partitions.shape %s"
            % (data.shape, partitions.shape))
    rows = data.reshape((flat.size,) + data.shape[partitions.ndim:])
    outs = tuple(rows[flat == i] for i in range(num_partitions))
    return outs[0] if num_partitions == 1 else outs


def _dynamic_partition_grad(op, *grads):
    # Partition the positions the same way, then stitch the gradients back into place.
    data, partitions = op.inputs
    num = op.get_attr("num_partitions")
    prefix_shape = array_ops.shape(partitions)
    positions = array_ops.reshape(array_ops.range(array_ops.size(partitions)), prefix_shape)
    partitioned = dynamic_partition(positions, partitions, num)
    if num == 1:
        partitioned = [partitioned]
    stitched = dynamic_stitch(partitioned, list(grads))
    return [array_ops.reshape(stitched, array_ops.shape(data)), None]


registry.register_op("DynamicPartition", shape=_dynamic_partition_shape,
                     numpy=_dynamic_partition_kernel, gradient=_dynamic_partition_grad,
                     sharding=sharding.GATHER)


def _dynamic_stitch_shape(op):
    n = op.get_attr("N")
    indices, data = op.inputs[:n], op.inputs[n:]
    for t in indices:
        _check_dtype(t, op.type, "indices", ("int32",))
    for t in data[1:]:
        _check_same_dtype(op.type, data[0], "data", t, "data")
    inner = None
    for i, d in zip(indices, data):
        if i.shape.ndims is None or d.shape.ndims is None:
            continue
        if not d.shape[:i.shape.ndims].is_compatible_with(i.shape):
            raise ValueError("%s: data shape %s must start with indices shape %s"
                             % (op.type, d.shape, i.shape))
        rest = d.shape[i.shape.ndims:]
        inner = rest if inner is None else inner.merge_with(rest)
    values = [tensor_util.constant_value(i) for i in indices]
    first = None
    if all(v is not None for v in values):
        sizes = [int(v.max()) + 1 for v in values if v.size]
        first = max(sizes) if sizes else 0
    if inner is None:
        return [(unknown_shape(), data[0].dtype)]
    return [(TensorShape([first]).concatenate(inner), data[0].dtype)]


def _dynamic_stitch_kernel(*inputs, N):  # noqa: N803 - TF's attr name
    indices, data = inputs[:N], inputs[N:]
    inner = None
    for i, d in zip(indices, data):
        if d.shape[:i.ndim] != i.shape:
            raise errors.InvalidArgumentError(
                None, None, "data shape %s must start with indices shape %s" % (d.shape, i.shape))
        if inner is None:
            inner = d.shape[i.ndim:]
        elif d.shape[i.ndim:] != inner:
            raise errors.InvalidArgumentError(
                None, None, "data shapes %s and %s disagree after the indices' dims"
                % (inner, d.shape[i.ndim:]))
        if i.size and i.min() < 0:
            raise errors.InvalidArgumentError(None, None, "indices must be non-negative, got %d"
                                              % i.min())
    size = max([int(i.max()) + 1 for i in indices if i.size] or [0])
    out = np.zeros((size,) + tuple(inner), dtype=data[0].dtype)
    for i, d in zip(indices, data):  # later inputs overwrite earlier ones, as TF
        out[i.reshape(-1)] = d.reshape((i.size,) + tuple(inner))
    return out


def _dynamic_stitch_grad(op, grad):
    n = op.get_attr("N")
    return [None] * n + [array_ops.gather(grad, op.inputs[i]) for i in range(n)]


registry.register_op("DynamicStitch", shape=_dynamic_stitch_shape,
                     numpy=_dynamic_stitch_kernel, gradient=_dynamic_stitch_grad,
                     sharding=sharding.GATHER)


def dynamic_partition(data, partitions, num_partitions, name=None):
    """Splits `data` into `num_partitions` tensors by the int32 `partitions` (TF1 semantics).

    Returns:
      A list of `num_partitions` Tensors: outputs[i] holds the rows of data (in order)
      whose partition is i.

    Raises:
      InvalidArgumentError: at run time, if a partition is outside [0, num_partitions).
    """
    data = as_tensor(data, name="data")
    partitions = as_tensor(partitions, name="partitions")
    outputs = apply_op("DynamicPartition", [data, partitions],
                       {"num_partitions": int(num_partitions)}, name=name or "DynamicPartition")
    return outputs if isinstance(outputs, list) else [outputs]


def dynamic_stitch(indices, data, name=None):
    """Interleaves `data` into one tensor: `merged[indices[m][i]] = data[m][i]`.

    Later (m, i) win on duplicate indices; rows no index names are zero.
    """
    indices = [as_tensor(i, name="indices") for i in indices]
    data = [as_tensor(d, name="data") for d in data]
    if len(indices) != len(data) or not indices:
        raise ValueError("dynamic_stitch needs as many indices as data tensors (and at least "
                         "one), got %d and %d" % (len(indices), len(data)))
    return apply_op("DynamicStitch", indices + data, {"N": len(indices)},
                    name=name or "DynamicStitch")


parallel_dynamic_stitch = dynamic_stitch


def _clip_rows(embeddings, ids, max_norm):
    """Clips each looked-up embedding to L2 norm <= max_norm (no-op when max_norm is None)."""
    if max_norm is None:
        return embeddings
    ids_rank = ids.shape.ndims
    rank = embeddings.shape.ndims
    if ids_rank is None or rank is None:
        raise ValueError("embedding_lookup with max_norm needs the ranks of ids and params")
    return clip_ops.clip_by_norm(embeddings, max_norm, axes=list(range(ids_rank, rank)))


def _partition_list(params):
    if hasattr(params, "_get_variable_list"):  # a PartitionedVariable
        return list(params._get_variable_list())
    if isinstance(params, (list, tuple)):
        return list(params)
    return [params]


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                     max_norm=None):
    """Looks up rows `ids` of `params`, a tensor or a list of shards of one (TF1 semantics).

    With P shards, id i lives in shard `i % P` at row `i // P` ("mod"), or ("div") the ids
    are split in contiguous ranges, the first `num_ids % P` shards holding one id more.
    The rows are gathered from each shard and stitched back in the order of `ids`.

    Args:
      params: a Tensor/Variable, a list of them (shards of equal shape but the first dim),
        or a PartitionedVariable.
      ids: an int32/int64 Tensor of any shape.
      partition_strategy: "mod" or "div" (only used with several shards).
      name: a name for the operation (default "embedding_lookup").
      validate_indices: accepted for compatibility (ids are always checked).
      max_norm: if given, each looked-up row is clipped to this L2 norm.

    Returns:
      A Tensor of shape `ids.shape + params.shape[1:]`. Its gradient with respect to each
      shard is an IndexedSlices.

    Raises:
      ValueError: if params is empty or the strategy is unknown.
      InvalidArgumentError: at run time, for an id out of range.
    """
    shards = _partition_list(params)
    if not shards:
        raise ValueError("Need at least one param")
    if partition_strategy not in ("mod", "div"):
        raise ValueError("Unrecognized partition strategy: " + str(partition_strategy))
    with name_scope(name, "embedding_lookup", shards + [ids]) as scope:
        ids = as_tensor(ids, name="ids")
        if len(shards) == 1:
            gathered = array_ops.gather(shards[0], ids, name=scope)
            return array_ops.identity(_clip_rows(gathered, ids, max_norm))
        shards = [as_tensor(p) for p in shards]
        num = len(shards)
        flat_ids = array_ops.reshape(ids, [-1])
        positions = array_ops.range(array_ops.size(flat_ids))
        if partition_strategy == "mod":
            assignments = flat_ids % num
            new_ids = flat_ids // num
        else:
            new_ids, assignments = _div_assignments(shards, flat_ids)
        assignments = math_ops.cast(assignments, dtypes.int32)
        gather_ids = dynamic_partition(new_ids, assignments, num)
        gather_positions = dynamic_partition(positions, assignments, num)
        rows = [array_ops.gather(p, i) for p, i in zip(shards, gather_ids)]
        stitched = dynamic_stitch(gather_positions, rows, name=scope)
        inner = shards[0].shape[1:]
        if ids.shape.is_fully_defined() and inner.is_fully_defined():
            out_shape = ids.shape.as_list() + inner.as_list()
        else:
            out_shape = array_ops.concat([array_ops.shape(ids),
                                          array_ops.shape(shards[0])[1:]], 0)
        result = array_ops.reshape(stitched, out_shape)
        if ids.shape.ndims is not None and inner.ndims is not None:
            result.set_shape(ids.shape.concatenate(inner))
        return _clip_rows(result, ids, max_norm)


def _div_assignments(shards, flat_ids):
    """TF's "div" strategy: (row within the shard, shard) for each id."""
    num = len(shards)
    first_dims = [p.shape[0] for p in shards]
    if all(d is not None for d in first_dims):
        total = as_tensor(sum(first_dims), dtype=flat_ids.dtype)
    else:
        total = math_ops.add_n([math_ops.cast(array_ops.shape(p)[0], flat_ids.dtype)
                                for p in shards])
    ids_per_partition = total // num
    extras = total % num
    assignments = math_ops.maximum(flat_ids // (ids_per_partition + 1),
                                   (flat_ids - extras) // ids_per_partition)
    in_extras = math_ops.cast(math_ops.less(assignments, extras), flat_ids.dtype)
    new_ids = (in_extras * (flat_ids % (ids_per_partition + 1))
               + (1 - in_extras) * ((flat_ids - extras) % ids_per_partition))
    return new_ids, assignments


# ---------------------------------------------------------------------------------------------
# top_k / in_top_k, with a gather/scatter pair along the last axis for top_k's gradient.

def _top_k_shape(op):
    x, k = op.inputs
    _check_dtype(x, op.type, "input", _REALS)
    _check_dtype(k, op.type, "k", ("int32",))
    _with_rank(k.shape, 0, "k of %s" % op.type)
    xs = _with_rank_at_least(x.shape, 1, "input of %s" % op.type)
    k_value = tensor_util.constant_value(k)
    if k_value is not None:
        k_value = int(k_value)
        if k_value < 0:
            raise ValueError("Need k >= 0, got %d" % k_value)
        if xs.ndims is not None and xs[-1] is not None and xs[-1] < k_value:
            raise ValueError("input must have last dimension >= k = %d but is %d"
                             % (k_value, xs[-1]))
    index_type = dtypes.as_dtype(op.get_attr("index_type"))
    if xs.ndims is None:
        return [(unknown_shape(), x.dtype), (unknown_shape(), index_type)]
    out = xs[:-1].concatenate([k_value])
    return [(out, x.dtype), (out, index_type)]


def _top_k_kernel(x, k, *, sorted, index_type):  # noqa: A002 - TF's attr name
    k = int(k)
    n = x.shape[-1]
    if k < 0:
        raise errors.InvalidArgumentError(None, None, "Need k >= 0, got %d" % k)
    if n < k:
        raise errors.InvalidArgumentError(None, None, "input must have at least k columns. "
                                          "Had %d, needed %d" % (n, k))
    # Descending, ties by ascending index (TF's order): a stable ascending sort of the
    # reversed rows, read backwards.
    order = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    indices = (n - 1) - order
    values = np.take_along_axis(x, indices, axis=-1)
    return values, indices.astype(dtypes.as_dtype(index_type).np_dtype)


def _top_k_grad(op, grad_values, grad_indices=None):
    x = op.inputs[0]
    indices = op.outputs[1]
    return [apply_op("ScatterLastAxis", [grad_values, indices, _static_or_dynamic_shape(x)],
                     name="ScatterLastAxis"), None]


registry.register_op("TopKV2", shape=_top_k_shape, numpy=_top_k_kernel, gradient=_top_k_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0)))


def _scatter_last_axis_shape(op):
    updates, indices, shape = op.inputs
    _check_dtype(indices, op.type, "indices", _INDEX_TYPES)
    out = tensor_util.constant_value_as_shape(shape)
    if not updates.shape.is_compatible_with(indices.shape):
        raise ValueError("%s: updates %s and indices %s must have the same shape"
                         % (op.type, updates.shape, indices.shape))
    return [(out, updates.dtype)]


def _scatter_last_axis_kernel(updates, indices, shape):
    """out[..., indices[..., j]] += updates[..., j] on zeros of `shape`."""
    shape = tuple(int(d) for d in shape)
    n = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    k = indices.shape[-1] if indices.ndim else 0
    flat = indices.reshape(rows, k).astype(np.int64) + (np.arange(rows) * n)[:, None]
    dtype = _compute_dtype(updates.dtype)
    out = np.zeros(rows * n, dtype=dtype)
    np.add.at(out, flat.reshape(-1), updates.reshape(-1).astype(dtype, copy=False))
    return out.reshape(shape).astype(updates.dtype, copy=False)


def _gather_last_axis_shape(op):
    params, indices = op.inputs
    _check_dtype(indices, op.type, "indices", _INDEX_TYPES)
    if params.shape.ndims is not None and indices.shape.ndims is not None:
        if not params.shape[:-1].is_compatible_with(indices.shape[:-1]):
            raise ValueError("%s: params %s and indices %s differ before the last axis"
                             % (op.type, params.shape, indices.shape))
    return [(indices.shape, params.dtype)]


def _gather_last_axis_kernel(params, indices):
    return np.take_along_axis(params, indices.astype(np.int64), axis=-1)


def _scatter_last_axis_grad(op, grad):
    return [apply_op("GatherLastAxis", [grad, op.inputs[1]], name="GatherLastAxis"), None, None]


def _gather_last_axis_grad(op, grad):
    params, indices = op.inputs
    return [apply_op("ScatterLastAxis", [grad, indices, _static_or_dynamic_shape(params)],
                     name="ScatterLastAxis"), None]


# ScatterLastAxis takes the full output shape as an input: a batch split would disagree with
# it, so it asks for a gather (safe).
registry.register_op("ScatterLastAxis", shape=_scatter_last_axis_shape,
                     numpy=_scatter_last_axis_kernel, gradient=_scatter_last_axis_grad,
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.row_aligned(0, 1)))
registry.register_op("GatherLastAxis", shape=_gather_last_axis_shape,
                     numpy=_gather_last_axis_kernel, gradient=_gather_last_axis_grad,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1)))

TopKResult = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted=True, index_type=dtypes.int32, name=None):  # noqa: A002
    """The `k` largest entries of the last axis of `input` and their indices.

    Args:
      input: a real Tensor with a last dimension >= k.
      k: an int or int32 scalar Tensor.
      sorted: accepted; results are always sorted descending (equal values by ascending
        index, as TF).
      index_type: int32 (default) or int64.
      name: a name for the operation (default "TopKV2").

    Returns:
      A namedtuple (values, indices), both of shape `input.shape[:-1] + [k]`.

    Raises:
      ValueError: at build time, if k is negative or larger than a known last dimension.
    """
    x = as_tensor(input, name="input")
    index_type = dtypes.as_dtype(index_type)
    if index_type.name not in _INDEX_TYPES:
        raise TypeError("top_k index_type must be int32 or int64, got %s" % index_type.name)
    op_name = name or "TopKV2"
    k_tensor = as_tensor(k, dtype=None if isinstance(k, Tensor) else dtypes.int32,
                         name=op_name + "/k")
    values, indices = apply_op("TopKV2", [x, k_tensor],
                               {"sorted": bool(sorted), "index_type": index_type.name},
                               name=op_name)
    return TopKResult(values, indices)


def _in_top_k_shape(op):
    predictions, targets, k = op.inputs
    _check_dtype(predictions, op.type, "predictions", ("float32",))
    _check_dtype(targets, op.type, "targets", _INDEX_TYPES)
    _check_same_dtype(op.type, targets, "targets", k, "k")
    _with_rank(k.shape, 0, "k of %s" % op.type)
    ps = _with_rank(predictions.shape, 2, "predictions of %s" % op.type)
    ts = _with_rank(targets.shape, 1, "targets of %s" % op.type)
    batch = _merge_dims(ps[0], ts[0], "the batch of predictions and targets")
    return [(TensorShape([batch]), dtypes.bool)]


def _in_top_k_kernel(predictions, targets, k):
    batch, num_classes = predictions.shape
    k = int(k)
    if targets.shape != (batch,):
        raise errors.InvalidArgumentError(
            None, None, "targets must have shape [%d], got %s" % (batch, targets.shape))
    in_range = (targets >= 0) & (targets < num_classes)
    safe = np.where(in_range, targets, 0)
    target_values = predictions[np.arange(batch), safe]
    more_probable = np.sum(predictions > target_values[:, None], axis=1)
    # TF answers False whenever the row holds a non-finite value or the target is invalid.
    finite_rows = np.all(np.isfinite(predictions), axis=1)
    return in_range & finite_rows & (more_probable < k)


registry.register_op("InTopKV2", shape=_in_top_k_shape, numpy=_in_top_k_kernel,
                     sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.row_aligned(0, 1)))
registry.not_differentiable("InTopKV2")


def in_top_k(predictions, targets, k, name=None):
    """Whether each target is among the top `k` predictions of its row.

    Ties straddling the top-k boundary count as in the top k (the target is in when fewer
    than k classes score strictly higher); a row with a non-finite value, or an
    out-of-range target, gives False.

    Args:
      predictions: float32 [batch, classes].
      targets: int32/int64 [batch] class ids.
      k: an int (or a scalar Tensor of the targets' type).
      name: name scope (default "in_top_k").

    Returns:
      A bool Tensor [batch].
    """
    with name_scope(name, "in_top_k", [predictions, targets]):
        # The op takes float32 predictions: Python/numpy values are converted to it.
        predictions = as_tensor(predictions, dtype=None if isinstance(predictions, Tensor)
                                else dtypes.float32, name="predictions")
        targets = as_tensor(targets, name="targets")
        k = as_tensor(k, dtype=None if isinstance(k, Tensor) else targets.dtype, name="k")
        return apply_op("InTopKV2", [predictions, targets, k], name="InTopKV2")
