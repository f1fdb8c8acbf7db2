"""Casts (Cast, saturate_cast, to_float...) and the scalar helpers scalar_mul and
clip_by_value (TF1 `math_ops`)."""
import warnings

import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules
from ..framework.graph import Tensor
from ..framework.tensor_conversion import convert_to_tensor
from .math_helpers import _apply, _dense_grad, _op_scope

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))


# ---------------------------------------------------------------------------------------------
# Casts.

def _cast_shape(op):
    x = op.inputs[0]
    return [(x.shape, dtypes.as_dtype(op.get_attr("DstT")))]


_NOT_CASTABLE = ("string", "variant")


def _cast_kernel(x, *, SrcT, DstT, Truncate=False):  # noqa: N803 - TF's attr names
    if SrcT in _NOT_CASTABLE or DstT in _NOT_CASTABLE:
        # As TF: such a cast builds, and fails when run (tf.strings.to_number parses).
        raise errors.UnimplementedError(None, None, "Cast %s to %s is not supported"
                                        % (SrcT, DstT))
    target = dtypes.as_dtype(DstT).np_dtype
    if x.dtype.kind == "c" and target.kind != "c":
        x = np.real(x)
    # numpy's float -> int conversion truncates toward zero, as TF's static_cast.
    return np.asarray(x).astype(target)


_FLOAT_KINDS = "fc"


def _cast_grad(op, grad):
    src = op.inputs[0].dtype
    if src.np_dtype.kind in _FLOAT_KINDS and grad.dtype.np_dtype.kind in _FLOAT_KINDS:
        return [cast(grad, src)]
    return [None]


registry.register_op("Cast", shape=_cast_shape, numpy=_cast_kernel,
                     gradient=_dense_grad(_cast_grad),
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.pass_through))


def cast(x, dtype, name=None):
    """Casts x to `dtype` (op "Cast"); returns x itself if it already has that dtype.

    Float to integer truncates toward zero, numbers to bool test != 0, as TF.

    Args:
      x: a Tensor or convertible value.
      dtype: the destination type.
      name: optional op name.

    Returns:
      A Tensor of type `dtype` and x's shape.

    Raises:
      TypeError: if x cannot be cast to `dtype` (strings).
    """
    base_type = dtypes.as_dtype(dtype)
    if isinstance(x, Tensor) and x.dtype == base_type:
        return x
    with _op_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype == base_type:
            return x
        return _apply("Cast", [x], {"SrcT": x.dtype.name, "DstT": base_type.name,
                                      "Truncate": False}, name=scope)


def to_float(x, name="ToFloat"):
    """Casts x to float32 (deprecated TF1 alias)."""
    return cast(x, dtypes.float32, name=name)


def to_double(x, name="ToDouble"):
    """Casts x to float64 (deprecated TF1 alias)."""
    return cast(x, dtypes.float64, name=name)


def to_int32(x, name="ToInt32"):
    """Casts x to int32 (deprecated TF1 alias)."""
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    """Casts x to int64 (deprecated TF1 alias)."""
    return cast(x, dtypes.int64, name=name)


def _limit_in(limit, src):
    """The integer bound `limit` as the nearest value of numpy type `src` inside the range.

    float32(2**31 - 1) rounds up to 2**31, which would overflow int32 when cast back.
    """
    value = np.asarray(limit).astype(src)
    if src.kind == "f":
        if int(value) > limit:
            value = np.nextafter(value, src.type(-np.inf))
        elif int(value) < limit:
            value = np.nextafter(value, src.type(np.inf))
    return value


def saturate_cast(value, dtype, name=None):
    """Casts value to dtype, clamping it to dtype's range first (no wrap-around).

    Args:
      value: a numeric Tensor.
      dtype: the destination type.
      name: optional name (default "saturate_cast").

    Returns:
      `value` clamped to [dtype.min, dtype.max] and cast to dtype.
    """
    with _op_scope(name, "saturate_cast", [value]) as scope:
        value = convert_to_tensor(value, name="value")
        dtype = dtypes.as_dtype(dtype)
        if value.dtype.is_bool or dtype.is_bool:
            return cast(value, dtype, name=scope)
        src = value.dtype.np_dtype
        if value.dtype.min < dtype.min:
            low = _limit_in(dtype.min, src) if dtype.is_integer else np.asarray(dtype.min, src)
            value = maximum(value, convert_to_tensor(low, name="min"))
        if value.dtype.max > dtype.max:
            high = _limit_in(dtype.max, src) if dtype.is_integer else np.asarray(dtype.max, src)
            value = minimum(value, convert_to_tensor(high, name="max"))
        return cast(value, dtype, name=scope)


def scalar_mul(scalar, x, name=None):
    """Multiplies the Tensor x by a scalar (op "Mul").

    Raises:
      ValueError: if `scalar` is not 0-D.
    """
    x = convert_to_tensor(x, name="x")
    scalar = convert_to_tensor(scalar, dtype=x.dtype, name="scalar")
    if scalar.shape.ndims != 0:
        raise ValueError("Only scalar multiply works, got shape %s" % (scalar.shape,))
    return _binary("Mul", scalar, x, name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clips t element-wise to [clip_value_min, clip_value_max] (Minimum then Maximum).

    The gradient flows where t is inside the range (ties at the bounds go to t, as TF).

    Args:
      t: a Tensor.
      clip_value_min: scalar or broadcastable Tensor, the lower bound.
      clip_value_max: scalar or broadcastable Tensor, the upper bound.
      name: optional name (default "clip_by_value").

    Returns:
      A Tensor of t's dtype and shape.

    Raises:
      ValueError: if the bounds would broadcast t to a bigger shape.
    """
    with _op_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = convert_to_tensor(t, name="t")
        t_min = minimum(values, clip_value_max)
        values.shape.assert_is_compatible_with(t_min.shape)
        t_max = maximum(t_min, clip_value_min, name=scope)
        values.shape.assert_is_compatible_with(t_max.shape)
    return t_max


# Ops of the other math modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .math_binary_ops import _binary, maximum, minimum  # noqa: E402
