"""Device copies: the rewrite that places a plan's nodes on devices and moves values between
host and device memory where an edge changes memory.

`insert_device_copies(ir)` runs last, on the GraphIR a Plan compiles (after the passes of
runtime/rewrites), on every rank for its own partition:

1. Each node gets a device (devices/placement.py): a GPU of this rank or the CPU.
2. Each value gets a memory: the producer's device memory, or host memory for values made
   on the CPU, metadata outputs (Shape, ...), fed values and values read back.
3. Each input has a required memory: host for CPU nodes and for the inputs a GPU kernel
   takes in host memory (shape/axis operands), else the node's GPU.
4. Where they differ a copy node is inserted, once per (value, memory):
       _HostToDevice   host value -> GPU:k               (consumer on a GPU)
       _DeviceToHost   GPU value -> host                 (consumer on the CPU, or fetched)
       _DeviceToDevice GPU:j value -> GPU:k
   A value fetched by the client, or read on the host, is renamed: its producer now yields
   a plan-private device tensor and the _DeviceToHost node yields the original tensor, so
   fetches and CPU consumers see host arrays without any change to the executor.
5. GPU nodes get a record whose kernels are the GPU kernel bound to their device, so the
   executor's dispatch (`backends.kernel_for_op(node)`) runs them there. With a stand-in
   GPU (HPCFLOW_FAKE_GPU) CPU kernels are wrapped too, to fail if a device array reaches
   one (a missing copy).

Copy nodes are ordered right after the producer (or before the first consumer of a fed
value), which keeps creation-order plans (MPI partitions) in a valid order.
"""
from ..backends import cupy_backend
from ..framework import dtypes, errors, registry
from ..framework.graph import Tensor
from . import device as device_lib
from . import placement

COPY_TYPES = ("_HostToDevice", "_DeviceToHost", "_DeviceToDevice")

_PASSTHROUGH_SHAPE = None  # copy ops are never built in user graphs: no shape function


class PlacedRecord(registry.OpRecord):
    """An op record for one node of a plan, whose every kernel is the node's bound kernel.

    Attributes:
      device: the GpuDevice the node runs on (None: the CPU).
      bound: the kernel callable.
    """

    __slots__ = ("device", "bound")

    def __init__(self, base, device, bound):
        super().__init__(base.type, base.shape_fn, {}, base.gradient, base.sharding,
                         base.stateful, base.context, base.defined_at, base.doc)
        self.device = device
        self.bound = bound
        self.kernels = {"numpy": bound, "cython": bound, "cupy": bound}


class PlanOp:
    """The Operation a copy node stands for (names errors and traces; never in a Graph)."""

    def __init__(self, op_type, name, source, device_name, record):
        self.type = op_type
        self.name = name
        self.device = device_name
        self.attrs = {}
        self.inputs = (source,)
        self._inputs = self.inputs
        self._control_inputs = []
        self.control_inputs = []
        self._record = record
        self._id = None
        self.graph = getattr(source.op, "graph", None)
        self._outputs = (Tensor(self, 0, source.dtype, source.shape),)
        self.outputs = list(self._outputs)

    def get_attr(self, name):
        return self.attrs[name]

    def __repr__(self):
        return "<PlanOp %s (%s)>" % (self.name, self.type)


def _copy_record(op_type, kernel):
    record = registry.OpRecord(op_type, _PASSTHROUGH_SHAPE, {}, registry.NOT_DIFFERENTIABLE,
                               None, True, False, "hpcflow/devices/copy_insertion.py", None)
    record.kernels = {"numpy": kernel, "cython": kernel, "cupy": kernel}
    return record


def _host_to_device(gpu):
    def run(value):
        if device_lib.is_device_array(value):
            raise errors.InternalError(None, None, "host-to-device copy to %s got a device "
                                       "array" % gpu.name)
        return gpu.to_device(value)
    return run


def _device_to_host(gpu):
    def run(value):
        if not gpu.is_array(value):
            raise errors.InternalError(None, None, "device-to-host copy from %s got a %s"
                                       % (gpu.name, type(value).__name__))
        return gpu.to_host(value)
    return run


def _device_to_device(target):
    def run(value):
        return target.from_other_device(value)
    return run


