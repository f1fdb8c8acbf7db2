"""Initializers (TF1 `tf.*_initializer` classes): callables `init(shape, dtype, partition_info)`.

An initializer builds the ops producing a variable's first value; `get_variable` calls it
under the variable's "Initializer" name scope. For a shard of a partitioned variable,
`partition_info.full_shape` is the whole variable's shape: fan-based initializers scale by
it, so sharding does not change the distribution.
"""
import math

import numpy as np

from ..framework import dtypes, registry, sharding, tensor_util
from ..framework.graph import name_scope
from ..framework.tensor_shape import TensorShape
from . import constant_op, random_ops
from .op_helpers import apply_op


def _assert_float_dtype(dtype):
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError("Argument `dtype` is expected to be floating point. Received: %s." % dtype)
    return dtype


def _shape_list(shape):
    if isinstance(shape, TensorShape):
        return shape.as_list()
    if isinstance(shape, (int, np.integer)):
        return [int(shape)]
    return list(shape)


class Initializer:
    """Base class of initializers: `__call__(shape, dtype=None, partition_info=None)`."""

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments, so that `from_config(get_config())` rebuilds it."""
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)  # TF1 configs carry it; the classes take it as an argument
        return cls(**config)


class Zeros(Initializer):
    """Initializer that generates tensors initialized to 0."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from . import array_ops
        return array_ops.zeros(shape, dtypes.as_dtype(dtype or self.dtype))

    def get_config(self):
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    """Initializer that generates tensors initialized to 1."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from . import array_ops
        return array_ops.ones(shape, dtypes.as_dtype(dtype or self.dtype))

    def get_config(self):
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """Initializer that generates tensors with constant values.

    `value` is a Python scalar, list/tuple or numpy array. A list shorter than the
    variable is padded with its last element and a scalar is broadcast, as TF1's
    `tf.constant(value, shape=...)`; `verify_shape=True` demands an exact shape.

    Raises:
      TypeError: if `value` is not a scalar, list, tuple or numpy array.
    """

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        if not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray))):
            raise TypeError("Invalid type for initial value: %s (expected Python scalar, list "
                            "or tuple of values, or numpy.ndarray)." % type(value))
        self.value = value
        self.dtype = dtypes.as_dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        if verify_shape is None:
            verify_shape = self._verify_shape
        return constant_op.constant(self.value, dtype=dtypes.as_dtype(dtype or self.dtype),
                                    shape=_shape_list(shape), verify_shape=verify_shape)

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype.name}


class RandomUniform(Initializer):
    """Initializer that generates tensors uniform on [minval, maxval)."""

    def __init__(self, minval=0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval = minval
        self.maxval = maxval
        self.seed = seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_uniform(shape, self.minval, self.maxval,
                                         dtypes.as_dtype(dtype or self.dtype), seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed,
                "dtype": self.dtype.name}


class _NormalInitializer(Initializer):
    """Draws from `_sample` (a random_ops function taking shape, mean, stddev, dtype, seed)."""

    _sample = None

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean = mean
        self.stddev = stddev
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return self._sample(shape, self.mean, self.stddev,
                            _assert_float_dtype(dtype or self.dtype), seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed,
                "dtype": self.dtype.name}


class RandomNormal(_NormalInitializer):
    """Initializer that generates tensors with a normal distribution."""

    _sample = staticmethod(random_ops.random_normal)


class TruncatedNormal(_NormalInitializer):
    """Initializer that generates a normal distribution truncated at two standard deviations."""

    _sample = staticmethod(random_ops.truncated_normal)


def _compute_fans(shape):
    """(fan_in, fan_out) of a weight shape: dense [in, out], conv [..., in, out]."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = 1
    for d in shape[:-2]:
        receptive_field *= d
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class UniformUnitScaling(Initializer):
    """Deprecated TF1 initializer: uniform on +-sqrt(3 / fan_in) * factor."""

    def __init__(self, factor=1.0, seed=None, dtype=dtypes.float32):
        self.factor = factor
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _assert_float_dtype(dtype or self.dtype)
        scale_shape = _shape_list(shape if partition_info is None else partition_info.full_shape)
        input_size = 1.0
        for d in scale_shape[:-1]:
            input_size *= float(d)
        input_size = max(input_size, 1.0)
        max_val = math.sqrt(3 / input_size) * self.factor
        return random_ops.random_uniform(shape, -max_val, max_val, dtype, seed=self.seed)

    def get_config(self):
        return {"factor": self.factor, "seed": self.seed, "dtype": self.dtype.name}


