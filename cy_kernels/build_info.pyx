# cython: language_level=3
"""How the Cython kernels were built: with or without OpenMP, and how many threads they use."""
from _threads cimport hpcflow_max_threads, hpcflow_openmp_enabled


def openmp_enabled():
    """True if the kernels were compiled with OpenMP (their loops can use several cores)."""
    return bool(hpcflow_openmp_enabled())


def max_threads():
    """Threads a large loop uses: OMP_NUM_THREADS, else the cores, at most OMP_THREAD_LIMIT;
    1 without OpenMP."""
    return hpcflow_max_threads()
