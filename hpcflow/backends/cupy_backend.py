"""The GPU backend: for every op, how it runs on a GPU (CuPy, or the numpy stand-in device).

An entry of the GPU table is a `GpuKernel`: the kernel, written against the array module
`xp` of the device (cupy, or the stand-in of devices/fake.py), plus its memory types (which
inputs and outputs live in host memory: shape, axis and size operands, as TF's HostMemory
annotations) and its kind:

    xp        written for the array module (gpu_kernels.py), CUDA-fused where it pays
              (cuda_kernels.py: element-wise chains, softmax + cross-entropy, pooling and
              its gradient, scatter-add, the optimizer updates); cupy.matmul for GEMMs
    adapted   the op's numpy kernel re-bound to the array module (xp_adapt.py): kernels
              whose numpy calls CuPy mirrors
    metadata  reads only shapes or host operands; outputs in host memory (Shape, Size,
              BroadcastGradientArgs ...), as TF keeps them on the host
    host      computed on the host by the numpy kernel, inputs copied down and outputs up
              inside the kernel (random numbers drawn from the session's generators, so a
              seed gives the same numbers on CPU and GPU; ops whose output size depends on
              values)

Ops with no GPU kernel at all are listed in HOST_ONLY with the reason; placed on a GPU
they run on the CPU with a notice (soft placement, devices/placement.py).

A kernel registered by an ops module with `registry.register_kernel(op, "cupy", fn)` (or
`register_op(..., cupy=fn)`) is an `xp` kernel taking device arrays (fn(*arrays, **attrs)).
"""
import os
import threading

import numpy as np

from ..framework import errors, registry
from . import xp_adapt

CHECK_KERNELS = os.environ.get("HPCFLOW_CHECK_KERNELS", "") not in ("", "0")

# Ops that never run on a GPU, and why. Placed on a GPU, they run on the CPU of the same
# rank; copies move their inputs and outputs (see devices/copy_insertion.py).
HOST_ONLY = {
    "Placeholder": "feeds enter in host memory; an unfed placeholder only raises",
    "PyFunc": "calls back into Python on host arrays",
    "PyFuncStateless": "calls back into Python on host arrays",
    "Print": "prints from host memory",
    "PrintV2": "prints strings",
    "StringFormat": "formats strings",
    "Assert": "formats its data into a host-side error message",
    "FIFOQueueV2": "queues are host-side Python objects",
    "PaddingFIFOQueueV2": "queues are host-side Python objects",
    "RandomShuffleQueueV2": "queues are host-side Python objects",
    "QueueEnqueueV2": "queues are host-side Python objects",
    "QueueEnqueueManyV2": "queues are host-side Python objects",
    "QueueDequeueV2": "queues are host-side Python objects",
    "QueueDequeueManyV2": "queues are host-side Python objects",
    "QueueDequeueUpToV2": "queues are host-side Python objects",
    "QueueCloseV2": "queues are host-side Python objects",
    "QueueSizeV2": "queues are host-side Python objects",
    "QueueIsClosedV2": "queues are host-side Python objects",
    "If": "control flow runs its branch plans from the host; GPU ops inside run on the GPU",
    "While": "control flow runs its body plans from the host; GPU ops inside run on the GPU",
    "WhileGrad": "control flow runs its body plans from the host",
    "MapFn": "control flow runs its function plans from the host",
    "MapFnGrad": "control flow runs its function plans from the host",
    "FunctionIntermediate": "reads values recorded by host-side control flow",
    "HpcflowAllreduce": "collective on host buffers (device tensors are copied to it)",
    "HpcflowAllreduceGrad": "collective on host buffers (device tensors are copied to it)",
    "HpcflowAllgather": "collective on host buffers (device tensors are copied to it)",
    "HpcflowBroadcast": "collective on host buffers (device tensors are copied to it)",
    "_DPAllReduce": "data-parallel collective on host buffers",
    "_DPAllGatherRows": "data-parallel collective on host buffers",
    "_DPFetchRows": "data-parallel collective on host buffers",
    "_DPFetchSum": "data-parallel collective on host buffers",
    "_DPLocalRows": "data-parallel batch bookkeeping on host buffers",
    "_DPGlobalShape": "data-parallel batch bookkeeping on host buffers",
    "_DPGlobalSize": "data-parallel batch bookkeeping on host buffers",
    "_DPShardMean": "data-parallel collective on host buffers",
    "_DPShardReshape": "data-parallel batch bookkeeping on host buffers",
    "SaveHDF5": "writes files from host memory",
    "RestoreHDF5": "reads files into host memory (GPU variables take the values on next use)",
    "MergeHDF5Index": "writes files",
    "HDF5Reader": "reads files into host memory",
    "ScalarSummary": "serializes protocol buffers on the host",
    "HistogramSummary": "serializes protocol buffers on the host",
    "ImageSummary": "serializes protocol buffers on the host",
    "TextSummary": "serializes protocol buffers on the host",
    "MergeSummary": "serializes protocol buffers on the host",
}

