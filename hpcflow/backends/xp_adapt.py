"""Numpy reference kernels re-bound to a device's array module (Chainer's `xp` idiom, automated).

Most numpy kernels of hpcflow are written with numpy calls that CuPy mirrors one for one
(`np.maximum(x, 0)`, `np.matmul(a, b)`, `x.sum(axis)`), so for those the GPU kernel is the
numpy kernel itself with its module's `np` bound to a `DispatchNamespace`:

- a call with a device array among its arguments runs the device module's function
  (cupy.maximum, ...); one mixing host and device arrays fails as it does in CuPy;
- a call on host arrays only (shape and axis operands, which GPU kernels receive in host
  memory) runs numpy's;
- an array-creating call with no array argument (`np.zeros(shape)`) creates device memory;
  any other call on plain Python data runs numpy's (`np.prod(shape)` is host arithmetic).

`adapt(fn, xp)` returns the kernel re-bound this way (helpers of the same module included).
Which kernels this is enough for is decided per op in cupy_backend.py and checked by the
test suite running every op on the stand-in device, whose array module refuses host data.
"""
import threading
import types

import numpy

from ..devices import fake

# Functions that create arrays from Python data: on a device, these allocate device memory.
CREATION_FUNCTIONS = frozenset([
    "array", "asarray", "asanyarray", "ascontiguousarray", "zeros", "ones", "empty", "full",
    "arange", "eye", "identity", "linspace", "logspace", "tri", "indices",
])

# Attributes that are the same objects on host and device (dtype machinery, constants).
_SHARED = frozenset(fake._PASSTHROUGH) | {"errstate", "random", "testing", "lib",
                                         "broadcast_shapes", "seterr", "geterr"}


def _classify(obj, state):
    """Sets state[0] True if `obj` holds a device array, state[1] True if a host ndarray."""
    if isinstance(obj, numpy.ndarray):
        if isinstance(obj, fake.FakeDeviceArray):
            state[0] = True
        else:
            state[1] = True
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _classify(item, state)
    elif isinstance(obj, dict):
        for item in obj.values():
            _classify(item, state)
    elif hasattr(obj, "__cuda_array_interface__"):
        state[0] = True


class _DispatchFunction:
    """One numpy function as an adapted kernel calls it (see the module docstring)."""

    __slots__ = ("_name", "_host", "_device_module", "_creation")

    def __init__(self, name, host_fn, device_module, creation):
        self._name = name
        self._host = host_fn
        self._device_module = device_module
        self._creation = creation

    def _device_fn(self):
        target = self._device_module
        for part in self._name.split("."):
            target = getattr(target, part)
        return target

    def __call__(self, *args, **kwargs):
        state = [False, False]
        _classify(args, state)
        if kwargs:
            _classify(kwargs, state)
        if state[0] or (self._creation and not state[1]):
            return self._device_fn()(*args, **kwargs)
        return self._host(*args, **kwargs)

    def __getattr__(self, method):  # ufunc methods: np.add.at, np.maximum.reduce
        return _DispatchFunction("%s.%s" % (self._name, method), getattr(self._host, method),
                                 self._device_module, False)


class DispatchNamespace:
    """What `np` means inside an adapted kernel (see the module docstring).

    Args:
      xp: the device's array module (cupy or a stand-in module).
      host: the numpy (sub)module mirrored.
      prefix: the dotted path of `host` below numpy ("linalg.").
    """

    def __init__(self, xp, host=numpy, prefix=""):
        self._xp = xp
        self._host = host
        self._prefix = prefix
        self._cache = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        attr = getattr(self._host, name)
        if name == "ndarray" and not self._prefix:
            value = (numpy.ndarray, self._xp.ndarray)  # isinstance(x, np.ndarray) on either
        elif name == "linalg" and not self._prefix:
            value = DispatchNamespace(self._xp, numpy.linalg, "linalg.")
        elif name in _SHARED or isinstance(attr, (type, types.ModuleType)) or not callable(attr):
            value = attr
        else:
            value = _DispatchFunction(self._prefix + name, attr, self._xp,
                                      name in CREATION_FUNCTIONS and not self._prefix)
        self._cache[name] = value
        return value


_adapted = {}
_adapt_lock = threading.Lock()


def _module_globals(module_globals, xp):
    """A copy of a module's globals with `np` dispatching to `xp` and its functions re-bound."""
    key = (id(module_globals), id(xp))
    hit = _adapted.get(key)
    if hit is not None:
        return hit
    with _adapt_lock:
        hit = _adapted.get(key)
        if hit is not None:
            return hit
        new = dict(module_globals)
        new["np"] = DispatchNamespace(xp)
        if "numpy" in new and new["numpy"] is numpy:
            new["numpy"] = new["np"]
        for name, value in module_globals.items():
            if isinstance(value, types.FunctionType) and value.__globals__ is module_globals:
                new[name] = _rebind(value, new)
        _adapted[key] = new
        return new


def _rebind(fn, new_globals):
    clone = types.FunctionType(fn.__code__, new_globals, fn.__name__, fn.__defaults__,
                               fn.__closure__)
    clone.__kwdefaults__ = fn.__kwdefaults__
    clone.__dict__.update(fn.__dict__)
    clone.__qualname__ = fn.__qualname__
    return clone


def adapt(fn, xp):
    """`fn` (a numpy kernel) with its module's numpy calls dispatching to `xp` for device data.

    Functions that are not plain Python functions (numpy ufuncs registered directly as
    kernels) are returned unchanged: they dispatch on device arrays by themselves.
    """
    if not isinstance(fn, types.FunctionType):
        return fn
    return _rebind(fn, _module_globals(fn.__globals__, xp))
