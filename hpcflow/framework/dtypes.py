"""TF1 data types: a small DType class over numpy dtypes, with TF's names and predicates."""
import numpy as np


class DType:
    """A tensor element type, named as TensorFlow names it (`float32`, `int64`, `string`...)."""

    __slots__ = ("name", "np_dtype")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np_dtype = np.dtype(np_dtype)

    @property
    def as_numpy_dtype(self):
        return self.np_dtype.type

    @property
    def base_dtype(self):
        return self

    @property
    def real_dtype(self):
        return self

    @property
    def is_floating(self):
        return self.np_dtype.kind == "f"

    @property
    def is_integer(self):
        return self.np_dtype.kind in "iu"

    @property
    def is_unsigned(self):
        return self.np_dtype.kind == "u"

    @property
    def is_bool(self):
        return self.np_dtype.kind == "b"

    @property
    def is_complex(self):
        return self.np_dtype.kind == "c"

    @property
    def is_numeric(self):
        return self.np_dtype.kind in "iufc"

    @property
    def size(self):
        return self.np_dtype.itemsize if self.name != "string" else 8

    @property
    def min(self):
        if self.is_floating:
            return float(np.finfo(self.np_dtype).min)
        if self.is_integer:
            return int(np.iinfo(self.np_dtype).min)
        raise TypeError("Cannot find minimum value of %s." % self.name)

    @property
    def max(self):
        if self.is_floating:
            return float(np.finfo(self.np_dtype).max)
        if self.is_integer:
            return int(np.iinfo(self.np_dtype).max)
        raise TypeError("Cannot find maximum value of %s." % self.name)

    def is_compatible_with(self, other):
        return self == as_dtype(other)

    def __eq__(self, other):
        if other is None:
            return False
        if not isinstance(other, DType):
            try:
                other = as_dtype(other)
            except TypeError:
                return False
        return self.name == other.name

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return "tf.%s" % self.name

    def __str__(self):
        return "<dtype: %r>" % self.name

    def __reduce__(self):
        return as_dtype, (self.name,)


float16 = half = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = double = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
uint16 = DType("uint16", np.uint16)
uint32 = DType("uint32", np.uint32)
uint64 = DType("uint64", np.uint64)
bool = DType("bool", np.bool_)  # noqa: A001 - TF exports this name
complex64 = DType("complex64", np.complex64)
complex128 = DType("complex128", np.complex128)
# TF strings are variable-length byte strings; numpy holds them as object arrays of bytes,
# which is also what TF's Session.run returns.
string = DType("string", np.object_)
# Opaque values (queue handles, while-loop histories) that only the runtime looks inside.
variant = DType("variant", np.object_)

_ALL = [float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32,
        uint64, bool, complex64, complex128, string, variant]
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(half=float16, double=float64)
_BY_NUMPY = {d.np_dtype: d for d in _ALL if d.name not in ("variant",)}


def as_dtype(type_value):
    """Converts a DType, numpy dtype, numpy type or TF name into a `DType`.

    Raises:
      TypeError: if `type_value` names no supported type.
    """
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, str):
        try:
            return _BY_NAME[type_value]
        except KeyError:
            raise TypeError("Cannot convert value %r to a TensorFlow DType." % (type_value,))
    if type_value in (str, bytes):
        return string
    try:
        np_dtype = np.dtype(type_value)
    except TypeError:
        raise TypeError("Cannot convert value %r to a TensorFlow DType." % (type_value,))
    if np_dtype.kind in "SU":
        return string
    try:
        return _BY_NUMPY[np_dtype]
    except KeyError:
        raise TypeError("Cannot convert value %r to a TensorFlow DType." % (type_value,))