# Inputs in host memory (indices into the op's inputs; negative counts from the end).
HOST_INPUTS = {
    "All": (1,), "Any": (1,), "Max": (1,), "Min": (1,), "Mean": (1,), "Sum": (1,),
    "Prod": (1,), "ArgMax": (1,), "ArgMin": (1,), "AvgPoolGrad": (0,), "BroadcastTo": (1,),
    "ConcatV2": (-1,), "ConjugateTranspose": (1,), "Transpose": (1,),
    "Conv2DBackpropFilter": (1,), "Conv2DBackpropInput": (0,), "Cumprod": (1,),
    "Cumsum": (1,), "ExpandDims": (1,), "Fill": (0,), "GatherV2": (2,), "InTopKV2": (2,),
    "MatrixBandPart": (1, 2), "MirrorPad": (1,), "MirrorPadGrad": (1,), "Pad": (1,),
    "PadV2": (1,), "OneHot": (1,), "Reshape": (1,), "ReverseV2": (1,),
    "ReverseSequence": (1,), "ScatterNd": (2,), "Slice": (1, 2), "Split": (0,),
    "SplitV": (1, 2), "StridedSlice": (1, 2, 3), "StridedSliceGrad": (0, 1, 2, 3),
    "StridedSliceAssign": (0, 1, 2), "Tile": (1,), "TopKV2": (1,),
    "UnsortedSegmentSum": (2,), "Multinomial": (1,),
}

# host_inputs of kernels taking every input in host memory.
ALL_INPUTS = ("all",)

# Ops reading only shapes (device inputs allowed) or host operands: outputs in host memory.
METADATA = frozenset(["Shape", "ShapeN", "Size", "Rank", "BroadcastArgs",
                      "BroadcastGradientArgs", "ConcatOffset", "ReducedShape"])
# ... of which these take every input in host memory too.
_ALL_HOST_METADATA = frozenset(["BroadcastArgs", "BroadcastGradientArgs", "ConcatOffset",
                                "ReducedShape"])

# Ops computed by their numpy kernel on the host (see the module docstring).
HOST_COMPUTED = frozenset([
    "RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt",
    "RandomGamma", "RandomPoissonV2", "RandomShuffle", "RandomOrthogonal", "Multinomial",
    "LinSpace", "Range",
])


class GpuKernel:
    """How one op type runs on a GPU.

    Attributes:
      op_type: the op type.
      kind: "xp", "adapted", "metadata" or "host" (see the module docstring).
      host_inputs: indices of inputs in host memory (negative: from the end), or
        ALL_INPUTS.
      host_outputs: True if every output is in host memory (metadata ops).
      build: function(device) -> the kernel callable on that device's arrays.
    """

    __slots__ = ("op_type", "kind", "host_inputs", "host_outputs", "build", "_built", "_lock")

    def __init__(self, op_type, kind, build, host_inputs=(), host_outputs=False):
        self.op_type = op_type
        self.kind = kind
        self.build = build
        self.host_inputs = tuple(host_inputs)
        self.host_outputs = host_outputs
        self._built = {}
        self._lock = threading.Lock()

    def input_in_host(self, index, num_inputs):
        """True if input `index` of `num_inputs` lives in host memory."""
        if self.host_inputs == ALL_INPUTS:
            return True
        for i in self.host_inputs:
            if i == index or (i < 0 and num_inputs + i == index):
                return True
        return False

    def kernel(self, device):
        """The kernel callable for `device` (built once per device)."""
        fn = self._built.get(device)
        if fn is None:
            with self._lock:
                fn = self._built.get(device)
                if fn is None:
                    fn = self._built[device] = self.build(device)
        return fn

    def __repr__(self):
        return "<GpuKernel %s (%s)>" % (self.op_type, self.kind)


