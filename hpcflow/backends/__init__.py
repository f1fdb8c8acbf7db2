"""Kernel backends as tables {op type: kernel}: numpy is the complete reference, others override.

A backend's table is `{**numpy, **own}`: the Cython backend (CPU) overrides what it speeds
up; the GPU backend (cupy_backend.py) has a kernel for every op that can run on a GPU, for
CuPy devices and the numpy stand-in device alike. `HPCFLOW_BACKEND=numpy` forces the
reference kernels on the CPU (useful to compare or to debug a suspected kernel bug).

`kernel_for_op` is the executor's single dispatch point. Nodes of a compiled plan placed
on a GPU carry a record bound to their device (devices/copy_insertion.py), so they run the
GPU kernel; everything else runs the CPU tables.
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
    """The full kernel table of `backend`: the numpy reference overridden by its own kernels.

    For "cupy" this is the GPU table ({op type: GpuKernel}, see cupy_backend.py), which
    does not fall back to numpy: an op missing from it has no GPU kernel.
    """
    if backend == "cupy":
        from . import cupy_backend
        return dict(cupy_backend.gpu_table())
    merged = registry.kernel_table("numpy")
    if backend != "numpy":
        merged.update(registry.kernel_table(backend))
    return merged


def kernel_for(record, preference=None):
    """(backend name, kernel) for an op record, following `preference`.

    Raises:
      NotFoundError: if no backend in the preference has a kernel for the op.
    """
    device = getattr(record, "device", None)
    bound = getattr(record, "bound", None)
    if bound is not None:  # a plan node's record bound to its device
        return ("cupy" if device is not None else "numpy"), bound
    for backend in preference or cpu_preference():
        fn = record.kernels.get(backend)
        if fn is not None:
            return backend, fn
    from ..framework import errors
    raise errors.NotFoundError(None, None, "No kernel registered for op type %r on backends %s"
                               % (record.type, list(preference or cpu_preference())))


def kernel_for_op(op, preference=None):
    """(backend name, kernel) for one op or plan node: the executor's single dispatch point.

    Args:
      op: an Operation, or a node of a compiled plan (runtime/rewrites/ir.IRNode), whose
        record says where it runs once devices/copy_insertion.py placed it.
      preference: the CPU backends in order (default: cython, then numpy).

    Returns:
      ("cupy", kernel) for a node placed on a GPU (kernel bound to that device), else the
      first CPU backend of `preference` with a kernel.
    """
    record = getattr(op, "record", None)
    if record is None:
        record = op._record
    return kernel_for(record, preference)
