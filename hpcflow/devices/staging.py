"""MPI of GPU tensors: CUDA-aware (opt-in) or staged through pinned host memory.

Whether an MPI library accepts device pointers cannot be detected reliably, so it is a
setting: `HPCFLOW_CUDA_AWARE_MPI=1` hands device buffers to MPI directly; otherwise (the
default) a device tensor is copied into pinned (page-locked) host memory, which MPI sends,
and a received tensor lands in pinned memory and is then copied to the device. Either
way the device's stream is synchronized before MPI sees a buffer a kernel wrote.

These buffer functions are the hooks the transport uses: Transport.send_tensor and
recv_tensor take the device a tensor lives on (hpcflow/distributed/transport.py).
"""
import os

import numpy as np

from ..framework import errors


def cuda_aware_mpi():
    """True if HPCFLOW_CUDA_AWARE_MPI says the MPI library takes device buffers."""
    return os.environ.get("HPCFLOW_CUDA_AWARE_MPI", "").strip().lower() in (
        "1", "true", "yes", "on")


def _contiguous(array):
    # Not ascontiguousarray: it turns a 0-d array into shape (1,) (numpy and CuPy alike).
    return array if array.flags.c_contiguous else array.copy(order="C")


def send_buffer(array, device):
    """The buffer MPI should send for `array`, a value held on `device` (None: host).

    Device arrays: the stream is synchronized first; with CUDA-aware MPI the (contiguous)
    device array itself is returned, else a pinned host copy.
    """
    if device is None:
        return _contiguous(np.asarray(array))
    device.synchronize()
    if cuda_aware_mpi():
        return _contiguous(array)
    staged = device.pinned_empty(array.shape, array.dtype)
    device.to_host(_contiguous(array), out=staged)
    return staged


def recv_buffer(shape, dtype, device):
    """An empty buffer MPI should receive into, for a value wanted on `device` (None: host)."""
    if device is None:
        return np.empty(shape, dtype)
    if cuda_aware_mpi():
        with device.activate():
            return device.xp.empty(shape, dtype)
    return device.pinned_empty(shape, dtype)


def finish_recv(buffer, device):
    """The received value on `device`: `buffer` itself, or its copy from pinned memory."""
    if device is None or device.is_array(buffer):
        return buffer
    return device.to_device(buffer)
