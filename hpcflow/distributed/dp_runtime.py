"""Running data-parallel steps: rank 0 plans and feeds, every rank runs the same graph.

Per step rank 0 sends each worker one control message (plan, step id, the rows each rank
gets, the feeds' shapes); then all ranks take their feed rows with one Scatterv per batch
feed (and one Bcast per other feed), run the SPMD plan, and report back. Variables are
replicas updated identically on every rank (same graph, same all-reduced gradients, same
seeds), so rank 0's copy is the one logical copy a checkpoint saves.
"""
import itertools

import numpy as np

from ..framework import errors
from ..framework.graph_io import graph_from_bytes
from ..runtime.executor import Plan
from . import data_parallel, parameter_server
from .collectives import StepCollectives
from .dp_ops import COLLECTIVE_OPS, DataParallelStep, split_counts  # noqa: F401
from .master import finish_step
from .transport import REPLY_TAG, PeerFailedError

_plan_ids = itertools.count(1_000_000)  # disjoint from the partitioned plans' ids


class DataParallelRunner:
    """One rank's compiled SPMD plan, with the failure protocol of collectives.py.

    `push` is the plan's parameter_server.PushSpec when rank 0 applies its updates.
    """

    def __init__(self, graph, state, executor, feed_names, fetch_names, batch_mask, push=None):
        self.push = push
        self.batch_mask = tuple(batch_mask)
        feeds = [graph.get_tensor_by_name(n) for n in feed_names]
        fetches = [graph.get_tensor_by_name(n) for n in fetch_names]
        fed_ops = {t.op for t in feeds}
        targets = [op for op in graph.get_operations() if op not in fed_ops]
        self.plan = Plan(graph, fetches, targets, feeds, state, executor, creation_order=True)
        self.state = state

    def run(self, feed_values, step, records=None):
        self.state.dp_step = step
        try:
            return self.plan.run(feed_values, records)
        except errors.OpError as e:
            # Keep entering the plan's remaining collectives (header phase only), so that the
            # other ranks learn of the failure instead of waiting for this rank forever.
            step.failed = True
            for node in self.plan.nodes[getattr(e, "failed_node_index", -1) + 1:]:
                if node.op.type in COLLECTIVE_OPS:
                    try:
                        node.fn(*([None] * len(node.in_slots)))
                    except PeerFailedError:
                        pass
            raise
        finally:
            self.state.dp_step = None


def refresh_replicas(collectives, state, variables):
    """Every rank's replicas of `variables` [(name, shape, dtype)] set to rank 0's values.

    Needed after steps whose updates only rank 0 applied (parameter_server.py), before a
    step that assumes every rank holds the same values.
    """
    for name, shape, dtype in variables:
        value = state.variables[name] if collectives.rank == 0 else None
        value = collectives.broadcast(value, shape, np.dtype(dtype))
        if collectives.rank != 0:
            state.write_variable(name, value)


def distribute_feeds(collectives, batch_mask, headers, counts, feed_values=None):
    """Every rank's feed values: batch feeds scattered by rows, the others broadcast."""
    local = []
    for i, (is_batch, (shape, dtype)) in enumerate(zip(batch_mask, headers)):
        value = feed_values[i] if feed_values is not None else None
        if is_batch:
            local.append(collectives.scatter_rows(value, counts, shape[1:], np.dtype(dtype)))
        else:
            local.append(collectives.broadcast(value, shape, np.dtype(dtype)))
    return local


class _CompiledStep:
    """A step signature's plan: its id, this rank's runner, rank 0's update function (push
    steps) and whether the ranks combine values in it (collectives)."""

    __slots__ = ("plan_id", "runner", "apply_updates", "combines_ranks")

    def __init__(self, plan_id, runner, apply_updates, combines_ranks):
        self.plan_id = plan_id
        self.runner = runner
        self.apply_updates = apply_updates
        self.combines_ranks = combines_ranks