class VarianceScaling(Initializer):
    """Initializer whose scale adapts to the shape of the weights.

    With `distribution="truncated_normal"` (or "normal"), samples come from a normal
    distribution truncated at 2 stddev, with stddev = sqrt(scale / n) / .8796 (the stddev
    of the truncated unit normal), where n is fan_in, fan_out or their mean (`mode`).
    "untruncated_normal" uses stddev sqrt(scale / n); "uniform" samples from
    [-limit, limit] with limit = sqrt(3 * scale / n).

    Raises:
      ValueError: for a non-positive scale, an unknown mode or distribution.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=dtypes.float32):
        if scale <= 0.:
            raise ValueError("Argument `scale` must be a positive float. Received: %s" % scale)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("Argument `mode` should be one of ('fan_in', 'fan_out', 'fan_avg')."
                             " Received: %s" % (mode,))
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("Argument `distribution` should be one of ('normal', 'uniform', "
                             "'truncated_normal', 'untruncated_normal'). Received: %s"
                             % (distribution,))
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _assert_float_dtype(dtype or self.dtype)
        scale_shape = _shape_list(shape if partition_info is None else partition_info.full_shape)
        fan_in, fan_out = _compute_fans(scale_shape)
        n = {"fan_in": fan_in, "fan_out": fan_out,
             "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1., n)
        if self.distribution in ("normal", "truncated_normal"):
            stddev = math.sqrt(scale) / .87962566103423978
            return random_ops.truncated_normal(shape, 0.0, stddev, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "dtype": self.dtype.name}


class GlorotUniform(VarianceScaling):
    """Glorot (Xavier) uniform: uniform on +-sqrt(6 / (fan_in + fan_out))."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed,
                         dtype=dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


