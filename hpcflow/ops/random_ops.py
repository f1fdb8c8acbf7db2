"""Random ops (uniform, normal, truncated normal, shuffle, multinomial, gamma, poisson) and seeds.

Every random op is a stateful context kernel drawing from `ctx.state.rng(key, seed)`: the
generator of an op is created the first time the op runs in a session, from the op's
(seed, seed2) attrs, and then advances run after run. A new session on the same graph
starts the streams again, so seeded programs repeat; ops with (0, 0) seeds draw from a
fresh nondeterministic generator, as TF's kernels do. Numbers need not equal TF's, only the
seeding rules (`get_seed`) and distributions do.
"""
import numpy as np

from ..framework import dtypes, errors, registry, sharding, tensor_util
from ..framework.graph import Tensor, get_default_graph, name_scope
from ..framework.tensor_shape import TensorShape
from .op_helpers import apply_op, as_tensor

# TF's constants: the graph seed used when only an op seed is given, and the seed modulus.
DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1

_FLOAT_DTYPES = (dtypes.float16, dtypes.float32, dtypes.float64)
_UNIFORM_DTYPES = _FLOAT_DTYPES + (dtypes.int32, dtypes.int64)


# -- seeds -------------------------------------------------------------------------------------

def set_random_seed(seed):
    """Sets the graph-level random seed of the default graph (TF1 `tf.set_random_seed`).

    Ops created afterwards without an op seed get one derived from the graph's op count, so
    the whole program becomes repeatable across sessions and runs of the script.
    """
    get_default_graph().seed = seed


set_seed = set_random_seed


def _truncate_seed(seed):
    return int(seed) % _MAXINT32  # seeds travel as non-negative int32 attrs


def get_seed(op_seed):
    """The (graph seed, op seed) pair an op should use, following TF1's rules.

    Args:
      op_seed: the seed passed to the op, or None.

    Returns:
      A pair of ints, or (None, None) when neither a graph nor an op seed is set (the op is
      then nondeterministic). With a graph seed but no op seed, the op seed is the graph's
      op count, so ops differ from one another but repeat from one program run to the next.
      With an op seed but no graph seed, the graph seed is `DEFAULT_GRAPH_SEED`.
    """
    graph = get_default_graph()
    global_seed = graph.seed
    if global_seed is not None:
        if op_seed is None:
            op_seed = len(graph._ops)
        seeds = _truncate_seed(global_seed), _truncate_seed(op_seed)
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, _truncate_seed(op_seed)
    else:
        seeds = None, None
    if seeds == (0, 0):  # (0, 0) means "nondeterministic" to the kernels
        return 0, _MAXINT32
    return seeds


def _seed_attrs(seed):
    seed1, seed2 = get_seed(seed)
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


def _generator(ctx, seed, seed2):
    # Ops of function graphs (loop bodies) may share a name with a top-level op.
    graph = ctx.op.graph
    key = ctx.op_name if getattr(graph, "outer_graph", None) is None else (id(graph), ctx.op_name)
    return ctx.state.rng(key, None if seed == 0 and seed2 == 0 else [int(seed), int(seed2)])


# -- shape helpers ---------------------------------------------------------------------------

def _shape_tensor(shape):
    """`shape` (list, tuple, TensorShape or 1-D int Tensor) as an int32/int64 Tensor "shape"."""
    if isinstance(shape, TensorShape):
        if not shape.is_fully_defined():
            raise ValueError("Cannot convert a partially known TensorShape %s to a Tensor" % shape)
        shape = shape.as_list()
    if isinstance(shape, Tensor) or hasattr(shape, "_as_graph_element"):
        tensor = as_tensor(shape)
    else:
        if isinstance(shape, (list, tuple)) and any(d is None for d in shape):
            raise ValueError("Cannot convert a partially known shape %s to a Tensor" % (shape,))
        tensor = as_tensor(shape, name="shape", dtype=None if _has_tensor(shape) else
                           _shape_dtype(shape))
    if tensor.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError("A shape must be int32 or int64, got %s (%s)" % (tensor.dtype.name,
                                                                        tensor.name))
    return tensor


def _has_tensor(value):
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    return isinstance(value, Tensor)


def _shape_dtype(shape):
    values = np.asarray(shape).reshape(-1)
    if values.size and values.dtype.kind in "iu" and values.max() >= 2**31:
        return dtypes.int64
    return dtypes.int32


