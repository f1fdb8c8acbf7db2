"""The numpy stand-in GPU: device arrays and an array module that behave like CuPy's.

No GPU exists on the machines this project is built and tested on, so every part of the GPU
path (placement, copies, staging, every array-module kernel) runs in tests against this
stand-in. It is deliberately as strict as CuPy where CuPy is strict:

- `FakeDeviceArray` is an ndarray subclass (so shape/dtype/buffer code paths are the real
  ones), but numpy ufuncs and array functions applied to it return device arrays, as they do
  on CuPy arrays through NEP 13/18 dispatch;
- mixing a host `numpy.ndarray` with a device array in one call raises TypeError, as CuPy
  does ("Unsupported type <class 'numpy.ndarray'>");
- `FakeArrayModule` (the `xp` of a stand-in device) creates device arrays, refuses host
  arrays everywhere except in the explicit upload functions (`array`, `asarray`), and
  records every name a kernel looks up, so a test can check each one exists in CuPy.

What it cannot catch: `numpy.asarray(device_array)` silently gives a host view here (CuPy
raises); kernel launches are synchronous here (CuPy's are asynchronous on a stream).
"""
import numpy as np

# Every attribute looked up on a FakeArrayModule: "name", "linalg.name", "add.at".
ACCESSED_NAMES = set()

# The ufunc methods CuPy implements (its other ufunc methods raise NotImplementedError):
# `at` needs a scatter operation (add and subtract have one), `reduce` exists for add and
# multiply only (as `sum` and `prod`).
CUPY_UFUNC_METHODS = frozenset(["add.at", "subtract.at", "add.reduce", "multiply.reduce"])


def _check_ufunc_method(name, method):
    if method != "__call__" and "%s.%s" % (name, method) not in CUPY_UFUNC_METHODS:
        raise NotImplementedError("`%s.%s` is not supported by CuPy (the stand-in device "
                                  "refuses it too)" % (name, method))

# Functions of the array module that accept host data: the explicit uploads.
_UPLOAD_FUNCTIONS = frozenset(["array", "asarray", "asanyarray"])

# Names that exist in CuPy but are aliases of numpy's dtype machinery, usable on host values.
_PASSTHROUGH = frozenset([
    "dtype", "iinfo", "finfo", "result_type", "promote_types", "can_cast", "issubdtype",
    "newaxis", "pi", "e", "inf", "nan", "euler_gamma", "bool_", "int8", "int16", "int32",
    "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64",
    "complex64", "complex128", "intp", "integer", "floating", "signedinteger",
    "unsignedinteger", "complexfloating", "number", "generic", "inexact", "isscalar", "ndim",
    "shape", "size",
])


class HostDeviceMixError(TypeError):
    """A host numpy array reached a device function (CuPy raises TypeError the same way)."""


class FakeDeviceArray(np.ndarray):
    """An array in the stand-in device's memory (numpy memory, device semantics).

    Attributes:
      device_id: the stand-in GPU holding the array (CuPy: `array.device.id`).
    """

    __array_priority__ = 50

    def __array_finalize__(self, obj):
        self.device_id = getattr(obj, "device_id", 0)

    # -- NEP 13 / NEP 18: numpy functions on device arrays stay on the device -----------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        ACCESSED_NAMES.add(ufunc.__name__ if method == "__call__" else
                           "%s.%s" % (ufunc.__name__, method))
        _check_ufunc_method(ufunc.__name__, method)
        device_id = _check_no_host(inputs, "numpy.%s" % ufunc.__name__)
        out = kwargs.get("out")
        if out is not None:
            _check_no_host(out, "numpy.%s(out=)" % ufunc.__name__)
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result, device_id)

    def __array_function__(self, func, types, args, kwargs):
        module = getattr(func, "__module__", "numpy") or "numpy"
        prefix = module[len("numpy."):] + "." if module.startswith("numpy.") else ""
        ACCESSED_NAMES.add(prefix + func.__name__)
        device_id = _check_no_host((args, kwargs), "numpy.%s" % func.__name__)
        result = func(*_unwrap(args), **_unwrap(kwargs))
        return _wrap(result, device_id)

    # -- indexing: device indices only, scalars come back as 0-d device arrays ----------------

    def __getitem__(self, index):
        _check_no_host(index, "indexing")
        result = np.ndarray.__getitem__(self.view(np.ndarray), _unwrap(index))
        return _wrap(result, self.device_id)

    def __setitem__(self, index, value):
        _check_no_host((index, value), "item assignment")
        np.ndarray.__setitem__(self.view(np.ndarray), _unwrap(index), _unwrap(value))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # -- reductions and other methods CuPy implements natively (numpy's would go through
    # ufunc.reduce, which CuPy supports for add and multiply only) ---------------------------

    def _forward(name):
        def method(self, *args, **kwargs):
            _check_no_host((args, kwargs), "ndarray.%s" % name)
            result = getattr(self.view(np.ndarray), name)(*_unwrap(args), **_unwrap(kwargs))
            return _wrap(result, self.device_id)
        method.__name__ = name
        return method

    for _name in ("any", "all", "max", "min", "sum", "prod", "mean", "std", "var", "cumsum",
                  "cumprod", "argmax", "argmin", "clip", "round", "dot", "nonzero", "argsort",
                  "ptp", "trace", "diagonal", "take", "repeat", "squeeze"):
        locals()[_name] = _forward(_name)
    del _name, _forward

    # -- CuPy's own methods -------------------------------------------------------------------

    def get(self, stream=None, out=None):
        """The array copied to host memory (CuPy's `ndarray.get`), into `out` if given."""
        host = self.view(np.ndarray)
        if out is None:
            return np.array(host, copy=True)
        if isinstance(out, FakeDeviceArray):
            raise HostDeviceMixError("get(out=) needs a host array")
        out[...] = host
        return out

    @property
    def device(self):
        """The device holding the array (CuPy's `ndarray.device`, with an `id`)."""
        return _DeviceId(self.device_id)

    def set(self, host_array, stream=None):
        """Copies `host_array` into this array (CuPy's `ndarray.set`)."""
        if isinstance(host_array, FakeDeviceArray):
            raise HostDeviceMixError("set() needs a host array")
        self.view(np.ndarray)[...] = host_array


