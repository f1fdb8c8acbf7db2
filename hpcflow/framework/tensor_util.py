"""Python/numpy values to typed arrays with TF1's inference rules, and static constant values."""
import numbers

import numpy as np

from . import dtypes


def _flatten(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def _to_string_array(value):
    arr = np.array(value, dtype=object)
    flat = arr.reshape(-1)
    for i, v in enumerate(flat):
        if isinstance(v, str):
            flat[i] = v.encode("utf-8")
        elif isinstance(v, (bytes, np.bytes_)):
            flat[i] = bytes(v)
        else:
            raise TypeError("Expected string, got %r of type %r instead." % (v, type(v).__name__))
    return arr


def _infer_python_dtype(value):
    """TF's inference for Python scalars/lists: int -> int32 (int64 if too big), float -> float32."""
    kinds = set()
    big_int = False
    for v in _flatten(value):
        if isinstance(v, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(v, np.generic):
            kinds.add(np.dtype(type(v)).name)
        elif isinstance(v, numbers.Integral):
            kinds.add("i")
            if not -2**31 <= v < 2**31:
                big_int = True
        elif isinstance(v, numbers.Real):
            kinds.add("f")
        elif isinstance(v, numbers.Complex):
            kinds.add("c")
        elif isinstance(v, (str, bytes)):
            kinds.add("s")
        elif isinstance(v, np.ndarray):
            kinds.add(v.dtype.name)
        else:
            raise TypeError("Failed to convert object of type %s to Tensor. Contents: %r. "
                            "Consider casting elements to a supported type."
                            % (type(value).__name__, value))
    if not kinds:
        return dtypes.float32
    if kinds == {"s"}:
        return dtypes.string
    if "s" in kinds:
        raise TypeError("Can't convert a list mixing strings and numbers to a Tensor: %r" % (value,))
    np_kinds = {k for k in kinds if len(k) > 1}
    if np_kinds:  # numpy scalars inside Python lists: numpy's own promotion
        return dtypes.as_dtype(np.result_type(*[np.dtype(k) for k in np_kinds]))
    if "c" in kinds:
        return dtypes.complex128
    if "f" in kinds:
        return dtypes.float32
    if "i" in kinds:
        return dtypes.int64 if big_int else dtypes.int32
    return dtypes.bool


def _assert_compatible(value, dtype):
    """Refuses Python values TF refuses for `dtype` (e.g. 1.5 or even 1.0 for int32)."""
    if dtype == dtypes.string:
        return
    for v in _flatten(value):
        if isinstance(v, (np.generic, np.ndarray)):
            continue
        if dtype.is_integer and (isinstance(v, float) or isinstance(v, complex)):
            raise TypeError("Expected %s, got %r of type '%s' instead."
                            % (dtype.name, v, type(v).__name__))
        if dtype.is_floating and isinstance(v, complex):
            raise TypeError("Expected %s, got %r of type '%s' instead."
                            % (dtype.name, v, type(v).__name__))
        if dtype.is_bool and not isinstance(v, (bool, np.bool_)):
            raise TypeError("Expected bool, got %r of type '%s' instead." % (v, type(v).__name__))
        if isinstance(v, (str, bytes)):
            raise TypeError("Expected %s, got %r of type '%s' instead."
                            % (dtype.name, v, type(v).__name__))


def make_ndarray(value, dtype=None, shape=None):
    """`value` as a numpy array of the TF dtype TF1 would give it (`dtype` if given).

    `shape`, if given, reshapes a value of the same size, broadcasts a single value, or
    (as TF1 does) pads a shorter value with its last element.

    Raises:
      TypeError: if `value` cannot be represented as `dtype`.
      ValueError: if `value` has more elements than `shape` allows, or is ragged.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind in "SUO" or (dtype is not None and dtype == dtypes.string):
            arr = _to_string_array(arr)
            if dtype is not None and dtype != dtypes.string:
                raise TypeError("Expected %s, got an array of strings instead." % dtype.name)
        elif dtype is not None and arr.dtype != dtype.np_dtype:
            arr = arr.astype(dtype.np_dtype)
    else:
        if dtype is None:
            dtype = _infer_python_dtype(value)
        else:
            _assert_compatible(value, dtype)
        if dtype == dtypes.string:
            arr = _to_string_array(value)
        else:
            try:
                arr = np.array(value, dtype=dtype.np_dtype)
            except (ValueError, OverflowError) as e:
                raise ValueError("Can't convert %r to a %s tensor: %s" % (value, dtype.name, e))
            if arr.dtype == object:
                raise ValueError("Can't convert non-rectangular Python sequence to Tensor.")
    if shape is not None:
        shape = [int(d) for d in shape]
        size = int(np.prod(shape, dtype=np.int64))
        if size == 0:  # as TF: any value fills an empty shape
            arr = np.empty(shape, dtype=arr.dtype)
        elif arr.size == size:
            arr = arr.reshape(shape)
        elif arr.size > size:
            raise ValueError("Too many elements provided. Needed at most %d, but received %d"
                             % (size, arr.size))
        elif arr.size == 0:
            raise ValueError("Can't fill shape %s from an empty value." % (shape,))
        else:
            flat = arr.reshape(-1)
            pad = np.full(size - arr.size, flat[-1], dtype=arr.dtype)
            arr = np.concatenate([flat, pad]).reshape(shape)
    return arr


def constant_value(tensor):
    """The value of `tensor` if it can be known when the graph is built, else None.

    Knows constants, shapes of fully defined tensors, and a few cheap ops over known values;
    shape functions (reshape, fill, zeros...) use it as TF's `constant_value` does.
    """
    from .graph import Tensor
    if not isinstance(tensor, Tensor):
        return np.asarray(tensor)
    op = tensor.op
    if op.type == "Const":
        return op.get_attr("value")
    if op.type == "Shape":
        shape = op.inputs[0].shape
        if shape.is_fully_defined():
            return np.array(shape.as_list(), dtype=tensor.dtype.np_dtype)
        return None
    if op.type == "Size":
        n = op.inputs[0].shape.num_elements()
        return None if n is None else np.array(n, dtype=tensor.dtype.np_dtype)
    if op.type == "Rank":
        r = op.inputs[0].shape.ndims
        return None if r is None else np.array(r, dtype=np.int32)
    if op.type in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if op.type == "Cast":
        v = constant_value(op.inputs[0])
        return None if v is None else v.astype(tensor.dtype.np_dtype)
    if op.type == "Pack":
        values = [constant_value(t) for t in op.inputs]
        if any(v is None for v in values):
            return None
        return np.stack(values, axis=op.get_attr("axis"))
    if op.type == "ConcatV2":
        values = [constant_value(t) for t in op.inputs]
        if any(v is None for v in values):
            return None
        return np.concatenate(values[:-1], axis=int(values[-1]))
    return None


def constant_value_as_shape(tensor):
    """A TensorShape from a 1-D shape tensor, with None where entries are unknown."""
    from .graph import Tensor
    from .tensor_shape import TensorShape, unknown_shape
    if not isinstance(tensor, Tensor):
        return TensorShape([int(d) for d in np.asarray(tensor).reshape(-1)])
    value = constant_value(tensor)
    if value is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.asarray(value).reshape(-1)])
    if tensor.op.type == "Shape":
        return tensor.op.inputs[0].shape
    if tensor.op.type == "Pack":
        dims = []
        for t in tensor.op.inputs:
            v = constant_value(t)
            dims.append(None if v is None or int(v) < 0 else int(v))
        return TensorShape(dims)
    if tensor.shape.ndims == 1 and tensor.shape[0] is not None:
        return unknown_shape(tensor.shape[0])
    return unknown_shape()
