"""Checkpoints in real MPI jobs: kill a rank and rerun, preemption signals, other ps counts.

The training script (scripts/ckpt_train.py) derives each batch from the global step, so a
run resumed from a checkpoint must end with the weights of a run never interrupted (here:
the one-process run, which MPI jobs match up to float rounding).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mpi_harness as harness

pytestmark = pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")

SCRIPT = os.path.join(harness.SCRIPTS, "ckpt_train.py")
LAST_STEP = 30


def _command(ranks, launcher_args, script_args, script=SCRIPT):
    if ranks == 1:
        return [sys.executable, script, *script_args]
    return [harness.mpiexec(), "-n", str(ranks), sys.executable, "-m", "hpcflow",
            *launcher_args, script, *script_args]


def _environment(results, **extra):
    env = dict(os.environ, HPCFLOW_RESULT=results, PYTHONUNBUFFERED="1", **extra)
    env.pop("HPCFLOW_CHECK_KERNELS", None)
    return env


def _load(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _run(tmp_path, name, ranks, launcher_args, script_args):
    results = str(tmp_path / (name + ".npz"))
    proc = subprocess.run(_command(ranks, launcher_args, script_args), capture_output=True,
                          text=True, timeout=harness.TIMEOUT, cwd=str(tmp_path),
                          env=_environment(results))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, _load(results)


def _start(tmp_path, name, ranks, launcher_args, script_args, **env):
    results = str(tmp_path / (name + ".npz"))
    return subprocess.Popen(_command(ranks, launcher_args, script_args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(tmp_path),
                            env=_environment(results, **env))


def _rank_pids(results):
    """{rank: pid} of this job's processes: those whose HPCFLOW_RESULT is `results` (other
    jobs running the same script at the same time, e.g. a parallel test run, are left alone)."""
    pids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        except OSError:
            continue
        if env.get(b"HPCFLOW_RESULT") == results.encode() and b"PMI_RANK" in env:
            pids[int(env[b"PMI_RANK"])] = int(entry)
    return pids


def _wait_for_line(proc, wanted, timeout=harness.TIMEOUT):
    # A job that hangs before printing would block the read for ever: kill it at the deadline.
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        for line in proc.stdout:
            if line.strip() == wanted:
                return
    finally:
        watchdog.cancel()
    raise AssertionError("the job ended before printing %r: %s" % (wanted, proc.stderr.read()))


def _starting_step(stdout):
    found = re.search(r"starting from (\S+)", stdout).group(1)
    return None if found == "None" else int(found.rsplit("-", 1)[1])


def _assert_same(reference, got, context):
    harness.assert_same_results(reference, got, rtol=2e-5, atol=1e-6, context=context)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Final variables of uninterrupted one-process runs, by (mode, optimizer, last step)."""
    cache = {}

    def get(mode, optimizer="adagrad", partitions="2", last_step=LAST_STEP):
        key = (mode, optimizer, partitions, last_step)
        if key not in cache:
            tmp = tmp_path_factory.mktemp("reference")
            _, cache[key] = _run(tmp, "reference", 1, [], [
                mode, str(tmp / "ckpt"), str(last_step), "--optimizer", optimizer,
                "--partitions", partitions])
        return cache[key]
    return get


@pytest.mark.parametrize("mode, ranks, launcher_args", [("dp", 3, []),
                                                        ("placed", 3, ["--ps", "2"])])
def test_killed_worker_ends_the_job_and_a_rerun_resumes(tmp_path, reference, mode, ranks,
                                                        launcher_args):
    args = [mode, str(tmp_path / "ckpt"), str(LAST_STEP), "--slow", "0.05"]
    proc = _start(tmp_path, "killed", ranks, launcher_args, args)
    try:
        _wait_for_line(proc, "saved 10")
        pids = _rank_pids(str(tmp_path / "killed.npz"))
        assert set(pids) == set(range(ranks)), pids
        os.kill(pids[ranks - 1], signal.SIGKILL)  # a worker rank
        killed_at = time.monotonic()
        proc.wait(timeout=60)
        assert proc.returncode != 0
        assert time.monotonic() - killed_at < 30
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout, results = _run(tmp_path, "resumed", ranks, launcher_args, args)
    assert _starting_step(stdout) in (10, 20), stdout[:300]
    _assert_same(reference(mode), results, "%s job killed and rerun" % mode)


