"""The sbatch templates of slurm/ submitted to a real one-node Slurm (see conftest.py).

Every test submits a template with sbatch at small scale (2-3 ranks on one node), polls
until the job has ended (bounded), and checks the output file, the job's final state, exit
code and restart count, and the trained weights against the same script run in one
process without Slurm (data parallel at N ranks equals one process up to float rounding).
The preemption tests signal a running job as Slurm does before a time limit and check
that it saves a checkpoint, is requeued, resumes from that checkpoint and ends with the
weights of a run never interrupted.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "slurm")
SCRIPT = os.path.join(HERE, "scripts", "regression.py")
JOB_TIMEOUT = 120  # seconds; a job here takes 3-10 s, a requeued one about 25 s


def template(name):
    return os.path.join(TEMPLATES, name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """reference(last_step, learning_rate) -> final variables of a one-process run."""
    cache = {}

    def get(last_step, learning_rate=0.1):
        key = (last_step, learning_rate)
        if key not in cache:
            directory = tmp_path_factory.mktemp("reference")
            result = directory / "result.npz"
            environment = {k: v for k, v in os.environ.items()
                           if not k.startswith(("SLURM_", "PMI_", "HPCFLOW_"))}
            subprocess.run([sys.executable, SCRIPT, str(directory / "ckpt"), "--last-step",
                            str(last_step), "--learning-rate", str(learning_rate),
                            "--result", str(result)], check=True, capture_output=True,
                           timeout=120, env=environment)
            cache[key] = load(result)
        return cache[key]

    return get


def load(path):
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def assert_job(record, output, state="COMPLETED", exit_code="0:0", restarts=0):
    """Asserts the job's final state, exit code and restart count, showing its output."""
    got = (record.get("JobState"), record.get("ExitCode") if exit_code else None,
           int(record.get("Restarts", 0)))
    assert got == (state, exit_code, restarts), "job %s: state, exit code, restarts %s, " \
        "expected %s\n--- output:\n%s" % (record.get("JobId"), got,
                                          (state, exit_code, restarts), read(output)[-4000:])


def assert_same_weights(got, reference, context):
    assert sorted(got) == sorted(reference), context
    for name in reference:
        np.testing.assert_allclose(got[name], reference[name], rtol=1e-5, atol=1e-6,
                                   err_msg="%s: %s" % (context, name))


def training_args(last_step, *extra):
    return [SCRIPT, "ckpt", "--last-step", str(last_step), "--result", "result.npz", *extra]


# -- train_cpu.sbatch ----------------------------------------------------------------------

@pytest.mark.parametrize("launcher,ranks", [("mpiexec", 2), ("srun", 3)])
def test_train_cpu(slurm, reference, tmp_path, launcher, ranks):
    job = slurm.submit(template("train_cpu.sbatch"), training_args(6),
                       ["--nodes=1", "--ntasks=%d" % ranks, "--ntasks-per-node=%d" % ranks,
                        "--time=5"], cwd=tmp_path, env=slurm.env(HPCFLOW_LAUNCHER=launcher))
    output = tmp_path / ("hpcflow-cpu-%d.out" % job)
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output)
    text = read(output)
    assert "ranks %d nodes %s launcher %s" % (ranks, slurm.hostname, launcher) in text
    assert "start step 0 ranks %d checkpoint" % ranks in text, text
    assert "done step 6" in text and "exit code 0" in text, text
    assert (tmp_path / "ckpt" / "checkpoint").exists()
    assert_same_weights(load(tmp_path / "result.npz"), reference(6),
                        "%s, %d ranks vs one process" % (launcher, ranks))


def test_failing_script_fails_the_job(slurm, tmp_path):
    job = slurm.submit(template("train_cpu.sbatch"), training_args(6, "--fail-at-step", "2"),
                       ["--nodes=1", "--ntasks=2", "--ntasks-per-node=2", "--time=5"],
                       cwd=tmp_path)
    output = tmp_path / ("hpcflow-cpu-%d.out" % job)
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output, state="FAILED", exit_code="1:0")
    text = read(output)
    assert "RuntimeError: failing at step 2" in text, text
    assert "step 3 loss" not in text and "exit code 1" in text, text


def test_template_without_a_script_fails(slurm, tmp_path):
    job = slurm.submit(template("train_cpu.sbatch"), [], ["--nodes=1", "--ntasks=1"],
                       cwd=tmp_path)
    output = tmp_path / ("hpcflow-cpu-%d.out" % job)
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output, state="FAILED", exit_code="2:0")
    assert "usage: sbatch train_cpu.sbatch SCRIPT" in read(output)


# -- train_gpu.sbatch ----------------------------------------------------------------------

