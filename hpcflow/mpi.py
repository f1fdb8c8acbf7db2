"""`tf.mpi`: the running MPI job (hpcflow's addition to the TF1 namespace).

    tf.mpi.rank(), tf.mpi.size()        this process's rank and the job's size (0 and 1
                                        outside `python -m hpcflow`)
    tf.mpi.cluster_spec()               the job as a ClusterSpec: {"ps": [...], "worker": [...]}
    tf.mpi.allreduce / broadcast / allgather
                                        Horovod-style collectives as graph ops

`tf.rank` and `tf.size` stay TF1's ops on tensors.
"""
from .distributed.context import cluster_spec, rank, size  # noqa: F401
from .distributed.environment import local_rank  # noqa: F401
from .ops.collective_ops import allgather, allreduce, broadcast  # noqa: F401

__all__ = ["allgather", "allreduce", "broadcast", "cluster_spec", "local_rank", "rank", "size"]
