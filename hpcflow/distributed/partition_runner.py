"""Runs one rank's partition for a step, and keeps the other ranks unblocked if it fails.

When a kernel fails mid-step, the ranks waiting on this rank's sends would wait forever.
So the runner then tells every receiver of a send it did not reach that the step failed,
and drains the receives it did not reach (their senders will send data or a failure),
before reporting the error. Every rank thus finishes every step, failed or not.
"""
from ..framework import errors
from ..runtime.executor import Plan
from .transport import PeerFailedError


class PartitionRunner:
    """A compiled partition (creation order) plus the failure protocol above."""

    def __init__(self, graph, state, executor, feed_names=(), fetch_names=()):
        self.graph = graph
        feeds = [graph.get_tensor_by_name(n) for n in feed_names]
        fetches = [graph.get_tensor_by_name(n) for n in fetch_names]
        fed_ops = {t.op for t in feeds}
        targets = [op for op in graph.get_operations() if op not in fed_ops]
        self.plan = Plan(graph, fetches, targets, feeds, state, executor, creation_order=True)
        self.transport = state.transport

    def run(self, feed_values, step_stats=None):
        try:
            return self.plan.run(feed_values, step_stats)
        except errors.OpError as e:
            self._abort_rest(getattr(e, "failed_node_index", 0), e)
            raise
        finally:
            self.transport.flush()

    def _abort_rest(self, failed_index, error):
        reason = "%s on rank %d" % (type(error).__name__, self.transport.rank)
        remaining = self.plan.nodes[failed_index:]
        for node in remaining:
            if node.op.type == "_Send":
                attrs = node.op.attrs
                self.transport.send_failure(attrs["peer"], attrs["tag"], reason)
        for node in remaining[1:]:
            if node.op.type == "_Recv":
                attrs = node.op.attrs
                try:
                    self.transport.recv_tensor(attrs["peer"], attrs["tag"], attrs["edge"])
                except PeerFailedError:
                    pass
