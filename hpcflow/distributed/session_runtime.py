"""The runtime behind a Session on rank 0 of an MPI job: picks how the job runs its steps.

A graph whose ops name a job (`/job:ps/...`, `/job:worker/...`, replica_device_setter) is
partitioned over the ranks as placed (master.py). A graph that names no job runs data
parallel (dp_runtime.py). The mode is fixed at the session's first step: variables live
on the parameter servers in the first mode and as replicas on every rank in the second.
"""
import itertools

from ..framework import errors
from ..framework.device import DeviceSpec
from ..runtime.executor import Executor
from ..runtime.placement import CLIENT_ONLY_OPS
from ..runtime.state import SessionState
from . import parameter_server
from .dp_runtime import DataParallelRuntime
from .master import DistributedRuntime

_session_keys = itertools.count(1)
# py_func-style ops only exist in rank 0's process: such graphs cannot run on every rank.
_RANK0_ONLY = CLIENT_ONLY_OPS - {"Print", "PrintV2"}


def names_a_job(ops):
    return any(op.device and DeviceSpec.from_string(op.device).job is not None for op in ops)


class MpiSessionRuntime:
    """Chooses partitioned or data-parallel execution for one Session on rank 0."""

    def __init__(self, graph, config, job):
        self.graph = graph
        self.config = config
        self.job = job
        self.session_key = next(_session_keys)
        self.local_state = SessionState(rank=0, config=config)
        self.local_state.transport = job.transport
        self.local_executor = Executor(self.local_state, config=config)
        self.mode = None
        self._impl = None

    def _choose(self, ops):
        if names_a_job(ops) or any(op.type in _RANK0_ONLY for op in ops):
            spec = parameter_server.sync_replicas_spec(ops, self.graph)
            if spec is not None and spec["replicas_to_aggregate"] > 1:
                raise errors.UnimplementedError(
                    None, None, "SyncReplicasOptimizer(replicas_to_aggregate=%d) needs a "
                    "data-parallel job, where every rank is a replica: this graph places ops "
                    "on jobs (tf.device or replica_device_setter), so one client step has one "
                    "replica. Remove the job placement, or use replicas_to_aggregate=1."
                    % spec["replicas_to_aggregate"])
            self.mode = "partitioned"
            self._impl = DistributedRuntime(self.graph, self.config, self.job, self.session_key,
                                            self.local_state, self.local_executor)
        else:
            self.mode = "data_parallel"
            self._impl = DataParallelRuntime(self.graph, self.config, self.job, self.session_key,
                                             self.local_state, self.local_executor)

    def run(self, fetch_tensors, target_ops, feed_tensors, feed_values, run_metadata=None):
        if self._impl is None:
            self._choose(self.graph.get_operations())
        elif self.mode == "data_parallel" and names_a_job(self.graph.get_operations()):
            raise errors.FailedPreconditionError(
                None, None, "This session runs data parallel (its graph named no job when it "
                "first ran); ops placed on jobs were added since. Create a new Session.")
        return self._impl.run(fetch_tensors, target_ops, feed_tensors, feed_values, run_metadata)

    def list_devices(self):
        return self.job.cluster.list_devices()

    def close(self):
        if self._impl is not None:
            self._impl.close()
            for rank in sorted(self._impl.registered_ranks):
                self.job.transport.send_control(rank, ("close", self.session_key))
        self.local_state.variables.clear()
        self.local_state.queues.clear()