def _new_node(ir_node_class, op, key, inputs, outputs):
    node = ir_node_class.__new__(ir_node_class)
    node.op = op
    node.type = op.type
    node.record = op._record
    node.attrs = {}
    node.inputs = list(inputs)
    node.outputs = tuple(outputs)
    node.controls = []
    node.key = key
    node.members = None
    if hasattr(ir_node_class, "member_inputs"):
        node.member_inputs = None
    node.values = None
    op._id = key  # orders like the node (creation-order plans sort by it)
    return node


def _follow_variable(node):
    """The device string of the variable a state op acts on, or None."""
    var_name = node.attrs.get("var_name") if isinstance(node.attrs, dict) else None
    if not var_name:
        return None
    graph = getattr(node.op, "graph", None)
    try:
        return graph.get_operation_by_name(var_name).device
    except Exception:  # the variable is not in this graph: the op's own device decides
        return None


def _all_int32(node):
    tensors = list(node.inputs) + list(node.outputs)
    return bool(tensors) and all(t.dtype == dtypes.int32 for t in tensors)


def _assign_devices(ir, producers, consumers):
    fetched = ir.fetched()
    placed = {}
    deferred = []
    for node in ir.nodes:
        if node.type in ("_Send", "_Recv") and not node.op.device:
            deferred.append(node)
            continue
        if node.values is not None and len(node.outputs) != 1:
            placed[node] = None  # a folded multi-output constant: its values are host arrays
            continue
        device_string = node.op.device
        var_device = _follow_variable(node)
        if var_device is not None:
            device_string = var_device
        gpu = placement.choose(node.type, device_string, node=node)
        if gpu is not None and var_device is None and not node.record.stateful and \
                not node.record.context and _all_int32(node):
            # TF's convention: int32 tensors of GPU ops live in host memory (shape
            # arithmetic); running these on the CPU saves a copy in each direction.
            gpu = None
        placed[node] = gpu
    # A constant read only in host memory (a shape or axis operand) is made on the CPU.
    for node in ir.nodes:
        if placed.get(node) is not None and node.type == "Const" and not any(
                t in fetched for t in node.outputs) and not any(
                _required(c, t, placed) is not None
                for t in node.outputs for c in consumers.get(t, ())):
            placed[node] = None
    for node in deferred:
        target = None
        if node.type == "_Send" and node.inputs:
            producer = producers.get(node.inputs[0])
            gpu = placed.get(producer)
            spec = cupy_backend.gpu_kernel(producer.type) if gpu is not None else None
            if gpu is not None and spec is not None and not spec.host_outputs:
                target = gpu
        elif node.type == "_Recv":
            wanted = set()
            for consumer in consumers.get(node.outputs[0], ()):
                wanted.add(_required(consumer, node.outputs[0], placed))
            if len(wanted) == 1:
                target = wanted.pop()
        if target is not None and cupy_backend.gpu_kernel(node.type) is None:
            target = None
        placed[node] = target
    return placed


def _required(node, tensor, placed):
    """The memory (a GpuDevice, or None for host) `node` needs `tensor` in (any position)."""
    for i, t in enumerate(node.inputs):
        if t is tensor and _required_at(node, i, placed) is not None:
            return placed[node]
    return None


def _required_at(node, index, placed):
    """The memory (a GpuDevice, or None for host) `node` needs its input `index` in."""
    gpu = placed.get(node)
    if gpu is None:
        return None
    spec = cupy_backend.gpu_kernel(node.type)
    return None if spec.input_in_host(index, len(node.inputs)) else gpu


