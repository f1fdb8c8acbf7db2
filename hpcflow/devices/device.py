"""The GPUs of this rank: CuPy devices, or numpy stand-ins for testing without a GPU.

`gpus()` lists the rank's GPU:0..n-1 once per process (see mapping.py for which physical
device each one is). With `HPCFLOW_FAKE_GPU=N` the node has N stand-in GPUs whose array
module is numpy (fake.py), and every code path above the array module (placement, copies,
staging, kernels) is the one a real GPU runs. CuPy is imported only here, lazily: hpcflow
works without it, and `import cupy` works on machines without a GPU or driver.
"""
import contextlib
import os
import sys
import threading

import numpy as np

from . import fake, mapping

_lock = threading.Lock()
_state = {"gpus": None, "reason": "", "local": None}
_notices = set()


def notice(message):
    """Prints `message` once per process to stderr, as `hpcflow: <message>`."""
    if message in _notices:
        return
    _notices.add(message)
    print("hpcflow: %s" % message, file=sys.stderr, flush=True)


def fake_gpu_count():
    """The number of stand-in GPUs per node requested by HPCFLOW_FAKE_GPU (0: none)."""
    value = os.environ.get("HPCFLOW_FAKE_GPU", "").strip()
    if not value or value == "0":
        return 0
    try:
        count = int(value)
    except ValueError:
        raise ValueError("HPCFLOW_FAKE_GPU must be a number of stand-in GPUs, got %r"
                         % value) from None
    if count < 0:
        raise ValueError("HPCFLOW_FAKE_GPU must be >= 0, got %r" % value)
    return count


def import_cupy():
    """The cupy module, or None when it is not installed (or broken)."""
    try:
        import cupy
        return cupy
    except Exception:  # not installed, or a CUDA library missing: the GPU path is off
        return None


class GpuDevice:
    """One GPU of this rank: its array module and the copies between it and the host.

    Attributes:
      index: k in this rank's `GPU:k`.
      ordinal: the CUDA device ordinal among the visible devices.
      physical_id: the id CUDA_VISIBLE_DEVICES gave it (or the ordinal).
      kind: "cupy" or "fake".
      xp: the array module of its arrays (cupy, or the numpy stand-in).
      name: "/device:GPU:k".
    """

    kind = None

    def __init__(self, index, ordinal, physical_id):
        self.index = index
        self.ordinal = ordinal
        self.physical_id = physical_id
        self.name = "/device:GPU:%d" % index

    def __repr__(self):
        return "<%s GPU:%d (device %s)>" % (self.kind, self.index, self.physical_id)


class FakeGpu(GpuDevice):
    """A stand-in GPU: device memory is numpy memory tagged as device memory."""

    kind = "fake"

    def __init__(self, index, ordinal, physical_id):
        super().__init__(index, ordinal, physical_id)
        self.xp = fake.FakeArrayModule(ordinal)
        self.array_type = fake.FakeDeviceArray

    def activate(self):
        return contextlib.nullcontext()

    def is_array(self, value):
        return isinstance(value, fake.FakeDeviceArray) and value.device_id == self.ordinal

    def to_device(self, host_array):
        if isinstance(host_array, fake.FakeDeviceArray):
            raise fake.HostDeviceMixError("to_device() of an array already on a device")
        return fake.to_device(np.asarray(host_array), self.ordinal)

    def to_host(self, device_array, out=None):
        return device_array.get(out=out)

    def from_other_device(self, device_array):
        result = np.array(device_array.view(np.ndarray), copy=True).view(fake.FakeDeviceArray)
        result.device_id = self.ordinal
        return result

    def synchronize(self):
        pass

    def pinned_empty(self, shape, dtype):
        return np.empty(shape, dtype)


