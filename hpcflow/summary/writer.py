"""`tf.summary.FileWriter`: writes summaries, graphs and run metadata as TensorBoard event files.

The event files are written by TensorBoard's own `EventFileWriter` (record framing, CRCs,
a background flushing thread), so TensorBoard reads them as it reads TensorFlow's. In an
MPI job only rank 0 writes: a FileWriter made on another rank (e.g. a script started with
plain `mpiexec python script.py` on every rank) writes nothing unless
`write_on_all_ranks=True`, which makes each rank write its own file, suffixed `.rank<r>`.
"""
import threading
import time

import numpy as np

from ..distributed import context, environment
from ..framework.graph import Graph, get_default_graph
from ..framework.graph_io import GraphDef
from . import protos


def process_rank():
    """This process's rank: the job's under `python -m hpcflow`, else the launcher's (or 0)."""
    job = context.current_job()
    if job is not None:
        return job.rank
    return environment.launched_rank_and_size()[0]


class FileWriter:
    """Writes `Summary` protos and graphs to an event file in `logdir` (TF1 `FileWriter`).

    Args:
      logdir: directory for the event file (created if missing).
      graph: a Graph (or GraphDef) to write for TensorBoard's Graphs tab.
      max_queue: events buffered before a write is forced.
      flush_secs: how often the background thread flushes to disk.
      graph_def: a GraphDef to write (deprecated in TF1, accepted).
      filename_suffix: appended to the event file's name.
      session: not supported (TF2 summary writers); must be None.
      write_on_all_ranks: hpcflow: let ranks other than 0 write too (file suffix `.rank<r>`).

    Raises:
      ValueError: if `session` is given.
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None,
                 filename_suffix=None, session=None, write_on_all_ranks=False):
        if session is not None:
            raise ValueError("FileWriter(session=...) is TF2's summary writer; hpcflow supports "
                             "the TF1 FileWriter only: pass no session")
        self._logdir = str(logdir)
        self._rank = process_rank()
        self._active = self._rank == 0 or write_on_all_ranks
        suffix = filename_suffix or ""
        if self._rank != 0:
            suffix += ".rank%d" % self._rank
        self._options = (int(max_queue), float(flush_secs), suffix)
        self._lock = threading.Lock()
        self._seen_summary_tags = set()
        self._added_graph = False
        self._writer = None
        self._closed = False
        if self._active:
            self._open()
        if graph is not None or graph_def is not None:
            self.add_graph(graph if graph is not None else graph_def)

    def _open(self):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        max_queue, flush_secs, suffix = self._options
        self._writer = EventFileWriter(self._logdir, max_queue, flush_secs, suffix)
        self._closed = False

    @property
    def writes(self):
        """True if this writer writes files (rank 0, or asked to on every rank)."""
        return self._active

    def get_logdir(self):
        """The directory the event file is written to."""
        return self._logdir

    def add_event(self, event):
        """Writes an `Event` proto as is (no-op on a rank that does not write)."""
        if not self._active:
            return
        with self._lock:
            if self._closed:
                self._open()  # TF1: writing after close() reopens the writer
            self._writer.add_event(event)

    def _event(self, global_step=None, **fields):
        event = protos.event_pb2().Event(wall_time=time.time(), **fields)
        if global_step is not None:
            event.step = int(global_step)
        return event

    def add_summary(self, summary, global_step=None):
        """Writes a summary: the bytes a summary op returns, or a `Summary` proto.

        As TF1 does, a tag's plugin metadata is written with its first value only.

        Raises:
          TypeError: if `summary` is neither bytes nor a Summary.
        """
        pb = protos.summary_pb2()
        if isinstance(summary, np.ndarray) and summary.ndim == 0:
            summary = summary.item()
        if isinstance(summary, (bytes, bytearray)):
            summary = pb.Summary.FromString(bytes(summary))
        elif not isinstance(summary, pb.Summary):
            raise TypeError("add_summary needs a serialized Summary (bytes, as a summary op "
                            "returns) or a Summary proto, got %s" % type(summary).__name__)
        else:
            copy = pb.Summary()
            copy.CopyFrom(summary)
            summary = copy
        for value in summary.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
            else:
                self._seen_summary_tags.add(value.tag)
        self.add_event(self._event(global_step, summary=summary))

    def add_graph(self, graph, global_step=None, graph_def=None):
        """Writes `graph` (a Graph or GraphDef) for TensorBoard's Graphs tab.

        Raises:
          TypeError: if neither a Graph nor a GraphDef is given.
        """
        graph = graph if graph is not None else graph_def
        if isinstance(graph, Graph):
            graph = graph.as_graph_def()
        if not isinstance(graph, GraphDef):
            raise TypeError("add_graph needs a tf.Graph or a GraphDef, got %s"
                            % type(graph).__name__)
        if not self._active:
            return
        serialized = tensorboard_graph_def(graph).SerializeToString()
        self.add_event(self._event(global_step, graph_def=serialized))
        self._added_graph = True

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        """Writes a step's RunMetadata (filled with FULL_TRACE) under `tag`.

        TensorBoard's Graphs tab then colours the graph by compute time for that run.

        Raises:
          ValueError: if `tag` is already used for run metadata by this writer.
        """
        if not self._active:
            return
        run_metadata_proto = tensorboard_run_metadata(run_metadata)
        tagged = protos.event_pb2().TaggedRunMetadata(
            tag=tag, run_metadata=run_metadata_proto.SerializeToString())
        self.add_event(self._event(global_step, tagged_run_metadata=tagged))

    def add_session_log(self, session_log, global_step=None):
        """Writes a `SessionLog` proto (e.g. SessionLog(status=SessionLog.START))."""
        self.add_event(self._event(global_step, session_log=session_log))

    def flush(self):
        """Writes every pending event to disk."""
        if self._active and self._writer is not None and not self._closed:
            self._writer.flush()

    def close(self):
        """Flushes and closes the event file; a later add_* reopens a new one."""
        if self._active and self._writer is not None and not self._closed:
            self._writer.close()
            self._closed = True

    def reopen(self):
        """Reopens a closed writer (a new event file in the same logdir)."""
        if self._active and self._closed:
            self._open()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


class FileWriterCache:
    """One FileWriter per logdir, shared (TF1 `tf.summary.FileWriterCache`)."""

    _cache = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir):
        """The cached FileWriter of `logdir` (made, with the default graph, if new)."""
        with FileWriterCache._lock:
            writer = FileWriterCache._cache.get(logdir)
            if writer is None:
                writer = FileWriter(logdir, graph=get_default_graph())
                FileWriterCache._cache[logdir] = writer
            return writer

    @staticmethod
    def clear():
        """Closes and forgets every cached writer."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()


