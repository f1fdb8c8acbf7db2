"""Compiled Cython kernels, built by setup.py from cy_kernels/<name>.pyx as hpcflow._cy.<name>.

The modules exist only after a build (`pip install -e .` compiles them); without them hpcflow
runs on its numpy reference kernels. `hpcflow.backends.cython_backend` imports them and
registers their kernels. Importing this package (which any import of a compiled module
does first) sets how the OpenMP threads behave, before the OpenMP runtime reads it: this
rank's thread count in an MPI launch, and sleeping (not spinning) between parallel loops.
"""
import os


def share_cores_between_local_ranks():
    """Sets OMP_THREAD_LIMIT, when nobody set a thread count, to this rank's share of the
    node's cores.

    Under mpiexec every rank would otherwise start one OpenMP thread per core, and N ranks
    on a node would run N times more threads than cores: waiting at each parallel loop's
    barrier for a descheduled thread costs more than the loop. A rank the launcher already
    bound to fewer cores than the node has (srun --cpu-bind, mpiexec -bind-to) gets those.
    OMP_THREAD_LIMIT, not OMP_NUM_THREADS: OpenBLAS reads the latter too, and the launcher
    takes it as the user's choice (hpcflow/distributed/threads.py). Must run before a
    compiled module loads the OpenMP runtime, which reads the variable once: hence here, in
    the package every compiled module is imported through.
    """
    if "OMP_NUM_THREADS" in os.environ or "OMP_THREAD_LIMIT" in os.environ:
        return
    local_ranks = None
    for name in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"):
        value = os.environ.get(name, "")
        if value.isdigit():
            local_ranks = int(value)
            break
    if not local_ranks or local_ranks <= 1:
        return
    cores = os.cpu_count() or 1
    bound = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    threads = bound if bound < cores else cores // local_ranks
    os.environ["OMP_THREAD_LIMIT"] = str(max(1, threads))


def sleep_between_parallel_loops():
    """Sets OMP_WAIT_POLICY=passive unless the user chose a policy.

    By default an OpenMP thread spins for a while after each parallel loop. The kernels
    alternate their loops with numpy's GEMM, whose OpenBLAS threads then find the cores
    busy with spinning OpenMP threads: measured here, im2col + GEMM ran 2-14x slower than
    with sleeping threads. Waking a sleeping thread costs microseconds, and only loops of
    tens of thousands of elements or more run in parallel.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")


# Runs on the first import of any compiled module (this package is imported first).
share_cores_between_local_ranks()
sleep_between_parallel_loops()
