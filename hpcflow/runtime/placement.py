"""Placement: which rank runs each op of a pruned graph.

1. Explicit device scopes (`/job:ps/task:0`, `/job:worker/task:2`) decide first; a device
   the job does not have is an error, or with `allow_soft_placement` falls back to the
   cost model (with a logged notice).
2. Stateful ops follow their state: ops that update variable `v` (attr `var_name`) go where
   `v` lives, ops on a queue or other handle go where the handle was made, feeds and
   Python-function ops stay on rank 0 (the client). Variables with no device live on the
   first parameter server.
3. Every other op is placed by a greedy simulated execution over the cost model (seed 002):
   in topological order, the op goes to whichever rank among its inputs' ranks would finish
   it first, counting transfer time for inputs that live elsewhere. Ops without inputs
   (constants, random sources) follow their first consumer.
"""
import sys

from ..framework import dtypes, errors
from . import cost_model

# Ops whose kernels exist only in the client process (they call back into Python code).
CLIENT_ONLY_OPS = frozenset(["PyFunc", "PyFuncStateless", "EagerPyFunc", "Print", "PrintV2"])
VARIABLE_OPS = frozenset(["VariableV2", "Variable", "VarHandleOp"])


def _explicit_rank(op, cluster, allow_soft_placement):
    if not op.device:
        return None
    try:
        return cluster.rank_of(op.device)
    except ValueError as e:
        if allow_soft_placement:
            print("hpcflow: soft placement: %s (op %s) is placed by the cost model instead"
                  % (e, op.name), file=sys.stderr)
            return None
        raise errors.InvalidArgumentError(
            None, op, "Cannot assign a device for operation %s: %s. Set allow_soft_placement="
            "True in ConfigProto to place it elsewhere." % (op.name, e)) from None


def _state_owner(op):
    """The op whose state `op` works on (a variable or a handle), or None."""
    var_name = op.attrs.get("var_name")
    if var_name:
        try:
            return op.graph.get_operation_by_name(var_name)
        except KeyError:
            return None
    for t in op.inputs:
        if t.dtype == dtypes.variant and t.op._record.stateful:
            return t.op
    return None


def place(ops, feed_tensors, cluster, allow_soft_placement=False):
    """{op: rank} for every op in `ops` (a pruned graph); feeds come from rank 0.

    Raises:
      InvalidArgumentError: if an op names a device the job lacks (without soft placement).
    """
    ordered = sorted(ops, key=lambda op: op._id)
    placement = {}
    for op in ordered:
        rank = _explicit_rank(op, cluster, allow_soft_placement)
        if rank is None and op.type in VARIABLE_OPS:
            rank = cluster.ps_ranks[0]
        if rank is None and (op.type in CLIENT_ONLY_OPS or op.type == "Placeholder"):
            rank = 0
        if rank is not None:
            placement[op] = rank
    # State followers: after variables are placed, their updaters join them.
    for op in ordered:
        if op in placement and not op.attrs.get("var_name"):
            continue
        owner = _state_owner(op)
        if owner is not None:
            if owner not in placement:
                placement[owner] = _explicit_rank(owner, cluster, allow_soft_placement) or \
                    cluster.ps_ranks[0]
            placement[op] = placement[owner]

    # Greedy simulated execution for the rest.
    feed_set = set(feed_tensors)
    device_free = {}
    ready = {}  # tensor -> (rank, time it is available there)
    deferred = []
    for op in ordered:
        input_info = []
        for t in op.inputs:
            if t in feed_set:
                input_info.append((t, 0, 0.0))
            elif t in ready:
                input_info.append((t,) + ready[t])
        rank = placement.get(op)
        if rank is None:
            if not input_info:
                deferred.append(op)
                continue
            candidates = []
            for _, r, _ in input_info:
                if r not in candidates:
                    candidates.append(r)
            best = None
            for c in candidates:
                start = device_free.get(c, 0.0)
                for t, r, when in input_info:
                    arrival = when + (0.0 if r == c else
                                      cost_model.transfer_seconds(cost_model.tensor_bytes(t)))
                    start = max(start, arrival)
                finish = start + cost_model.compute_seconds(op)
                if best is None or finish < best[0]:
                    best = (finish, c)
            rank = best[1]
            placement[op] = rank
        start = device_free.get(rank, 0.0)
        for t, r, when in input_info:
            arrival = when + (0.0 if r == rank else
                              cost_model.transfer_seconds(cost_model.tensor_bytes(t)))
            start = max(start, arrival)
        finish = start + cost_model.compute_seconds(op)
        device_free[rank] = finish
        for t in op.outputs:
            ready[t] = (rank, finish)
    # Input-less ops follow their first placed consumer (cheap to make anywhere).
    op_set = set(ops)
    for op in reversed(deferred):
        consumer_ranks = [placement[c] for t in op.outputs for c in t._consumers
                          if c in op_set and c in placement]
        placement[op] = consumer_ranks[0] if consumer_ranks else 0
    return placement
