"""`tf.nn`: the TF1 neural-network namespace (activations, losses, convolution, pooling,
normalization, embeddings). The ops live in `hpcflow/ops/nn_*_ops.py`, gathered by
`hpcflow/ops/nn_ops.py`; sigmoid and tanh are math ops that tf.nn re-exports."""
from .ops.math_ops import sigmoid, tanh
from .ops.nn_ops import (
    atrous_conv2d, avg_pool, avg_pool2d, batch_normalization, bias_add, conv1d, conv2d,
    conv2d_backprop_filter, conv2d_backprop_input, conv2d_transpose, convolution, crelu,
    dropout, elu, embedding_lookup, fused_batch_norm, in_top_k, l2_loss, l2_normalize,
    leaky_relu, local_response_normalization, log_poisson_loss, log_softmax, lrn, max_pool,
    max_pool2d, moments, normalize_moments, relu, relu6, relu_layer, selu,
    sigmoid_cross_entropy_with_logits, silu, softmax, softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2, softplus, softsign,
    sparse_softmax_cross_entropy_with_logits, sufficient_statistics, swish, top_k,
    weighted_cross_entropy_with_logits, weighted_moments, xw_plus_b, zero_fraction)

__all__ = [
    "atrous_conv2d", "avg_pool", "avg_pool2d", "batch_normalization", "bias_add", "conv1d",
    "conv2d", "conv2d_backprop_filter", "conv2d_backprop_input", "conv2d_transpose",
    "convolution", "crelu", "dropout", "elu", "embedding_lookup", "fused_batch_norm",
    "in_top_k", "l2_loss", "l2_normalize", "leaky_relu", "local_response_normalization",
    "log_poisson_loss", "log_softmax", "lrn", "max_pool", "max_pool2d", "moments",
    "normalize_moments", "relu", "relu6", "relu_layer", "selu", "sigmoid",
    "sigmoid_cross_entropy_with_logits", "silu", "softmax",
    "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2", "softplus",
    "softsign", "sparse_softmax_cross_entropy_with_logits", "sufficient_statistics", "swish",
    "tanh", "top_k", "weighted_cross_entropy_with_logits", "weighted_moments", "xw_plus_b",
    "zero_fraction"]