@pytest.mark.parametrize("launcher", ["mpiexec", "srun"])
def test_train_gpu_one_rank_per_gpu(slurm, reference, tmp_path, launcher):
    if not slurm.gpus:
        pytest.skip(slurm.no_gpu_reason)
    job = slurm.submit(template("train_gpu.sbatch"), training_args(3),
                       ["--nodes=1", "--ntasks-per-node=2", "--gpus-per-node=2",
                        "--cpus-per-task=1", "--time=5"], cwd=tmp_path,
                       env=slurm.env(HPCFLOW_LAUNCHER=launcher))
    output = tmp_path / ("hpcflow-gpu-%d.out" % job)
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output)
    text = read(output)
    assert "GPUs on the first node 0,1 launcher %s" % launcher in text, text
    for rank in (0, 1):  # each rank sees exactly one GPU, a different one
        assert "rank %d (local %d) on %s: CUDA_VISIBLE_DEVICES=%d" % (
            rank, rank, slurm.hostname, rank) in text, text
    assert "start step 0 ranks 2" in text and "done step 3" in text, text
    assert_same_weights(load(tmp_path / "result.npz"), reference(3), "gpu template")


def test_train_gpu_refuses_more_ranks_than_gpus(slurm, tmp_path):
    if not slurm.gpus:
        pytest.skip(slurm.no_gpu_reason)
    job = slurm.submit(template("train_gpu.sbatch"), training_args(3),
                       ["--nodes=1", "--ntasks-per-node=3", "--gpus-per-node=2",
                        "--cpus-per-task=1", "--time=5"], cwd=tmp_path)
    output = tmp_path / ("hpcflow-gpu-%d.out" % job)
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output, state="FAILED", exit_code="2:0")
    text = read(output)
    assert "3 ranks on a node but 2 GPU(s)" in text and "start step" not in text, text


# -- sweep_array.sbatch --------------------------------------------------------------------

def test_sweep_array(slurm, reference, tmp_path):
    (tmp_path / "sweep.txt").write_text(
        "# one line of extra arguments per array task\n"
        "--learning-rate 0.1\n"
        "\n"
        "--learning-rate 0.05   # a comment after the arguments\n"
        "'--learning-rate' \"0.01\"\n")
    # Task 3 has no line: it must fail and say so, without disturbing the others.
    job = slurm.submit(template("sweep_array.sbatch"),
                       ["sweep.txt", SCRIPT, "runs/%a", "--last-step", "6",
                        "--result", "result-%A-%a.npz"],
                       ["--array=0-3", "--nodes=1", "--ntasks=2", "--time=5"], cwd=tmp_path)
    records = slurm.wait(job, JOB_TIMEOUT, tmp_path / ("sweep-%d_0.out" % job))
    by_task = {int(r["ArrayTaskId"]): r for r in records}
    assert sorted(by_task) == [0, 1, 2, 3], records
    results = {}
    for task, rate in enumerate(("0.1", "0.05", "0.01")):
        output = tmp_path / ("sweep-%d_%d.out" % (job, task))
        assert_job(by_task[task], output)
        text = read(output)
        assert "array job %d task %d" % (job, task) in text, text
        assert "runs/%d --last-step 6 --result result-%d-%d.npz --learning-rate %s" % (
            task, job, task, rate) in text, text
        assert re.search(r"done step 6 loss \S+ lr %s\n" % re.escape(rate), text), text
        assert (tmp_path / "runs" / str(task) / "checkpoint").exists()
        results[task] = load(tmp_path / ("result-%d-%d.npz" % (job, task)))
    assert_same_weights(results[0], reference(6, 0.1), "sweep task 0 (learning rate 0.1)")
    for task in (1, 2):  # other learning rates, other weights
        assert not np.allclose(results[task]["linear__w"], results[0]["linear__w"])
    output = tmp_path / ("sweep-%d_3.out" % job)
    assert_job(by_task[3], output, state="FAILED", exit_code="2:0")
    assert "array task 3 but sweep.txt has 3 sweep line(s) (tasks 0-2)" in read(output)


# -- preemption: signal, checkpoint, requeue, resume ---------------------------------------

def check_resumed(text, signal_name, ranks):
    """Checks one stop-and-resume in `text`; returns the step of the checkpoint in between.

    The run that got the signal finishes its step and saves checkpoint K; the requeued run
    starts from exactly that checkpoint and runs step K+1 next: no step lost or repeated.
    """
    stopped = re.search(r"hpcflow: stopped by %s: saved checkpoint (\S*)model\.ckpt-(\d+);"
                        % signal_name, text)
    assert stopped, text
    saved = int(stopped.group(2))
    later = text[stopped.end():]
    assert "start step %d ranks %d checkpoint %smodel.ckpt-%d" % (
        saved, ranks, stopped.group(1), saved) in later, text
    first_step = re.search(r"step (\d+) loss", later)
    assert first_step and int(first_step.group(1)) == saved + 1, text
    # The stopping step is not printed when the signal came between the script's two
    # sess.run calls of a step (the session exits right after the training run).
    steps_before = [int(s) for s in re.findall(r"step (\d+) loss", text[:stopped.start()])]
    assert steps_before in (list(range(1, saved + 1)), list(range(1, saved))), text
    assert text.count("done step") == 1, text
    return saved


