"""Partitioning: one sub-graph per rank, every cut edge replaced by a _Send/_Recv pair.

The master prunes the client graph to a step's fetches, places it (runtime/placement.py),
then writes each rank's partition as a GraphDef. Nodes are emitted in the global creation
order of the ops they come from, a send right after its producer and a receive at the same
position, and every rank runs its partition in exactly that order (Plan with
`creation_order=True`). Sends never block (they complete at the end of the step), so no
rank can wait on a message another rank has not yet been able to send.

Feeds enter on rank 0 (the client) as placeholders and travel to their consumers like any
other cut edge; fetches living on other ranks travel back to rank 0 the same way.
"""
from ..framework import graph_io
from ..framework.graph_io import GraphDef
from ..runtime.executor import prune
from ..runtime.placement import place


class PartitionPlan:
    """The partitions of one (fetches, feeds, targets) signature.

    Attributes:
      graph_defs: {rank: GraphDef} for every rank that has work.
      feed_names: names of rank 0's feed placeholders, aligned with the feeds.
      fetch_names: names of the tensors rank 0 fetches, aligned with the fetches.
      placement: {op: rank}.
    """

    def __init__(self, graph_defs, feed_names, fetch_names, placement):
        self.graph_defs = graph_defs
        self.feed_names = feed_names
        self.fetch_names = fetch_names
        self.placement = placement

    @property
    def ranks(self):
        return sorted(self.graph_defs)


def _dims(shape):
    dims = shape.as_tuple_or_none()
    return None if dims is None else list(dims)


def partition(graph, fetch_tensors, target_ops, feed_tensors, cluster, tag_for_edge,
              allow_soft_placement=False):
    """Splits the pruned graph into per-rank GraphDefs.

    Args:
      tag_for_edge: function(edge index) -> MPI tag of that edge (unique within the plan).

    Returns:
      A PartitionPlan.
    """
    feed_set = set(feed_tensors)
    ops = prune(fetch_tensors, target_ops, feed_set)
    placement = place(ops, feed_tensors, cluster, allow_soft_placement)
    nodes = {0: []}
    edges = {}  # (tensor or control op, destination rank) -> name of its receive node

    feed_names = []
    for i, t in enumerate(feed_tensors):
        name = "_feed_%d" % i
        feed_names.append(name + ":0")
        nodes[0].append({"name": name, "op": "Placeholder", "input": [], "device": "",
                         "attr": {"dtype": t.dtype.name, "shape": _dims(t.shape)},
                         "outputs": [[t.dtype.name, _dims(t.shape)]]})
    local_name = {t: feed_names[i] for i, t in enumerate(feed_tensors)}

    def source_of(t):
        return 0 if t in feed_set else placement[t.op]

    def name_on(t, rank):
        """The name of tensor t's value on `rank`, adding a send/receive pair if needed."""
        src = source_of(t)
        if src == rank:
            return local_name.get(t, t.name)
        key = (t, rank)
        if key not in edges:
            index = len(edges)
            tag = tag_for_edge(index)
            recv = "_recv_%d" % index
            nodes.setdefault(src, []).append({
                "name": "_send_%d" % index, "op": "_Send", "input": [local_name.get(t, t.name)],
                "device": "", "attr": {"peer": rank, "tag": tag, "edge": t.name},
                "outputs": []})
            nodes.setdefault(rank, []).append({
                "name": recv, "op": "_Recv", "input": [], "device": "",
                "attr": {"peer": src, "tag": tag, "edge": t.name, "dtype": t.dtype.name,
                         "shape": _dims(t.shape)},
                "outputs": [[t.dtype.name, _dims(t.shape)]]})
            edges[key] = recv + ":0"
        return edges[key]

    def control_on(c, rank):
        src = placement[c]
        if src == rank:
            return "^" + c.name
        key = (c, rank)
        if key not in edges:
            index = len(edges)
            tag = tag_for_edge(index)
            nodes.setdefault(src, []).append({
                "name": "_send_%d" % index, "op": "_Send", "input": ["^" + c.name], "device": "",
                "attr": {"peer": rank, "tag": tag, "edge": "^" + c.name}, "outputs": []})
            nodes.setdefault(rank, []).append({
                "name": "_recv_%d" % index, "op": "_Recv", "input": [], "device": "",
                "attr": {"peer": src, "tag": tag, "edge": "^" + c.name, "dtype": "uint8",
                         "shape": [0]},
                "outputs": [["uint8", [0]]]})
            edges[key] = "^_recv_%d" % index
        return edges[key]

    # Feeds consumed elsewhere are sent first: rank 0 has them before anything runs.
    for op in sorted(ops, key=lambda o: o._id):
        rank = placement[op]
        node = graph_io._node_of(op)
        node["input"] = [name_on(t, rank) for t in op.inputs] + \
            [control_on(c, rank) for c in op.control_inputs if c in placement]
        nodes.setdefault(rank, []).append(node)

    fetch_names = [name_on(t, 0) for t in fetch_tensors]
    graph_defs = {rank: GraphDef(node_list, graph_attrs={"seed": graph.seed})
                  for rank, node_list in nodes.items() if node_list or rank == 0}
    return PartitionPlan(graph_defs, feed_names, fetch_names, placement)
