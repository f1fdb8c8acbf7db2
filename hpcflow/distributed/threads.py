"""Ranks sharing a node share its cores: cap each rank's BLAS/OpenMP threads accordingly.

Without this, N ranks on a node each start one OpenBLAS thread per core, and N-fold
oversubscription makes every GEMM slower (about 8x for the digits CNN at 4 ranks on 2 cores).
A thread count the user set (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) wins.
"""
import os

_USER_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_rank(ranks_on_node, cores=None):
    """The thread count for one of `ranks_on_node` ranks sharing `cores` cores (at least 1)."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, ranks_on_node))


def limit_threads_for_node(comm):
    """Caps this rank's native thread pools; collective over `comm` (every rank calls it).

    Returns:
      The thread count applied, or None if the user set one or threadpoolctl is missing.
    """
    from mpi4py import MPI
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    ranks_on_node = node.Get_size()
    node.Free()
    if any(os.environ.get(name) for name in _USER_SETTINGS):
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    threads = threads_per_rank(ranks_on_node)
    threadpool_limits(threads)
    return threads
