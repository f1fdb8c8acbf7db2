"""MPI jobs under real mpiexec at 2, 3 and 4 ranks, compared with the one-process run."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mpi_harness as harness

pytestmark = pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")


@pytest.fixture(scope="module")
def one_process():
    cache = {}

    def get(script, args=()):
        key = (script, tuple(args))
        if key not in cache:
            code, out, err, results = harness.run(script, 1, args)
            assert code == 0, err
            cache[key] = results
        return cache[key]
    return get


@pytest.mark.parametrize("ranks", harness.RANK_COUNTS)
@pytest.mark.parametrize("script", ["dp_softmax.py", "dp_cnn.py", "model_parallel.py",
                                    "ps_replicas.py"])
def test_same_results_as_one_process(script, ranks, one_process):
    reference = one_process(script)
    code, out, err, results = harness.run(script, ranks)
    assert code == 0, err[-3000:]
    harness.assert_same_results(reference, results, rtol=2e-5, atol=1e-6,
                                context="%s at %d ranks" % (script, ranks))


@pytest.mark.parametrize("ranks", [3, 4])
def test_partitioned_embedding_on_two_parameter_servers(ranks, one_process):
    reference = one_process("sharded_embedding.py")
    code, out, err, results = harness.run("sharded_embedding.py", ranks, launcher_args=["--ps", "2"])
    assert code == 0, err[-3000:]
    assert "/job:ps/task:0" in out and "/job:ps/task:1" in out
    harness.assert_same_results(reference, results, context="embedding at %d ranks" % ranks)


@pytest.mark.parametrize("ranks", [2, 3])
def test_user_collectives_combine_per_rank_values(ranks, one_process):
    reference = one_process("collectives.py")
    code, out, err, results = harness.run("collectives.py", ranks)
    assert code == 0, err[-3000:]
    # allreduce of per-rank partial sums, allgather of per-rank rows and the gradient
    # through allreduce all equal the one-process values.
    harness.assert_same_results(reference, results, context="collectives at %d" % ranks)
    # broadcast gives rank 0's own value: the sum of its block of rows.
    rows = 11 // ranks + (1 if 11 % ranks else 0)
    assert float(results["info_root"]) == float(np.arange(22).reshape(11, 2)[:rows].sum())


@pytest.mark.parametrize("ranks", [3, 4])
def test_full_trace_has_every_rank_that_worked(ranks):
    code, out, err, results = harness.run("model_parallel.py", ranks)
    assert code == 0, err[-3000:]
    # ps task 0 and worker tasks 0 and 1 each ran part of the traced step.
    assert int(results["info_traced_devices"]) == 3, out


@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.parametrize("mode", ["data_parallel", "placed"])
def test_kernel_error_on_any_rank_reaches_rank0(mode, ranks):
    code, out, err, results = harness.run("failures.py", ranks, [mode])
    assert code == 0, err[-3000:]
    assert results["caught_names_op"] and results["caught_names_rank"], out
    assert results["again"].tolist() == [4.0] * 4


def test_stall_is_reported_with_ranks_and_edge():
    code, out, err, results = harness.run("stall.py", 2, ["1.5", "100"],
                                          env={"HPCFLOW_STALL_TIMEOUT": "0.5"})
    assert code == 0, err[-3000:]
    assert "stall: rank 1 has waited" in err and "PyFunc:0 from rank 0" in err
    assert results["second"].tolist() == [6.0, 6.0]


def test_operation_timeout_raises_and_the_session_recovers():
    code, out, err, results = harness.run("stall.py", 2, ["2", "0.5"])
    assert code == 0, err[-3000:]
    assert bool(results["info_timed_out"]) and "timed out" in out
    assert results["second"].tolist() == [6.0, 6.0]


@pytest.mark.parametrize("ranks", [1, 3])
def test_script_exit_code_is_the_jobs(ranks):
    code, out, err, _ = harness.run("failures.py", ranks, ["exit"])
    assert code == 3, err[-2000:]


@pytest.mark.parametrize("ranks", [1, 2])
def test_script_exception_ends_all_ranks(ranks):
    start = time.monotonic()
    code, out, err, _ = harness.run("failures.py", ranks, ["raise"])
    assert code != 0
    assert "the script failed on purpose" in err
    assert time.monotonic() - start < 60


def _rank_pids(script):
    """{rank: pid} of the processes running `script` under the launcher (from /proc)."""
    pids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read().split(b"\0")
            if script.encode() not in cmdline or b"hpcflow" not in cmdline:
                continue
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        except OSError:
            continue
        if b"PMI_RANK" in env:
            pids[int(env[b"PMI_RANK"])] = int(entry)
    return pids


def test_killed_worker_ends_the_job_without_hanging():
    script = os.path.join(harness.SCRIPTS, "slow_training.py")
    proc = subprocess.Popen([harness.mpiexec(), "-n", "3", sys.executable, "-m", "hpcflow",
                             script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "training"
        time.sleep(1.0)
        pids = _rank_pids(script)
        assert set(pids) == {0, 1, 2}, pids
        os.kill(pids[2], signal.SIGKILL)
        start = time.monotonic()
        proc.wait(timeout=30)
        assert proc.returncode != 0
        assert time.monotonic() - start < 30
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("ranks", harness.RANK_COUNTS)
def test_transport_and_collectives_on_every_rank(ranks):
    # The pytest-mpi suite in mpi_units/, run by pytest on every rank of a real MPI job.
    units = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_units")
    proc = subprocess.run([harness.mpiexec(), "-n", str(ranks), sys.executable, "-m", "pytest",
                           "-q", "-p", "no:cacheprovider", "--with-mpi", units],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout


def test_launcher_help():
    proc = subprocess.run([sys.executable, "-m", "hpcflow", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    assert "--ps" in proc.stdout and "--async" in proc.stdout and "mpiexec" in proc.stdout


def test_info_under_mpiexec():
    proc = subprocess.run([harness.mpiexec(), "-n", "2", sys.executable, "-m", "hpcflow", "info"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "MPICH" in proc.stdout or "MPI:" in proc.stdout
    assert "rank 1:" in proc.stdout
