"""Where this process sits in a parallel job: rank, size and local rank, from MPI or Slurm.

MPICH's hydra sets PMI_RANK/PMI_SIZE, Open MPI sets OMPI_COMM_WORLD_*, `srun` sets
SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID. These are read without initializing MPI, so a
plain `python script.py` never starts MPI.
"""
import os

_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS")
_LOCAL_RANK_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID",
                         "PMI_LOCAL_RANK")


def _first_int(names, default):
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip().lstrip("-").isdigit():
            return int(value)
    return default


def launched_rank_and_size():
    """(rank, size) as the launcher announced them in the environment; (0, 1) if none did.

    Under `srun` without an MPI launcher SLURM_PROCID/SLURM_NTASKS give the same answer.
    """
    return _first_int(_RANK_VARIABLES, 0), _first_int(_SIZE_VARIABLES, 1)


def local_rank():
    """This process's index among the ranks on its node (selects its GPU)."""
    value = _first_int(_LOCAL_RANK_VARIABLES, None)
    if value is not None:
        return value
    return 0


def in_parallel_launch():
    """True when a launcher started several processes (so MPI must be initialized)."""
    return launched_rank_and_size()[1] > 1
