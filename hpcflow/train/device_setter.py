"""`replica_device_setter`: variables on parameter servers, everything else on a worker.

TF1's between-graph replication helper, with its round-robin strategy and the greedy
byte-size load balancing of `tf.contrib.training.GreedyLoadBalancingStrategy`.
"""
from ..framework.device import DeviceSpec

# Op types that hold state and belong on a parameter server (TF1's default ps_ops).
STANDARD_PS_OPS = ("Variable", "VariableV2", "AutoReloadVariable", "MutableHashTable",
                   "MutableHashTableV2", "MutableHashTableOfTensors",
                   "MutableHashTableOfTensorsV2", "MutableDenseHashTable",
                   "MutableDenseHashTableV2", "VarHandleOp", "BoostedTreesEnsembleResourceHandleOp")


class _RoundRobinStrategy:
    """Puts the i-th variable on ps task i mod num_tasks."""

    def __init__(self, num_tasks):
        self._num_tasks = num_tasks
        self._next_task = 0

    def __call__(self, unused_op):
        task = self._next_task
        self._next_task = (self._next_task + 1) % self._num_tasks
        return task


def byte_size_load_fn(op):
    """The load of a variable op: the bytes of its value (0 if its shape is unknown)."""
    shape = op.outputs[0].shape
    n = shape.num_elements()
    return 0 if n is None else n * op.outputs[0].dtype.size


class GreedyLoadBalancingStrategy:
    """Puts each variable on the ps task with the least load so far (by `load_fn`)."""

    def __init__(self, num_tasks, load_fn=byte_size_load_fn):
        self._loads = [0] * num_tasks
        self._load_fn = load_fn

    def __call__(self, op):
        task = min(range(len(self._loads)), key=lambda i: (self._loads[i], i))
        self._loads[task] += self._load_fn(op)
        return task


class _ReplicaDeviceChooser:
    def __init__(self, ps_tasks, ps_device, worker_device, merge_devices, ps_ops, ps_strategy):
        self._ps_tasks = ps_tasks
        self._ps_device = ps_device
        self._worker_device = worker_device
        self._merge_devices = merge_devices
        self._ps_ops = ps_ops
        self._ps_strategy = ps_strategy

    def device_function(self, op):
        current = DeviceSpec.from_string(op.device or "")
        if not self._merge_devices and op.device:
            return op.device
        if self._ps_tasks and self._ps_device and op.type in self._ps_ops:
            spec = DeviceSpec.from_string(self._ps_device)
            if spec.job and (current.job is None or current.job == spec.job):
                spec.task = self._ps_strategy(op)
            return spec.merge_from(current).to_string()
        if self._worker_device is None:
            return current.to_string()
        return DeviceSpec.from_string(self._worker_device).merge_from(current).to_string()


def replica_device_setter(ps_tasks=0, ps_device="/job:ps", worker_device="/job:worker",
                          merge_devices=True, cluster=None, ps_ops=None, ps_strategy=None):
    """A device function for `tf.device()` placing variables on ps tasks, other ops on a worker.

    Args:
      ps_tasks: number of parameter-server tasks (taken from `cluster` if given).
      cluster: a ClusterSpec (or dict) naming the "ps" job.
      ps_strategy: callable(op) -> ps task index; default round-robin.

    Returns:
      A function for `tf.device`, or None when there are no ps tasks.

    Raises:
      TypeError: if `cluster` is not a ClusterSpec or dict.
    """
    from ..distributed.cluster import ClusterSpec
    if cluster is not None:
        if isinstance(cluster, dict):
            cluster = ClusterSpec(cluster)
        elif not isinstance(cluster, ClusterSpec):
            raise TypeError("cluster must be a dictionary or ClusterSpec")
        ps_tasks = len(cluster.as_dict().get("ps", [])) if "ps" in cluster.jobs else 0
    if not ps_tasks:
        return None
    if ps_ops is None:
        ps_ops = list(STANDARD_PS_OPS)
    if ps_strategy is None:
        ps_strategy = _RoundRobinStrategy(ps_tasks)
    if not callable(ps_strategy):
        raise TypeError("ps_strategy must be callable")
    chooser = _ReplicaDeviceChooser(ps_tasks, ps_device, worker_device, merge_devices, ps_ops,
                                    ps_strategy)
    return chooser.device_function