# -- conversions to TensorBoard's protos ---------------------------------------------------------

def _attr_value(value):
    """An AttrValue for TensorBoard's node panel, or None for values it cannot show."""
    attr_pb2 = protos.proto_module("attr_value_pb2")
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return attr_pb2.AttrValue(b=bool(value))
    if isinstance(value, (int, np.integer)):
        return attr_pb2.AttrValue(i=int(value))
    if isinstance(value, (float, np.floating)):
        return attr_pb2.AttrValue(f=float(value))
    if isinstance(value, str):
        return attr_pb2.AttrValue(s=value.encode("utf-8"))
    if isinstance(value, bytes):
        return attr_pb2.AttrValue(s=value[:1024])
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, np.integer)) and
                                                not isinstance(v, bool) for v in value):
        return attr_pb2.AttrValue(list=attr_pb2.AttrValue.ListValue(i=[int(v) for v in value]))
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return attr_pb2.AttrValue(list=attr_pb2.AttrValue.ListValue(
            s=[v.encode("utf-8") for v in value]))
    if isinstance(value, np.ndarray):
        text = "%s %s" % (value.dtype, list(value.shape))
        if value.size <= 8:
            text += " " + np.array2string(value.reshape(-1), threshold=8)
        return attr_pb2.AttrValue(s=text.encode("utf-8"))
    text = repr(value)
    return attr_pb2.AttrValue(s=(text if len(text) < 200 else text[:197] + "...").encode("utf-8"))


def _shape_proto(dims):
    shape_pb2 = protos.proto_module("tensor_shape_pb2")
    if dims is None:
        return shape_pb2.TensorShapeProto(unknown_rank=True)
    return shape_pb2.TensorShapeProto(dim=[shape_pb2.TensorShapeProto.Dim(
        size=-1 if d is None else int(d)) for d in dims])


def _tensorboard_input(name):
    # TF's GraphDef names output 0 "op" and control inputs "^op".
    if name.startswith("^"):
        return name
    op_name, _, index = name.rpartition(":")
    return op_name if index == "0" else name


def tensorboard_graph_def(graph_def, devices=None):
    """hpcflow's GraphDef as TensorBoard's GraphDef proto.

    Args:
      graph_def: an hpcflow GraphDef.
      devices: optional {op name: device string} shown instead of the nodes' own devices
        (e.g. where placement put them), so the Graphs tab can colour by device.

    Returns:
      A `tensorboard.compat.proto.graph_pb2.GraphDef`.
    """
    graph_pb2 = protos.proto_module("graph_pb2")
    node_pb2 = protos.proto_module("node_def_pb2")
    attr_pb2 = protos.proto_module("attr_value_pb2")
    out = graph_pb2.GraphDef()
    for node in graph_def.node:
        device = (devices or {}).get(node["name"], node.get("device", "")) or ""
        proto = node_pb2.NodeDef(name=node["name"], op=node["op"], device=device,
                                 input=[_tensorboard_input(i) for i in node["input"]])
        for key, value in sorted((node.get("attr") or {}).items()):
            attr = _attr_value(value)
            if attr is not None:
                proto.attr[key].CopyFrom(attr)
        outputs = node.get("outputs") or []
        if outputs:
            proto.attr["_output_shapes"].CopyFrom(attr_pb2.AttrValue(
                list=attr_pb2.AttrValue.ListValue(shape=[_shape_proto(dims)
                                                         for _, dims in outputs])))
        out.node.append(proto)
    return out


def tensorboard_run_metadata(run_metadata):
    """hpcflow's RunMetadata (step stats per device) as TensorBoard's RunMetadata proto."""
    config_pb2 = protos.proto_module("config_pb2")
    step_pb2 = protos.proto_module("step_stats_pb2")
    out = config_pb2.RunMetadata()
    for device_stats in run_metadata.step_stats.dev_stats:
        dev = out.step_stats.dev_stats.add(device=device_stats.device)
        for node in device_stats.node_stats:
            stats = step_pb2.NodeExecStats(
                node_name=node.node_name, all_start_micros=int(node.all_start_micros),
                op_start_rel_micros=int(node.op_start_rel_micros),
                op_end_rel_micros=int(node.op_end_rel_micros),
                all_end_rel_micros=int(node.all_end_rel_micros),
                timeline_label=node.timeline_label)
            dev.node_stats.append(stats)
    return out


def summary_iterator(path):
    """Yields the `Event` protos of an event file, in order (TF1 `tf.train.summary_iterator`).

    Reads with TensorBoard's own event file loader, which checks the records' CRCs.
    """
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
    yield from LegacyEventFileLoader(path).Load()
