"""`timeline.Timeline(step_stats).generate_chrome_trace_format()`: a step as a Chrome trace.

    run_metadata = tf.RunMetadata()
    sess.run(train, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
             run_metadata=run_metadata)
    trace = timeline.Timeline(run_metadata.step_stats).generate_chrome_trace_format()
    open("timeline.json", "w").write(trace)       # open in Perfetto or chrome://tracing

The trace has one process lane per rank and device (sorted by rank), each with a "compute"
thread for ordinary ops and an "MPI" thread for what crosses ranks: the `_Send`/`_Recv`
pairs of a placed graph (joined by flow arrows) and the data-parallel collectives
(`_DPAllReduce`, `_DPAllGatherRows`, `_DPFetchRows`, `_DPFetchSum`), with their payload in
bytes when the runtime recorded it (`NodeExecStats.bytes`). Times are wall-clock
microseconds shifted so the step starts at 0; ranks on different hosts are as aligned as
their clocks are. `render_svg` draws a trace without a browser (for batch systems), and
`python -m hpcflow.timeline trace.json -o trace.svg` does the same from the shell.
"""
import argparse
import html
import json
import re
import sys
import zlib

from .framework.device import DeviceSpec

# Ops that move data between ranks: they go to each rank's "MPI" lane.
TRANSFER_OPS = frozenset(["_Send", "_Recv"])
COLLECTIVE_OPS = frozenset(["_DPAllReduce", "_DPAllGatherRows", "_DPFetchRows", "_DPFetchSum"])
COMMUNICATION_OPS = TRANSFER_OPS | COLLECTIVE_OPS

_COMPUTE_TID, _MPI_TID = 0, 1
_EDGE_INDEX = re.compile(r"^_(send|recv)_(\d+)$")
_PEER = re.compile(r"(?:to|from) rank (\d+)")


def device_rank(device, cluster=None):
    """The MPI rank of a device name, or None if it cannot be told.

    Args:
      device: e.g. "/job:worker/replica:0/task:2/device:CPU:0".
      cluster: the job's JobCluster; without it the running job's (if any) is used, and
        outside a job "/job:localhost" is rank 0.
    """
    if cluster is None:
        from .distributed import context
        job = context.current_job()
        cluster = job.cluster if job is not None else None
    try:
        spec = DeviceSpec.from_string(device or "")
    except ValueError:
        return None
    if spec.job == "localhost":
        return 0
    if cluster is not None:
        try:
            return cluster.rank_of(spec)
        except ValueError:
            return None
    return None


def _sort_key(device, rank):
    spec = DeviceSpec.from_string(device) if device.startswith("/") else None
    job_order = {"ps": 0, "worker": 1}.get(getattr(spec, "job", None), 2)
    return (rank if rank is not None else 1 << 30, job_order, getattr(spec, "task", 0) or 0,
            device)