class GlorotNormal(VarianceScaling):
    """Glorot (Xavier) normal: truncated normal with stddev sqrt(2 / (fan_in + fan_out))."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(scale=1.0, mode="fan_avg", distribution="truncated_normal", seed=seed,
                         dtype=dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


def lecun_normal(seed=None):
    return VarianceScaling(scale=1., mode="fan_in", distribution="truncated_normal", seed=seed)


def lecun_uniform(seed=None):
    return VarianceScaling(scale=1., mode="fan_in", distribution="uniform", seed=seed)


def he_normal(seed=None):
    return VarianceScaling(scale=2., mode="fan_in", distribution="truncated_normal", seed=seed)


def he_uniform(seed=None):
    return VarianceScaling(scale=2., mode="fan_in", distribution="uniform", seed=seed)


# -- orthogonal -----------------------------------------------------------------------------------

def _orthogonal_shape(op):
    shape = tensor_util.constant_value_as_shape(op.inputs[0])
    return [(shape, dtypes.as_dtype(op.get_attr("dtype")))]


def _orthogonal_kernel(ctx, shape, *, dtype, seed, seed2):
    """A random (semi-)orthogonal matrix reshaped to `shape`: QR of a normal matrix.

    Multiplying Q by the signs of R's diagonal makes the distribution uniform (Haar), as
    TF's initializer does.
    """
    rng = random_ops._generator(ctx, seed, seed2)
    dims = random_ops._as_dims(shape)
    num_cols = dims[-1]
    num_rows = int(np.prod(dims[:-1], dtype=np.int64))
    flat = (num_cols, num_rows) if num_rows < num_cols else (num_rows, num_cols)
    q, r = np.linalg.qr(rng.standard_normal(flat))
    q *= np.sign(np.diag(r))
    if num_rows < num_cols:
        q = q.T
    return np.ascontiguousarray(q.reshape(dims)).astype(dtypes.as_dtype(dtype).np_dtype)


registry.register_op("RandomOrthogonal", shape=_orthogonal_shape, numpy=_orthogonal_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.not_differentiable("RandomOrthogonal")


class Orthogonal(Initializer):
    """Initializer that generates an orthogonal matrix (rows or columns orthonormal) * gain.

    A shape of rank > 2 is treated as a matrix [prod(shape[:-1]), shape[-1]].

    Raises:
      ValueError: if the shape has rank < 2.
    """

    def __init__(self, gain=1.0, seed=None, dtype=dtypes.float32):
        self.gain = gain
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _assert_float_dtype(dtype or self.dtype)
        shape = _shape_list(shape)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional")
        with name_scope(None, "orthogonal", []) as scope:
            shape_t = random_ops._shape_tensor(shape)
            attrs = random_ops._seed_attrs(self.seed)
            attrs["dtype"] = dtype.name
            q = apply_op("RandomOrthogonal", [shape_t], attrs, name="RandomOrthogonal")
            if self.gain == 1.0:
                return q
            from . import math_ops
            return math_ops.multiply(q, constant_op.constant(self.gain, dtype=dtype, name="gain"),
                                     name=scope)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed, "dtype": self.dtype.name}


class Identity(Initializer):
    """Initializer that generates the identity matrix (times `gain`); 2-D shapes only.

    Raises:
      ValueError: if the (full) shape is not 2-D.
    """

    def __init__(self, gain=1.0, dtype=dtypes.float32):
        self.gain = gain
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dtypes.as_dtype(dtype or self.dtype)
        full_shape = _shape_list(shape if partition_info is None else partition_info.full_shape)
        if len(full_shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices.")
        value = np.eye(*full_shape) * self.gain
        if partition_info is not None:
            offset = partition_info.var_offset
            shape = _shape_list(shape)
            value = value[offset[0]:offset[0] + shape[0], offset[1]:offset[1] + shape[1]]
        return constant_op.constant(value.astype(dtype.np_dtype), name="identity")

    def get_config(self):
        return {"gain": self.gain, "dtype": self.dtype.name}


# TF1's lower-case aliases (`tf.zeros_initializer()` etc.) and `tf.initializers` names.
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_uniform_initializer = RandomUniform
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
uniform_unit_scaling_initializer = UniformUnitScaling
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
orthogonal_initializer = Orthogonal
identity_initializer = Identity

zeros = Zeros
ones = Ones
constant = Constant
random_uniform = RandomUniform
random_normal = RandomNormal
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
orthogonal = Orthogonal
identity = Identity
uniform_unit_scaling = UniformUnitScaling



# `tf.initializers.global_variables()` etc.: the variable initializer ops under TF1's
# `tf.initializers` names (imported lazily: variables imports this module's users).
def global_variables():
    """`tf.initializers.global_variables()`: the op initializing all global variables."""
    from . import variables
    return variables.global_variables_initializer()


def local_variables():
    """`tf.initializers.local_variables()`: the op initializing all local variables."""
    from . import variables
    return variables.local_variables_initializer()


def variables(var_list, name="init"):
    """`tf.initializers.variables(var_list)`: the op initializing `var_list`."""
    from . import variables as variables_lib
    return variables_lib.variables_initializer(var_list, name=name)


__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
           "TruncatedNormal", "UniformUnitScaling", "VarianceScaling", "GlorotUniform",
           "GlorotNormal", "Orthogonal", "Identity", "lecun_normal", "lecun_uniform",
           "he_normal", "he_uniform", "zeros_initializer", "ones_initializer",
           "constant_initializer", "random_uniform_initializer", "random_normal_initializer",
           "truncated_normal_initializer", "uniform_unit_scaling_initializer",
           "variance_scaling_initializer", "glorot_uniform_initializer",
           "glorot_normal_initializer", "orthogonal_initializer", "identity_initializer"]