def insert_device_copies(ir, context=None):
    """Places `ir`'s nodes on this rank's devices and inserts the copies between memories.

    Args:
      ir: a GraphIR (runtime/rewrites/ir.py), after the rewrite passes.
      context: the RewriteContext (its `preference` picks CPU kernels for wrapped nodes).

    Returns:
      The number of copy nodes inserted.
    """
    if not _any_gpu_wanted(ir):
        ir.device_placement = {}
        return 0
    ir.normalize()
    producers = ir.producers()
    consumers = ir.consumers()
    placed = _assign_devices(ir, producers, consumers)
    fake_mode = any(g.kind == "fake" for g in device_lib.gpus())
    # For tests and debugging: where each node runs ({op name: device name}).
    ir.device_placement = {node.op.name: (gpu.name if gpu is not None else "/device:CPU:0")
                           for node, gpu in placed.items()}
    if not any(placed.values()):
        if fake_mode:
            _wrap_cpu_nodes(ir, placed, context)
        return 0

    ir_node_class = type(ir.nodes[0])
    fetched = ir.fetched()
    fused_inputs = {node: list(node.inputs) for node in ir.nodes
                    if node.members is not None and placed.get(node) is not None}
    new_nodes = []
    copies = {}  # (tensor, target memory) -> tensor holding the copy

    def memory_of(tensor):
        if tensor in ir.feeds:
            return None
        producer = producers.get(tensor)
        gpu = placed.get(producer) if producer is not None else None
        if gpu is None:
            return None
        spec = cupy_backend.gpu_kernel(producer.type)
        return None if spec.host_outputs else gpu

    def first_key(tensor, target):
        keys = [c.key for c in consumers.get(tensor, ()) if _required(c, tensor, placed) is
                target]
        return min(keys) if keys else 0

    def add_copy(source, source_memory, target, key):
        if target is None:
            op_type, kernel = "_DeviceToHost", _device_to_host(source_memory)
        elif source_memory is None:
            op_type, kernel = "_HostToDevice", _host_to_device(target)
        else:
            op_type, kernel = "_DeviceToDevice", _device_to_device(target)
        where = "host" if target is None else "GPU_%d" % target.index
        op = PlanOp(op_type, "%s/_to_%s" % (source.name.replace(":", "_"), where), source,
                    target.name if target is not None else "/device:CPU:0",
                    _copy_record(op_type, kernel))
        new_nodes.append(_new_node(ir_node_class, op, key, [source], op._outputs))
        return op._outputs[0]

    # Device values read on the host or fetched: the producer yields a private device tensor,
    # a _DeviceToHost node yields the original one.
    renamed = {}
    for node in ir.nodes:
        gpu = placed.get(node)
        if gpu is None:
            continue
        spec = cupy_backend.gpu_kernel(node.type)
        if spec.host_outputs:
            continue
        outputs = list(node.outputs)
        for i, t in enumerate(outputs):
            host_users = t in fetched or any(
                _required_at(c, j, placed) is None
                for c in set(consumers.get(t, ())) for j, u in enumerate(c.inputs) if u is t)
            if not host_users:
                continue
            private = Tensor(node.op, i, t.dtype, t.shape)
            outputs[i] = private
            renamed[t] = private
            op = PlanOp("_DeviceToHost", "%s/_to_host" % t.name.replace(":", "_"), private,
                        "/device:CPU:0", _copy_record("_DeviceToHost", _device_to_host(gpu)))
            op._outputs = (t,)
            op.outputs = [t]
            # A fetched variable is read at the end of the step on the CPU (the fetch copies
            # its storage after every op ran): its copy waits for the ops writing it.
            writers = _writers_of(ir, node) if t in fetched else []
            key = max([node.key] + [w.key for w in writers]) + 0.5 + 1e-6 * i
            copy_node = _new_node(ir_node_class, op, key, [private], (t,))
            copy_node.controls = writers
            new_nodes.append(copy_node)
            copies[(private, None)] = t
        node.outputs = tuple(outputs)

    for node in list(ir.nodes):
        for i, t in enumerate(node.inputs):
            target = _required_at(node, i, placed)
            source = renamed.get(t, t)
            source_memory = memory_of(t)
            if source_memory is target:
                node.inputs[i] = source
                continue
            key = (source, target)
            copy = copies.get(key)
            if copy is None:
                producer = producers.get(t)
                if producer is not None:
                    order_key = producer.key + 0.75 + 1e-6 * len(new_nodes)
                else:
                    order_key = first_key(t, target) - 0.5 + 1e-6 * len(new_nodes)
                copy = copies[key] = add_copy(source, source_memory, target, order_key)
            node.inputs[i] = copy

    _bind_gpu_nodes(ir, placed, fused_inputs)
    if fake_mode:
        _wrap_cpu_nodes(ir, placed, context)
    ir.nodes.extend(new_nodes)
    return len(new_nodes)


