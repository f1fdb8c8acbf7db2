"""`python -m hpcflow info`: versions, MPI library, ranks and hosts, kernels, GPUs, HDF5."""
import platform
import socket
import sys


def _version(module_name):
    try:
        module = __import__(module_name)
        return getattr(module, "__version__", "installed")
    except Exception as e:  # not installed, or broken: say which
        return "not available (%s)" % type(e).__name__


def _gpu_summary():
    from . import devices
    return devices.describe()


def _kernels_summary():
    try:
        from .backends import cython_backend
        return cython_backend.describe()
    except ImportError:
        return "Cython kernels: not built (numpy reference kernels in use)"


def _hdf5_summary():
    try:
        import h5py
        return "h5py %s, HDF5 %s, parallel (MPI-IO): %s" % (
            h5py.__version__, h5py.version.hdf5_version, h5py.get_config().mpi)
    except Exception as e:
        return "h5py not available (%s)" % type(e).__name__


def rank_report():
    """One line about this rank: host, GPUs."""
    return "%s: %s" % (socket.gethostname(), _gpu_summary())


def print_info():
    """Prints the report (rank 0 prints every rank's line in an MPI launch); returns 0."""
    from .distributed import environment
    lines = []
    rank, size = 0, 1
    reports = [rank_report()]
    mpi_line = "MPI: not initialized (single process)"
    if environment.in_parallel_launch():
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        reports = comm.gather(rank_report(), root=0)
        mpi_line = "MPI: %s (mpi4py %s), %d ranks" % (
            MPI.Get_library_version().splitlines()[0].strip(), _version("mpi4py"), size)
    else:
        try:
            import mpi4py
            mpi_line = "MPI: mpi4py %s available; not launched under mpiexec/srun" % mpi4py.__version__
        except ImportError:
            mpi_line = "MPI: mpi4py not installed"
    if rank != 0:
        return 0
    from . import __version__
    lines.append("hpcflow %s on Python %s (%s)" % (__version__, platform.python_version(),
                                                   platform.platform()))
    from . import _openblas_env
    lines.append("numpy %s; OpenBLAS thread spin: %s" % (_version("numpy"),
                                                         _openblas_env.applied()))
    lines.append(mpi_line)
    lines.append(_kernels_summary())
    lines.append(_hdf5_summary())
    for r, report in enumerate(reports):
        lines.append("rank %d: %s" % (r, report))
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