def _output_shape(shape_tensor, what):
    if shape_tensor.shape.ndims not in (None, 1):
        raise ValueError("%s: shape must be a vector, got a tensor of shape %s"
                         % (what, shape_tensor.shape))
    return tensor_util.constant_value_as_shape(shape_tensor)


def _as_dims(shape_array):
    shape_array = np.asarray(shape_array)
    if shape_array.ndim != 1:
        raise errors.InvalidArgumentError(
            None, None, "shape must be a vector of {int32,int64}, got shape %s"
            % list(shape_array.shape))
    dims = tuple(int(d) for d in shape_array)
    for d in dims:
        if d < 0:
            raise errors.InvalidArgumentError(None, None, "Dimension %d must be >= 0" % d)
    return dims


def _check_dtype(dtype, allowed, what, error=ValueError):
    dtype = dtypes.as_dtype(dtype)
    if dtype not in allowed:
        raise error("Invalid dtype %r for %s: expected one of %s"
                    % (dtype, what, ", ".join(d.name for d in allowed)))
    return dtype


def _draw_float(draw, dims, dtype):
    """`draw(dims, np_dtype)` in float32/64; float16 values are drawn in float32 and cast."""
    np_dtype = np.dtype(dtype)
    if np_dtype == np.float16:
        return draw(dims, np.float32).astype(np.float16)
    return draw(dims, np_dtype)


# -- RandomUniform -----------------------------------------------------------------------------

def _random_shape_fn(op):
    dtype = dtypes.as_dtype(op.get_attr("dtype"))
    return [(_output_shape(op.inputs[0], op.type), dtype)]


def _random_uniform_kernel(ctx, shape, *, dtype, seed, seed2):
    rng = _generator(ctx, seed, seed2)
    dims = _as_dims(shape)
    result = _draw_float(lambda d, t: rng.random(d, dtype=t), dims, dtype)
    if result.dtype == np.float16:  # rounding may reach 1.0; TF's range is [0, 1)
        np.minimum(result, np.float16(1) - np.finfo(np.float16).epsneg, out=result)
    return result


registry.register_op("RandomUniform", shape=_random_shape_fn, numpy=_random_uniform_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)


def _random_uniform_int_shape(op):
    shape, minval, maxval = op.inputs
    for t, what in ((minval, "minval"), (maxval, "maxval")):
        if t.shape.ndims not in (None, 0):
            raise ValueError("%s must be a scalar, got shape %s" % (what, t.shape))
    return [(_output_shape(shape, op.type), minval.dtype)]


def _random_uniform_int_kernel(ctx, shape, minval, maxval, *, seed, seed2):
    rng = _generator(ctx, seed, seed2)
    dims = _as_dims(shape)
    if np.ndim(minval) or np.ndim(maxval):
        raise errors.InvalidArgumentError(
            None, None, "minval and maxval must be 0-D, got shapes %s and %s"
            % (list(np.shape(minval)), list(np.shape(maxval))))
    lo, hi = int(minval), int(maxval)
    total = int(np.prod(dims, dtype=np.int64))
    if total and lo >= hi:
        raise errors.InvalidArgumentError(None, None,
                                          "Need minval < maxval, got %d >= %d" % (lo, hi))
    if not total:
        return np.zeros(dims, dtype=np.asarray(minval).dtype)
    return rng.integers(lo, hi, size=dims, dtype=np.asarray(minval).dtype)


registry.register_op("RandomUniformInt", shape=_random_uniform_int_shape,
                     numpy=_random_uniform_int_kernel, context=True, stateful=True,
                     sharding=sharding.GATHER)