class CupyGpu(GpuDevice):
    """A real GPU driven by CuPy (never run on this project's own machines: see README)."""

    kind = "cupy"

    def __init__(self, index, ordinal, physical_id, cupy):
        super().__init__(index, ordinal, physical_id)
        self.xp = cupy
        self.array_type = cupy.ndarray

    def activate(self):
        # A new context object per use: CuPy's Device keeps its enter/exit stack on the
        # object, which kernels running on several threads must not share.
        return self.xp.cuda.Device(self.ordinal)

    def is_array(self, value):
        return isinstance(value, self.xp.ndarray) and value.device.id == self.ordinal

    def to_device(self, host_array):
        with self.activate():
            return self.xp.asarray(np.asarray(host_array))

    def to_host(self, device_array, out=None):
        with self.activate():
            return device_array.get(out=out)

    def from_other_device(self, device_array):
        # CuPy's ndarray.copy() makes the copy on the current device, reading the source on
        # its own device (a peer copy where the GPUs allow it).
        with self.activate():
            return device_array.copy()

    def synchronize(self):
        with self.activate():
            self.xp.cuda.get_current_stream().synchronize()

    def pinned_empty(self, shape, dtype):
        import cupyx
        return cupyx.empty_pinned(shape, dtype)


def _discover():
    """(list of GpuDevice, reason text) for this process."""
    fakes = fake_gpu_count()
    local_rank, local_size, source = mapping.local_rank_and_size(comm=_world_if_launched())
    _state["local"] = (local_rank, local_size, source)
    if fakes:
        visible = mapping.visible_device_ids(physical_count=fakes)
        maker = FakeGpu
        cupy = None
        what = "%d stand-in GPU(s) (HPCFLOW_FAKE_GPU)" % fakes
    else:
        cupy = import_cupy()
        if cupy is None:
            return [], "CuPy is not installed"
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # no driver, no device: CuPy imports but cannot run
            return [], "CuPy %s sees no usable GPU (%s)" % (cupy.__version__,
                                                           str(e).splitlines()[0][:100])
        # The runtime already applied CUDA_VISIBLE_DEVICES: its ordinals are 0..count-1.
        ids = mapping.visible_device_ids()
        visible = ids[:count] if os.environ.get("CUDA_VISIBLE_DEVICES") is not None \
            else [str(i) for i in range(count)]
        maker = CupyGpu
        what = "CuPy %s" % cupy.__version__
    per_rank = mapping.gpus_per_rank(len(visible), local_size)
    devices = []
    for k in range(per_rank):
        ordinal = mapping.device_for(k, local_rank, per_rank, len(visible))
        if ordinal is None:
            continue
        if maker is CupyGpu:
            devices.append(CupyGpu(k, ordinal, visible[ordinal], cupy))
        else:
            devices.append(FakeGpu(k, ordinal, visible[ordinal]))
    if local_size > len(visible) > 0:
        notice("%d ranks on this node share %d GPU(s)" % (local_size, len(visible)))
    return devices, "%s, %d visible, local rank %d of %d (%s)" % (
        what, len(visible), local_rank, local_size, source)


def _world_if_launched():
    from ..distributed import environment
    if not environment.in_parallel_launch():
        return None
    try:
        from mpi4py import MPI
        return MPI.COMM_WORLD
    except ImportError:
        return None


def gpus():
    """This rank's GPUs, GPU:0 first (an empty list when it has none)."""
    devices = _state["gpus"]
    if devices is None:
        with _lock:
            if _state["gpus"] is None:
                _state["gpus"], _state["reason"] = _discover()
            devices = _state["gpus"]
    return devices


def get_gpu(index):
    """This rank's GPU:`index`, or None if it has no such GPU."""
    devices = gpus()
    return devices[index] if 0 <= index < len(devices) else None


def why_no_gpu():
    """A short text saying what was found (for notices and `python -m hpcflow info`)."""
    gpus()
    return _state["reason"]


def reset():
    """Forgets the discovered GPUs and printed notices (tests change the environment)."""
    with _lock:
        _state["gpus"] = None
        _state["reason"] = ""
        _notices.clear()


def is_device_array(value):
    """True for a CuPy array or a stand-in device array."""
    if isinstance(value, fake.FakeDeviceArray):
        return True
    return hasattr(value, "__cuda_array_interface__") and not isinstance(value, np.ndarray)


def device_of_array(value):
    """The GpuDevice of this rank holding `value`, or None for host values."""
    if not is_device_array(value):
        return None
    for device in gpus():
        if device.is_array(value):
            return device
    return None