def _writers_of(ir, node):
    """The nodes updating in place the variable `node` (a VariableV2) holds."""
    if node.type not in ("VariableV2", "Variable"):
        return []
    name = node.op.name
    return [n for n in ir.nodes if n is not node and isinstance(n.attrs, dict)
            and n.attrs.get("var_name") == name]


def _any_gpu_wanted(ir):
    default_type = placement.default_device_type()
    if default_type == "GPU":
        return bool(device_lib.gpus())
    for node in ir.nodes:
        device_string = node.op.device
        if device_string and placement.requested_gpu(device_string, "CPU") is not None:
            return True
        if _follow_variable(node):
            if placement.requested_gpu(_follow_variable(node), "CPU") is not None:
                return True
    return False


def _bind_gpu_nodes(ir, placed, fused_inputs):
    for node in ir.nodes:
        gpu = placed.get(node)
        if gpu is None:
            continue
        spec = cupy_backend.gpu_kernel(node.type)
        if node.values is not None:
            node.values = None  # a folded constant: the GPU Const kernel uploads it once
        bound = cupy_backend.bind(spec, gpu, node.record, node.inputs, node.outputs,
                                  node.op.name)
        if node.members is not None:
            bound = _with_member_fallback(bound, node, gpu, fused_inputs[node])
            # The chain runs as one GPU node: the executor's own fallback (the members'
            # CPU kernels) must not see device arrays.
            node.members = None
            if hasattr(node, "member_inputs"):
                node.member_inputs = None
        node.record = PlacedRecord(node.record, gpu, bound)


def _with_member_fallback(bound, node, gpu, original_inputs):
    """A fused chain's GPU kernel that, if it fails, reruns the member ops one by one with
    their own GPU kernels, so the error names the member op (as the unfused graph's)."""
    members = list(node.members)
    member_inputs = list(getattr(node, "member_inputs", None) or [m.inputs for m in members])
    positions = {t: i for i, t in enumerate(original_inputs)}
    rank = placement._rank()

    def run_members(args):
        env = {t: args[i] for t, i in positions.items()}
        value = None
        for op, inputs in zip(members, member_inputs):
            spec = cupy_backend.gpu_kernel(op.type)
            fn = spec.kernel(gpu)
            try:
                with gpu.activate():
                    value = fn(*[env[t] for t in inputs], **op.attrs)
            except errors.OpError as e:
                raise type(e)(None, op, "%s\n\t [[node %s (%s) on rank %d]]"
                              % (e.message, op.name, op.type, rank)) from None
            except Exception as e:  # noqa: BLE001 - named after the member op, as unfused
                raise errors.InvalidArgumentError(
                    None, op, "%s: %s\n\t [[node %s (%s) on rank %d]]"
                    % (type(e).__name__, e, op.name, op.type, rank)) from e
            env[op._outputs[0]] = value
        return value

    def run(*args, **attrs):
        try:
            return bound(*args, **attrs)
        except Exception:  # noqa: BLE001 - the member ops report it under their own names
            return run_members(args)
    return run


def _wrap_cpu_nodes(ir, placed, context):
    """Stand-in GPU runs: CPU kernels fail loudly if a device array reaches them."""
    from .. import backends
    preference = getattr(context, "preference", None)
    for node in ir.nodes:
        if placed.get(node) is not None or isinstance(node.record, PlacedRecord) or \
                node.members is not None:
            continue  # (fused CPU chains keep their kernel: the executor checks its identity)
        try:
            _, kernel = backends.kernel_for(node.record, preference)
        except errors.NotFoundError:
            continue
        node.record = PlacedRecord(node.record, None,
                                   _host_checked(kernel, node.record.context, node.op.name,
                                                 node.type))


def _host_checked(kernel, context, op_name, op_type):
    def check(values, what):
        for i, value in enumerate(values):
            if device_lib.is_device_array(value):
                raise errors.InternalError(
                    None, None, "%s (%s) runs on the CPU but its %s %d is a device array: a "
                    "device-to-host copy is missing" % (op_name, op_type, what, i))

    def run(*args, **attrs):
        check(args[1:] if context else args, "input")
        result = kernel(*args, **attrs)
        check(result if isinstance(result, (tuple, list)) else (result,), "output")
        return result
    return run