def _adapted_builder(numpy_fn):
    return lambda device: xp_adapt.adapt(numpy_fn, device.xp)


def _numpy_builder(numpy_fn):
    return lambda device: numpy_fn


def _host_builder(record, numpy_fn):
    """Runs `numpy_fn` on host copies of the inputs and returns its outputs on the device."""
    context = record.context

    def build(device):
        def to_host(value):
            return device.to_host(value) if device.is_array(value) else value

        def run(*args, **attrs):
            if context:
                ctx, args = args[0], args[1:]
                result = numpy_fn(ctx, *[to_host(a) for a in args], **attrs)
            else:
                result = numpy_fn(*[to_host(a) for a in args], **attrs)
            if isinstance(result, tuple):
                return tuple(device.to_device(r) for r in result)
            return device.to_device(result)
        return run
    return build


_table = {}
_table_lock = threading.Lock()
_built_for = [0]  # the number of registered ops the table was built for


def _build_table():
    from . import gpu_kernels
    table = {}
    explicit = gpu_kernels.KERNELS
    for op_type, record in registry.all_records().items():
        if op_type in HOST_ONLY:
            continue
        own = record.kernels.get("cupy")
        if isinstance(own, GpuKernel):
            table[op_type] = own
            continue
        host_inputs = HOST_INPUTS.get(op_type, ())
        if own is not None:
            table[op_type] = GpuKernel(op_type, "xp", _numpy_builder(own), host_inputs)
        elif op_type in explicit:
            entry = explicit[op_type]
            table[op_type] = GpuKernel(op_type, "xp", entry.build,
                                       entry.host_inputs or host_inputs, entry.host_outputs)
        elif op_type in METADATA:
            numpy_fn = record.kernels["numpy"]
            inputs = ALL_INPUTS if op_type in _ALL_HOST_METADATA else ()
            table[op_type] = GpuKernel(op_type, "metadata", _numpy_builder(numpy_fn),
                                       inputs, host_outputs=True)
        elif op_type in HOST_COMPUTED:
            table[op_type] = GpuKernel(op_type, "host",
                                       _host_builder(record, record.kernels["numpy"]),
                                       host_inputs)
        elif "numpy" in record.kernels:
            table[op_type] = GpuKernel(op_type, "adapted",
                                       _adapted_builder(record.kernels["numpy"]), host_inputs)
    return table


def gpu_table():
    """{op type: GpuKernel} for every registered op that can run on a GPU.

    Built on first use (after every ops module has registered its ops) and again whenever
    ops were registered since, so ops defined by user modules are covered.
    """
    count = len(registry._OPS)  # no copy: this runs for every node of every plan compile
    if count != _built_for[0]:
        with _table_lock:
            if count != _built_for[0]:
                _table.clear()
                _table.update(_build_table())
                _built_for[0] = count
    return _table


def gpu_kernel(op_type):
    """The GpuKernel of `op_type`, or None if the op has no GPU kernel."""
    return gpu_table().get(op_type)


def host_only_reason(op_type):
    """Why `op_type` has no GPU kernel ("" if it has one, or a generic reason)."""
    if op_type in HOST_ONLY:
        return HOST_ONLY[op_type]
    if gpu_kernel(op_type) is None:
        return "no GPU kernel is registered for it"
    return ""


def describe():
    """One line for `python -m hpcflow info`: the GPU table by kind."""
    counts = {}
    for spec in gpu_table().values():
        counts[spec.kind] = counts.get(spec.kind, 0) + 1
    return "GPU kernels: %s; host-only ops: %d" % (
        ", ".join("%d %s" % (n, kind) for kind, n in sorted(counts.items())), len(HOST_ONLY))


# -- running a kernel on a device: residency checks and the device view of session state -----

class _VariablesView:
    """`ctx.state.variables` as a GPU kernel sees it: values moved to the device on read."""

    __slots__ = ("_state",)

    def __init__(self, device_state):
        self._state = device_state

    def get(self, name, default=None):
        if name not in self._state._state.variables:
            return default
        return self._state.read_variable(name)

    def __getitem__(self, name):
        return self._state.read_variable(name)

    def __contains__(self, name):
        return name in self._state._state.variables

    def __setitem__(self, name, value):
        self._state.write_variable(name, value)


