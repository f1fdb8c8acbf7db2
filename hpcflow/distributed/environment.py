"""Where this process sits in a parallel job: rank, size and local rank, from MPI or Slurm.

MPICH's hydra sets PMI_RANK/PMI_SIZE, Open MPI sets OMPI_COMM_WORLD_*, `srun` sets
SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID. These are read without initializing MPI, so a
plain `python script.py` never starts MPI.
"""
import os

# Set by MPI launchers themselves (MPICH/hydra, Open MPI, PMIx).
_MPI_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_MPI_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
# MPI's own local rank first: under mpiexec inside a Slurm job every rank inherits the batch
# step's SLURM_LOCALID=0, so Slurm's variable is only trusted inside an srun step.
_LOCAL_RANK_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_LOCAL_RANK")


def _first_int(names, default):
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip().lstrip("-").isdigit():
            return int(value)
    return default


def _in_srun_step():
    # Only an srun step's tasks are distinct processes of one job; the batch script's own
    # step carries the whole allocation's SLURM_NTASKS but is a single process.
    return os.environ.get("SLURM_STEP_ID") not in (None, "", "batch", "extern")


def launched_rank_and_size():
    """(rank, size) as the launcher announced them in the environment; (0, 1) if none did.

    MPI launchers' variables come first; inside an `srun` step SLURM_PROCID and
    SLURM_STEP_NUM_TASKS give the same answer.
    """
    rank = _first_int(_MPI_RANK_VARIABLES, None)
    if rank is not None:
        return rank, _first_int(_MPI_SIZE_VARIABLES, 1)
    if _in_srun_step():
        return (_first_int(("SLURM_PROCID",), 0),
                _first_int(("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"), 1))
    return 0, 1


def local_rank():
    """This process's index among the ranks on its node (selects its GPU)."""
    value = _first_int(_LOCAL_RANK_VARIABLES, None)
    if value is not None:
        return value
    if _in_srun_step():
        return _first_int(("SLURM_LOCALID",), 0)
    return 0


def in_parallel_launch():
    """True when a launcher started several processes (so MPI must be initialized)."""
    return launched_rank_and_size()[1] > 1
