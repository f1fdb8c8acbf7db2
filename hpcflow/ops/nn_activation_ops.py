"""Activations (TF1 `tf.nn`): Relu, Relu6, Elu, Selu, LeakyRelu, Softplus, Softsign, each with
its fused `*Grad` op, and the composites crelu, swish/silu and relu_layer."""
import numpy as np

from ..framework import dtypes, registry, sharding
from ..framework.graph import name_scope
from . import array_ops, math_ops
from .nn_helpers import _FLOATS, _REALS, _check_dtype, _check_same_dtype
from .op_helpers import apply_op, as_tensor


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


# Ops of the other nn modules, used inside functions (composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .nn_conv_ops import bias_add  # noqa: E402
