"""ProgressHook (steps/s, examples/s, loss on rank 0) and SummarySaverHook in MonitoredSessions."""
import io

import numpy as np
import pytest

import hpcflow as tf
from hpcflow import summary
from hpcflow.summary.hooks import SummarySaverHook
from hpcflow.train.monitored_session import MonitoredSession, MonitoredTrainingSession, Scaffold
from hpcflow.train.progress import ProgressHook

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _model():
    x = tf.placeholder(tf.float32, [None, 2])
    w = tf.Variable(tf.ones([2, 1]))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0), name="mean_loss")
    step = tf.train.get_or_create_global_step()
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return x, loss, train


def _train(hooks, steps=10):
    x, loss, train = _model()
    data = np.ones((4, 2), np.float32)
    with MonitoredTrainingSession(hooks=hooks(loss), log_step_count_steps=None) as sess:
        for _ in range(steps):
            sess.run(train, {x: data})


def test_plain_lines_in_a_batch_log_at_the_interval():
    stream = io.StringIO()
    hook = []
    _train(lambda loss: hook.append(ProgressHook(loss, examples_per_step=4, every_n_steps=4,
                                                 total_steps=10, stream=stream)) or hook)
    lines = stream.getvalue().splitlines()
    assert [r[0] for r in hook[0].records] == [1, 5, 9]
    assert all(r[1] is not None and r[2] > 0 and r[3] == pytest.approx(4 * r[2])
               for r in hook[0].records)
    assert lines[0].startswith("[") and "step 1/10" in lines[0] and "loss" in lines[0]
    assert "examples/s" in lines[1] and "steps/s" in lines[1]
    assert lines[-1].startswith("done: 10 steps")
    losses = [r[1] for r in hook[0].records]
    assert losses[-1] < losses[0]


def test_progress_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = _Terminal()
    hook = []
    _train(lambda loss: hook.append(ProgressHook(loss, every_n_steps=5, total_steps=10,
                                                 stream=stream)) or hook)
    output = stream.getvalue()
    assert "10/10" in output and "loss=" in output and "\r" in output
    assert "done: 10 steps" in output


def test_without_loss_or_global_step_it_counts_steps():
    stream = io.StringIO()
    x = tf.placeholder(tf.float32, [])
    y = x * 2.0
    hook = ProgressHook(every_n_steps=2, stream=stream, progress_bar=False)
    with MonitoredSession(hooks=[hook]) as sess:
        for i in range(5):
            sess.run(y, {x: float(i)})
    assert [r[0] for r in hook.records] == [1, 3, 5]
    assert all(r[1] is None and r[3] is None for r in hook.records)


def test_only_rank_zero_reports(monkeypatch):
    monkeypatch.setenv("PMI_RANK", "1")
    monkeypatch.setenv("PMI_SIZE", "2")
    stream = io.StringIO()
    hook = []
    _train(lambda loss: hook.append(ProgressHook(loss, every_n_steps=1, stream=stream)) or hook)
    assert stream.getvalue() == "" and hook[0].records == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="not both"):
        ProgressHook(every_n_steps=1, every_n_secs=1)
    with pytest.raises(ValueError, match="examples_per_step"):
        ProgressHook(examples_per_step=0)


def test_summary_saver_hook_writes_every_n_steps(tmp_path):
    logdir = str(tmp_path)
    hook = []

    def hooks(loss):
        summary.scalar("loss", loss)
        hook.append(SummarySaverHook(save_steps=3, output_dir=logdir,
                                     summary_op=summary.merge_all()))
        return hook
    _train(hooks, steps=10)
    summary.FileWriterCache.clear()
    acc = event_accumulator.EventAccumulator(logdir)
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == [1, 4, 7, 10]


def test_summary_saver_hook_takes_merged_summaries_from_a_scaffold(tmp_path):
    writer = summary.FileWriter(str(tmp_path))
    hook = []

    def hooks(loss):
        summary.scalar("loss", loss)
        hook.append(SummarySaverHook(save_steps=5, summary_writer=writer,
                                     scaffold=Scaffold()))
        return hook
    _train(hooks, steps=6)
    writer.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == [1, 6]
    with pytest.raises(ValueError, match="scaffold or summary_op"):
        SummarySaverHook(save_steps=1, output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="save_steps or save_secs"):
        SummarySaverHook(output_dir=str(tmp_path), summary_op=tf.constant(""))
    with pytest.raises(ValueError, match="output_dir or summary_writer"):
        SummarySaverHook(save_steps=1, summary_op=tf.constant(""))
