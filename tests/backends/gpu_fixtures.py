"""Fixtures for the GPU backend tests: stand-in GPUs and plans with device copies."""
import pytest

from hpcflow.devices import device as device_lib

from . import gpu_plan


@pytest.fixture
def fake_gpus(monkeypatch):
    """A function(count=1, **env) making this process see `count` stand-in GPUs."""
    def setup(count=1, **env):
        monkeypatch.setenv("HPCFLOW_FAKE_GPU", str(count))
        for name in ("CUDA_VISIBLE_DEVICES", "HPCFLOW_GPUS_PER_RANK", "HPCFLOW_DEFAULT_DEVICE",
                     "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                     "MV2_COMM_WORLD_LOCAL_RANK", "PALS_LOCAL_RANKID", "PMI_LOCAL_RANK",
                     "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        device_lib.reset()
        gpu_plan.install(monkeypatch)
        return device_lib.gpus()
    yield setup
    device_lib.reset()


def plans_of(session):
    """The compiled plans of a local session (to inspect placement and copies)."""
    return list(session._runtime.local_executor._plans.values())
