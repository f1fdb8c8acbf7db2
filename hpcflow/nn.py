"""`tf.nn`: the TF1 neural-network namespace (activations, losses, convolution, pooling,
normalization, embeddings). The ops live in `hpcflow/ops/nn_ops.py`."""
from .ops.nn_ops import (  # noqa: F401 - re-exported names
    avg_pool, avg_pool2d, batch_normalization, bias_add, conv1d, conv2d,
    conv2d_backprop_filter, conv2d_backprop_input, conv2d_transpose, crelu, dropout, elu,
    embedding_lookup, fused_batch_norm, in_top_k, l2_loss, l2_normalize, leaky_relu,
    log_poisson_loss, log_softmax, max_pool, max_pool2d, moments, normalize_moments, relu,
    relu6, relu_layer, selu, sigmoid_cross_entropy_with_logits, silu, softmax,
    softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2, softplus,
    softsign, sparse_softmax_cross_entropy_with_logits, sufficient_statistics, swish, top_k,
    weighted_cross_entropy_with_logits, weighted_moments, xw_plus_b, zero_fraction)


def __getattr__(name):
    # sigmoid and tanh are math ops that tf.nn re-exports; resolved lazily so that importing
    # this namespace never depends on the import order of the ops modules.
    if name in ("sigmoid", "tanh"):
        from .ops import math_ops
        return getattr(math_ops, name)
    raise AttributeError("module 'hpcflow.nn' has no attribute %r" % name)
