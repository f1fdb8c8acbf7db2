"""MPI of GPU tensors: CUDA-aware (opt-in) or staged through pinned host memory.

Whether an MPI library accepts device pointers cannot be detected reliably, so it is a
setting: `HPCFLOW_CUDA_AWARE_MPI=1` hands device buffers to MPI directly; otherwise (the
default) a device tensor is copied into pinned (page-locked) host memory, which MPI sends,
and a received tensor lands in pinned memory and is then copied to the device. Either
way the device's stream is synchronized before MPI sees a buffer a kernel wrote.

The buffer functions are the hooks the transport uses (see transport.py's send_tensor and
_receive); `send_tensor` / `recv_tensor` move one GPU edge of a partitioned graph with the
transport's header + payload protocol (a pickled (status, dtype, shape) header on the edge
tag, the raw payload on tag + 1).
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


def _byte_view(buffer):
    return buffer.reshape(-1).view(np.uint8)


def send_tensor(transport, array, device, dest, tag):
    """Starts sending device `array` to `dest` on edge `tag` (completed by transport.flush)."""
    from ..distributed import transport as transport_lib
    buffer = send_buffer(array, device)
    if buffer.dtype.hasobject:
        raise errors.InvalidArgumentError(None, None, "Cannot send a %s tensor from %s"
                                          % (buffer.dtype, device.name))
    transport.comm.send((transport_lib._OK, buffer.dtype.str, buffer.shape), dest=dest,
                        tag=tag)
    request = transport.comm.Isend(_byte_view(buffer), dest=dest, tag=tag + 1)
    transport._pending.append((request, buffer))


def recv_tensor(transport, device, source, tag, what):
    """Receives the tensor of edge `tag` from `source` into `device`'s memory.

    Raises:
      PeerFailedError: if the sender failed before it could send.
      DeadlineExceededError: if the step's operation timeout expires first.
    """
    from ..distributed import transport as transport_lib
    while transport._stale[(source, tag)]:
        # A message a timed-out step gave up on (see Transport.recv_tensor).
        transport._stale[(source, tag)] -= 1
        transport._receive(source, tag)
    try:
        transport._wait_for(source, tag, what)
    except errors.DeadlineExceededError:
        transport._stale[(source, tag)] += 1
        raise
    status, dtype, shape = transport.comm.recv(source=source, tag=tag)
    if status != transport_lib._OK:
        raise transport_lib.PeerFailedError(None, None, "Step aborted: rank %d did not send %s: "
                                            "%s" % (source, what, dtype))
    if dtype == "O":
        raise errors.InvalidArgumentError(None, None, "Cannot receive a string tensor (%s) on "
                                          "%s" % (what, device.name))
    buffer = recv_buffer(shape, np.dtype(dtype), device)
    transport.comm.Recv(_byte_view(buffer), source=source, tag=tag + 1)
    return finish_recv(buffer, device)
