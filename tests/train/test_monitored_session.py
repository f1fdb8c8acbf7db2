"""MonitoredTrainingSession, the hooks, Scaffold/SessionManager, and preemption signals."""
import logging
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.distributed import signals
from hpcflow.framework import errors
from hpcflow.train import basic_session_run_hooks as hooks_lib
from hpcflow.train import monitored_session as ms
from hpcflow.train.saver import Saver, get_checkpoint_state, latest_checkpoint


@pytest.fixture(autouse=True)
def no_pending_preemption():
    signals.clear_request()
    yield
    signals.clear_request()


def _model():
    w = tf.Variable(np.ones(3, np.float32), name="w")
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_sum(w * w)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return w, step, loss, train


def _train(checkpoint_dir, last_step, **kwargs):
    """Builds the model in a fresh graph and trains to `last_step`; returns (losses, w)."""
    with tf.Graph().as_default():
        w, step, loss, train = _model()
        losses = []
        kwargs.setdefault("log_step_count_steps", None)
        with ms.MonitoredTrainingSession(
                checkpoint_dir=checkpoint_dir,
                hooks=[hooks_lib.StopAtStepHook(last_step=last_step)] + kwargs.pop("hooks", []),
                **kwargs) as sess:
            while not sess.should_stop():
                losses.append(sess.run([train, loss])[1])
        return losses, w


def _checkpoints(directory):
    return sorted(int(f.rsplit("-", 1)[1]) for f in os.listdir(directory)
                  if f.startswith("model.ckpt-") and ".data-" not in f)


def test_saves_and_resumes_as_tensorflow_does(tmp_path):
    directory = str(tmp_path)
    first, _ = _train(directory, 5, save_checkpoint_steps=3)
    assert _checkpoints(directory) == [0, 3, 5]  # what TF 1 writes for the same program
    second, _ = _train(directory, 10, save_checkpoint_steps=3)
    assert _checkpoints(directory) == [0, 3, 5, 8, 10]
    uninterrupted, _ = _train(str(tmp_path / "once"), 10, save_checkpoint_steps=3)
    np.testing.assert_allclose(first + second, uninterrupted, rtol=0, atol=0)
    np.testing.assert_allclose(second[0], 0.32212245, rtol=1e-6)  # TF's value at step 6
    assert get_checkpoint_state(directory).model_checkpoint_path.endswith("model.ckpt-10")


def test_save_secs_saves_at_start_and_end(tmp_path):
    _train(str(tmp_path), 4, save_checkpoint_secs=3600)
    assert _checkpoints(str(tmp_path)) == [0, 4]


def test_no_checkpoint_dir_no_saving(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    losses, _ = _train(None, 3)
    assert len(losses) == 3 and os.listdir(tmp_path) == []


def test_at_most_one_checkpoint_frequency_and_defaults(tmp_path):
    with tf.Graph().as_default():
        _model()
        sess = ms.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), log_step_count_steps=None)
        saver_hooks = [h for h in sess._hooks if isinstance(h, hooks_lib.CheckpointSaverHook)]
        assert saver_hooks[0]._timer._every_secs == 600  # TF's default
        sess.close()


def test_damaged_latest_checkpoint_is_not_silently_replaced(tmp_path):
    _train(str(tmp_path), 2, save_checkpoint_steps=1)
    latest = latest_checkpoint(str(tmp_path))
    with open(latest, "r+b") as f:
        f.truncate(64)
    with pytest.raises(errors.DataLossError, match="cannot be opened as HDF5"):
        _train(str(tmp_path), 4, save_checkpoint_steps=1)
    assert latest_checkpoint(str(tmp_path)) == latest


class _Recorder(ms.SessionRunHook):
    def __init__(self, calls, name, fetch=None, feed=None):
        self.calls, self.name, self.fetch, self.feed = calls, name, fetch, feed

    def begin(self):
        self.calls.append((self.name, "begin"))

    def after_create_session(self, session, coord):
        self.calls.append((self.name, "after_create_session"))

    def before_run(self, run_context):
        self.calls.append((self.name, "before_run"))
        if self.fetch is None and self.feed is None:
            return None
        return ms.SessionRunArgs(self.fetch, self.feed)

    def after_run(self, run_context, run_values):
        self.calls.append((self.name, "after_run", run_values.results))

    def end(self, session):
        self.calls.append((self.name, "end"))


def test_hook_order_fetches_and_feeds():
    x = tf.placeholder(tf.float32, [], name="x")
    y = tf.placeholder(tf.float32, [], name="y")
    doubled = x * 2.0
    y_plus_one = y + 1.0
    calls = []
    first = _Recorder(calls, "first", fetch=doubled, feed={x: 5.0})
    second = _Recorder(calls, "second")
    with ms.MonitoredSession(hooks=[first, second]) as sess:
        assert sess.run(y_plus_one, feed_dict={y: 2.0}) == 3.0
    assert calls == [("first", "begin"), ("second", "begin"),
                     ("first", "after_create_session"), ("second", "after_create_session"),
                     ("first", "before_run"), ("second", "before_run"),
                     ("first", "after_run", 10.0), ("second", "after_run", None),
                     ("first", "end"), ("second", "end")]


