"""Data parallelism with no code change: one graph on every rank, each on its batch rows.

When a script names no job, every rank runs the same (rewritten) graph on its consecutive
block of the rows of each batch feed (feeds whose first dimension is unknown, `None`).
Each tensor is given one of three states by propagating the feeds' split through the graph
with per-op rules (as GSPMD does):

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
import numpy as np

from ..framework import errors, graph_io, sharding, tensor_util
from ..framework.graph_io import GraphDef
from ..ops.collective_ops import USER_COLLECTIVES
from ..runtime.executor import prune
from ..runtime.placement import CLIENT_ONLY_OPS
from . import parameter_server

R, S, P = "R", "S", "P"

# Ops that pass their first input's state through unchanged (linear, row-preserving).
_PASS_THROUGH = frozenset(["Identity", "StopGradient", "Cast", "Neg", "PlaceholderWithDefault",
                           "CheckNumerics", "EnsureShape"])
_LINEAR_ADD = frozenset(["Add", "AddV2", "Sub", "AddN"])
_SCALE = frozenset(["Mul"])
_DIVIDE = frozenset(["RealDiv", "Div", "TrueDiv"])
# Reductions whose result over the batch axis is a partial sum.
_SUM_REDUCTIONS = frozenset(["Sum"])
_ORDER_REDUCTIONS = frozenset(["Max", "Min", "Prod", "All", "Any", "ArgMax", "ArgMin",
                               "LogSumExp", "Cumsum", "Cumprod"])
# Ops contracting their S inputs over the batch: the result is a partial sum.
_BATCH_CONTRACTIONS = {"BiasAddGrad": (0,), "Conv2DBackpropFilter": (0, 2), "L2Loss": (0,)}
# Row-wise ops whose listed inputs are row-aligned with the batch (others used whole).
_ROW_ALIGNED = {
    "Softmax": (0,), "LogSoftmax": (0,), "BiasAdd": (0,), "Conv2D": (0,), "MaxPool": (0,),
    "AvgPool": (0,), "MaxPoolGrad": (0, 1, 2), "SoftmaxCrossEntropyWithLogits": (0, 1),
    "SparseSoftmaxCrossEntropyWithLogits": (0, 1), "OneHot": (0,), "InTopKV2": (0, 1),
    "TopKV2": (0,), "GatherLastAxis": (0, 1), "ScatterLastAxis": (0, 1),
}
# Ops taking the output's shape as an input, which on a rank must be its local shape.
_LOCAL_SHAPE_INPUT = {"Conv2DBackpropInput": (0, 2), "AvgPoolGrad": (0, 1)}


class Decision:
    """What an op does in a data-parallel step: input conversions, output states, rewrite."""

    __slots__ = ("outputs", "convert", "rewrite", "local_shape_inputs")

    def __init__(self, outputs, convert=None, rewrite=None, local_shape_inputs=()):
        self.outputs = outputs
        self.convert = convert or {}
        self.rewrite = rewrite
        self.local_shape_inputs = local_shape_inputs


def _all_r(op, states):
    return Decision([R] * len(op.outputs), {i: R for i, s in enumerate(states) if s != R})


def _same(op, state):
    return Decision([state] * len(op.outputs))


def _const_ints(t):
    value = tensor_util.constant_value(t)
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def _rank(t):
    return t.shape.ndims


def _batch_independent(t, out_rank):
    """True if R tensor `t` broadcasts against the batch axis rather than aligning with it."""
    r = _rank(t)
    if r is None or out_rank is None:
        return False
    return r < out_rank or t.shape[0] == 1


def _elementwise(op, states):
    if S not in states:  # partial sums meeting replicated values: sum first, stay replicated
        return _all_r(op, states)
    out_rank = op.outputs[0].shape.ndims if op.outputs else None
    convert = {}
    for i, (t, s) in enumerate(zip(op.inputs, states)):
        if s == P:
            convert[i] = R
        elif s == R and not _batch_independent(t, out_rank):
            convert[i] = "local_rows"
    return Decision([S] * len(op.outputs), convert)


def _axes(op, input_index=1):
    x = op.inputs[0]
    axes = _const_ints(op.inputs[input_index]) if len(op.inputs) > input_index else None
    rank = _rank(x)
    if axes is None or rank is None:
        return None
    return [a % rank if rank else a for a in axes]


# Placeholders are batch inputs only when fed (the feeds decide); other BATCH_INPUT ops
# (the HDF5 reader) yield each rank's block of a global batch by themselves.
_FED_BATCH_INPUTS = frozenset(["Placeholder", "PlaceholderWithDefault"])


def _sums_only_within_rows(op, state_of):
    """True if Sum `op` reduces its S input by axes that never include the batch axis.

    Gradients of broadcasting binary ops (Sub, Mul, ...) sum by the axes a
    BroadcastGradientArgs op computes at run time. When both of its shapes are those of S
    tensors of the gradient's rank, both have the global batch as axis 0, so axis 0 is
    never among the axes.
    """
    axes_op = op.inputs[1].op
    if state_of is None or axes_op.type != "BroadcastGradientArgs":
        return False
    rank = _rank(op.inputs[0])
    return rank is not None and all(
        s.op.type == "Shape" and state_of(s.op.inputs[0]) == S and
        _rank(s.op.inputs[0]) == rank for s in axes_op.inputs)


def decide(op, states, state_of=None):
    """The data-parallel decision for `op` given its inputs' states.

    `state_of(tensor)`, when given, is the state of any tensor decided before `op`.
    """
    if op._record.sharding == sharding.BATCH_INPUT and op.type not in _FED_BATCH_INPUTS:
        return Decision([S] * len(op.outputs), {i: R for i, s in enumerate(states) if s != R})
    if all(s == R for s in states):
        return _same(op, R)
    t = op.type
    if t in USER_COLLECTIVES:  # they combine the per-rank values themselves
        return _same(op, R)
    if t in _PASS_THROUGH:
        return Decision([states[0]] * len(op.outputs),
                        {i: R for i, s in enumerate(states[1:], 1) if s != R})
    if t in _LINEAR_ADD and all(s == P for s in states):
        return _same(op, P)
    if t in _SCALE and states.count(P) == 1 and all(
            s == P or (s == R and _batch_independent(x, _rank(op.outputs[0])))
            for x, s in zip(op.inputs, states)):
        return _same(op, P)
    if t in _DIVIDE and states[0] == P and states[1] == R and \
            _batch_independent(op.inputs[1], _rank(op.outputs[0])):
        return _same(op, P)
    if t in ("Shape", "Size") and states[0] == S:
        return Decision([R], rewrite="_DPGlobalShape" if t == "Shape" else "_DPGlobalSize")
    if t == "Rank":
        return _same(op, R)
    if t in ("ZerosLike", "OnesLike"):
        return _same(op, S if states[0] == S else R)
    if t in ("Sum", "Mean") and states[0] in (S, P) and states[1] == R:
        axes = _axes(op)
        if states[0] == P:
            return _same(op, P)
        if axes is None and t == "Sum" and _sums_only_within_rows(op, state_of):
            return Decision([S])
        if axes is None:
            return _all_r(op, states)
        if 0 in axes:
            if t == "Sum":
                return Decision([P])
            return Decision([P], rewrite="_DPShardMean")
        return Decision([S])
    if t in _ORDER_REDUCTIONS and states[0] == S and all(s == R for s in states[1:]):
        axes = _axes(op)
        if axes is not None and 0 not in axes:
            return Decision([S] * len(op.outputs))
        return _all_r(op, states)
    if t == "MatMul":
        transpose_a = op.get_attr("transpose_a")
        transpose_b = op.get_attr("transpose_b")
        a, b = states
        if a == S and b == R and not transpose_a:
            return Decision([S])
        if a == S and b == S and transpose_a and not transpose_b:
            return Decision([P])
        if a == P and b == R:
            return Decision([P])
        if a == R and b == P:
            return Decision([P])
        return _all_r(op, states)
    if t in _BATCH_CONTRACTIONS:
        aligned = _BATCH_CONTRACTIONS[t]
        if all((states[i] == S) == (i in aligned) for i in range(len(states))):
            return Decision([P] * len(op.outputs))
        return _all_r(op, states)
    if t in _LOCAL_SHAPE_INPUT:
        shape_input, grad_input = _LOCAL_SHAPE_INPUT[t]
        if states[grad_input] == S and all(s == R for i, s in enumerate(states)
                                            if i != grad_input):
            return Decision([S], local_shape_inputs=(shape_input,))
        return _all_r(op, states)
    if t == "Reshape" and states[0] in (S, P):
        if states[0] == P:
            return Decision([P], {1: R} if states[1] != R else None)
        if _reshape_keeps_rows(op):
            return Decision([S], rewrite="_DPShardReshape")
        return _all_r(op, states)
    if t in ("ExpandDims", "Squeeze", "Transpose", "Tile") and states[0] in (S, P):
        if states[0] == P and t != "Tile":
            return Decision([P])
        if _keeps_batch_axis(op):
            return Decision([S])
        return _all_r(op, states)
    if t in ("ConcatV2", "Pack") and any(s == S for s in states):
        axis = op.get_attr("axis") if t == "Pack" else (_const_ints(op.inputs[-1]) or [None])[0]
        n_values = len(op.inputs) if t == "Pack" else len(op.inputs) - 1
        if axis is not None and axis != 0 and (t == "Pack" or axis > 0 or axis < -1) and \
                all(s in (S, R) for s in states[:n_values]):
            convert = {i: "local_rows" for i, s in enumerate(states[:n_values]) if s == R}
            return Decision([S], convert)
        return _all_r(op, states)
    if t == "StridedSlice" and states[0] == S and all(s == R for s in states[1:]):
        if _strided_slice_keeps_rows(op):
            return Decision([S])
        return _all_r(op, states)
    if t == "GatherV2" and states[0] == R and states[1] == S and _const_ints(op.inputs[2]) == [0]:
        return Decision([S])
    if t in ("Select", "SelectV2", "Where") and len(op.inputs) == 3:
        return _elementwise(op, states)
    if t in _ROW_ALIGNED:
        aligned = _ROW_ALIGNED[t]
        # A rank-1 input has no row structure: its one axis is the batch (softmax of a vector).
        rows_ok = t == "OneHot" or (_rank(op.inputs[0]) or 0) >= 2
        if rows_ok and states[0] == S and all(s == R for i, s in enumerate(states)
                                              if i not in aligned):
            convert = {i: "local_rows" for i in aligned if i < len(states) and states[i] == R}
            convert.update({i: R for i in aligned if i < len(states) and states[i] == P})
            return Decision([S] * len(op.outputs), convert)
        return _all_r(op, states)
    rule = op._record.sharding
    if rule == sharding.ELEMENTWISE and op.outputs:
        return _elementwise(op, states)
    return _all_r(op, states)


def _keeps_batch_axis(op):
    t = op.type
    if t == "ExpandDims":
        axis = _const_ints(op.inputs[1])
        rank = _rank(op.inputs[0])
        return axis is not None and rank is not None and axis[0] % (rank + 1) != 0
    if t == "Squeeze":
        dims = op.get_attr("squeeze_dims")
        rank = _rank(op.inputs[0])
        return bool(dims) and rank is not None and all(d % rank != 0 for d in dims)
    if t == "Transpose":
        perm = _const_ints(op.inputs[1])
        return perm is not None and perm[0] == 0
    if t == "Tile":
        multiples = _const_ints(op.inputs[1])
        return multiples is not None and multiples[0] == 1
    return False


def _reshape_keeps_rows(op):
    """True if the reshape keeps axis 0 as the batch: same trailing element count."""
    x, shape = op.inputs
    if shape.op.type == "Shape" and x.op.type == "Sum" and \
            x.op.inputs[1].op.type == "BroadcastGradientArgs":
        # reshape(reduce_sum(grad, rx), shape(x)) in broadcasting ops' gradients: the sum
        # kept the rows (see _sums_only_within_rows), the reshape restores x's row shape.
        return True
    x_dims = x.shape.as_tuple_or_none()
    if x_dims is None or any(d is None for d in x_dims[1:]):
        return False
    row = int(np.prod(x_dims[1:], dtype=np.int64))
    target = _const_ints(shape)
    if target is None and shape.op.type == "Shape":  # reshape(grad, shape(x)) in gradients
        target_dims = shape.op.inputs[0].shape.as_tuple_or_none()
        if target_dims is None or any(d is None for d in target_dims[1:]):
            return False
        return int(np.prod(target_dims[1:], dtype=np.int64)) == row
    if not target or target[0] != -1 or any(d < 0 for d in target[1:]):
        return False
    return int(np.prod(target[1:], dtype=np.int64)) == row


def _strided_slice_keeps_rows(op):
    attrs = op.attrs
    begin_mask, end_mask = attrs.get("begin_mask", 0), attrs.get("end_mask", 0)
    if attrs.get("ellipsis_mask", 0) & 1 or attrs.get("new_axis_mask", 0) & 1 or \
            attrs.get("shrink_axis_mask", 0) & 1:
        return False
    strides = _const_ints(op.inputs[3])
    return bool(begin_mask & 1) and bool(end_mask & 1) and strides is not None and strides[0] == 1


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
    if updates is not None and updates.mode == parameter_server.ASYNC:
        combined = [t.name for t in updates.pushed if states[t] == R]
        if combined:
            raise errors.InvalidArgumentError(
                None, None, "Asynchronous updates need each rank's own gradients, but %s "
                "already combine every rank's rows (an op before the update needs the whole "
                "batch, e.g. clip_by_global_norm): train synchronously or with "
                "SyncReplicasOptimizer" % ", ".join(combined))
    if updates is not None:
        nodes.append({"name": new_name("_dp_push_updates"), "op": "_DPPushUpdates",
                      "input": [names[t] for t in updates.pushed], "device": "",
                      "attr": {"what": "pushing %d gradients" % len(updates.pushed)},
                      "outputs": []})
        push = parameter_server.PushSpec(
            updates.mode, updates.replicas_to_aggregate, [states[t] for t in updates.pushed],
            parameter_server.replica_variables(ops, updates.update_ops))
        graph_def, input_names = parameter_server.update_graph_def(updates, graph)
        update_graph = UpdateGraph(graph_def, input_names,
                                   [feed_tensors.index(t) for t in updates.fed])
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
    num_collectives = sum(1 for n in nodes if n["op"] in ("_DPAllReduce", "_DPAllGatherRows",
                                                          "_DPFetchRows", "_DPFetchSum"))
    return DataParallelPlan(graph_def, feed_names, list(batch_feed_mask), fetch_names,
                            {t.name: s for t, s in states.items()}, num_collectives, push,
                            update_graph)


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