def test_requeue_after_batch_signal(slurm, reference, tmp_path):
    """train_requeue.sbatch: SIGUSR1 to the batch shell (as --signal=B:USR1@90 sends it)."""
    job = slurm.submit(template("train_requeue.sbatch"),
                       training_args(14, "--step-sleep", "0.5"),
                       ["--nodes=1", "--ntasks=2", "--ntasks-per-node=2", "--time=5"],
                       cwd=tmp_path)
    output = tmp_path / ("hpcflow-requeue-%d.out" % job)
    slurm.wait_for_text(output, "step 3 loss", JOB_TIMEOUT, lambda: slurm.records(job))
    slurm.run(["scancel", "--batch", "--signal=USR1", str(job)])
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output, restarts=1)
    text = read(output)
    assert "batch shell received SIGUSR1: passing it to the ranks" in text, text
    assert "stopped after a checkpoint (exit 75): requeueing" in text, text
    assert "job %d restart 1 ranks 2" % job in text, text
    saved = check_resumed(text, "SIGUSR1", ranks=2)
    assert saved >= 3
    assert "finished its training (restart 1)" in text, text
    assert_same_weights(load(tmp_path / "result.npz"), reference(14),
                        "stopped at step %d, requeued, resumed vs never stopped" % saved)


def test_scancel_saves_and_stays_cancelled(slurm, tmp_path):
    """A plain scancel (SIGTERM to the job) saves a checkpoint and is not undone by a requeue."""
    job = slurm.submit(template("train_requeue.sbatch"),
                       training_args(30, "--step-sleep", "0.5"),
                       ["--nodes=1", "--ntasks=2", "--ntasks-per-node=2", "--time=5"],
                       cwd=tmp_path)
    output = tmp_path / ("hpcflow-requeue-%d.out" % job)
    slurm.wait_for_text(output, "step 3 loss", JOB_TIMEOUT, lambda: slurm.records(job))
    slurm.run(["scancel", str(job)])
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output, state="CANCELLED", exit_code=None)
    text = read(output)
    stopped = re.search(r"stopped by SIGTERM: saved checkpoint ckpt/model\.ckpt-(\d+);", text)
    assert stopped and int(stopped.group(1)) >= 3, text
    assert "not requeueing (resubmit to resume)" in text, text
    assert "restart 1" not in text and "done step" not in text, text


def test_requeue_by_rank0_after_signal_to_the_ranks(slurm, reference, tmp_path):
    """train_cpu.sbatch with --requeue and HPCFLOW_REQUEUE_ON_SIGNAL=1: rank 0 requeues.

    `scancel --signal=USR1` (no --batch) signals the job steps, not the batch shell, as
    --signal=USR1@90 without "B:" does: the ranks get the signal directly.
    """
    job = slurm.submit(template("train_cpu.sbatch"), training_args(14, "--step-sleep", "0.5"),
                       ["--nodes=1", "--ntasks=2", "--ntasks-per-node=2", "--time=5",
                        "--requeue", "--open-mode=append"], cwd=tmp_path,
                       env=slurm.env(HPCFLOW_REQUEUE_ON_SIGNAL="1"))
    output = tmp_path / ("hpcflow-cpu-%d.out" % job)
    slurm.wait_for_text(output, "step 3 loss", JOB_TIMEOUT, lambda: slurm.records(job))
    slurm.run(["scancel", "--signal=USR1", str(job)])
    [record] = slurm.wait(job, JOB_TIMEOUT, output)
    assert_job(record, output, restarts=1)
    text = read(output)
    assert "hpcflow: requeued Slurm job %d" % job in text, text
    saved = check_resumed(text, "SIGUSR1", ranks=2)
    assert_same_weights(load(tmp_path / "result.npz"), reference(14),
                        "stopped at step %d, requeued by rank 0, resumed" % saved)


def test_time_limit_warning_requeues(slurm, reference, tmp_path):
    """Slurm itself sends the warning: --time=2 with --signal=B:USR1@100.

    slurmctld checks time limits every 30 s and signals once at most 100 s are left, so the
    signal comes 20 to 50 s after the start (long after the training session exists) while
    the first run (0.5 s per step, 110 steps) is still training; the requeued run trains at
    full speed and finishes long before its own warning.
    """
    job = slurm.submit(template("train_requeue.sbatch"),
                       training_args(110, "--step-sleep", "0.5"),
                       ["--nodes=1", "--ntasks=2", "--ntasks-per-node=2", "--time=2",
                        "--signal=B:USR1@100"], cwd=tmp_path)
    output = tmp_path / ("hpcflow-requeue-%d.out" % job)
    [record] = slurm.wait(job, 180, output)
    text = read(output)
    assert_job(record, output, restarts=1)
    assert "batch shell received SIGUSR1" in text, text
    saved = check_resumed(text, "SIGUSR1", ranks=2)
    assert_same_weights(load(tmp_path / "result.npz"), reference(110),
                        "stopped by the time-limit warning at step %d, resumed" % saved)
