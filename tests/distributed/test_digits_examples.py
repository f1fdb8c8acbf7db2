"""The digits, embedding and model-parallel examples in scripts/, in one process and under
real mpiexec: accuracies, TensorBoard event files and checkpoints (short runs; the README's
full runs are measured, not tested)."""
import glob
import os
import re
import subprocess
import sys

import pytest

import mpi_harness as harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = [pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")]
pytest.importorskip("sklearn")


def _run(script, ranks, cwd, *args, launcher_args=()):
    path = os.path.join(ROOT, "scripts", script)
    command = [sys.executable, path, *args] if ranks == 1 else \
        [harness.mpiexec(), "-n", str(ranks), sys.executable, "-m", "hpcflow",
         *launcher_args, path, *args]
    environment = dict(os.environ)
    environment.pop("HPCFLOW_CHECK_KERNELS", None)
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=str(cwd),
                          env=environment)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _accuracy(output):
    return float(re.search(r"test accuracy (\S+)", output).group(1))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("examples")
    _run("prepare_digits.py", 1, path)
    return path


def test_cnn_on_four_ranks_equals_one_process_and_writes_summaries_and_checkpoints(workdir):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    one = _run("cnn_digits.py", 1, workdir, "--epochs", "2", "--logdir", "one")
    four = _run("cnn_digits.py", 4, workdir, "--epochs", "2", "--logdir", "four")
    assert _accuracy(one) > 0.85, one
    # Same batches, same updates up to float rounding (which Adam's first steps amplify a
    # little): the final losses and accuracies agree closely, not bit for bit.
    assert abs(_accuracy(one) - _accuracy(four)) <= 0.01, (one, four)
    final_loss = lambda text: float(re.findall(r"loss (\S+)", text)[-1])  # noqa: E731
    assert final_loss(four) == pytest.approx(final_loss(one), rel=0.02), (one, four)
    assert "on 4 rank(s)" in four and "examples/s" in four and "done: 46 steps" in four
    logdir = str(workdir / "four")
    assert os.path.exists(os.path.join(logdir, "checkpoint"))
    assert glob.glob(os.path.join(logdir, "model.ckpt-46*"))
    (event_file,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    assert not event_file.endswith(tuple(".rank%d" % r for r in range(1, 4)))
    acc = event_accumulator.EventAccumulator(logdir, size_guidance={
        event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"loss", "batch_accuracy"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("loss")] == [1, 11, 21, 31, 41]
    assert acc.Scalars("loss")[-1].value < acc.Scalars("loss")[0].value
    assert "inputs/image/0" in tags["images"]
    assert "histograms/cnn/conv1/weights" in tags["histograms"]
    assert tags["graph"] and any(n.op == "HDF5Reader" for n in acc.Graph().node)


def test_mlp_learns_in_one_process(workdir):
    assert _accuracy(_run("mlp_digits.py", 1, workdir, "--epochs", "2")) > 0.85


def test_softmax_on_three_ranks_equals_one_process(workdir):
    one = _run("softmax_digits.py", 1, workdir, "--epochs", "2")
    three = _run("softmax_digits.py", 3, workdir, "--epochs", "2")
    assert _accuracy(one) > 0.85, one
    assert abs(_accuracy(one) - _accuracy(three)) < 1e-6, (one, three)


def test_model_parallel_two_stages_on_three_ranks(workdir):
    output = _run("model_parallel.py", 3, workdir, "--epochs", "2")
    assert _accuracy(output) > 0.85, output


def test_word_embedding_shards_on_two_parameter_servers(workdir):
    output = _run("word_embedding.py", 4, workdir, "--steps", "10", launcher_args=["--ps", "2"])
    assert "embeddings/part_0 on /job:ps/task:0" in output
    assert "embeddings/part_1 on /job:ps/task:1" in output
    assert 0.0 < _accuracy(output) <= 1.0
