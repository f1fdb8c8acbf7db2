"""The neural-network ops family (`tf.nn`): activations, softmax and cross-entropies, bias_add,
conv2d, pooling, dropout, normalization, embedding lookup and top_k.

The ops live in one module per family; this module gathers their public names (and the
private helpers the backends and tests use) under TF's module name:

- nn_activation_ops: Relu, Relu6, Elu, Selu, LeakyRelu, Softplus, Softsign (+ `*Grad` ops)
- nn_softmax_ops: Softmax, LogSoftmax, the cross-entropies, log_poisson_loss, L2Loss
- nn_conv_ops: BiasAdd/BiasAddGrad, Conv2D with its two backprop ops, conv1d, convolution...
- nn_pool_ops: MaxPool/AvgPool with MaxPoolGrad(/GradGrad) and AvgPoolGrad
- nn_normalization_ops: dropout, moments, batch normalization, lrn, l2_normalize
- nn_embedding_ops: DynamicPartition, DynamicStitch, embedding_lookup
- nn_top_k_ops: TopKV2 (with GatherLastAxis/ScatterLastAxis), InTopKV2
- nn_helpers: dtype and rank checks, data formats, the geometry conv and pooling share

Primitive ops (one registry record each, registered once when its module is first imported)
are the ones TF has as kernels and whose numerics or speed need one. Everything else
(sigmoid and weighted cross-entropies, dropout, moments, batch normalization,
fused_batch_norm, l2_normalize, lrn, conv1d, conv2d_transpose, ...) is composed from
primitives of these and the math/array modules, so its gradient comes for free.

Every grad op has its own gradient, so second derivatives work through the whole family.
The im2col chunk size `_IM2COL_CHUNK_ELEMENTS` is read from nn_conv_ops (patch it there).
"""
from .nn_helpers import (  # noqa: F401
    _check_window_attrs, _compute_dtype, _from_nhwc, _from_nhwc_dims, _get_sequence, _to_nhwc,
    _to_nhwc_dims)
from .nn_activation_ops import (  # noqa: F401
    crelu, elu, leaky_relu, relu, relu6, relu_layer, selu, silu, softplus, softsign, swish)
from .nn_softmax_ops import (  # noqa: F401
    _softmax_kernel, _softmax_xent_kernel, _sparse_xent_kernel, l2_loss, log_poisson_loss,
    log_softmax, sigmoid_cross_entropy_with_logits, softmax, softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2, sparse_softmax_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits)
from .nn_conv_ops import (  # noqa: F401
    _PER_OFFSET_MAX_CHANNELS, _batch_chunks, _channel_axis, _check_out_backprop,
    _conv_geometry_from, atrous_conv2d, bias_add, conv1d, conv2d, conv2d_backprop_filter,
    conv2d_backprop_input, conv2d_transpose, convolution, xw_plus_b)
from .nn_pool_ops import (  # noqa: F401
    _avg_divisor, _avg_pool_grad_kernel, _avg_pool_kernel, _check_pool_window,
    _max_pool_grad_kernel, _max_pool_kernel, _pool_geometry, avg_pool, avg_pool2d, max_pool,
    max_pool2d)
from .nn_normalization_ops import (  # noqa: F401
    batch_normalization, dropout, fused_batch_norm, l2_normalize, local_response_normalization,
    lrn, moments, normalize_moments, sufficient_statistics, weighted_moments, zero_fraction)
from .nn_embedding_ops import (  # noqa: F401
    dynamic_partition, dynamic_stitch, embedding_lookup, parallel_dynamic_stitch)
from .nn_top_k_ops import in_top_k, top_k, TopKResult  # noqa: F401
