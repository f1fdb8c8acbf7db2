"""SyncReplicasOptimizer in one process: TF1's API, the base optimizer's steps, clear errors.

The aggregation itself needs several ranks: tests/distributed/test_parameter_server_updates.py.
"""
import numpy as np
import pytest

import hpcflow as tf


def _train(wrap, steps=4, hooks=False):
    tf.reset_default_graph()
    x = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
    w = tf.Variable(np.ones((3, 1), np.float32), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
    step = tf.train.get_or_create_global_step()
    opt = tf.train.AdamOptimizer(0.1)
    if wrap:
        opt = tf.train.SyncReplicasOptimizer(opt, replicas_to_aggregate=1, total_num_replicas=1)
    train = opt.minimize(loss, global_step=step)
    if hooks:
        hook = opt.make_session_run_hook(is_chief=True)
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for _ in range(steps):
                sess.run(train)
            assert tf.mpi.parameter_server_log(sess) == []
            return sess.run([w, step]), opt
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        if wrap:
            sess.run([opt.chief_init_op, opt.local_step_init_op, opt.get_init_tokens_op()])
            assert opt.get_chief_queue_runner().create_threads(sess) == []
        for _ in range(steps):
            sess.run(train)
        return sess.run([w, step]), opt


def test_one_replica_trains_as_the_wrapped_optimizer():
    (w_base, step_base), _ = _train(wrap=False)
    (w_sync, step_sync), opt = _train(wrap=True)
    np.testing.assert_array_equal(w_sync, w_base)
    assert step_sync == step_base == 4
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(tf.trainable_variables()[0], "m") is not None
    assert len(opt.variables()) == 4  # m, v and Adam's two beta powers


def test_the_hook_runs_in_a_monitored_training_session():
    (w_base, _), _ = _train(wrap=False)
    (w_sync, step), _ = _train(wrap=True, hooks=True)
    np.testing.assert_array_equal(w_sync, w_base)
    assert step == 4


def test_more_replicas_than_this_job_has_is_an_error():
    w = tf.Variable(1.0)
    step = tf.train.get_or_create_global_step()
    opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1),
                                         replicas_to_aggregate=2)
    with pytest.raises(ValueError, match="replicas_to_aggregate=2, but this job has 1 replica"):
        opt.minimize(w * w, global_step=step)


def test_bad_arguments_are_errors():
    w = tf.Variable(1.0)
    base = tf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(ValueError, match="replicas_to_aggregate must be >= 1"):
        tf.train.SyncReplicasOptimizer(base, replicas_to_aggregate=0)
    opt = tf.train.SyncReplicasOptimizer(base, replicas_to_aggregate=1)
    with pytest.raises(ValueError, match="Should be called after apply_gradients"):
        opt.get_chief_queue_runner()
    with pytest.raises(ValueError, match="Global step is required"):
        opt.minimize(w * w)
    opt.minimize(w * w, global_step=tf.train.get_or_create_global_step())
    with pytest.raises(ValueError, match="only be called once"):
        opt.minimize(w * w, global_step=tf.train.get_or_create_global_step())
    with pytest.raises(NotImplementedError, match="variable_averages"):
        tf.train.SyncReplicasOptimizer(base, 1, variable_averages=object())
