"""Variable updates at the parameter server: asynchronous training and SyncReplicasOptimizer.

In a plain data-parallel step every rank all-reduces the gradients and applies the same
update to its replica of the variables. Two modes instead send each rank's gradients to
rank 0, the parameter server, which alone runs the optimizer's update ops:

  async          each rank's gradients are applied as their own update the moment rank 0
                 takes them (in arrival order, nothing aggregated, no rank waits for
                 another); the rank then gets the variables' new values, which its next
                 step reads. A rank's gradients may thus be computed from values a few
                 updates old, as in TF1's asynchronous between-graph training. Turned on by
                 `python -m hpcflow --async` or
                 `ConfigProto(experimental=ConfigProto.Experimental(async_updates=True))`.
  sync_replicas  `tf.train.SyncReplicasOptimizer(opt, replicas_to_aggregate=R)`: rank 0
                 aggregates the first R ranks' gradients to arrive, applies them as one
                 update, drops the rest as stale (TF1's backup workers) and then sends every
                 rank the new values.

Every rank, rank 0 included, computes the gradients of its rows of the batch, which sum to
the one-process gradient; rank 0 takes the other ranks' gradients once it has its own. Applied alone, a rank's share is scaled to an estimate of the whole batch's
gradient (by batch rows / its rows), as each TF1 worker's own batch would give; aggregated,
the accepted shares are summed and scaled by batch rows / their rows. With R equal to the
number of ranks, sync_replicas therefore equals the one-process step.

The update part of the step is every op `Optimizer.apply_gradients` made, plus whatever
depends on those ops. The rest (the forward and backward pass, fetches) runs on every rank
as in a plain data-parallel step. Tensors computed from the batch that the update part
reads are the pushed tensors; other inputs of the update part (learning rate, global step,
slots) are computed by rank 0 itself, from the parameter server's values.
"""
import collections

import numpy as np

from ..framework import errors, graph_io
from ..framework.graph_io import GraphDef

ASYNC = "async"
SYNC_REPLICAS = "sync_replicas"

# Point-to-point tags of the push/pull protocol (below transport.FIRST_EDGE_TAG; each tensor
# message uses its tag and tag + 1, see Transport.send_tensor).
PUSH_TAG = 4
PUSH_DATA_TAG = 6
PULL_DATA_TAG = 8

LOG_LENGTH = 100000  # update records kept for tf.mpi.parameter_server_log()


# -- where the updates are --------------------------------------------------------------------

def record_update_ops(graph, first_op_id, spec=None):
    """Marks the ops created since `first_op_id` as one optimizer's update part.

    Called by Optimizer.apply_gradients. `spec` is None, or {"replicas_to_aggregate": R,
    "total_num_replicas": T} for a SyncReplicasOptimizer.
    """
    graph._parameter_update_ranges.append((first_op_id, len(graph._ops), spec))


def mark_sync_replicas(graph, first_op_id, spec):
    """Gives the update parts recorded since `first_op_id` a SyncReplicasOptimizer spec."""
    ranges = update_ranges(graph)
    for i, (start, end, _) in enumerate(ranges):
        if start >= first_op_id:
            ranges[i] = (start, end, spec)


def update_ranges(graph):
    return graph._parameter_update_ranges


def sync_replicas_spec(ops, graph):
    """The SyncReplicasOptimizer spec of the updates among `ops`, or None."""
    ids = {op._id for op in ops}
    for start, end, spec in update_ranges(graph):
        if spec is not None and any(start <= i < end for i in ids):
            return spec
    return None


class UpdateSplit:
    """How a step divides into the part every rank runs and the part rank 0 applies.

    Attributes:
      mode: ASYNC or SYNC_REPLICAS.
      replicas_to_aggregate: R of SYNC_REPLICAS (None for ASYNC).
      update_ops: the ops rank 0 runs per update.
      pushed: tensors every rank computes and sends to rank 0, in a fixed order.
      fed: fed tensors the update part reads (a learning rate fed each step, say): rank 0
        feeds them from the step's feeds.
      recomputed: ops outside the update part whose values rank 0 computes itself (learning
        rate schedules, slots, the global step).
    """

    def __init__(self, mode, replicas_to_aggregate, update_ops, pushed, fed, recomputed):
        self.mode = mode
        self.replicas_to_aggregate = replicas_to_aggregate
        self.update_ops = update_ops
        self.pushed = pushed
        self.fed = fed
        self.recomputed = recomputed


