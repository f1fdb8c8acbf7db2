"""Graph views: a step's graph as GraphViz DOT, coloured by where it runs in an MPI job.

    python -m hpcflow graph --ranks 4 -o step.dot train.py      # the script's training step
    python -m hpcflow graph --ranks 3 --format svg -o g.svg graph.pb

Two views, chosen as the runtime would run the step on `--ranks` ranks:

* placed (the graph names jobs, e.g. `tf.device("/job:worker/task:1")`): every op sits in a
  box for its rank and device, as runtime/placement.py places it, and every edge the
  partitioner cuts (each becomes a `_Send`/`_Recv` pair) is drawn bold red with its dtype,
  shape and size;
* data parallel (the graph names no job): the SPMD graph every rank runs, as
  distributed/data_parallel.py rewrites it; ops are coloured by the state of their output
  (split rows, replicated, partial sums) and the collectives it inserts are red octagons,
  with the edges that cross ranks through them in red.

A script is run in this process until its `--run`-th `Session.run` call (0-based; default 1,
usually the first training step after the initializer), which is captured and not
executed; a GraphDef file (`tf.train.write_graph`, binary or text) is viewed whole.
"""
import argparse
import json
import os
import runpy
import shutil
import subprocess
import sys

from .distributed.cluster import JobCluster
from .framework import graph_io
from .framework.graph import Graph, Operation, Tensor

RANK_COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
               "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39"]
RANK_FILLS = ["#dbe9f6", "#dcf0d8", "#e8e0f2", "#ffe6cc", "#d5f2f5", "#eadcd8", "#f8e0f0",
              "#f1f2cc", "#e6e6e6", "#dadcef", "#e4ead5", "#efd9d8"]
STATE_FILLS = {"S": "#c6dbef", "R": "#e6e6e6", "P": "#fdd0a2"}
STATE_NAMES = {"S": "split rows (S)", "R": "replicated (R)", "P": "partial sums (P)"}
CUT_COLOR = "#d62728"
COMMUNICATION_OPS = frozenset(["_Send", "_Recv", "_DPAllReduce", "_DPAllGatherRows",
                               "_DPFetchRows", "_DPFetchSum"])
_SHAPES = {"Placeholder": "invhouse", "VariableV2": "cylinder", "Variable": "cylinder",
           "VarHandleOp": "cylinder", "Const": "note"}


class GraphView:
    """What a view draws.

    Attributes:
      mode: "placed" or "data_parallel".
      nodes: {name: {"op": type, "group": rank or None, "state": S/R/P or None}}.
      edges: [(source name, destination name, {"cut", "control", "label", "bytes"})].
      groups: {rank: label} of the placed view's boxes.
      title: a caption.
    """

    def __init__(self, mode, title):
        self.mode = mode
        self.title = title
        self.nodes = {}
        self.edges = []
        self.groups = {}

    @property
    def cut_edges(self):
        return [e for e in self.edges if e[2]["cut"]]


def _tensor_label(tensor):
    from .runtime import cost_model
    dims = tensor.shape.as_tuple_or_none()
    shape = "?" if dims is None else "[%s]" % ",".join("?" if d is None else str(d) for d in dims)
    label = "%s%s" % (tensor.dtype.name, shape)
    known = dims is not None and all(d is not None for d in dims)
    return label, cost_model.tensor_bytes(tensor) if known else None


def _format_bytes(count):
    if count is None:
        return ""
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return "%d %s" % (count, unit) if unit == "B" else "%.1f %s" % (count, unit)
        count /= 1024.0
    return "%.1f GiB" % count


def _needed(graph, fetch_tensors, target_ops, feed_tensors):
    from .runtime.executor import prune
    if not fetch_tensors and not target_ops:
        target_ops = graph.get_operations()
    return prune(fetch_tensors, target_ops, set(feed_tensors)), target_ops