class DeviceState:
    """A SessionState whose variables a GPU kernel reads and writes in device memory.

    A variable stored in host memory (initialized on the CPU, restored from a checkpoint)
    is copied to the device on first read and stored there; values written are stored as
    given (device arrays), without the host conversion SessionState.write_variable does.
    Everything else (random generators, queues, locks, transport) is the session's.
    """

    def __init__(self, state, device):
        self._state = state
        self._device = device
        self.variables = _VariablesView(self)

    def read_variable(self, name):
        value = self._state.read_variable(name)
        if not self._device.is_array(value):
            if _is_any_device_array(value):
                value = self._device.from_other_device(value)
            else:
                value = self._device.to_device(value)
            self._store(name, value)
        return value

    def write_variable(self, name, value):
        if not self._device.is_array(value):
            raise errors.InternalError(None, None, "GPU kernel stored a %s in variable %s, "
                                       "expected an array on %s" % (type(value).__name__, name,
                                                                    self._device.name))
        self._store(name, value)
        return value

    def _store(self, name, value):
        state = self._state
        old = state.variables.get(name)
        if old is not None:
            state._owned_ids.discard(id(old))
        state.variables[name] = value
        state._owned_ids.add(id(value))

    def __getattr__(self, name):
        return getattr(self._state, name)


def _is_any_device_array(value):
    from ..devices import device as device_lib
    return device_lib.is_device_array(value)


class DeviceKernelContext:
    """The KernelContext a GPU context kernel receives: `state` is a DeviceState."""

    __slots__ = ("_ctx", "state", "device")

    def __init__(self, ctx, device):
        self._ctx = ctx
        self.device = device
        self.state = DeviceState(ctx.state, device)

    def __getattr__(self, name):
        return getattr(self._ctx, name)


def bind(spec, device, record, node_inputs, node_outputs, op_name):
    """The callable the executor runs for one node placed on `device`.

    It runs the kernel in the device's context and, on the stand-in device or with
    HPCFLOW_CHECK_KERNELS=1, checks that every input and output is in the memory the
    kernel's memory types say (a missing copy fails here, naming the op and the tensor).
    """
    fn = spec.kernel(device)
    context = record.context
    check = device.kind == "fake" or CHECK_KERNELS
    num_inputs = len(node_inputs)
    host_in = tuple(spec.input_in_host(i, num_inputs) for i in range(num_inputs))
    activate = device.activate

    def check_inputs(args):
        for i, value in enumerate(args):
            where = "host" if host_in[i] else device.name
            ok = (not _is_any_device_array(value)) if host_in[i] else device.is_array(value)
            if not ok:
                raise errors.InternalError(
                    None, None, "%s (%s) on %s: input %d (%s) is a %s, expected it in %s memory"
                    % (op_name, spec.op_type, device.name, i, node_inputs[i].name,
                       _describe(value), where))

    def check_outputs(result):
        if not node_outputs:
            return
        values = result if len(node_outputs) > 1 else (result,)
        for t, value in zip(node_outputs, values):
            if spec.host_outputs:
                ok = isinstance(value, (np.ndarray, np.generic)) and \
                    not _is_any_device_array(value)
            else:
                ok = device.is_array(value)
            if not ok and t.dtype.name != "variant":
                raise errors.InternalError(
                    None, None, "%s (%s) on %s returned a %s for %s, expected it in %s memory"
                    % (op_name, spec.op_type, device.name, _describe(value), t.name,
                       "host" if spec.host_outputs else device.name))

    if context:
        def run(ctx, *args, **attrs):
            if check:
                check_inputs(args)
            with activate():
                result = fn(DeviceKernelContext(ctx, device), *args, **attrs)
            if check:
                check_outputs(result)
            return result
    else:
        def run(*args, **attrs):
            if check:
                check_inputs(args)
            with activate():
                result = fn(*args, **attrs)
            if check:
                check_outputs(result)
            return result
    run.__name__ = "gpu_%s" % spec.op_type
    return run


def _describe(value):
    if _is_any_device_array(value):
        return "device array"
    if isinstance(value, np.ndarray):
        return "host array"
    return type(value).__name__
