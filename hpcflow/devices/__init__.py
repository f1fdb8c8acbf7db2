"""GPU devices of a rank: discovery (device.py), which physical GPU is GPU:k (mapping.py),
which device each op runs on (placement.py), copies between host and device memory
(copy_insertion.py), MPI of GPU tensors (staging.py), and the numpy stand-in GPU that runs
all of it without a GPU (fake.py, HPCFLOW_FAKE_GPU=N).
"""
import os

from . import device as _device
from .device import get_gpu, gpus, is_device_array, notice, reset, why_no_gpu  # noqa: F401


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