def placed_view(graph, fetch_tensors=(), target_ops=(), feed_tensors=(), cluster=None,
                allow_soft_placement=True):
    """The placed view of a step: ops boxed by rank, cut edges marked.

    Args:
      graph: the Graph.
      fetch_tensors, target_ops, feed_tensors: the step (all empty: the whole graph).
      cluster: a JobCluster (default: one of 2 ranks).
      allow_soft_placement: place ops naming a missing device by the cost model.

    Returns:
      A GraphView.

    Raises:
      InvalidArgumentError: if an op names a device the cluster lacks and soft placement is off.
    """
    from .runtime.placement import place
    cluster = cluster or JobCluster(2)
    ops, target_ops = _needed(graph, list(fetch_tensors), list(target_ops), list(feed_tensors))
    placement = place(ops, list(feed_tensors), cluster, allow_soft_placement)
    view = GraphView("placed", "placed on %d rank(s): %d ops, %%d cut edges" % (cluster.size,
                                                                            len(ops)))
    for rank in sorted(set(placement.values())):
        view.groups[rank] = "rank %d  %s" % (rank, cluster.device_name(rank))
    # Feeds enter on rank 0 (the client) and travel to their consumers like any cut edge.
    feed_set = set(feed_tensors)
    for t in feed_tensors:
        if any(c in placement for c in t._consumers):
            placement.setdefault(t.op, 0)
            view.groups.setdefault(0, "rank 0  %s" % cluster.device_name(0))
    for op in sorted(placement, key=lambda o: o._id):
        view.nodes[op.name] = {"op": op.type, "group": placement[op], "state": None,
                               "label": "feed %s" % op.name if op not in ops else None}
    for op in sorted(ops, key=lambda o: o._id):
        for t in op.inputs:
            if t.op not in placement or (t.op not in ops and t not in feed_set):
                continue
            label, size = _tensor_label(t)
            cut = placement[t.op] != placement[op]
            view.edges.append((t.op.name, op.name, {
                "cut": cut, "control": False, "bytes": size,
                "label": ("%s %s" % (label, _format_bytes(size))).strip() if cut else ""}))
        for c in op.control_inputs:
            if c in placement:
                view.edges.append((c.name, op.name, {"cut": placement[c] != placement[op],
                                                     "control": True, "bytes": 0, "label": ""}))
    view.title = view.title % len(view.cut_edges)
    return view


def data_parallel_view(graph, fetch_tensors=(), target_ops=(), feed_tensors=(), num_ranks=2):
    """The data-parallel view: the SPMD graph every rank runs, coloured by tensor state.

    Feeds whose first dimension is unknown are the split batch (as the runtime splits them).

    Returns:
      A GraphView.
    """
    import numpy as np
    from .distributed import data_parallel
    fetch_tensors, feed_tensors = list(fetch_tensors), list(feed_tensors)
    _, target_ops = _needed(graph, fetch_tensors, list(target_ops), feed_tensors)
    batch_mask = [bool(t.shape.ndims) and t.shape.as_tuple_or_none()[0] is None
                  for t in feed_tensors]
    plan = data_parallel.build(graph, fetch_tensors, list(target_ops), feed_tensors, batch_mask,
                               np.random.default_rng(0))
    view = GraphView("data_parallel", "")
    feed_labels = {}
    for name, t, is_batch in zip(plan.feed_names, feed_tensors, batch_mask):
        feed_labels[name.split(":")[0]] = "%s (%s)" % (t.op.name, "split" if is_batch
                                                        else "broadcast")
    nodes = {n["name"]: n for n in plan.graph_def.node}
    for node in plan.graph_def.node:
        name = node["name"]
        outputs = node.get("outputs") or []
        state = plan.states.get(name + ":0")
        if node["op"] in ("_DPAllReduce", "_DPAllGatherRows", "_DPFetchRows", "_DPFetchSum"):
            state = "R"
        elif node["op"] == "_DPLocalRows" or name in feed_labels and "split" in feed_labels[name]:
            state = "S"
        elif state is None and outputs:
            state = "R"
        view.nodes[name] = {"op": node["op"], "group": None, "state": state,
                            "label": feed_labels.get(name)}
    collectives = 0
    for node in plan.graph_def.node:
        crossing = node["op"] in COMMUNICATION_OPS
        collectives += crossing
        for source in node["input"]:
            control = source.startswith("^")
            source_name = source.lstrip("^").split(":")[0]
            if source_name not in nodes:
                continue
            label = ""
            if crossing and not control:
                dtype, dims = (nodes[source_name].get("outputs") or [[None, None]])[
                    int(source.split(":")[1]) if ":" in source else 0]
                label = "%s%s" % (dtype, "?" if dims is None else "[%s]" % ",".join(
                    "?" if d is None else str(d) for d in dims))
            view.edges.append((source_name, node["name"], {
                "cut": crossing and not control, "control": control, "bytes": None,
                "label": label}))
    view.title = ("data parallel on %d ranks: every rank runs this graph on its rows; "
                  "%d collective(s)" % (num_ranks, collectives))
    return view


