"""Data parallelism with no code change: one graph on every rank, each on its batch rows.

When a script names no job, every rank runs the same (rewritten) graph on its consecutive
block of the rows of each batch feed (feeds whose first dimension is unknown, `None`).
Each tensor is given one of three states by propagating the feeds' split through the graph
with the per-op rules of the op registry (framework/sharding_rules.py), as GSPMD does:

  R  replicated: every rank holds the one-process value;
  S  split: each rank holds its rows (axis 0) of the one-process value;
  P  partial: the one-process value is the sum over ranks of the ranks' values.

Shape ops on S tensors report the global batch, and a mean over the batch divides by the
global count, so every S tensor holds exactly the rows the one-process run computes and
every P tensor sums to its one-process value: results equal the one-process run up to
float rounding. Where a rule does not know an op, its inputs are made R first (all rows
gathered, partial sums all-reduced): always correct, only slower. Gradients feeding
variable updates are all-reduced together in one fused buffer per dtype (Horovod's Tensor
Fusion); fetches of S tensors are gathered in rank order, of P tensors summed, on rank 0.
"""
from ..framework import errors, graph_io, sharding, tensor_util
from ..framework.graph_io import GraphDef
from ..framework.sharding import P, R, S, Decision
from ..ops.collective_ops import USER_COLLECTIVES
from ..runtime.executor import prune
from ..runtime.placement import CLIENT_ONLY_OPS
from . import parameter_server
from .dp_ops import COLLECTIVE_OPS

# Placeholders are batch inputs only when fed (the feeds decide); other BATCH_INPUT ops
# (the HDF5 reader) yield each rank's block of a global batch by themselves.
_FED_BATCH_INPUTS = frozenset(["Placeholder", "PlaceholderWithDefault"])


def decide(op, states, state_of=None):
    """The data-parallel decision for `op` given its inputs' states.

    The op's registry record holds its rule (framework/sharding_rules.py); this adds what
    holds for every op. `state_of(tensor)`, when given, is the state of any tensor decided
    before `op`.
    """
    if op._record.sharding == sharding.BATCH_INPUT and op.type not in _FED_BATCH_INPUTS:
        return Decision([S] * len(op.outputs), {i: R for i, s in enumerate(states) if s != R})
    if all(s == R for s in states):
        return sharding.same(op, R)
    if op.type in USER_COLLECTIVES:  # they combine the per-rank values themselves
        return sharding.same(op, R)
    return sharding.decide(op, states, state_of)


class DataParallelPlan:
    """The SPMD graph of one step signature and how to feed and fetch it."""

    def __init__(self, graph_def, feed_names, batch_feed_mask, fetch_names, states,
                 num_collectives, push=None, update_graph=None):
        # If rank 0 applies the updates alone: a parameter_server.PushSpec, and the
        # UpdateGraph rank 0 runs per update.
        self.push = push
        self.update_graph = update_graph
        self.graph_def = graph_def
        self.feed_names = feed_names
        self.batch_feed_mask = batch_feed_mask
        self.fetch_names = fetch_names
        self.states = states
        self.num_collectives = num_collectives


class UpdateGraph:
    """The update part of a step, run by rank 0 once per update.

    Its inputs (`input_names`) are the pushed tensors, then the step's feeds at
    `feed_indices` (in the step's feed order).
    """

    def __init__(self, graph_def, input_names, feed_indices):
        self.graph_def = graph_def
        self.input_names = input_names
        self.feed_indices = feed_indices


def uses_client_only_ops(ops):
    return any(op.type in CLIENT_ONLY_OPS for op in ops)