def _fake_scontrol(tmp_path):
    directory = tmp_path / "bin"
    directory.mkdir()
    script = directory / "scontrol"
    script.write_text("#!/bin/sh\necho \"$@\" >> %s\n" % (tmp_path / "scontrol.log"))
    script.chmod(0o755)
    return str(directory) + os.pathsep + os.environ.get("PATH", "")


@pytest.mark.parametrize("mode, ranks, launcher_args, signum, resume_ranks", [
    ("placed", 3, ["--ps", "2"], signal.SIGUSR1, 3),
    ("dp", 2, [], signal.SIGTERM, 3),  # resumed at another rank count
])
def test_preemption_signal_saves_and_exits_75(tmp_path, reference, mode, ranks,
                                                       launcher_args, signum, resume_ranks):
    args = [mode, str(tmp_path / "ckpt"), str(LAST_STEP), "--slow", "0.05"]
    proc = _start(tmp_path, "preempted", ranks, launcher_args, args,
                  HPCFLOW_REQUEUE_ON_SIGNAL="1", SLURM_JOB_ID="4242",
                  PATH=_fake_scontrol(tmp_path))
    try:
        _wait_for_line(proc, "step 12")
        proc.send_signal(signum)  # to mpiexec, which forwards it to every rank
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 75, err[-3000:]
    name = signal.Signals(signum).name
    for rank in range(1, ranks):  # every worker got it and kept serving
        assert "rank %d received %s: ignored" % (rank, name) in err
    saved = int(re.search(r"stopped by %s: saved checkpoint \S+-(\d+);" % name, err).group(1))
    assert 12 <= saved < LAST_STEP
    assert "saved %d" % saved in out
    requeued = (tmp_path / "scontrol.log").read_text() if (tmp_path / "scontrol.log").exists() else ""
    # SIGUSR1 is Slurm's warning: requeue. SIGTERM ends the job (scancel): never undo it.
    assert requeued == ("requeue 4242\n" if signum == signal.SIGUSR1 else "")
    stdout, results = _run(tmp_path, "resumed", resume_ranks, launcher_args, args)
    assert _starting_step(stdout) == saved
    _assert_same(reference(mode), results, "%s job preempted at %d ranks, rerun at %d"
                 % (mode, ranks, resume_ranks))


def test_sigterm_still_ends_a_job_without_monitored_session(tmp_path):
    """Workers ignore the forwarded signal, but rank 0 (no checkpointing session running)
    keeps the default action, so the launcher ends the whole job."""
    script = os.path.join(harness.SCRIPTS, "slow_training.py")
    proc = subprocess.Popen(_command(3, [], [], script), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(tmp_path),
                            env=_environment(str(tmp_path / "r.npz")))
    try:
        _wait_for_line(proc, "training")
        proc.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        proc.wait(timeout=60)
        assert proc.returncode != 0
        assert time.monotonic() - signalled_at < 30
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_partitioned_variables_restore_at_other_ps_counts(tmp_path, reference):
    """Save at --ps 2 (2 shards of emb, 2 shard files), continue at --ps 1 and in one
    process (1 shard); and the reverse."""
    common = ["--optimizer", "sgd", "--partitions", "ps"]
    expected = reference("placed", "sgd", "ps", 20)

    def args(directory, last):
        return ["placed", str(directory), str(last)] + common

    _run(tmp_path, "ps2_first", 3, ["--ps", "2"], args(tmp_path / "a", 10))
    shards = [f for f in os.listdir(tmp_path / "a") if f.startswith("model.ckpt-10.data-")]
    assert len(shards) == 2
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    stdout, results = _run(tmp_path, "ps1_rest", 2, ["--ps", "1"], args(tmp_path / "a", 20))
    assert _starting_step(stdout) == 10
    _assert_same(expected, results, "saved at --ps 2, continued at --ps 1")
    stdout, results = _run(tmp_path, "one_rest", 1, [], args(tmp_path / "b", 20))
    assert _starting_step(stdout) == 10
    _assert_same(expected, results, "saved at --ps 2, continued in one process")

    _run(tmp_path, "one_first", 1, [], args(tmp_path / "c", 10))
    stdout, results = _run(tmp_path, "ps2_rest", 3, ["--ps", "2"], args(tmp_path / "c", 20))
    assert _starting_step(stdout) == 10
    _assert_same(expected, results, "saved in one process, continued at --ps 2")