def split_updates(graph, ops, batch_derived, feed_tensors, fetch_tensors, async_updates):
    """The UpdateSplit of the pruned step `ops` (sorted by creation), or None.

    None means a plain data-parallel step: no optimizer update reads a value computed from
    the batch (an initializer, an evaluation), or neither mode is on.

    Raises:
      InvalidArgumentError: if a fetch is computed by the update part.
    """
    spec = sync_replicas_spec(ops, graph)
    if spec is None and not async_updates:
        return None
    ranges = [(start, end) for start, end, _ in update_ranges(graph)]
    update = set()
    for op in ops:  # creation order: inputs come before their consumers
        if any(start <= op._id < end for start, end in ranges) or \
                any(t.op in update for t in op.inputs) or \
                any(c in update for c in op.control_inputs):
            update.add(op)
    pushed = []
    for op in ops:
        if op not in update:
            continue
        for t in op.inputs:
            if t.op not in update and batch_derived[t] and t not in pushed:
                pushed.append(t)
    if not pushed:
        return None
    for t in fetch_tensors:
        if t.op in update:
            raise errors.InvalidArgumentError(
                None, None, "Cannot fetch %s in a step whose variable updates run on the "
                "parameter server (%s mode): fetch it in a separate Session.run"
                % (t.name, "sync_replicas" if spec else "async"))
    recomputed, fed = _recomputed_inputs(update, pushed, feed_tensors)
    mode = SYNC_REPLICAS if spec is not None else ASYNC
    replicas = spec["replicas_to_aggregate"] if spec is not None else None
    return UpdateSplit(mode, replicas, update, pushed, fed, recomputed)


def _recomputed_inputs(update, pushed, feed_tensors):
    """(ops outside the update part that it reads, fed tensors it reads), not counting what
    arrives through pushed tensors."""
    needed, fed = set(), []
    stop = set(pushed)
    feed_set = set(feed_tensors)
    stack = [t for op in update for t in op.inputs if t.op not in update]
    while stack:
        t = stack.pop()
        if t in stop:
            continue
        if t in feed_set:
            fed.append(t)
            stop.add(t)
            continue
        if t.op not in needed:
            needed.add(t.op)
            stack.extend(t.op.inputs)
    return needed, [t for t in feed_tensors if t in fed]  # in the feeds' order


def update_graph_def(split, graph):
    """The GraphDef rank 0 runs per update, and the names of its placeholders in feed order.

    Pushed tensors, then fed tensors, become placeholders. Control edges from the update
    part into the rest are dropped: every rank has run the rest of the step before it
    pushes.
    """
    names, nodes = {}, []
    for i, t in enumerate(split.pushed + split.fed):
        name = "_ps_input_%d" % i
        names[t] = name + ":0"
        dims = t.shape.as_tuple_or_none()
        if dims and i < len(split.pushed):
            dims = [None] + list(dims[1:])  # a rank's rows, or several ranks' rows
        dims = None if dims is None else list(dims)
        nodes.append({"name": name, "op": "Placeholder", "input": [], "device": "",
                      "attr": {"dtype": t.dtype.name, "shape": dims},
                      "outputs": [[t.dtype.name, dims]]})
    kept = split.update_ops | split.recomputed
    for op in sorted(kept, key=lambda o: o._id):
        node = graph_io._node_of(op)
        node["input"] = [names.get(t, t.name) for t in op.inputs] + \
            ["^" + c.name for c in op.control_inputs if c in kept]
        nodes.append(node)
    return GraphDef(nodes, graph_attrs={"seed": graph.seed}), [names[t] for t in
                                                                 split.pushed + split.fed]


def replica_variables(compute_ops, update_ops):
    """Names of the variables the update part writes that every rank's step reads."""
    written = {op.attrs.get("var_name") for op in update_ops} - {None}
    return sorted(op.name for op in compute_ops if op.type == "VariableV2" and op.name in written)


# -- the protocol ------------------------------------------------------------------------------