def view_step(graph, fetch_tensors=(), target_ops=(), feed_tensors=(), num_ranks=2, num_ps=1,
              mode="auto", allow_soft_placement=True):
    """The view the runtime's choice implies: placed if the graph names a job, else data parallel.

    Raises:
      ValueError: for an unknown `mode`.
    """
    if mode not in ("auto", "placed", "data_parallel"):
        raise ValueError("mode must be 'auto', 'placed' or 'data_parallel', got %r" % (mode,))
    if mode == "auto":
        from .distributed.session_runtime import names_a_job
        ops, _ = _needed(graph, list(fetch_tensors), list(target_ops), list(feed_tensors))
        mode = "placed" if names_a_job(ops) or num_ranks == 1 else "data_parallel"
    if mode == "placed":
        return placed_view(graph, fetch_tensors, target_ops, feed_tensors,
                           JobCluster(num_ranks, min(num_ps, num_ranks)), allow_soft_placement)
    return data_parallel_view(graph, fetch_tensors, target_ops, feed_tensors, num_ranks)


# -- DOT -----------------------------------------------------------------------------------------

def _quote(text):
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _collapse(name, depth):
    parts = name.split("/")
    if depth <= 0 or len(parts) <= depth:
        return name
    return "/".join(parts[:depth]) + "/"


def to_dot(view, depth=0):
    """The view as GraphViz DOT text.

    Args:
      view: a GraphView.
      depth: if > 0, ops are merged per rank by the first `depth` parts of their name scope
        (e.g. all of `gradients/...`), edges between merged boxes counted; communication
        ops are never merged.

    Returns:
      The DOT source (render with `dot -Tsvg`).
    """
    key_of, members = {}, {}
    for name, node in view.nodes.items():
        merged = node["op"] not in COMMUNICATION_OPS
        key = (node["group"], _collapse(name, depth) if merged else name)
        key_of[name] = key
        members.setdefault(key, []).append(name)
    ids = {key: "n%d" % i for i, key in enumerate(members)}
    lines = ["digraph hpcflow {",
             '  graph [rankdir=TB, fontname="Helvetica", fontsize=12, labelloc=t, '
             'newrank=true, label=%s];' % _quote(view.title),
             '  node [fontname="Helvetica", fontsize=9, style="filled", shape=box];',
             '  edge [fontname="Helvetica", fontsize=8, color="#777777", arrowsize=0.6];']

    def node_line(key):
        names = members[key]
        node = dict(view.nodes[names[0]])
        states = [view.nodes[n]["state"] for n in names if view.nodes[n]["state"]]
        if states:  # a merged box carrying any batch rows (or partial sums) shows that
            node["state"] = next(s for s in ("S", "P", "R") if s in states)
        if len(names) > 1:
            label = "%s (%d ops)" % (key[1], len(names))
            shape = "box3d"
        else:
            label = "%s\n%s" % (node.get("label") or names[0], node["op"])
            shape = _SHAPES.get(node["op"], "box")
        if node["op"] in COMMUNICATION_OPS:
            style = 'shape=octagon, fillcolor="%s", fontcolor="white"' % CUT_COLOR
        elif view.mode == "placed":
            rank = node["group"]
            style = 'shape=%s, fillcolor="%s", color="%s"' % (
                shape, RANK_FILLS[rank % len(RANK_FILLS)], RANK_COLORS[rank % len(RANK_COLORS)])
        else:
            style = 'shape=%s, fillcolor="%s"' % (shape, STATE_FILLS.get(node["state"], "white"))
        return "%s [label=%s, %s];" % (ids[key], _quote(label), style)

    if view.mode == "placed":
        for rank, label in sorted(view.groups.items()):
            color = RANK_COLORS[rank % len(RANK_COLORS)]
            lines.append("  subgraph cluster_rank%d {" % rank)
            lines.append('    label=%s; color="%s"; penwidth=2; style="rounded"; fontcolor="%s";'
                         % (_quote(label), color, color))
            for key in members:
                if key[0] == rank:
                    lines.append("    " + node_line(key))
            lines.append("  }")
    else:
        for key in members:
            lines.append("  " + node_line(key))
    merged_edges = {}
    for source, destination, info in view.edges:
        a, b = key_of[source], key_of[destination]
        if a == b:
            continue
        entry = merged_edges.setdefault((a, b, info["control"]), {"count": 0, "cut": False,
                                                                  "labels": []})
        entry["count"] += 1
        entry["cut"] |= info["cut"]
        if info["label"] and len(entry["labels"]) < 3:
            entry["labels"].append(info["label"])
    for (a, b, control), entry in merged_edges.items():
        attrs = []
        label = "\n".join(entry["labels"])
        if entry["count"] > 1 and not label:
            label = "%d" % entry["count"]
        if entry["cut"]:
            attrs += ['color="%s"' % CUT_COLOR, "penwidth=2.2", 'fontcolor="%s"' % CUT_COLOR]
        if control:
            attrs.append("style=dashed")
        if label:
            attrs.append("label=%s" % _quote(label))
        lines.append("  %s -> %s [%s];" % (ids[a], ids[b], ", ".join(attrs)))
    lines.append(_legend(view))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _legend(view):
    if view.mode == "placed":
        rows = ['<TR><TD BGCOLOR="%s"> </TD><TD ALIGN="LEFT">%s</TD></TR>'
                % (RANK_FILLS[r % len(RANK_FILLS)], label)
                for r, label in sorted(view.groups.items())]
        rows.append('<TR><TD><FONT COLOR="%s">&#8594;</FONT></TD><TD ALIGN="LEFT">cut edge: a '
                    '_Send/_Recv pair between ranks</TD></TR>' % CUT_COLOR)
    else:
        rows = ['<TR><TD BGCOLOR="%s"> </TD><TD ALIGN="LEFT">%s</TD></TR>' % (STATE_FILLS[s], n)
                for s, n in STATE_NAMES.items()]
        rows.append('<TR><TD BGCOLOR="%s"> </TD><TD ALIGN="LEFT">collective (MPI across all '
                    'ranks)</TD></TR>' % CUT_COLOR)
    return ('  legend [shape=plaintext, style="", label=<<TABLE BORDER="0" CELLBORDER="1" '
            'CELLSPACING="0" CELLPADDING="3">%s</TABLE>>];' % "".join(rows))