def test_feed_conflicts_are_errors():
    x = tf.placeholder(tf.float32, [], name="x")
    a = _Recorder([], "a", fetch=x, feed={x: 1.0})
    b = _Recorder([], "b", fetch=x, feed={x: 2.0})
    with ms.MonitoredSession(hooks=[a, b]) as sess:
        with pytest.raises(RuntimeError, match="Same tensor is fed by two hooks"):
            sess.run(x)
    with ms.MonitoredSession(hooks=[a]) as sess:
        with pytest.raises(RuntimeError, match="fed by a SessionRunHook and user"):
            sess.run(x, feed_dict={x: 3.0})


def test_stop_at_step_hook():
    with pytest.raises(ValueError, match="One of num_steps or last_step"):
        hooks_lib.StopAtStepHook()
    with pytest.raises(ValueError, match="Only one of"):
        hooks_lib.StopAtStepHook(num_steps=1, last_step=2)
    _, step, _, train = _model()
    with ms.MonitoredSession(hooks=[hooks_lib.StopAtStepHook(num_steps=4)]) as sess:
        count = 0
        while not sess.should_stop():
            sess.run(train)
            count += 1
        assert count == 4
        with pytest.raises(RuntimeError, match="Run called even after should_stop"):
            sess.run(train)
    with tf.Graph().as_default():
        tf.Variable(1.0)
        with pytest.raises(RuntimeError, match="Global step should be created"):
            ms.MonitoredSession(hooks=[hooks_lib.StopAtStepHook(num_steps=1)])


def test_logging_tensor_hook(caplog):
    counter = tf.Variable(0, name="counter")
    bump = tf.assign_add(counter, 1)
    hook = hooks_lib.LoggingTensorHook({"count": counter}, every_n_iter=2, at_end=True)
    with caplog.at_level(logging.INFO, logger="hpcflow"):
        with ms.MonitoredSession(hooks=[hook]) as sess:
            for _ in range(5):
                sess.run(bump)
    logged = [r.getMessage().split(" (")[0] for r in caplog.records if "count = " in
              r.getMessage()]
    assert logged == ["count = 1", "count = 3", "count = 5", "count = 5"]
    formatted = hooks_lib.LoggingTensorHook([counter], at_end=True,
                                            formatter=lambda v: "formatted %d" % v["counter:0"])
    with caplog.at_level(logging.INFO, logger="hpcflow"):
        with ms.MonitoredSession(hooks=[formatted]) as sess:
            sess.run(bump)
    assert "formatted 1" in caplog.text
    with pytest.raises(ValueError, match="exactly one of every_n_iter and every_n_secs"):
        hooks_lib.LoggingTensorHook({"c": counter})
    with pytest.raises(ValueError, match="invalid every_n_iter"):
        hooks_lib.LoggingTensorHook({"c": counter}, every_n_iter=0)


def test_nan_tensor_hook():
    x = tf.placeholder(tf.float32, [])
    hook = hooks_lib.NanTensorHook(x)
    with ms.MonitoredSession(hooks=[hook]) as sess:
        sess.run(x, {x: 1.0})
        with pytest.raises(hooks_lib.NanLossDuringTrainingError, match="NaN loss during"):
            sess.run(x, {x: float("nan")})
    with ms.MonitoredSession(hooks=[hooks_lib.NanTensorHook(x, fail_on_nan_loss=False)]) as sess:
        sess.run(x, {x: float("nan")})
        assert sess.should_stop()


class _Listener(hooks_lib.CheckpointSaverListener):
    def __init__(self, stop_after=None):
        self.events, self.stop_after = [], stop_after

    def begin(self):
        self.events.append("begin")

    def before_save(self, session, step):
        self.events.append(("before", step))

    def after_save(self, session, step):
        self.events.append(("after", step))
        return self.stop_after is not None and step >= self.stop_after

    def end(self, session, step):
        self.events.append(("end", step))


def test_checkpoint_saver_hook_listeners_and_stop_request(tmp_path):
    _, step, _, train = _model()
    listener = _Listener(stop_after=4)
    hook = hooks_lib.CheckpointSaverHook(str(tmp_path / "new_dir"), save_steps=2,
                                         listeners=[listener])
    with ms.MonitoredSession(hooks=[hook]) as sess:
        while not sess.should_stop():
            sess.run(train)
        assert sess._tf_sess().run(step) == 4
    assert listener.events == ["begin", ("before", 0), ("after", 0), ("before", 2),
                               ("after", 2), ("before", 4), ("after", 4), ("end", 4)]
    with pytest.raises(ValueError, match="both saver and scaffold"):
        hooks_lib.CheckpointSaverHook(str(tmp_path), save_steps=1, saver=object(),
                                      scaffold=ms.Scaffold())
    with pytest.raises(ValueError, match="Either every_secs or every_steps"):
        hooks_lib.CheckpointSaverHook(str(tmp_path))