class PushSpec:
    """What every rank knows of a push step: the pushed tensors' states and the replies."""

    def __init__(self, mode, replicas_to_aggregate, states, reply_variables):
        self.mode = mode
        self.replicas_to_aggregate = replicas_to_aggregate
        self.states = list(states)  # per pushed tensor: "P", "S" or "R"
        self.reply_variables = list(reply_variables)

    def as_message(self):
        return (self.mode, self.replicas_to_aggregate, self.states, self.reply_variables)

    @classmethod
    def from_message(cls, message):
        return cls(*message)


class UpdateClient:
    """A worker rank's side: send its gradients, then install the values rank 0 sends back."""

    def __init__(self, transport, state, spec):
        self.transport = transport
        self.state = state
        self.spec = spec

    def push(self, step, arrays):
        transport = self.transport
        failed = bool(step.failed)
        transport.send_control(0, (step.step_id, failed, step.local_rows, len(arrays)),
                               tag=PUSH_TAG)
        if not failed:
            for a in arrays:
                transport.send_tensor(np.asarray(a), 0, PUSH_DATA_TAG)
        for name in self.spec.reply_variables:
            value = transport.recv_tensor(0, PULL_DATA_TAG,
                                          "the new value of %s from the parameter server" % name)
            self.state.write_variable(name, value)
        transport.flush()  # rank 0 has taken the gradients: it answered


class _Push:
    __slots__ = ("rank", "rows", "arrays", "read_version")

    def __init__(self, rank, rows, arrays, read_version):
        self.rank = rank
        self.rows = rows
        self.arrays = arrays
        self.read_version = read_version