# -- inputs: scripts and GraphDef files ------------------------------------------------------------

class _Captured(BaseException):
    """Stops the viewed script at the captured Session.run (BaseException: not swallowed)."""


def capture_script(path, args=(), run_index=1):
    """Runs `path` until its `run_index`-th Session.run and returns what that call would run.

    The call itself is not executed. If the script makes fewer calls, the last one is used;
    if it makes none, the whole default graph.

    Returns:
      (graph, fetch_tensors, target_ops, feed_tensors, allow_soft_placement).

    Raises:
      Whatever the script raises before the captured call.
    """
    from .runtime import session as session_lib
    calls = []
    original = session_lib.BaseSession.run

    def capturing_run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        mapper = session_lib._FetchMapper(self.graph, fetches)
        fetch_tensors = [e for e in mapper.elements if isinstance(e, Tensor)]
        target_ops = [e for e in mapper.elements if isinstance(e, Operation)]
        feeds = [session_lib._feed_key_tensor(self.graph, k) for k in (feed_dict or {})]
        calls.append((self.graph, fetch_tensors, target_ops, feeds,
                      self._config.allow_soft_placement))
        if len(calls) > run_index:
            raise _Captured()
        return original(self, fetches, feed_dict, options, run_metadata)

    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    session_lib.BaseSession.run = capturing_run
    try:
        runpy.run_path(path, run_name="__main__")
    except (_Captured, SystemExit):
        pass
    finally:
        session_lib.BaseSession.run = original
        sys.argv, sys.path[:] = saved_argv, saved_path
    if calls:
        return calls[min(run_index, len(calls) - 1)]
    from .framework.graph import get_default_graph
    return get_default_graph(), [], [], [], True


def load_graph(path):
    """A Graph from a GraphDef file: binary (as_text=False) or the JSON text form.

    Constant values are not kept from the text form (it holds no array bytes); the view does
    not need them.

    Raises:
      ValueError: if the file is neither form.
    """
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(graph_io.MAGIC):
        try:
            header = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ValueError("%s is neither a serialized hpcflow GraphDef nor its text form"
                             % path) from None
        blob_bytes = _array_extent(header)
        body = json.dumps(header).encode("utf-8")
        data = graph_io._PREFIX.pack(graph_io.MAGIC, graph_io.FORMAT_VERSION, len(body)) + \
            body + bytes(blob_bytes)
    graph = Graph()
    with graph.as_default():
        graph_io.import_graph_def(graph_io.GraphDef.FromString(data), name="")
    return graph


