"""The MPI job this process belongs to, and how a new Session runs in it.

`python -m hpcflow` calls `start_job` on every rank; rank 0 then runs the user's script,
whose Sessions become clients of the distributed master, while the other ranks serve.
Without the launcher (plain `python script.py`) there is no job and sessions run locally.
"""
from ..runtime.local import LocalRuntime
from .cluster import JobCluster


class Job:
    """This rank's view of the running MPI job."""

    def __init__(self, comm, num_ps=1, async_updates=False):
        from .transport import Transport
        self.comm = comm
        self.async_updates = async_updates  # `--async`: see parameter_server.py
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        hosts = comm.allgather(_hostname())
        self.cluster = JobCluster(self.size, num_ps, hosts)
        self.transport = Transport(comm)
        from ..runtime.memory import tune_allocator
        from .threads import limit_threads_for_node
        self.threads_per_rank = limit_threads_for_node(comm)
        self.allocator_tuned = tune_allocator()


_job = None


def _hostname():
    import socket
    return socket.gethostname()


def start_job(comm, num_ps=1, async_updates=False):
    """Makes this process a rank of an hpcflow job (called by the launcher on every rank)."""
    global _job
    _job = Job(comm, num_ps, async_updates)
    return _job


def current_job():
    """The running Job, or None outside `python -m hpcflow`."""
    return _job


def end_job():
    global _job
    _job = None


def make_session_runtime(session):
    """The runtime behind a new Session: local unless this is rank 0 of a multi-rank job."""
    job = _job
    if job is None or job.size == 1:
        return LocalRuntime(session._graph, session._config)
    if job.rank != 0:
        raise RuntimeError("Sessions are created on rank 0 only: under `python -m hpcflow` "
                           "the other ranks serve rank 0 (this is rank %d)" % job.rank)
    from .session_runtime import MpiSessionRuntime
    return MpiSessionRuntime(session._graph, session._config, job)


def rank():
    """This process's rank in the MPI job (0 outside `python -m hpcflow`)."""
    return _job.rank if _job is not None else 0


def size():
    """The number of ranks of the MPI job (1 outside `python -m hpcflow`)."""
    return _job.size if _job is not None else 1


def cluster_spec():
    """The running job's ClusterSpec: {"ps": [...], "worker": [...]} by rank."""
    if _job is not None:
        return _job.cluster.cluster_spec()
    return JobCluster(1).cluster_spec()