class ParameterServer:
    """Rank 0's side, one per session: takes every rank's push of a step, applies the
    updates and answers each rank with the new values.

    Before each push step the runtime calls `use(spec, apply)`: `apply(arrays)` runs the
    step's update part once with the pushed tensors' values.
    """

    def __init__(self, transport, state):
        self.transport = transport
        self.state = state
        self.spec = None
        self.apply = None
        self.log = collections.deque(maxlen=LOG_LENGTH)
        self.version = 0  # updates applied so far in this session
        # The version of the variables each rank's replica holds: read_versions[rank] once
        # the rank got an answer, else the version of the last refresh of every replica.
        self.read_versions = {}
        self.refreshed_version = 0
        self._error = None
        self._snapshot_key, self._snapshot = None, []

    def use(self, spec, apply):
        self.spec = spec
        self.apply = apply

    def replicas_refreshed(self):
        """Every rank's replica now holds rank 0's values."""
        self.read_versions.clear()
        self.refreshed_version = self.version

    def _read_version(self, rank):
        return self.read_versions.get(rank, self.refreshed_version)

    def push(self, step, own_arrays):
        """Takes rank 0's own gradients and every other rank's push of this step, applies
        the updates and answers every rank."""
        step_id = step.step_id
        size = len(step.counts)
        self._snapshot_key = None  # other steps may have changed the variables since
        # Rank 0 computed its gradients from the parameter server's own current values.
        own = None if step.failed else _Push(0, step.local_rows, own_arrays, self.version)
        waiting = set(range(1, size))
        aggregate = _Aggregation(self, step, step_id) if self.spec.mode == SYNC_REPLICAS else None
        own_taken = False
        while waiting or not own_taken:
            source = self._arrived(waiting)  # pushes already here came before rank 0's own
            if source is None and not own_taken:
                own_taken, source, push = True, 0, own
            else:
                if source is None:
                    source = self._wait(waiting)
                waiting.discard(source)
                push = self._receive(source, step_id)
            if aggregate is not None:
                aggregate.add(source, push)
            else:
                if push is not None and push.rows > 0:
                    self._apply_alone(step, step_id, push)
                self._reply(source)
        if aggregate is not None:
            aggregate.finish()
        self.transport.flush()  # every rank waits for its answer: these sends complete
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _applying(self, step, arrays, pushes, step_id):
        # An update that fails must not stop the replies: the other ranks wait for them.
        if step.failed or self._error is not None:
            return
        try:
            self.apply(arrays)
        except errors.OpError as e:
            self._error = e
            return
        self._record(step_id, pushes)

    # -- receiving ---

    def _arrived(self, waiting):
        from mpi4py import MPI
        status = MPI.Status()
        if waiting and self.transport.comm.Iprobe(source=MPI.ANY_SOURCE, tag=PUSH_TAG,
                                                  status=status):
            return status.Get_source()
        return None

    def _wait(self, waiting):
        return self.transport.wait_any(PUSH_TAG, "the gradients of ranks %s"
                                       % ", ".join(map(str, sorted(waiting))))

    def _receive(self, source, step_id):
        what = "gradients from rank %d" % source
        while True:
            pushed_step, failed, rows, count = self.transport.recv_control(source, PUSH_TAG)
            arrays = [self.transport.recv_tensor(source, PUSH_DATA_TAG, what)
                      for _ in range(0 if failed else count)]
            if pushed_step == step_id:
                break
            # A push of a step rank 0 gave up on (its operation timeout expired first): the
            # rank pushes this step's gradients next.
        return None if failed else _Push(source, rows, arrays, self._read_version(source))

    # -- updating ---

    def _apply_alone(self, step, step_id, push):
        scale = step.global_rows / push.rows
        self._applying(step, [_scaled(a, state, scale)
                              for a, state in zip(push.arrays, self.spec.states)], [push], step_id)

    def apply_aggregate(self, step, step_id, pushes):
        rows = sum(p.rows for p in pushes)
        if rows == 0:
            return
        scale = step.global_rows / rows
        combined = []
        for i, state in enumerate(self.spec.states):
            parts = [p.arrays[i] for p in pushes]
            if state == "P":
                value = parts[0].copy() if len(parts) == 1 else np.sum(parts, axis=0)
            elif state == "S":
                value = np.concatenate(parts)
            else:  # the same on every rank (all-reduced before the push)
                value = parts[0]
            combined.append(_scaled(value, state, scale))
        self._applying(step, combined, pushes, step_id)

    def _record(self, step_id, pushes):
        self.version += 1
        for p in pushes:
            self.log.append({"step": step_id, "rank": p.rank, "rows": p.rows,
                             "read_version": p.read_version, "version": self.version,
                             "mode": self.spec.mode})

    def _reply(self, rank):
        self.read_versions[rank] = self.version
        if rank == 0:
            return  # rank 0's replica is the parameter server's values
        for value in self._reply_values():
            self.transport.send_tensor(value, rank, PULL_DATA_TAG)

    def _reply_values(self):
        """Copies of the replied variables at the current version, made once per version
        (every rank answered after one sync_replicas update gets the same arrays). Copies,
        because the next update changes the variables in place while the sends run."""
        key = (self.version, tuple(self.spec.reply_variables))
        if self._snapshot_key != key:
            self._snapshot = [np.array(self.state.read_variable(name), copy=True)
                              for name in self.spec.reply_variables]
            self._snapshot_key = key
        return self._snapshot


class _Aggregation:
    """One sync_replicas step at rank 0: the first R pushes count, the rest are dropped."""

    def __init__(self, server, step, step_id):
        self.server = server
        self.step = step
        self.step_id = step_id
        self.needed = server.spec.replicas_to_aggregate
        self.accepted = []
        self.held = []  # ranks waiting for the update's values
        self.applied = False

    def add(self, rank, push):
        if self.applied:
            if push is not None:
                self._dropped(push)
            self.server._reply(rank)
            return
        if push is not None and not self.step.failed:
            self.accepted.append(push)
        self.held.append(rank)
        if len(self.accepted) == self.needed:
            self.server.apply_aggregate(self.step, self.step_id, self.accepted)
            self.applied = True
            for r in self.held:
                self.server._reply(r)
            self.held = []

    def _dropped(self, push):
        self.server.log.append({"step": self.step_id, "rank": push.rank, "rows": push.rows,
                                "read_version": push.read_version, "version": None,
                                "mode": SYNC_REPLICAS})

    def finish(self):
        # Fewer than R ranks succeeded: no update this step (the step reports the failure).
        for r in self.held:
            self.server._reply(r)


def _scaled(value, state, scale):
    value = np.asarray(value)
    if state == "R" or scale == 1 or not np.issubdtype(value.dtype, np.inexact):
        return value
    return (value * np.asarray(scale, dtype=value.dtype)).astype(value.dtype, copy=False)

