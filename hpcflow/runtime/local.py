"""Runs a session's steps in this process (one rank, or a rank's own partition)."""
from . import config as config_lib
from .executor import Executor
from .state import SessionState


class LocalRuntime:
    """The one-process runtime: a SessionState and an Executor over the whole graph."""

    def __init__(self, graph, config, rank=0):
        self.graph = graph
        self.config = config
        self.local_state = SessionState(rank, config)
        self.local_executor = Executor(self.local_state, config=config)

    def run(self, fetch_tensors, target_ops, feed_tensors, feed_values, run_metadata=None):
        plan = self.local_executor.plan(self.graph, fetch_tensors, target_ops, feed_tensors)
        if run_metadata is None:
            return plan.run(feed_values)
        records = []
        results = plan.run(feed_values, records)
        fill_step_stats(run_metadata, "/job:localhost/replica:0/task:0/device:CPU:0", records)
        return results

    def list_devices(self):
        return ["/job:localhost/replica:0/task:0/device:CPU:0"]

    def close(self):
        self.local_state.variables.clear()
        self.local_state.queues.clear()
        self.local_executor.clear()


def fill_step_stats(run_metadata, device, records):
    """Appends per-op timings for `device`: records are (op name, op type, start, end) with
    wall-clock seconds, so records from several ranks share one time line; records of ops
    that move data between ranks add (bytes, peer rank or None)."""
    stats = config_lib.DeviceStepStats(device=device)
    for record in records:
        name, op_type, start, end = record[:4]
        payload, peer = (record[4], record[5]) if len(record) > 5 else (0, None)
        micros = int((end - start) * 1e6)
        label = "%s = %s()" % (name, op_type)
        if peer is not None:
            label += " %s rank %d" % ("to" if op_type == "_Send" else "from", peer)
        if len(record) > 5:
            label += ", %d bytes" % payload
        stats.node_stats.append(config_lib.NodeExecStats(
            node_name=name, op_type=op_type, all_start_micros=int(start * 1e6),
            op_start_rel_micros=0, op_end_rel_micros=micros, all_end_rel_micros=micros,
            timeline_label=label, bytes=int(payload)))
    run_metadata.step_stats.dev_stats.append(stats)
