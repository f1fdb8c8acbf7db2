"""Test-wide settings: kernel output checking on, a fresh default graph for every test."""
import glob
import os

os.environ.setdefault("HPCFLOW_CHECK_KERNELS", "1")

import pytest  # noqa: E402

import hpcflow as tf  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_default_graph():
    tf.reset_default_graph()
    yield


@pytest.fixture(autouse=True)
def no_leaked_mpi_shared_memory():
    """Removes MPICH shared-memory segments a test's jobs left behind.

    MPICH unlinks its segments once every rank has attached, except when a rank is killed
    first (the failure tests do that on purpose); left over, they fill /dev/shm run after
    run, and one whose name a later job reuses breaks that job's MPI_Init.
    """
    before = set(glob.glob("/dev/shm/mpich_shm_*"))
    yield
    leaked = set(glob.glob("/dev/shm/mpich_shm_*")) - before
    if leaked:
        leaked -= _mapped_files()  # a job still running (e.g. another test session's)
    for path in leaked:
        try:
            os.unlink(path)
        except OSError:  # already gone
            pass


def _mapped_files():
    """Paths of the files some live process has mapped."""
    mapped = set()
    for maps in glob.glob("/proc/[0-9]*/maps"):
        try:
            with open(maps) as f:
                mapped.update(line.split(None, 5)[5].strip() for line in f
                              if "/dev/shm/mpich_shm_" in line)
        except (OSError, IndexError):  # the process ended, or not ours to read
            pass
    return mapped