def test_step_counter_final_ops_and_feed_fn_hooks():
    _, step, loss, train = _model()
    counter = hooks_lib.StepCounterHook(every_n_steps=2)
    final = hooks_lib.FinalOpsHook(loss)
    x = tf.placeholder(tf.float32, [])
    doubled = x * 2.0
    fed = hooks_lib.FeedFnHook(lambda: {x: 3.0})
    with ms.MonitoredSession(hooks=[counter, final, fed]) as sess:
        for _ in range(5):
            assert sess.run([train, doubled])[1] == 6.0
    # Triggered first at step 1 (no rate yet), then every 2 steps.
    assert [s for s, _ in counter.rates] == [3, 5]
    np.testing.assert_allclose(final.final_ops_values, 3 * 0.8 ** 10, rtol=1e-5)
    with pytest.raises(ValueError, match="exactly one of every_n_steps"):
        hooks_lib.StepCounterHook(every_n_steps=None)


def test_out_of_range_ends_the_with_block_cleanly():
    _model()
    with ms.MonitoredSession() as sess:
        raise errors.OutOfRangeError(None, None, "input exhausted")
    assert sess.should_stop()


class _AbortOnce(ms.SessionRunHook):
    def __init__(self):
        self.created = 0
        self.aborted = False

    def after_create_session(self, session, coord):
        self.created += 1

    def before_run(self, run_context):
        if not self.aborted:
            self.aborted = True
            raise errors.AbortedError(None, None, "a peer restarted")


def test_monitored_session_recovers_and_singular_does_not(tmp_path):
    w, step, _, train = _model()
    hook = _AbortOnce()
    with ms.MonitoredSession(session_creator=ms.ChiefSessionCreator(
            checkpoint_dir=str(tmp_path)), hooks=[hook]) as sess:
        sess.run(train)
        assert hook.created == 2  # a new session was created after the abort
    with tf.Graph().as_default():
        _model()
        with pytest.raises(errors.AbortedError):
            with ms.SingularMonitoredSession(hooks=[_AbortOnce()]) as sess:
                assert isinstance(sess.raw_session(), tf.Session)
                sess.run(tf.train.get_global_step())


def test_scaffold_init_fn_and_readiness():
    w = tf.Variable(np.zeros(2, np.float32), name="w")
    set_w = w.assign([4.0, 5.0])
    scaffold = ms.Scaffold(init_op=tf.no_op(), init_fn=lambda scaffold, sess: sess.run(set_w))
    with ms.MonitoredSession(ms.ChiefSessionCreator(scaffold=scaffold)) as sess:
        np.testing.assert_array_equal(sess.run(w), [4.0, 5.0])
    assert not tf.get_default_graph().finalized  # finalized only while the session ran
    with tf.Graph().as_default():
        tf.Variable(1.0, name="v")
        bad = ms.Scaffold(init_op=tf.no_op())
        with pytest.raises(RuntimeError, match="did not make model ready.*Variables not "
                           "initialized: v"):
            ms.MonitoredSession(ms.ChiefSessionCreator(scaffold=bad))
    manager = ms.SessionManager()
    with pytest.raises(RuntimeError, match="Model is not initialized and no init_op"):
        manager.prepare_session("")
    with pytest.raises(ValueError, match="Can not provide both"):
        manager.prepare_session("", saver=Saver([w]), checkpoint_dir="a",
                                checkpoint_filename_with_path="b")


def test_session_manager_recover_and_wait(tmp_path):
    w = tf.Variable(np.ones(2, np.float32), name="w")
    saver = Saver()
    manager = ms.SessionManager(ready_op=tf.report_uninitialized_variables(),
                                recovery_wait_secs=0.01)
    sess, restored = manager.recover_session("", saver=saver, checkpoint_dir=str(tmp_path))
    assert not restored
    sess.run(w.initializer)
    saver.save(sess, str(tmp_path / "m"))
    sess.close()
    sess, restored = manager.recover_session("", saver=saver, checkpoint_dir=str(tmp_path))
    assert restored
    np.testing.assert_array_equal(sess.run(w), [1.0, 1.0])
    with pytest.raises(errors.DeadlineExceededError, match="not ready"):
        manager.wait_for_session("", max_wait_secs=0.02)