class Timeline:
    """A Chrome-trace view of one step's `RunMetadata.step_stats` (TF1 `timeline.Timeline`).

    Args:
      step_stats: `RunMetadata.step_stats` filled by a traced `Session.run`.
      graph: optional Graph; when given, each op's args list its inputs (as TF1 does).
      cluster: optional JobCluster to map devices to ranks (default: the running job's).
    """

    def __init__(self, step_stats, graph=None, cluster=None):
        self._step_stats = step_stats
        self._graph = graph
        self._cluster = cluster

    def _devices(self):
        devices = []
        for dev_stats in self._step_stats.dev_stats:
            if dev_stats.device not in [d for d, _ in devices]:
                devices.append((dev_stats.device, device_rank(dev_stats.device, self._cluster)))
        return sorted(devices, key=lambda d: _sort_key(*d))

    def _inputs_of(self, node_name):
        if self._graph is None:
            return []
        try:
            op = self._graph.get_operation_by_name(node_name)
        except (KeyError, ValueError):
            return []
        return [t.name for t in op.inputs]

    def trace_events(self, show_dataflow=True):
        """The trace as a list of Chrome trace event dicts."""
        devices = self._devices()
        pid_of = {device: pid for pid, (device, _) in enumerate(devices)}
        events = []
        for device, rank in devices:
            pid = pid_of[device]
            label = device if rank is None else "rank %d  %s" % (rank, device)
            events.append({"name": "process_name", "ph": "M", "pid": pid,
                           "args": {"name": label}})
            events.append({"name": "process_sort_index", "ph": "M", "pid": pid,
                           "args": {"sort_index": pid}})
            for tid, name in ((_COMPUTE_TID, "compute"), (_MPI_TID, "MPI")):
                events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                               "args": {"name": name}})
        nodes = [(dev.device, node) for dev in self._step_stats.dev_stats
                 for node in dev.node_stats]
        origin = min((node.all_start_micros for _, node in nodes), default=0)
        sends, receives = {}, {}
        for device, node in nodes:
            communication = node.op_type in COMMUNICATION_OPS
            start = node.all_start_micros - origin
            duration = max(int(node.all_end_rel_micros), 1)
            args = {"name": node.node_name, "op": node.op_type}
            for i, name in enumerate(self._inputs_of(node.node_name)):
                args["input%d" % i] = name
            if communication:
                args["bytes"] = int(getattr(node, "bytes", 0) or 0)
                peer = _PEER.search(node.timeline_label or "")
                if peer:
                    args["peer_rank"] = int(peer.group(1))
            if node.timeline_label:
                args["label"] = node.timeline_label
            event = {"name": node.op_type, "cat": "MPI" if communication else "Op", "ph": "X",
                     "pid": pid_of[device], "tid": _MPI_TID if communication else _COMPUTE_TID,
                     "ts": start, "dur": duration, "args": args}
            events.append(event)
            match = _EDGE_INDEX.match(node.node_name)
            if match and node.op_type in TRANSFER_OPS:
                (sends if match.group(1) == "send" else receives)[int(match.group(2))] = event
        for index, send in sends.items():
            receive = receives.get(index)
            if receive is None:
                continue
            send["args"].setdefault("peer_rank", _rank_of_pid(devices, receive["pid"]))
            receive["args"].setdefault("peer_rank", _rank_of_pid(devices, send["pid"]))
            if not receive["args"].get("bytes") and send["args"].get("bytes"):
                receive["args"]["bytes"] = send["args"]["bytes"]
            if show_dataflow:
                events.append({"name": "edge", "cat": "DataFlow", "ph": "s", "id": index,
                               "pid": send["pid"], "tid": send["tid"], "ts": send["ts"]})
                events.append({"name": "edge", "cat": "DataFlow", "ph": "t", "id": index,
                               "bp": "e", "pid": receive["pid"], "tid": receive["tid"],
                               "ts": receive["ts"] + receive["dur"] - 1})
        return events

    def generate_chrome_trace_format(self, show_dataflow=True, show_memory=False):
        """The trace as Chrome trace JSON (Perfetto and chrome://tracing open it).

        Args:
          show_dataflow: add flow arrows from each `_Send` to its `_Recv`.
          show_memory: accepted for TF1 compatibility; hpcflow records no allocations.

        Returns:
          A JSON string: {"traceEvents": [...], "displayTimeUnit": "ms"}.
        """
        return json.dumps({"traceEvents": self.trace_events(show_dataflow),
                           "displayTimeUnit": "ms"})


def _rank_of_pid(devices, pid):
    return devices[pid][1]


# -- a browser-free rendering --------------------------------------------------------------------

_MPI_COLOR = "#d62728"
_PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f",
            "#e377c2", "#aec7e8", "#98df8a", "#c5b0d5", "#ff9896"]


def _op_color(event):
    if event.get("cat") == "MPI":
        return _MPI_COLOR
    return _PALETTE[zlib.crc32(event["name"].encode()) % len(_PALETTE)]


def _format_bytes(count):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return ("%d %s" % (count, unit)) if unit == "B" else ("%.1f %s" % (count, unit))
        count /= 1024.0


