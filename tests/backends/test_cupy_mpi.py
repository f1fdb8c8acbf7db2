"""MPI jobs with ops on (stand-in) GPUs under real mpiexec: GPU tensors cross ranks staged
through pinned host memory or, with HPCFLOW_CUDA_AWARE_MPI=1, as device buffers; results
equal the one-process run and the CPU run."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from tests.distributed import mpi_harness

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
LAUNCH = os.path.join(SCRIPTS, "gpu_launch.py")

pytestmark = pytest.mark.skipif(mpi_harness.mpiexec() is None, reason="no mpiexec")


def run(script, ranks, **env):
    """(returncode, stdout, stderr, results) of scripts/<script> on `ranks` ranks."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.npz")
        environment = dict(os.environ, HPCFLOW_RESULT=out, PYTHONUNBUFFERED="1",
                           HPCFLOW_FAKE_GPU="1", HPCFLOW_STALL_TIMEOUT="30")
        environment.pop("HPCFLOW_CHECK_KERNELS", None)
        environment.update({k: str(v) for k, v in env.items()})
        path = os.path.join(SCRIPTS, script)
        if script == "staging_roundtrip.py":
            command = [mpi_harness.mpiexec(), "-n", str(ranks), sys.executable, path]
        elif ranks == 1:
            command = [sys.executable, LAUNCH, path]
        else:
            command = [mpi_harness.mpiexec(), "-n", str(ranks), sys.executable, LAUNCH, "--mpi",
                       path]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=180,
                              env=environment, cwd=tmp)
        results = None
        if os.path.exists(out):
            with np.load(out) as data:
                results = {k: data[k] for k in data.files}
        return proc.returncode, proc.stdout, proc.stderr, results


@pytest.mark.parametrize("ranks,cuda_aware", [(2, "0"), (3, "0"), (3, "1")])
def test_gpu_tensors_go_around_a_ring(ranks, cuda_aware):
    code, out, err, _ = run("staging_roundtrip.py", ranks, HPCFLOW_CUDA_AWARE_MPI=cuda_aware)
    assert code == 0, out + err
    assert ("cuda-aware" if cuda_aware == "1" else "staged") in out


def test_model_parallel_on_gpus_matches_one_process_and_the_cpu():
    code, out, err, cpu = run("gpu_model_parallel.py", 1, HPCFLOW_FAKE_GPU="0")
    assert code == 0, out + err
    code, out, err, single = run("gpu_model_parallel.py", 1)
    assert code == 0, out + err
    mpi_harness.assert_same_results(cpu, single, context="one process, GPU vs CPU")
    for cuda_aware in ("0", "1"):
        code, out, err, got = run("gpu_model_parallel.py", 3, HPCFLOW_CUDA_AWARE_MPI=cuda_aware)
        assert code == 0, out + err
        mpi_harness.assert_same_results(cpu, got, context="3 ranks, cuda-aware=%s" % cuda_aware)


@pytest.mark.parametrize("ranks", [2, 3])
def test_data_parallel_with_the_model_on_each_gpu(ranks):
    code, out, err, reference = run("gpu_data_parallel.py", 1, HPCFLOW_FAKE_GPU="0")
    assert code == 0, out + err
    code, out, err, got = run("gpu_data_parallel.py", ranks)
    assert code == 0, out + err
    mpi_harness.assert_same_results(reference, got, context="%d ranks on GPUs" % ranks)
