"""GPU devices of a rank: discovery (device.py), which physical GPU is GPU:k (mapping.py),
which device each op runs on (placement.py), copies between host and device memory
(copy_insertion.py), MPI of GPU tensors (staging.py), and the numpy stand-in GPU that runs
all of it without a GPU (fake.py, HPCFLOW_FAKE_GPU=N).
"""
import os

from . import device as _device
from .device import get_gpu, gpus, is_device_array, notice, reset, why_no_gpu

__all__ = ["describe", "get_gpu", "gpu_device_name", "gpus", "is_device_array",
           "is_gpu_available", "notice", "reset", "why_no_gpu"]


def describe():
    """One line per rank for `python -m hpcflow info`: CuPy, CUDA, driver, GPUs, MPI mode."""
    from . import staging
    parts = []
    devices = _device.gpus()
    cupy = _device.import_cupy() if not _device.fake_gpu_count() else None
    if cupy is not None:
        versions = []
        for what, call in (("CUDA runtime", "runtimeGetVersion"), ("driver", "driverGetVersion")):
            try:
                versions.append("%s %s" % (what, getattr(cupy.cuda.runtime, call)()))
            except Exception as e:  # no driver: say so rather than fail the report
                versions.append("%s unavailable (%s)" % (what, type(e).__name__))
        parts.append("CuPy %s, %s" % (cupy.__version__, ", ".join(versions)))
    parts.append(_device.why_no_gpu())
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        parts.append("CUDA_VISIBLE_DEVICES=%s" % visible)
    if devices:
        parts.append("this rank: " + ", ".join("GPU:%d -> device %s" % (g.index, g.physical_id)
                                               for g in devices))
        parts.append("MPI of GPU tensors: %s" % (
            "CUDA-aware (HPCFLOW_CUDA_AWARE_MPI=1)" if staging.cuda_aware_mpi()
            else "staged through pinned host memory"))
    else:
        parts.append("no GPU: ops placed on a GPU run on the CPU")
    return "; ".join(parts)


def is_gpu_available(cuda_only=False, min_cuda_compute_capability=None):
    """TF1's `tf.test.is_gpu_available`: True if this rank has a GPU (a real one if
    `cuda_only`; the stand-in counts otherwise, so scripts take their GPU branch in tests).

    Args:
      cuda_only: only count CUDA (CuPy) devices.
      min_cuda_compute_capability: (major, minor) a CUDA device must reach.
    """
    for gpu in _device.gpus():
        if gpu.kind != "cupy":
            if not cuda_only:
                return True
            continue
        if min_cuda_compute_capability is None:
            return True
        capability = str(gpu.xp.cuda.Device(gpu.ordinal).compute_capability)
        if (int(capability[:-1]), int(capability[-1])) >= tuple(min_cuda_compute_capability):
            return True
    return False


def gpu_device_name():
    """TF1's `tf.test.gpu_device_name`: '/device:GPU:0' if this rank has a GPU, else ''."""
    return "/device:GPU:0" if _device.gpus() else ""