def render_svg(trace, width=1400, title=None):
    """An SVG drawing of a Chrome trace: one row per (process, thread) lane, ops as boxes.

    Communication ops are red and labelled with their bytes; flow arrows join sends to
    receives. Meant for machines without a browser-based trace viewer.

    Args:
      trace: the JSON string `generate_chrome_trace_format` returns, or its parsed dict.
      width: the drawing's width in pixels.
      title: a caption.

    Returns:
      The SVG document as a string.
    """
    if isinstance(trace, str):
        trace = json.loads(trace)
    events = trace["traceEvents"]
    process_names = {e["pid"]: e["args"]["name"] for e in events
                     if e.get("ph") == "M" and e["name"] == "process_name"}
    thread_names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
                    if e.get("ph") == "M" and e["name"] == "thread_name"}
    boxes = [e for e in events if e.get("ph") == "X"]
    lanes = sorted({(e["pid"], e["tid"]) for e in boxes} |
                   {k for k in thread_names if k[0] in {b["pid"] for b in boxes}})
    end = max((e["ts"] + e["dur"] for e in boxes), default=1)
    label_width, lane_height, header_height = 90, 24, 20
    top = 50 if title else 24
    plot_width = width - label_width - 20
    scale = plot_width / float(end)
    # Each process gets a header row with its name, then one row per thread lane.
    row_y, y, previous_pid = {}, top, None
    for lane in lanes:
        if lane[0] != previous_pid:
            y += header_height
        row_y[lane] = y
        y += lane_height
        previous_pid = lane[0]
    height = y + 70
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>']
    if title:
        out.append('<text x="10" y="22" font-size="15" font-weight="bold">%s</text>'
                   % html.escape(title))
    previous_pid = None
    for i, lane in enumerate(lanes):
        y = row_y[lane]
        if lane[0] != previous_pid:
            out.append('<line x1="0" x2="%d" y1="%d" y2="%d" stroke="#999"/>'
                       % (width, y - header_height, y - header_height))
            out.append('<text x="6" y="%d" font-weight="bold">%s</text>'
                       % (y - 5, html.escape(process_names.get(lane[0], "pid %d" % lane[0]))))
            previous_pid = lane[0]
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>'
                   % (label_width, y + 1, plot_width, lane_height - 2,
                      "#f1f1f1" if i % 2 else "#f8f8f8"))
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>'
                   % (label_width - 6, y + 16, html.escape(thread_names.get(lane, ""))))
    for e in boxes:
        x = label_width + e["ts"] * scale
        w = max(e["dur"] * scale, 1.0)
        y = row_y[(e["pid"], e["tid"])] + 3
        label = e["name"]
        if e.get("cat") == "MPI" and e["args"].get("bytes"):
            label += " " + _format_bytes(e["args"]["bytes"])
        tooltip = "%s (%s) %d us" % (e["args"].get("name", ""), e["name"], e["dur"])
        if e["args"].get("bytes"):
            tooltip += ", %d bytes" % e["args"]["bytes"]
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" stroke="white" '
                   'stroke-width="0.5"><title>%s</title></rect>'
                   % (x, y, w, lane_height - 6, _op_color(e), html.escape(tooltip)))
        if w > 7 * len(label):
            out.append('<text x="%.1f" y="%d" fill="white">%s</text>'
                       % (x + 3, y + 14, html.escape(label)))
    starts = {e["id"]: e for e in events if e.get("ph") == "s"}
    for e in events:
        if e.get("ph") != "t" or e["id"] not in starts:
            continue
        s = starts[e["id"]]
        if (s["pid"], s["tid"]) not in row_y or (e["pid"], e["tid"]) not in row_y:
            continue
        x1 = label_width + s["ts"] * scale
        y1 = row_y[(s["pid"], s["tid"])] + lane_height / 2
        x2 = label_width + e["ts"] * scale
        y2 = row_y[(e["pid"], e["tid"])] + lane_height / 2
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" '
                   'stroke-width="1" marker-end="url(#arrow)"/>' % (x1, y1, x2, y2))
    axis_y = max(row_y.values(), default=top) + lane_height + 14
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>'
               % (label_width, label_width + plot_width, axis_y, axis_y))
    step = _tick_step(end)
    tick = 0.0
    while tick <= end:
        x = label_width + tick * scale
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#333"/>'
                   % (x, x, axis_y, axis_y + 5))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s ms</text>'
                   % (x, axis_y + 18, ("%.3g" % (tick / 1000.0))))
        tick += step
    legend_y = axis_y + 40
    out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>'
               % (label_width, legend_y - 10, _MPI_COLOR))
    out.append('<text x="%d" y="%d">MPI: _Send/_Recv and data-parallel collectives '
               '(bytes moved); arrows join each send to its receive; other colours: ops by '
               'type</text>' % (label_width + 18, legend_y))
    out.append("</svg>")
    return "\n".join(out)


def _tick_step(end):
    raw = end / 8.0
    magnitude = 10 ** len(str(int(max(raw, 1)))) / 10
    for factor in (1, 2, 5, 10):
        if raw <= magnitude * factor:
            return magnitude * factor
    return magnitude * 10


def main(argv=None):
    """`python -m hpcflow.timeline TRACE.json [-o OUT.svg] [--title T]`: render a trace."""
    parser = argparse.ArgumentParser(prog="python -m hpcflow.timeline",
                                     description="Render a Chrome trace written by "
                                     "hpcflow.timeline as an SVG (no browser needed).")
    parser.add_argument("trace", help="a trace JSON file")
    parser.add_argument("-o", "--output", help="the SVG file (default: TRACE with .svg)")
    parser.add_argument("--title", default=None)
    parser.add_argument("--width", type=int, default=1400)
    options = parser.parse_args(argv)
    try:
        with open(options.trace) as f:
            trace = json.load(f)
    except (OSError, ValueError) as e:
        print("hpcflow.timeline: cannot read %s: %s" % (options.trace, e), file=sys.stderr)
        return 2
    if "traceEvents" not in trace:
        print("hpcflow.timeline: %s is not a Chrome trace (no traceEvents)" % options.trace,
              file=sys.stderr)
        return 2
    output = options.output or re.sub(r"\.json$", "", options.trace) + ".svg"
    with open(output, "w") as f:
        f.write(render_svg(trace, options.width, options.title or options.trace))
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
