"""Graph inputs: constants, placeholders and placeholders with defaults."""
import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.graph import get_default_graph
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape


def _const_shape(op):
    value = op.get_attr("value")
    return [(TensorShape(value.shape), dtypes.as_dtype(op.get_attr("dtype")))]


def _const_kernel(*, value, dtype):
    return value


registry.register_op("Const", shape=_const_shape, numpy=_const_kernel,
                     sharding=sharding.REPLICATED)


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """Creates a constant tensor (TF1 `tf.constant`).

    Python ints become int32 (int64 when too large), floats float32; numpy arrays keep their
    dtype. With `shape`, a single value is broadcast and (as TF1) a shorter list is padded
    with its last element.

    Raises:
      TypeError: if `value` cannot be represented as `dtype`.
      ValueError: if `value` has too many elements for `shape`, or `verify_shape` fails.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    if verify_shape and shape is not None:
        natural = tensor_util.make_ndarray(value, dtype)
        if tuple(natural.shape) != tuple(as_shape(shape).as_list()):
            raise TypeError("Expected Tensor's shape: %s, got %s." % (tuple(shape), natural.shape))
    array = tensor_util.make_ndarray(value, dtype, None if shape is None else as_shape(shape).as_list())
    if isinstance(value, np.ndarray) and np.shares_memory(array, value):
        array = array.copy()  # the graph owns its constant: the caller's array stays writable
    array.setflags(write=False)  # kernels hand this exact array out; nobody may mutate it
    op = get_default_graph().create_op(
        "Const", [], {"value": array, "dtype": dtypes.as_dtype(array.dtype).name}, name=name)
    return op.outputs[0]


def _placeholder_shape(op):
    shape = op.get_attr("shape")
    return [(unknown_shape() if shape is None else TensorShape(shape),
             dtypes.as_dtype(op.get_attr("dtype")))]


def _placeholder_kernel(ctx, *, dtype, shape):
    shape_text = "<unknown>" if shape is None else "[%s]" % ",".join(
        "?" if d is None else str(d) for d in shape)
    raise errors.InvalidArgumentError(
        None, None, "You must feed a value for placeholder tensor '%s' with dtype %s and shape %s"
        % (ctx.op_name, dtype, shape_text))


registry.register_op("Placeholder", shape=_placeholder_shape, numpy=_placeholder_kernel,
                     context=True, stateful=True, sharding=sharding.BATCH_INPUT)
registry.not_differentiable("Const", "Placeholder")


def placeholder(dtype=dtypes.float32, shape=None, name=None):
    """A tensor that must be fed in `Session.run` (TF1 `tf.placeholder`).

    `dtype` defaults to float32 (TF requires it; the seeds' examples omit it).
    """
    dtype = dtypes.as_dtype(dtype)
    shape = None if shape is None else as_shape(shape).as_tuple_or_none()
    op = get_default_graph().create_op(
        "Placeholder", [], {"dtype": dtype.name, "shape": None if shape is None else list(shape)},
        name=name or "Placeholder")
    return op.outputs[0]


def _placeholder_with_default_shape(op):
    shape = op.get_attr("shape")
    return [(unknown_shape() if shape is None else TensorShape(shape), op.inputs[0].dtype)]


def _identity_kernel(x, **_):
    return x


registry.register_op("PlaceholderWithDefault", shape=_placeholder_with_default_shape,
                     numpy=_identity_kernel,
                     sharding=sharding.Rule(sharding.BATCH_INPUT, sharding_rules.pass_through),
                     gradient=lambda op, grad: [grad])


def placeholder_with_default(input, shape, name=None):  # noqa: A002 - TF's argument name
    """A placeholder that yields `input` when not fed. `shape` may be less specific than input's."""
    from ..framework.tensor_conversion import convert_to_tensor
    value = convert_to_tensor(input)
    shape = as_shape(shape)
    if not shape.is_compatible_with(value.shape):
        raise ValueError("Shape %s of placeholder_with_default %s is not compatible with the "
                         "default value's shape %s" % (shape, name, value.shape))
    op = get_default_graph().create_op(
        "PlaceholderWithDefault", [value],
        {"shape": None if shape.ndims is None else list(shape.as_tuple_or_none())},
        name=name or "PlaceholderWithDefault")
    return op.outputs[0]