def build(graph, fetch_tensors, target_ops, feed_tensors, batch_feed_mask, seed_source,
          async_updates=False):
    """Analyzes the pruned graph and writes its SPMD GraphDef.

    Args:
      batch_feed_mask: per feed, True if it is split by rows across ranks.
      seed_source: a numpy Generator; random ops without a seed get one from it, so every
        rank draws the same numbers.
      async_updates: apply each rank's gradients alone at rank 0 (parameter_server.py).
    """
    feed_set = set(feed_tensors)
    ops = sorted(prune(fetch_tensors, target_ops, feed_set), key=lambda o: o._id)
    nodes = []
    names = {}
    states = {}
    feed_names = []
    for i, (t, is_batch) in enumerate(zip(feed_tensors, batch_feed_mask)):
        name = "_dp_feed_%d" % i
        dims = t.shape.as_tuple_or_none()
        nodes.append({"name": name, "op": "Placeholder", "input": [], "device": "",
                      "attr": {"dtype": t.dtype.name, "shape": None if dims is None else list(dims)},
                      "outputs": [[t.dtype.name, None if dims is None else list(dims)]]})
        names[t] = name + ":0"
        feed_names.append(name + ":0")
        states[t] = S if is_batch else R
    conversions = {}
    counter = [0]

    def new_name(prefix):
        counter[0] += 1
        return "%s_%d" % (prefix, counter[0])

    def converted(t, target, consumer):
        key = (t, target)
        if key in conversions:
            return conversions[key]
        source = states[t]
        if target == "local_rows":
            op_type = "_DPLocalRows"
            attrs = {"what": "%s (an input of %s)" % (t.name, consumer.name)}
        elif source == S:
            op_type, attrs = "_DPAllGatherRows", {"what": "gathering %s" % t.name}
        else:
            op_type, attrs = "_DPAllReduce", {"what": "summing %s" % t.name}
        name = new_name("_dp_convert")
        dims = t.shape.as_tuple_or_none()
        nodes.append({"name": name, "op": op_type, "input": [names[t]], "device": "",
                      "attr": attrs,
                      "outputs": [[t.dtype.name, None if dims is None else list(dims)]]})
        conversions[key] = name + ":0"
        return conversions[key]

    # Decide every op first, so fused gradient groups know the states of their members.
    decisions = {}
    batch_derived = {t: states[t] == S for t in feed_tensors}
    for op in ops:
        in_states = [states[t] for t in op.inputs]
        decision = decide(op, in_states, states.get)
        decisions[op] = decision
        derived = any(batch_derived[t] for t in op.inputs)
        for t, s in zip(op.outputs, decision.outputs):
            states[t] = s
            batch_derived[t] = derived or s != R
    updates = parameter_server.split_updates(graph, ops, batch_derived, feed_tensors,
                                             fetch_tensors, async_updates)
    if updates is not None:  # the update part runs at rank 0 alone, not in this graph
        ops = [op for op in ops if op not in updates.update_ops]
        fused = {}
    else:
        fused = _plan_gradient_fusion(ops, feed_set)
    fusion_done = set()
    for op in ops:
        group = fused.get(op)
        if group is not None and id(group) not in fusion_done:
            fusion_done.add(id(group))
            members = [t for t in group if states.get(t) == P and (t, R) not in conversions]
            if members:
                name = new_name("_dp_fused_allreduce")
                nodes.append({"name": name, "op": "_DPAllReduce",
                              "input": [names[t] for t in members], "device": "",
                              "attr": {"what": "summing %d gradients" % len(members)},
                              "outputs": [[t.dtype.name, _dims(t)] for t in members]})
                for i, t in enumerate(members):
                    conversions[(t, R)] = "%s:%d" % (name, i)
        decision = decisions[op]
        node = graph_io._node_of(op)
        inputs = []
        for i, t in enumerate(op.inputs):
            target = decision.convert.get(i)
            if i in decision.local_shape_inputs:
                inputs.append(_local_shape(t, names, nodes, new_name))
            elif target is None or (target == R and states[t] == R):
                inputs.append(names[t])
            else:
                inputs.append(converted(t, target, op))
        node["input"] = inputs + ["^" + c.name for c in op.control_inputs if c in decisions]
        if decision.rewrite == "_DPShardMean":
            node["op"] = "_DPShardMean"
            node["attr"] = {"keep_dims": op.attrs.get("keep_dims", False),
                            "output_shape": _dims(op.outputs[0])}
        elif decision.rewrite in ("_DPGlobalShape", "_DPGlobalSize"):
            node["op"] = decision.rewrite
            node["attr"] = {"out_type": op.outputs[0].dtype.name}
        elif decision.rewrite == "_DPShardReshape":
            node["op"] = "_DPShardReshape"
            node["attr"] = {}
        if "seed" in node["attr"] and "seed2" in node["attr"] and \
                node["attr"]["seed"] == 0 and node["attr"]["seed2"] == 0:
            # Every rank must draw the same numbers: give unseeded random ops one seed.
            node["attr"]["seed"], node["attr"]["seed2"] = (int(v) for v in
                                                           seed_source.integers(1, 2**31, 2))
        nodes.append(node)
        for t in op.outputs:
            names[t] = t.name
    push = update_graph = None
    if updates is not None:
        push, update_graph = _push_to_parameter_server(updates, graph, ops, states,
                                                       feed_tensors, names, nodes, new_name)
    fetch_names = []
    for t in fetch_tensors:
        state = states[t]
        if state == R:
            fetch_names.append(names[t])
            continue
        name = new_name("_dp_fetch")
        nodes.append({"name": name, "op": "_DPFetchRows" if state == S else "_DPFetchSum",
                      "input": [names[t]], "device": "", "attr": {"what": "fetching %s" % t.name},
                      "outputs": [[t.dtype.name, _dims(t)]]})
        fetch_names.append(name + ":0")
    graph_def = GraphDef(nodes, graph_attrs={"seed": graph.seed})
    num_collectives = sum(1 for n in nodes if n["op"] in COLLECTIVE_OPS)
    return DataParallelPlan(graph_def, feed_names, list(batch_feed_mask), fetch_names,
                            {t.name: s for t, s in states.items()}, num_collectives, push,
                            update_graph)


