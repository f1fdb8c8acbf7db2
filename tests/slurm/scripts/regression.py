"""A small deterministic training job for the Slurm tests, resumable from its checkpoints.

usage: regression.py CHECKPOINT_DIR --last-step N [--learning-rate LR] [--save-steps K]
                     [--step-sleep SECONDS] [--fail-at-step N] [--result PATH]

Linear regression with plain SGD under `MonitoredTrainingSession`, naming no job (so under
`mpiexec -n N python -m hpcflow` it runs data parallel). The batch of every step is derived
from the global step, so a run stopped by a signal and resumed from its checkpoint ends
with the same weights as a run never interrupted. Prints, flushed, for the tests to read:

    start step S ranks R checkpoint PATH|none    once the session is restored or initialized
    step N loss L                                after every step
    saved N                                      after every checkpoint
    done step N loss L lr LR                     at the end

and writes the final checkpoint's variables to --result (npz) when given.
"""
import argparse
import os
import time

import numpy as np

import hpcflow as tf
from hpcflow.checkpoint import latest_checkpoint, load_checkpoint
from hpcflow.train.basic_session_run_hooks import (CheckpointSaverHook, CheckpointSaverListener,
                                                   StopAtStepHook)
from hpcflow.train.monitored_session import MonitoredTrainingSession, SessionRunHook

parser = argparse.ArgumentParser()
parser.add_argument("checkpoint_dir")
parser.add_argument("--last-step", type=int, required=True)
parser.add_argument("--learning-rate", type=float, default=0.1)
parser.add_argument("--save-steps", type=int, default=5)
parser.add_argument("--step-sleep", type=float, default=0.0,
                    help="seconds to sleep after every step, in the first run of a Slurm job "
                         "only (SLURM_RESTART_COUNT unset or 0): gives a test time to signal "
                         "it, and a requeued run goes at full speed")
parser.add_argument("--fail-at-step", type=int,
                    help="raise an exception after this step (a failing script)")
parser.add_argument("--result", help="npz file for the final variables")
args = parser.parse_args()

ROWS, FEATURES, BATCH = 64, 4, 8
rng = np.random.RandomState(0)
DATA_X = rng.randn(ROWS, FEATURES).astype(np.float32)
DATA_Y = (DATA_X @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32) + 0.25
          + 0.01 * rng.randn(ROWS, 1)).astype(np.float32)


def batch_for(step):
    """The rows of step `step`: a function of the global step only, so resuming is exact."""
    start = (step * BATCH) % ROWS
    return DATA_X[start:start + BATCH], DATA_Y[start:start + BATCH]


x = tf.placeholder(tf.float32, [None, FEATURES], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
with tf.variable_scope("linear"):
    w = tf.get_variable("w", [FEATURES, 1], initializer=tf.zeros_initializer())
    b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
global_step = tf.train.get_or_create_global_step()
loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
train_op = tf.train.GradientDescentOptimizer(args.learning_rate).minimize(
    loss, global_step=global_step)


class PrintStart(SessionRunHook):
    def after_create_session(self, session, coord):
        print("start step %d ranks %d checkpoint %s" % (
            session.run(global_step), tf.mpi.size(),
            latest_checkpoint(args.checkpoint_dir) or "none"), flush=True)


class PrintSaves(CheckpointSaverListener):
    def after_save(self, session, global_step_value):
        print("saved %d" % global_step_value, flush=True)


saver_hook = CheckpointSaverHook(args.checkpoint_dir, save_steps=args.save_steps,
                                 listeners=[PrintSaves()])
loss_value = float("nan")  # printed at the end even when no step ran
with MonitoredTrainingSession(checkpoint_dir=args.checkpoint_dir, save_checkpoint_secs=None,
                              hooks=[StopAtStepHook(last_step=args.last_step), PrintStart()],
                              chief_only_hooks=[saver_hook],
                              log_step_count_steps=None) as sess:
    while not sess.should_stop():
        features, targets = batch_for(sess.run(global_step))
        _, step_value, loss_value = sess.run([train_op, global_step, loss],
                                             feed_dict={x: features, y: targets})
        print("step %d loss %.6f" % (step_value, loss_value), flush=True)
        if step_value == args.fail_at_step:
            raise RuntimeError("failing at step %d as asked (--fail-at-step)" % step_value)
        if args.step_sleep and int(os.environ.get("SLURM_RESTART_COUNT", "0")) == 0:
            time.sleep(args.step_sleep)

with load_checkpoint(args.checkpoint_dir) as reader:
    final = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
print("done step %d loss %.6f lr %g" % (int(final["global_step"]), loss_value,
                                        args.learning_rate), flush=True)
if args.result:
    np.savez(args.result, **{name.replace("/", "__"): value for name, value in final.items()})
