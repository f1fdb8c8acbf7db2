"""`tf.mpi`: the running MPI job (hpcflow's addition to the TF1 namespace).

    tf.mpi.rank(), tf.mpi.size()        this process's rank and the job's size (0 and 1
                                        outside `python -m hpcflow`)
    tf.mpi.cluster_spec()               the job as a ClusterSpec: {"ps": [...], "worker": [...]}
    tf.mpi.allreduce / broadcast / allgather
                                        Horovod-style collectives as graph ops

    tf.mpi.parameter_server_log(sess)   the updates rank 0 applied alone (async training,
                                        SyncReplicasOptimizer), with their staleness

`tf.rank` and `tf.size` stay TF1's ops on tensors.
"""
from .distributed.context import cluster_spec, rank, size  # noqa: F401
from .distributed.environment import local_rank  # noqa: F401
from .ops.collective_ops import allgather, allreduce, broadcast  # noqa: F401

__all__ = ["allgather", "allreduce", "broadcast", "cluster_spec", "local_rank",
           "parameter_server_log", "rank", "size"]


def parameter_server_log(sess):
    """The updates rank 0 applied for `sess`'s pushed gradients, oldest first.

    One dict per rank's gradients: {"step": the session's data-parallel step id, "rank",
    "rows": the batch rows they came from, "read_version": how many updates the variables
    they were computed from had seen, "version": the update that applied them (None if
    dropped as stale by SyncReplicasOptimizer), "mode": "async" or "sync_replicas"}. The
    staleness of an applied gradient is `version - 1 - read_version`. Empty outside a
    data-parallel MPI job (the last 100000 records are kept).
    """
    while not hasattr(sess, "_runtime") and hasattr(sess, "_sess"):
        sess = sess._sess  # a MonitoredSession and its wrappers hold the Session inside
    runtime = getattr(getattr(sess, "_runtime", None), "_impl", None)
    server = getattr(runtime, "parameter_server", None)
    return [] if server is None else [dict(record) for record in server.log]
