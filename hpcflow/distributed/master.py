"""The distributed master on rank 0: partitions steps, ships partitions once, runs steps.

Per (fetches, feeds, targets) signature the master partitions the graph and sends every
rank its partition once, serialized in the safe graph format. Each step then costs one
small control message per participating rank (plan id, step id), the cut-edge tensors,
and one reply per rank, which carries its error (if any) and, when traced, its step stats.
"""
import itertools

from ..framework import errors
from ..framework.graph_io import graph_from_bytes
from ..runtime.local import fill_step_stats
from .partition import partition
from .partition_runner import PartitionRunner
from .transport import REPLY_TAG, PeerFailedError

class _DistributedPlan:
    def __init__(self, plan_id, partition_plan, local_runner):
        self.id = plan_id
        self.partition_plan = partition_plan
        self.local_runner = local_runner
        self.worker_ranks = [r for r in partition_plan.ranks if r != 0]


class DistributedRuntime:
    """Runs a session's steps as partitions over the ranks (the script names jobs)."""

    def __init__(self, graph, config, job, session_key, state, executor):
        self.graph = graph
        self.config = config
        self.job = job
        self.transport = job.transport
        self.session_key = session_key
        self.local_state = state
        self.local_executor = executor
        self._plans = {}
        self._plan_ids = itertools.count()
        self._step_ids = itertools.count(1)
        self.registered_ranks = set()

    def _plan_for(self, fetch_tensors, target_ops, feed_tensors):
        key = (self.graph._mutation_version, tuple(fetch_tensors), tuple(target_ops),
               tuple(feed_tensors))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        plan_id = next(self._plan_ids)
        partition_plan = partition(
            self.graph, fetch_tensors, target_ops, feed_tensors, self.job.cluster,
            lambda edge: self.transport.edge_tag(plan_id, edge),
            allow_soft_placement=self.config.allow_soft_placement)
        if self.config.log_device_placement:
            for op, rank in sorted(partition_plan.placement.items(), key=lambda kv: kv[0]._id):
                print("%s: (%s): %s" % (op.name, op.type, self.job.cluster.device_name(rank)))
        workers = [r for r in partition_plan.ranks if r != 0]
        for rank in workers:
            self.transport.send_control(rank, ("register", self.session_key, plan_id,
                                               partition_plan.graph_defs[rank].SerializeToString()))
            self.registered_ranks.add(rank)
        # Every rank must hold its partition before any step starts: a rank that cannot
        # (e.g. an op type it does not know) would leave its peers waiting.
        problems = [self.transport.recv_control(r, REPLY_TAG, "a partition acknowledgement")
                    for r in workers]
        problems = [p[1] for p in problems if p[0] != "ok"]
        if problems:
            raise errors.InternalError(None, None, "; ".join(problems))
        local_graph = graph_from_bytes(partition_plan.graph_defs[0].SerializeToString())
        local_runner = PartitionRunner(local_graph, self.local_state, self.local_executor,
                                       partition_plan.feed_names, partition_plan.fetch_names)
        plan = _DistributedPlan(plan_id, partition_plan, local_runner)
        self._plans[key] = plan
        return plan

    def run(self, fetch_tensors, target_ops, feed_tensors, feed_values, run_metadata=None):
        plan = self._plan_for(fetch_tensors, target_ops, feed_tensors)
        step_id = next(self._step_ids)
        trace = run_metadata is not None
        deadline = (self.config.operation_timeout_in_ms or 0) / 1000.0 or None
        self.transport.deadline_seconds = deadline
        for rank in plan.worker_ranks:
            self.transport.send_control(rank, ("step", self.session_key, plan.id, step_id,
                                               trace, deadline))
        local_error = None
        records = [] if trace else None
        results = None
        try:
            results = plan.local_runner.run(feed_values, records)
        except errors.OpError as e:
            local_error = e
        finish_step(self.job, plan.worker_ranks, local_error, records, run_metadata)
        return results

    def close(self):
        self._plans.clear()


def finish_step(job, worker_ranks, local_error, local_records, run_metadata):
    """Collects the step replies of `worker_ranks`; merges traces; raises the root error.

    Every worker replies once per step, failed or not, so this never waits on a rank that
    will not answer.
    """
    failures = []
    for rank in worker_ranks:
        reply = job.transport.recv_control(rank, REPLY_TAG, "the step reply")
        if reply[0] == "error":
            _, _, class_name, message, secondary = reply[:5]
            failures.append((secondary, rank, class_name, message))
        elif run_metadata is not None:
            for device, node_records in reply[2]:
                fill_step_stats(run_metadata, device, node_records)
    if run_metadata is not None:
        fill_step_stats(run_metadata, job.cluster.device_name(0), local_records)
    raise_primary_error(local_error, failures)


def raise_primary_error(local_error, failures):
    """Raises the root cause: a real failure over one that only reports a peer's failure."""
    if local_error is not None and not isinstance(local_error, PeerFailedError):
        raise local_error
    remote = sorted(failures, key=lambda f: (f[0], f[1]))  # real failures first, by rank
    if remote and (not remote[0][0] or local_error is None):
        _, _, class_name, message = remote[0]
        raise (errors.error_class_for_name(class_name) or errors.UnknownError)(None, None, message)
    if local_error is not None:
        raise local_error