class _DeviceId:
    __slots__ = ("id",)

    def __init__(self, device_id):
        self.id = device_id


def _check_no_host(obj, what):
    """Raises HostDeviceMixError if `obj` (nested) holds a host ndarray; returns a device id."""
    found = []
    _scan(obj, found)
    for item in found:
        if not isinstance(item, FakeDeviceArray):
            raise HostDeviceMixError(
                "Unsupported type %s in %s on a device array: copy host data to the device "
                "first (CuPy refuses to mix host and device arrays)" % (type(item), what))
    return found[0].device_id if found else 0


def _scan(obj, found):
    if isinstance(obj, np.ndarray):
        found.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _scan(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            _scan(item, found)


def _unwrap(obj):
    if isinstance(obj, FakeDeviceArray):
        return obj.view(np.ndarray)
    if isinstance(obj, tuple):
        return tuple(_unwrap(o) for o in obj)
    if isinstance(obj, list):
        return [_unwrap(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _wrap(obj, device_id):
    if isinstance(obj, np.ndarray):
        if isinstance(obj, FakeDeviceArray):
            return obj
        result = obj.view(FakeDeviceArray)
        result.device_id = device_id
        return result
    if isinstance(obj, np.generic):
        result = np.asarray(obj).view(FakeDeviceArray)
        result.device_id = device_id
        return result
    if isinstance(obj, tuple):
        return tuple(_wrap(o, device_id) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o, device_id) for o in obj]
    return obj


def to_device(host_array, device_id=0):
    """A new device array holding a copy of `host_array` (host-to-device copy)."""
    if isinstance(host_array, FakeDeviceArray):
        raise HostDeviceMixError("to_device() of an array already on a device")
    result = np.array(host_array, copy=True, order="C").view(FakeDeviceArray)
    result.device_id = device_id
    return result


class _FakeFunction:
    """A numpy function called on device data: refuses host arrays, returns device arrays."""

    __slots__ = ("_fn", "_name", "_device_id", "_upload")

    def __init__(self, fn, name, device_id, upload=False):
        self._fn = fn
        self._name = name
        self._device_id = device_id
        self._upload = upload

    def __call__(self, *args, **kwargs):
        if self._upload:
            # An explicit upload: host data is welcome, device data is copied (CuPy copies
            # for `array`, and `asarray` of a device array returns it).
            if args and isinstance(args[0], FakeDeviceArray) and self._name != "array":
                source = args[0].view(np.ndarray)
                result = self._fn(source, *_unwrap(args[1:]), **_unwrap(kwargs))
                if result is source:
                    return args[0]
                return _wrap(result, args[0].device_id)
            result = self._fn(*_unwrap(args), **_unwrap(kwargs))
            result = np.array(result, copy=True) if np.shares_memory(
                np.asarray(result), np.asarray(_unwrap(args[0]))) else result
            return _wrap(np.asarray(result), self._device_id)
        _check_no_host((args, kwargs), "%s()" % self._name)
        return _wrap(self._fn(*_unwrap(args), **_unwrap(kwargs)), self._device_id)

    def __getattr__(self, method):
        # ufunc methods: add.at, maximum.reduce ...
        ACCESSED_NAMES.add("%s.%s" % (self._name, method))
        if isinstance(self._fn, np.ufunc):
            _check_ufunc_method(self._name, method)
        return _FakeFunction(getattr(self._fn, method), "%s.%s" % (self._name, method),
                             self._device_id)

    def __repr__(self):
        return "<stand-in device function %s>" % self._name


class FakeArrayModule:
    """The `xp` of a stand-in device: numpy's API producing and consuming device arrays.

    Args:
      device_id: the stand-in GPU whose arrays this module creates.
      namespace: the numpy (sub)module wrapped (numpy, numpy.linalg).
      prefix: the name recorded for sub-modules ("linalg.").
    """

    ndarray = FakeDeviceArray

    def __init__(self, device_id=0, namespace=np, prefix=""):
        self._device_id = device_id
        self._namespace = namespace
        self._prefix = prefix
        self._cache = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        ACCESSED_NAMES.add(self._prefix + name)
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        if name == "linalg":
            value = FakeArrayModule(self._device_id, np.linalg, "linalg.")
        elif name == "asnumpy":
            value = asnumpy
        else:
            attr = getattr(self._namespace, name)
            if name in _PASSTHROUGH or isinstance(attr, type):
                value = attr
            elif callable(attr):
                value = _FakeFunction(attr, self._prefix + name, self._device_id,
                                      upload=name in _UPLOAD_FUNCTIONS and not self._prefix)
            else:
                value = attr
        self._cache[name] = value
        return value

    def __repr__(self):
        return "<stand-in array module for fake GPU %d>" % self._device_id


def asnumpy(array, stream=None, out=None):
    """CuPy's `asnumpy`: a device array copied to the host (host arrays pass through)."""
    if isinstance(array, FakeDeviceArray):
        return array.get(out=out)
    return np.asarray(array)
