"""Rank, size and local rank from MPI launchers' and Slurm's environment variables."""
import pytest

from hpcflow.distributed import environment

_ALL = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
        "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_LOCAL_RANK", "SLURM_PROCID",
        "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", "SLURM_STEP_ID")


@pytest.fixture
def env(monkeypatch):
    for name in _ALL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_plain_process_is_one_rank(env):
    assert environment.launched_rank_and_size() == (0, 1)
    assert not environment.in_parallel_launch()
    assert environment.local_rank() == 0


def test_mpich_hydra_variables(env):
    env.setenv("PMI_RANK", "3")
    env.setenv("PMI_SIZE", "4")
    env.setenv("MPI_LOCALRANKID", "1")
    env.setenv("SLURM_LOCALID", "0")  # inherited from the batch step: not this rank's
    env.setenv("SLURM_NTASKS", "8")
    assert environment.launched_rank_and_size() == (3, 4)
    assert environment.local_rank() == 1
    assert environment.in_parallel_launch()


def test_srun_step_variables(env):
    env.setenv("SLURM_STEP_ID", "0")
    env.setenv("SLURM_PROCID", "2")
    env.setenv("SLURM_STEP_NUM_TASKS", "3")
    env.setenv("SLURM_NTASKS", "16")
    env.setenv("SLURM_LOCALID", "2")
    assert environment.launched_rank_and_size() == (2, 3)
    assert environment.local_rank() == 2


def test_batch_script_is_not_a_parallel_launch(env):
    env.setenv("SLURM_STEP_ID", "batch")
    env.setenv("SLURM_PROCID", "0")
    env.setenv("SLURM_NTASKS", "16")
    assert environment.launched_rank_and_size() == (0, 1)
