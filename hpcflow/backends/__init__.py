"""Kernel backends as tables {op type: kernel}: numpy is the complete reference, others override.

A backend's table is `{**numpy, **own}`: the Cython backend (CPU) overrides what it speeds
up, the CuPy backend (GPU) provides array-module kernels. `HPCFLOW_BACKEND=numpy` forces the
reference kernels everywhere (useful to compare or to debug a suspected kernel bug).
"""
import os

from ..framework import registry

# Order of preference for a CPU device; the first backend that has a kernel wins.
_CPU_PREFERENCE = ("cython", "numpy")


def cpu_preference():
    forced = os.environ.get("HPCFLOW_BACKEND")
    if forced:
        return (forced, "numpy") if forced != "numpy" else ("numpy",)
    return _CPU_PREFERENCE


def table(backend):
    """The full kernel table of `backend`: the numpy reference overridden by its own kernels."""
    merged = registry.kernel_table("numpy")
    if backend != "numpy":
        merged.update(registry.kernel_table(backend))
    return merged


def kernel_for(record, preference=None):
    """(backend name, kernel) for an op record, following `preference`.

    Raises:
      NotFoundError: if no backend in the preference has a kernel for the op.
    """
    for backend in preference or cpu_preference():
        fn = record.kernels.get(backend)
        if fn is not None:
            return backend, fn
    from ..framework import errors
    raise errors.NotFoundError(None, None, "No kernel registered for op type %r on backends %s"
                               % (record.type, list(preference or cpu_preference())))


def kernel_for_op(op, preference=None):
    """(backend name, kernel) for one op of a plan: the executor's single dispatch point.

    Today every op runs on the CPU tables; device-specific choices (an op placed on a GPU)
    are made here.
    """
    return kernel_for(op._record, preference)