def _push_to_parameter_server(updates, graph, ops, states, feed_tensors, names, nodes,
                              new_name):
    """Ends the step with a push of `updates.pushed` to rank 0 (parameter_server.py).

    Returns the PushSpec every rank gets and the UpdateGraph rank 0 runs per update.

    Raises:
      InvalidArgumentError: in async mode, if a pushed gradient is already combined over
        every rank's rows (then there is no gradient of one rank to apply alone). Clipping
        by the global norm is fine: the norm is summed over ranks, each rank's share of the
        gradient is scaled by it and stays its own.
    """
    if updates.mode == parameter_server.ASYNC:
        combined = [t.name for t in updates.pushed if states[t] == R]
        if combined:
            raise errors.InvalidArgumentError(
                None, None, "Asynchronous updates need each rank's own gradients, but %s "
                "already combine every rank's rows (an op between the gradients and the "
                "update has no data-parallel rule for partial sums, so they were summed "
                "first): train synchronously or with SyncReplicasOptimizer"
                % ", ".join(combined))
    nodes.append({"name": new_name("_dp_push_updates"), "op": "_DPPushUpdates",
                  "input": [names[t] for t in updates.pushed], "device": "",
                  "attr": {"what": "pushing %d gradients" % len(updates.pushed)},
                  "outputs": []})
    push = parameter_server.PushSpec(
        updates.mode, updates.replicas_to_aggregate, [states[t] for t in updates.pushed],
        parameter_server.replica_variables(ops, updates.update_ops))
    graph_def, input_names = parameter_server.update_graph_def(updates, graph)
    return push, UpdateGraph(graph_def, input_names,
                             [feed_tensors.index(t) for t in updates.fed])


def _dims(t):
    dims = t.shape.as_tuple_or_none()
    return None if dims is None else list(dims)


def _local_shape(t, names, nodes, new_name):
    """This rank's shape where `t` is the global shape of an S tensor (e.g. input_sizes)."""
    source = t.op
    if source.type == "Shape" and source.inputs[0] in names:
        name = new_name("_dp_local_shape")
        nodes.append({"name": name, "op": "Shape", "input": [names[source.inputs[0]]],
                      "device": "", "attr": dict(source.attrs),
                      "outputs": [[t.dtype.name, _dims(t)]]})
        return name + ":0"
    const = tensor_util.constant_value(t)
    if const is not None:
        return names[t]
    raise ValueError("data parallel: cannot find the local shape behind %s" % t.name)


def _plan_gradient_fusion(ops, feed_set):
    """{first consumer op: [gradient tensors]} for values feeding variable updates.

    Values consumed by state-updating ops (those with a `var_name` attr) are grouped and
    all-reduced together right before the first of those ops, if all are produced by then.
    """
    updaters = [op for op in ops if op.attrs.get("var_name")]
    if not updaters:
        return {}
    first = updaters[0]
    group = []
    for op in updaters:
        for t in op.inputs:
            if t not in feed_set and t.op._id < first._id and t not in group:
                group.append(t)
    return {first: group}