def _array_extent(value):
    """Bytes of array data a text GraphDef header refers to (filled with zeros)."""
    if isinstance(value, dict):
        end = int(value["offset"]) + int(value["length"]) if "__array__" in value else 0
        return max([end] + [_array_extent(v) for v in value.values()])
    if isinstance(value, list):
        return max([0] + [_array_extent(v) for v in value])
    return 0


def _resolve(graph, names):
    fetch_tensors, target_ops = [], []
    for name in names:
        element = graph.as_graph_element(name, allow_tensor=True, allow_operation=True)
        (fetch_tensors if isinstance(element, Tensor) else target_ops).append(element)
    return fetch_tensors, target_ops


def main(argv=None):
    """`python -m hpcflow graph [options] SCRIPT_OR_GRAPHDEF [SCRIPT ARGS...]`.

    Returns:
      The exit code: 0, or 2 for bad input.
    """
    parser = argparse.ArgumentParser(
        prog="python -m hpcflow graph",
        description="Write a step's graph as GraphViz DOT (or SVG/PNG via `dot`), coloured by "
        "rank after placement (placed graphs) or by data-parallel state, cut edges in red.")
    parser.add_argument("--ranks", type=int, default=2, help="ranks of the job to simulate")
    parser.add_argument("--ps", type=int, default=1, help="parameter-server ranks (placed)")
    parser.add_argument("--run", type=int, default=1, metavar="I",
                        help="view the script's I-th Session.run call, 0-based (default 1)")
    parser.add_argument("--fetch", action="append", default=[], metavar="NAME",
                        help="view the step fetching these tensors/ops instead (repeatable)")
    parser.add_argument("--mode", choices=["auto", "placed", "data_parallel"], default="auto")
    parser.add_argument("--depth", type=int, default=0,
                        help="merge ops by their first DEPTH name-scope parts (0: no merging)")
    parser.add_argument("--format", choices=["dot", "svg", "png"], default=None,
                        help="output format (default: from -o's extension, else dot)")
    parser.add_argument("-o", "--output", help="output file (default: stdout, DOT only)")
    parser.add_argument("source", help="a training script (.py) or a GraphDef file")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    options = parser.parse_args(argv)
    if options.ranks < 1:
        print("hpcflow graph: --ranks must be at least 1", file=sys.stderr)
        return 2
    if not os.path.exists(options.source):
        print("hpcflow graph: no such file: %s" % options.source, file=sys.stderr)
        return 2
    fmt = options.format or (os.path.splitext(options.output or "")[1].lstrip(".") or "dot")
    if fmt not in ("dot", "svg", "png"):
        print("hpcflow graph: unknown format %r (dot, svg or png)" % fmt, file=sys.stderr)
        return 2
    if fmt != "dot" and (not options.output or not shutil.which("dot")):
        print("hpcflow graph: --format %s needs -o FILE and GraphViz's `dot` on PATH "
              "(e.g. apt-get install graphviz); write DOT instead" % fmt, file=sys.stderr)
        return 2
    if options.source.endswith(".py"):
        graph, fetches, targets, feeds, soft = capture_script(options.source, options.args,
                                                              options.run)
    else:
        try:
            graph = load_graph(options.source)
        except (ValueError, OSError) as e:
            print("hpcflow graph: %s" % e, file=sys.stderr)
            return 2
        fetches, targets, feeds, soft = [], [], [], True
    if options.fetch:
        try:
            fetches, targets = _resolve(graph, options.fetch)
        except (KeyError, ValueError, TypeError) as e:
            print("hpcflow graph: %s" % e, file=sys.stderr)
            return 2
    if not feeds:
        feeds = [op.outputs[0] for op in graph.get_operations() if op.type == "Placeholder"]
    view = view_step(graph, fetches, targets, feeds, options.ranks, options.ps, options.mode,
                     allow_soft_placement=True if soft is None else soft)
    dot = to_dot(view, options.depth)
    if fmt == "dot":
        if options.output:
            with open(options.output, "w") as f:
                f.write(dot)
        else:
            sys.stdout.write(dot)
        return 0
    result = subprocess.run(["dot", "-T" + fmt, "-o", options.output], input=dot.encode(),
                            capture_output=True)
    if result.returncode != 0:
        print("hpcflow graph: dot failed: %s" % result.stderr.decode(errors="replace"),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