def _is_python_number(value, number):
    return (not isinstance(value, (Tensor, bool)) and isinstance(value, (int, float))
            and value == number)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Outputs random values from a uniform distribution on [minval, maxval).

    Args:
      shape: 1-D integer Tensor or Python list: the shape of the output.
      minval: lower bound (inclusive), scalar of type `dtype`.
      maxval: upper bound (exclusive), scalar of type `dtype`; defaults to 1 for floats and
        is required for integer types.
      dtype: float16, float32, float64, int32 or int64.
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "random_uniform").

    Returns:
      A Tensor of shape `shape` and type `dtype`.

    Raises:
      ValueError: for an unsupported dtype, or an integer dtype without `maxval`.
    """
    dtype = _check_dtype(dtype, _UNIFORM_DTYPES, "random_uniform")
    if maxval is None:
        if dtype.is_integer:
            raise ValueError("Must specify maxval for integer dtype %r" % dtype)
        maxval = 1
    with name_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        shape = _shape_tensor(shape)
        minval_is_zero = _is_python_number(minval, 0)
        maxval_is_one = _is_python_number(maxval, 1)
        if not minval_is_zero or not maxval_is_one or dtype.is_integer:
            minval = as_tensor(minval, dtype=dtype, name="min")
            maxval = as_tensor(maxval, dtype=dtype, name="max")
        attrs = _seed_attrs(seed)
        if dtype.is_integer:
            return apply_op("RandomUniformInt", [shape, minval, maxval], attrs, name=scope)
        attrs["dtype"] = dtype.name
        rnd = apply_op("RandomUniform", [shape], attrs, name="RandomUniform")
        if minval_is_zero and maxval_is_one:
            return rnd  # named "random_uniform/RandomUniform", as TF
        from . import math_ops
        if minval_is_zero:
            return math_ops.multiply(rnd, maxval, name=scope)
        return math_ops.add(rnd * (maxval - minval), minval, name=scope)


# -- normal and truncated normal ---------------------------------------------------------------

def _standard_normal_kernel(ctx, shape, *, dtype, seed, seed2):
    rng = _generator(ctx, seed, seed2)
    return _draw_float(lambda d, t: rng.standard_normal(d, dtype=t), _as_dims(shape), dtype)


def _truncated_normal_kernel(ctx, shape, *, dtype, seed, seed2):
    rng = _generator(ctx, seed, seed2)

    def draw(dims, np_dtype):
        values = rng.standard_normal(dims, dtype=np_dtype)
        flat = values.reshape(-1)
        bad = np.flatnonzero(np.abs(flat) > 2)
        while bad.size:  # resample only what fell outside [-2, 2], as TF does
            flat[bad] = rng.standard_normal(bad.size, dtype=np_dtype)
            bad = bad[np.abs(flat[bad]) > 2]
        return values

    return _draw_float(draw, _as_dims(shape), dtype)


registry.register_op("RandomStandardNormal", shape=_random_shape_fn,
                     numpy=_standard_normal_kernel, context=True, stateful=True,
                     sharding=sharding.GATHER)
registry.register_op("TruncatedNormal", shape=_random_shape_fn, numpy=_truncated_normal_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)


def _normal(op_type, default_name, shape, mean, stddev, dtype, seed, name):
    # TF rejects the type when the op is built: a TypeError, like its other op type checks.
    dtype = _check_dtype(dtype, _FLOAT_DTYPES, default_name, error=TypeError)
    from . import math_ops
    with name_scope(name, default_name, [shape, mean, stddev]) as scope:
        shape = _shape_tensor(shape)
        mean = as_tensor(mean, dtype=dtype, name="mean")
        stddev = as_tensor(stddev, dtype=dtype, name="stddev")
        attrs = _seed_attrs(seed)
        attrs["dtype"] = dtype.name
        rnd = apply_op(op_type, [shape], attrs, name=op_type)
        return math_ops.add(math_ops.multiply(rnd, stddev, name="mul"), mean, name=scope)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Outputs random values from a normal distribution.

    Args:
      shape: 1-D integer Tensor or Python list: the shape of the output.
      mean: scalar (or broadcastable Tensor) mean.
      stddev: scalar (or broadcastable Tensor) standard deviation.
      dtype: float16, float32 or float64.
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "random_normal").

    Returns:
      A Tensor of shape `shape` and type `dtype`.

    Raises:
      TypeError: if `dtype` is not a floating type.
    """
    return _normal("RandomStandardNormal", "random_normal", shape, mean, stddev, dtype, seed,
                   name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Outputs values from a normal distribution truncated to two standard deviations.

    Values more than 2 standard deviations from the mean are dropped and re-picked.

    Args:
      shape: 1-D integer Tensor or Python list: the shape of the output.
      mean: mean of the (untruncated) normal distribution.
      stddev: standard deviation of the (untruncated) normal distribution.
      dtype: float16, float32 or float64.
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "truncated_normal").

    Returns:
      A Tensor of shape `shape` and type `dtype`.

    Raises:
      TypeError: if `dtype` is not a floating type.
    """
    return _normal("TruncatedNormal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


# -- shuffle -------------------------------------------------------------------------------------

def _shuffle_shape(op):
    return [(op.inputs[0].shape, op.inputs[0].dtype)]


def _shuffle_kernel(ctx, value, *, seed, seed2):
    rng = _generator(ctx, seed, seed2)
    value = np.asarray(value)
    if value.ndim == 0:
        return value.copy()
    return value[rng.permutation(value.shape[0])]


registry.register_op("RandomShuffle", shape=_shuffle_shape, numpy=_shuffle_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)


def random_shuffle(value, seed=None, name=None):
    """Randomly shuffles a tensor along its first dimension.

    Args:
      value: a Tensor to shuffle.
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "RandomShuffle").

    Returns:
      A Tensor of the same shape and type as `value`, its rows permuted.
    """
    value = as_tensor(value, name="value")
    return apply_op("RandomShuffle", [value], _seed_attrs(seed), name=name or "RandomShuffle")


# -- multinomial / categorical -------------------------------------------------------------------

def _multinomial_shape(op):
    logits, num_samples = op.inputs
    if not logits.dtype.is_floating:
        raise TypeError("logits must be a floating point Tensor, got %s" % logits.dtype.name)
    if logits.shape.ndims not in (None, 2):
        raise ValueError("logits should be a matrix, got shape %s" % logits.shape)
    if num_samples.shape.ndims not in (None, 0):
        raise ValueError("num_samples should be a scalar, got shape %s" % num_samples.shape)
    n = tensor_util.constant_value(num_samples)
    batch = logits.shape[0] if logits.shape.ndims == 2 else None
    return [(TensorShape([batch, None if n is None else int(n)]),
             dtypes.as_dtype(op.get_attr("output_dtype")))]


def _multinomial_kernel(ctx, logits, num_samples, *, seed, seed2, output_dtype):
    rng = _generator(ctx, seed, seed2)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise errors.InvalidArgumentError(None, None, "logits should be a matrix, got shape %s"
                                          % list(logits.shape))
    n = int(num_samples)
    if n < 0:
        raise errors.InvalidArgumentError(None, None,
                                          "num_samples should be nonnegative, got %d" % n)
    batch, classes = logits.shape
    out_dtype = dtypes.as_dtype(output_dtype).np_dtype
    if batch == 0 or n == 0:
        return np.zeros((batch, n), dtype=out_dtype)
    if classes == 0:
        raise errors.InvalidArgumentError(None, None, "num_classes should be positive, got 0")
    # Inverse-CDF sampling per row; -inf logits get probability 0, as TF.
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    probs = np.exp(shifted)
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random((batch, n))
    samples = np.empty((batch, n), dtype=out_dtype)
    for row in range(batch):
        samples[row] = np.minimum(np.searchsorted(cdf[row], u[row], side="right"), classes - 1)
    return samples


registry.register_op("Multinomial", shape=_multinomial_shape, numpy=_multinomial_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """Draws samples from a categorical distribution per row of `logits` (TF1 `tf.multinomial`).

    Args:
      logits: 2-D Tensor [batch_size, num_classes] of unnormalized log-probabilities.
      num_samples: 0-D int: number of samples per row.
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "multinomial").
      output_dtype: int32 or int64 (default int64).

    Returns:
      An int Tensor [batch_size, num_samples] of class indices.

    Raises:
      ValueError: if `logits` is not a matrix.
    """
    with name_scope(name, "multinomial", [logits]):
        return _multinomial(logits, num_samples, seed, output_dtype)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """`tf.random.categorical`: as `multinomial`, the output type given by `dtype`."""
    with name_scope(name, "categorical", [logits]):
        return _multinomial(logits, num_samples, seed, dtype)


def _multinomial(logits, num_samples, seed, output_dtype):
    logits = as_tensor(logits, name="logits")
    num_samples = as_tensor(num_samples, dtype=dtypes.int32, name="num_samples")
    output_dtype = dtypes.as_dtype(output_dtype or dtypes.int64)
    if output_dtype not in (dtypes.int32, dtypes.int64):
        raise ValueError("output_dtype must be int32 or int64, got %r" % output_dtype)
    attrs = _seed_attrs(seed)
    attrs["output_dtype"] = output_dtype.name
    return apply_op("Multinomial", [logits, num_samples], attrs, name="Multinomial")


# -- gamma and poisson ---------------------------------------------------------------------------

def _param_shape_fn(op):
    shape, param = op.inputs
    dtype = dtypes.as_dtype(op.get_attr("dtype"))
    return [(_output_shape(shape, op.type).concatenate(param.shape), dtype)]


def _gamma_kernel(ctx, shape, alpha, *, dtype, seed, seed2):
    rng = _generator(ctx, seed, seed2)
    alpha = np.asarray(alpha)
    dims = _as_dims(shape) + alpha.shape
    draw = rng.standard_gamma(alpha.astype(np.float64), size=dims)
    return draw.astype(dtypes.as_dtype(dtype).np_dtype)


def _poisson_kernel(ctx, shape, rate, *, dtype, seed, seed2):
    rng = _generator(ctx, seed, seed2)
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(rate < 0):
        raise errors.InvalidArgumentError(None, None, "rate must be non-negative")
    dims = _as_dims(shape) + rate.shape
    return rng.poisson(rate, size=dims).astype(dtypes.as_dtype(dtype).np_dtype)


registry.register_op("RandomGamma", shape=_param_shape_fn, numpy=_gamma_kernel, context=True,
                     stateful=True, sharding=sharding.GATHER)
registry.register_op("RandomPoissonV2", shape=_param_shape_fn, numpy=_poisson_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)


def random_gamma(shape, alpha, beta=None, dtype=dtypes.float32, seed=None, name=None):
    """Draws `shape` samples from each Gamma(alpha, beta) distribution.

    Args:
      shape: 1-D integer Tensor or list: the number of samples per distribution.
      alpha: concentration(s), broadcast with `beta`.
      beta: inverse scale(s) (default 1).
      dtype: float16, float32 or float64.
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "random_gamma").

    Returns:
      A Tensor of shape `shape + broadcast(alpha, beta).shape`.

    Raises:
      ValueError: if `dtype` is not a floating type.
    """
    dtype = _check_dtype(dtype, _FLOAT_DTYPES, "random_gamma")
    from . import array_ops, math_ops
    with name_scope(name, "random_gamma", [shape, alpha, beta]):
        shape = _shape_tensor(shape)
        alpha = as_tensor(alpha, dtype=dtype, name="alpha")
        beta = as_tensor(beta if beta is not None else 1, dtype=dtype, name="beta")
        alpha_broadcast = alpha + array_ops.zeros_like(beta)
        attrs = _seed_attrs(seed)
        attrs["dtype"] = dtype.name
        sample = apply_op("RandomGamma", [shape, alpha_broadcast], attrs, name="RandomGamma")
        # As TF: never return exact zeros (they break log-likelihoods downstream).
        return math_ops.maximum(np.finfo(dtype.np_dtype).tiny,
                                math_ops.truediv(sample, beta))


def random_poisson(lam, shape, dtype=dtypes.float32, seed=None, name=None):
    """Draws `shape` samples from each Poisson(lam) distribution.

    Args:
      lam: rate(s) of the distributions.
      shape: 1-D integer Tensor or list: the number of samples per distribution.
      dtype: output type (float16/32/64, int32, int64).
      seed: op seed (see `set_random_seed`).
      name: name of the operation (default "random_poisson").

    Returns:
      A Tensor of shape `shape + lam.shape` and type `dtype`.
    """
    dtype = _check_dtype(dtype, _UNIFORM_DTYPES, "random_poisson")
    with name_scope(name, "random_poisson", [lam, shape]):
        shape = _shape_tensor(shape)
        lam = as_tensor(lam, name="lam")
        if not lam.dtype.is_floating and not lam.dtype.is_integer:
            raise TypeError("lam must be a real Tensor, got %s" % lam.dtype.name)
        attrs = _seed_attrs(seed)
        attrs["dtype"] = dtype.name
        return apply_op("RandomPoissonV2", [shape, lam], attrs, name="RandomPoissonV2")


# Random numbers have no gradient by nature (TF gives RandomGamma one w.r.t. alpha through
# an implicit reparameterisation; hpcflow does not).
registry.not_differentiable("RandomUniform", "RandomUniformInt", "RandomStandardNormal",
                            "TruncatedNormal", "RandomShuffle", "Multinomial", "RandomGamma",
                            "RandomPoissonV2")
