"""Dropout and normalization (TF1 `tf.nn`): dropout, moments and its relatives, batch
normalization, fused_batch_norm, local response normalization, l2_normalize and
zero_fraction, all composed from math and array ops (their gradients come for free)."""
import numbers

import numpy as np

from ..framework import dtypes, tensor_util
from ..framework.graph import Tensor, name_scope
from . import array_ops, math_ops, random_ops
from .nn_helpers import _axis_alias, _cast_like, _check_data_format, _check_dtype, _with_rank
from .op_helpers import as_tensor


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
# Normalization: moments, batch_normalization, fused_batch_norm, lrn, l2_normalize.

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
