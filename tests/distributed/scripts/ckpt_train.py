"""Deterministic training under MonitoredTrainingSession; run again, it resumes.

usage: ckpt_train.py MODE CHECKPOINT_DIR LAST_STEP [--slow SECONDS] [--save-steps N]
                     [--optimizer adagrad|sgd] [--partitions K]

MODE "dp" names no job (data parallel under mpiexec); "placed" puts the variables on the
ps tasks with replica_device_setter. The batch of each step is derived from the global
step, so a run resumed from a checkpoint sees the same batches as one never interrupted.
Prints "step N" after each step and "saved N" after each checkpoint; at the end saves the
variables of the final checkpoint (read back with the checkpoint reader) as results.
"""
import argparse
import time

import numpy as np

import hpcflow as tf
from hpcflow.checkpoint import latest_checkpoint, load_checkpoint
from hpcflow.train.basic_session_run_hooks import (CheckpointSaverHook, CheckpointSaverListener,
                                                  StopAtStepHook)
from hpcflow.train.monitored_session import MonitoredTrainingSession
from _common import save_results

parser = argparse.ArgumentParser()
parser.add_argument("mode", choices=["dp", "placed"])
parser.add_argument("checkpoint_dir")
parser.add_argument("last_step", type=int)
parser.add_argument("--slow", type=float, default=0.0, help="seconds to sleep per step")
parser.add_argument("--save-steps", type=int, default=10)
parser.add_argument("--optimizer", choices=["adagrad", "sgd"], default="adagrad")
parser.add_argument("--partitions", default="2",
                    help="shards of the embedding: a number, or 'ps' for one per ps task")
args = parser.parse_args()

rng = np.random.RandomState(0)
ROWS, BATCH = 48, 8
DATA_X = rng.randn(ROWS, 5).astype(np.float32)
DATA_IDS = rng.randint(0, 10, ROWS).astype(np.int64)
DATA_T = rng.randn(ROWS, 1).astype(np.float32)
EMB_INIT = (0.5 * rng.randn(10, 3)).astype(np.float32)


def batch_for(step):
    start = (step * BATCH) % ROWS
    rows = slice(start, start + BATCH)
    return DATA_X[rows], DATA_IDS[rows], DATA_T[rows]


num_ps = len(tf.mpi.cluster_spec().as_dict()["ps"])
partitions = num_ps if args.partitions == "ps" else int(args.partitions)
device = tf.train.replica_device_setter(ps_tasks=num_ps) if args.mode == "placed" else None
with tf.device(device):
    x = tf.placeholder(tf.float32, [None, 5], name="x")
    ids = tf.placeholder(tf.int64, [None], name="ids")
    t = tf.placeholder(tf.float32, [None, 1], name="t")
    # Initial values independent of the partitioning: every layout starts the same.
    emb = tf.get_variable("emb", initializer=tf.constant(EMB_INIT),
                          partitioner=tf.fixed_size_partitioner(partitions))
    with tf.variable_scope("dense"):
        w = tf.get_variable("w", [8, 1], initializer=tf.random_normal_initializer(seed=2))
        b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
    global_step = tf.train.get_or_create_global_step()
    # "div": row i of the full variable is embedding i whatever the number of shards.
    features = tf.concat([x, tf.nn.embedding_lookup(emb, ids, partition_strategy="div")], 1)
    loss = tf.reduce_mean(tf.square(tf.matmul(features, w) + b - t))
    if args.optimizer == "adagrad":
        optimizer = tf.train.AdagradOptimizer(0.2)
    else:
        optimizer = tf.train.GradientDescentOptimizer(0.1)
    train = optimizer.minimize(loss, global_step=global_step)


class PrintSaves(CheckpointSaverListener):
    def after_save(self, session, global_step_value):
        print("saved %d" % global_step_value, flush=True)


latest = latest_checkpoint(args.checkpoint_dir)
print("starting from %s" % latest, flush=True)

saver_hook = CheckpointSaverHook(args.checkpoint_dir, save_steps=args.save_steps,
                                 listeners=[PrintSaves()])
with MonitoredTrainingSession(checkpoint_dir=args.checkpoint_dir, save_checkpoint_secs=None,
                              hooks=[StopAtStepHook(last_step=args.last_step)],
                              chief_only_hooks=[saver_hook], log_step_count_steps=None) as sess:
    while not sess.should_stop():
        step = sess.run(global_step)
        _, step = sess.run([train, global_step], feed_dict=dict(zip((x, ids, t),
                                                                    batch_for(step))))
        print("step %d" % step, flush=True)
        if args.slow:
            time.sleep(args.slow)

with load_checkpoint(args.checkpoint_dir) as reader:
    save_results(**{name.replace("/", "__"): reader.get_tensor(name)
                    for name in reader.get_variable_to_shape_map()})
