"""Which device of its rank each op of a plan runs on: a GPU, or the CPU (soft placement).

The partitioner decides the rank (the job/task part of a device string); this decides the
device within the rank, once per compiled plan:

1. An op whose device names a GPU (`/gpu:0`, `/job:worker/task:3/device:GPU:0`) runs on
   this rank's GPU:k, if the rank has it and the op type has a GPU kernel and no string or
   variant tensors. Otherwise it runs on the CPU, and a notice says why, once per cause
   (TF1 would require `allow_soft_placement`; hpcflow always falls back, since a script
   written for GPU nodes should still run on a login node).
2. An op with no device type runs on the CPU, or on GPU:0 (when there is one and the op
   has a GPU kernel) if HPCFLOW_DEFAULT_DEVICE=gpu, as TF1 puts such ops on a GPU.
3. Ops acting on a variable (attr `var_name`) run where the variable lives.
4. `_Send` runs where its input is; `_Recv` where its consumers want the value.
"""
import functools
import os

from ..backends import cupy_backend
from ..framework import dtypes
from ..framework.device import DeviceSpec
from . import device as device_lib

_HOST_DTYPES = (dtypes.string, dtypes.variant)


def default_device_type():
    """'GPU' or 'CPU': where ops with no device type go (HPCFLOW_DEFAULT_DEVICE)."""
    value = os.environ.get("HPCFLOW_DEFAULT_DEVICE", "cpu").strip().upper()
    if value not in ("CPU", "GPU"):
        raise ValueError("HPCFLOW_DEFAULT_DEVICE must be 'cpu' or 'gpu', got %r"
                         % os.environ.get("HPCFLOW_DEFAULT_DEVICE"))
    return value


@functools.lru_cache(maxsize=4096)
def requested_gpu(device_string, default_type):
    """The GPU index `device_string` asks for, or None for the CPU.

    Args:
      device_string: an op's device ('' for none).
      default_type: where a device with no type goes ('CPU' or 'GPU').
    """
    try:
        spec = DeviceSpec.from_string(device_string or "")
    except ValueError:
        return None
    kind = spec.device_type or default_type
    if kind != "GPU":
        return None
    return spec.device_index or 0


def _has_host_dtype(node):
    return any(t.dtype in _HOST_DTYPES for t in node.inputs) or \
        any(t.dtype in _HOST_DTYPES for t in node.outputs)


def choose(node_type, device_string, explicit_only=False, node=None):
    """The GpuDevice an op runs on, or None for the CPU; prints a notice when it falls back.

    Args:
      node_type: the op type that runs (after rewrites).
      device_string: the op's device.
      explicit_only: ignore HPCFLOW_DEFAULT_DEVICE (ops that follow other ops' devices).
      node: the IR node, to check its tensors' dtypes.
    """
    default_type = "CPU" if explicit_only else default_device_type()
    index = requested_gpu(device_string or "", default_type)
    if index is None:
        return None
    explicit = requested_gpu(device_string or "", "CPU") is not None
    gpu = device_lib.get_gpu(index)
    if gpu is None:
        if explicit:
            rank = _rank()
            device_lib.notice("soft placement: rank %d has no GPU:%d (%s); ops placed there "
                              "run on its CPU" % (rank, index, device_lib.why_no_gpu()))
        return None
    if cupy_backend.gpu_kernel(node_type) is None:
        if explicit:
            device_lib.notice("soft placement: op type %s has no GPU kernel (%s); its ops "
                              "placed on a GPU run on the CPU"
                              % (node_type, cupy_backend.host_only_reason(node_type)))
        return None
    if node is not None and _has_host_dtype(node):
        if explicit:
            device_lib.notice("soft placement: %s (%s) has string or variant tensors, which "
                              "live in host memory; it runs on the CPU"
                              % (node.op.name, node_type))
        return None
    return gpu


def _rank():
    try:
        from ..distributed import context
        return context.rank()
    except Exception:  # no job: a single process
        return 0