def test_run_step_fn():
    _, step, _, train = _model()
    with ms.MonitoredSession() as sess:
        def step_fn(step_context):
            step_context.run_with_hooks(train)
            return step_context.session.run(step)
        assert sess.run_step_fn(step_fn) == 1

        def stop_fn(step_context):
            step_context.request_stop()
        with pytest.raises(StopIteration):
            sess.run_step_fn(stop_fn)
        with pytest.raises(ValueError, match="step_context"):
            sess.run_step_fn(lambda other: None)


# -- preemption ---------------------------------------------------------------------------------

def test_signal_saves_a_checkpoint_and_exits_75(tmp_path):
    directory = str(tmp_path)
    requeue_calls = []
    w, step, _, train = _model()
    with pytest.raises(SystemExit) as exit_info:
        with ms.MonitoredTrainingSession(checkpoint_dir=directory, save_checkpoint_steps=100,
                                         log_step_count_steps=None) as sess:
            for i in range(10):
                if i == 3:
                    os.kill(os.getpid(), signal.SIGUSR1)  # as Slurm's --signal=USR1@90
                sess.run(train)
    assert exit_info.value.code == ms.PREEMPTED_EXIT_CODE == 75
    assert _checkpoints(directory) == [0, 3]  # no step starts after the signal
    assert not requeue_calls
    # The handler stays quiet without a monitored session running: default action again.
    assert signals.preemption_requested() == "SIGUSR1"


def test_signal_during_a_step_lets_it_finish(tmp_path):
    w, step, _, train = _model()

    def send_signal(value):
        if value == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return value
    with tf.control_dependencies([train]):
        noisy_train = tf.py_func(send_signal, [step.read_value()], tf.int64)
    with pytest.raises(SystemExit) as exit_info:
        with ms.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), log_step_count_steps=None,
                                         save_checkpoint_steps=100) as sess:
            while True:
                sess.run(noisy_train)
    assert exit_info.value.code == 75
    assert _checkpoints(str(tmp_path)) == [0, 2]


def test_requeue_only_when_asked_under_slurm(monkeypatch):
    calls = []

    class Done:
        returncode, stderr = 0, ""

    def fake_run(command, **kwargs):
        calls.append(command)
        return Done()
    monkeypatch.delenv(signals.REQUEUE_VARIABLE, raising=False)
    assert not signals.requeue_if_asked(fake_run)
    monkeypatch.setenv(signals.REQUEUE_VARIABLE, "1")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert not signals.requeue_if_asked(fake_run)
    monkeypatch.setenv("SLURM_JOB_ID", "1234")
    assert signals.requeue_if_asked(fake_run)
    assert calls == [["scontrol", "requeue", "1234"]]
    Done.returncode, Done.stderr = 1, "Invalid job id"
    assert not signals.requeue_if_asked(fake_run)
    assert not signals.requeue_if_asked(lambda *a, **k: (_ for _ in ()).throw(OSError("no")))
    # SIGTERM means the job is being ended (scancel, time limit): never undo it.
    Done.returncode = 0
    calls.clear()
    assert not signals.requeue_if_asked(fake_run, signal_name="SIGTERM")
    assert calls == []


_SIGNAL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import hpcflow as tf
    from hpcflow.train import monitored_session as ms
    from hpcflow.distributed import signals
    mode = sys.argv[1]
    signals.install_rank0_handlers()  # as `python -m hpcflow` does on rank 0
    if mode == "worker":
        signals.install_worker_handlers(3)
    step = tf.train.get_or_create_global_step()
    train = tf.assign_add(step, 1)
    if mode in ("plain", "worker"):
        with tf.Session() as sess:
            sess.run(step.initializer)
            os.kill(os.getpid(), signal.SIGTERM)
            print("still running", flush=True)
        sys.exit(0)
    with ms.MonitoredTrainingSession(checkpoint_dir=sys.argv[2], log_step_count_steps=None,
                                     save_checkpoint_steps=1000) as sess:
        while True:
            if sess.run(train) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
""")


@pytest.mark.parametrize("mode", ["plain", "worker", "monitored"])
def test_signal_handling_in_a_process(tmp_path, mode):
    script = tmp_path / "job.py"
    script.write_text(_SIGNAL_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), mode, str(tmp_path / "ckpt")],
                          capture_output=True, text=True, timeout=120)
    if mode == "plain":  # no monitored session: SIGTERM keeps its default action
        assert proc.returncode == -signal.SIGTERM, proc.stderr
        assert "still running" not in proc.stdout
    elif mode == "worker":  # worker ranks keep serving
        assert proc.returncode == 0 and "still running" in proc.stdout, proc.stderr
        assert "rank 3 received SIGTERM: ignored" in proc.stderr
    else:
        assert proc.returncode == 75, proc.stderr
        assert "stopped by SIGTERM: saved checkpoint" in proc.stderr
        assert latest_checkpoint(str(tmp_path / "ckpt")).endswith("model.ckpt-2")