class DataParallelRuntime:
    """The runtime behind a Session on rank 0 when the script names no job."""

    def __init__(self, graph, config, job, session_key, state, executor):
        self.graph = graph
        self.config = config
        self.job = job
        self.transport = job.transport
        self.collectives = StepCollectives(job.transport)
        self.session_key = session_key
        self.local_state = state
        self.local_executor = executor
        self._plans = {}
        self._step_ids = itertools.count(1)
        self._seeds = np.random.default_rng()
        self.registered_ranks = set()
        self.async_updates = bool(getattr(job, "async_updates", False) or getattr(
            getattr(config, "experimental", None), "async_updates", False))
        self.parameter_server = parameter_server.ParameterServer(job.transport, state)
        self._replicas_stale = False  # rank 0 applied updates the other ranks do not hold

    def _batch_mask(self, feed_tensors, feed_values):
        """Feeds split by rows: first dimension unknown, and the same length as the first one."""
        rows = None
        mask = []
        for t, value in zip(feed_tensors, feed_values):
            dims = t.shape.as_tuple_or_none()
            is_batch = bool(dims) and dims[0] is None and np.ndim(value) >= 1
            if is_batch:
                if rows is None:
                    rows = np.shape(value)[0]
                is_batch = np.shape(value)[0] == rows
            mask.append(is_batch)
        return tuple(mask), rows or 0

    def _plan_for(self, fetch_tensors, target_ops, feed_tensors, batch_mask):
        key = (self.graph._mutation_version, tuple(fetch_tensors), tuple(target_ops),
               tuple(feed_tensors), batch_mask)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        dp_plan = data_parallel.build(self.graph, fetch_tensors, target_ops, feed_tensors,
                                      batch_mask, self._seeds, self.async_updates)
        push = dp_plan.push
        apply_updates = None
        if push is not None:
            self._check_replicas(push)
            apply_updates = self._update_plan(dp_plan.update_graph)
        plan_id = next(_plan_ids)
        data = dp_plan.graph_def.SerializeToString()
        push_message = None if push is None else push.as_message()
        for rank in range(1, self.job.size):
            self.transport.send_control(rank, ("dp_register", self.session_key, plan_id, data,
                                               dp_plan.feed_names, batch_mask, push_message))
            self.registered_ranks.add(rank)
        problems = [self.transport.recv_control(r, REPLY_TAG, "a plan acknowledgement")
                    for r in range(1, self.job.size)]
        problems = [p[1] for p in problems if p[0] != "ok"]
        if problems:
            raise errors.InternalError(None, None, "; ".join(problems))
        runner = DataParallelRunner(graph_from_bytes(data), self.local_state, self.local_executor,
                                    dp_plan.feed_names, dp_plan.fetch_names, batch_mask, push)
        plan = _CompiledStep(plan_id, runner, apply_updates, dp_plan.num_collectives > 0)
        self._plans[key] = plan
        return plan

    def _check_replicas(self, push):
        needed = push.replicas_to_aggregate
        if push.mode == parameter_server.SYNC_REPLICAS and needed > self.job.size:
            raise errors.InvalidArgumentError(
                None, None, "SyncReplicasOptimizer: replicas_to_aggregate=%d, but this job has "
                "%d replicas (one per rank: every rank computes the gradients of its rows)"
                % (needed, self.job.size))

    def _update_plan(self, update_graph):
        """apply(pushed, feed_values): runs the update part once at rank 0."""
        graph = graph_from_bytes(update_graph.graph_def.SerializeToString())
        inputs = [graph.get_tensor_by_name(name) for name in update_graph.input_names]
        input_ops = {t.op for t in inputs}
        plan = Plan(graph, [], [op for op in graph.get_operations() if op not in input_ops],
                    inputs, self.local_state, self.local_executor)
        indices = update_graph.feed_indices

        def apply(pushed, feed_values):
            return plan.run(list(pushed) + [feed_values[i] for i in indices])
        return apply

    def _refresh_list(self):
        if not self._replicas_stale:
            return None
        self._replicas_stale = False
        self.parameter_server.replicas_refreshed()
        return [(name, np.shape(v), np.asarray(v).dtype.str)
                for name, v in sorted(self.local_state.variables.items())]

    def run(self, fetch_tensors, target_ops, feed_tensors, feed_values, run_metadata=None):
        batch_mask, rows = self._batch_mask(feed_tensors, feed_values)
        compiled = self._plan_for(fetch_tensors, target_ops, feed_tensors, batch_mask)
        plan_id, runner = compiled.plan_id, compiled.runner
        step_id = next(self._step_ids)
        counts = split_counts(rows, self.job.size)
        headers = [(np.shape(v), np.asarray(v).dtype.str) for v in feed_values]
        trace = run_metadata is not None
        deadline = (self.config.operation_timeout_in_ms or 0) / 1000.0 or None
        # Only a step whose ranks combine values needs every replica equal (R fetches come
        # from rank 0); a push step reads the replicas as they are, by design.
        refresh = self._refresh_list() if compiled.combines_ranks and runner.push is None \
            else None
        for rank in range(1, self.job.size):
            self.transport.send_control(rank, ("dp_step", self.session_key, plan_id, step_id,
                                               counts, headers, trace, deadline, refresh))
        if refresh:
            refresh_replicas(self.collectives, self.local_state, refresh)
        local_feeds = distribute_feeds(self.collectives, batch_mask, headers, counts, feed_values)
        step = DataParallelStep(0, counts, self.collectives)
        step.step_id = step_id
        if runner.push is not None:
            self.parameter_server.use(
                runner.push, lambda pushed: compiled.apply_updates(pushed, feed_values))
            step.updates = self.parameter_server
            self._replicas_stale = True
        records = [] if trace else None
        local_error, results = None, None
        try:
            results = runner.run(local_feeds, step, records)
        except errors.OpError as e:
            local_error = e
        finish_step(self.job, range(1, self.job.size), local_error, records, run_metadata)
        return results

    def close(self):
        self._plans.clear()


def register_on_worker(session, graph_bytes, feed_names, batch_mask, push_message, rank):
    """Worker side of "dp_register": builds the runner; returns it and the acknowledgement."""
    push = None if push_message is None else parameter_server.PushSpec.from_message(push_message)
    try:
        runner = DataParallelRunner(graph_from_bytes(graph_bytes), session.state,
                                    session.executor, feed_names, [], batch_mask, push)
    except Exception as e:  # e.g. an op type this rank does not know
        return None, ("error", "Rank %d could not load its data-parallel plan: %s: %s"
                      % (rank, type(e).__name__, e))
    return runner, ("ok",)


def step_on_worker(job, session, runner, collectives, step_id, counts, headers, trace,
                   refresh):
    """Worker side of "dp_step": takes its feed rows, runs, returns the reply."""
    if refresh:
        refresh_replicas(collectives, session.state, refresh)
    local_feeds = distribute_feeds(collectives, runner.batch_mask, headers, counts)
    step = DataParallelStep(job.rank, counts, collectives)
    step.step_id = step_id
    if runner.push is not None:
        step.updates = parameter_server.UpdateClient(job.transport, session.state, runner.push)
    records = [] if trace else None
    try:
        runner.run(local_feeds, step, records)
    except errors.OpError as e:
        return ("error", step_id, type(e).__name__, e.message, isinstance(e, PeerFailedError))
    stats = [(job.cluster.device_name(job.rank), records)] if trace else None
    return ("ok", step_id, stats)
