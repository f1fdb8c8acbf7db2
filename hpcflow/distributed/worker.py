"""The worker loop of ranks 1..N-1: receive partitions and step requests, run, reply.

A worker holds, per client session, the partitions it was sent and its own SessionState
(the variables placed on it). Errors are caught and returned to rank 0 with the op and rank
named; a worker only stops when told to (the script ended) or when MPI ends the job.
"""
import sys
import traceback

from ..framework import errors
from ..framework.graph_io import graph_from_bytes
from ..runtime.executor import Executor
from ..runtime.state import SessionState
from . import dp_runtime
from .collectives import StepCollectives
from .partition_runner import PartitionRunner
from .transport import REPLY_TAG, PeerFailedError


class _WorkerSession:
    def __init__(self, rank, transport):
        self.state = SessionState(rank=rank)
        self.state.transport = transport
        self.executor = Executor(self.state)
        self.runners = {}


def serve(job):
    """Serves rank 0 until it sends "shutdown"; returns the job's exit code."""
    transport = job.transport
    collectives = StepCollectives(transport)
    sessions = {}
    while True:
        message = transport.recv_control(0, what="work from rank 0", report_stalls=False)
        kind = message[0]
        if kind == "shutdown":
            return message[1]
        if kind == "register":
            _, session_key, plan_id, graph_bytes = message
            session = sessions.setdefault(session_key, _WorkerSession(job.rank, transport))
            try:
                graph = graph_from_bytes(graph_bytes)
                session.runners[plan_id] = PartitionRunner(graph, session.state, session.executor)
                reply = ("ok",)
            except Exception as e:  # e.g. an op type this rank does not know
                reply = ("error", "Rank %d could not load its partition: %s: %s"
                         % (job.rank, type(e).__name__, e))
            transport.send_control(0, reply, tag=REPLY_TAG)
        elif kind == "step":
            _, session_key, plan_id, step_id, trace, deadline = message
            session = sessions.get(session_key)
            transport.send_control(0, _run_step(job, session, plan_id, step_id, trace, deadline),
                                   tag=REPLY_TAG)
        elif kind == "dp_register":
            _, session_key, plan_id, graph_bytes, feed_names, batch_mask, push = message
            session = sessions.setdefault(session_key, _WorkerSession(job.rank, transport))
            runner, reply = dp_runtime.register_on_worker(session, graph_bytes, feed_names,
                                                          batch_mask, push, job.rank)
            if runner is not None:
                session.runners[plan_id] = runner
            transport.send_control(0, reply, tag=REPLY_TAG)
        elif kind == "dp_step":
            (_, session_key, plan_id, step_id, counts, headers, trace, deadline,
             refresh) = message
            session = sessions[session_key]
            transport.deadline_seconds = deadline
            reply = dp_runtime.step_on_worker(job, session, session.runners[plan_id],
                                              collectives, step_id, counts, headers, trace,
                                              refresh)
            transport.send_control(0, reply, tag=REPLY_TAG)
        elif kind == "close":
            sessions.pop(message[1], None)
        else:
            print("hpcflow: rank %d ignores unknown message %r" % (job.rank, kind),
                  file=sys.stderr)


def _run_step(job, session, plan_id, step_id, trace, deadline):
    if session is None or plan_id not in session.runners:
        return ("error", step_id, "InternalError",
                "Rank %d has no partition %s" % (job.rank, plan_id), False)
    runner = session.runners[plan_id]
    job.transport.deadline_seconds = deadline
    records = [] if trace else None
    try:
        runner.run([], records)
    except errors.OpError as e:
        return ("error", step_id, type(e).__name__, e.message, isinstance(e, PeerFailedError))
    except Exception as e:  # a bug in hpcflow itself: still answer, never leave rank 0 waiting
        return ("error", step_id, "InternalError", "Rank %d: %s" % (
            job.rank, "".join(traceback.format_exception_only(type(e), e)).strip()), False)
    stats = [(job.cluster.device_name(job.rank), records)] if trace else None
    return ("ok", step_id, stats)
