"""Per-step control overhead of a multi-rank job: a trivial step, local vs on N ranks.

    python mpi/bench_step_overhead.py                          # the one-process baseline
    mpiexec -n 4 python -m hpcflow mpi/bench_step_overhead.py  # the same steps on 4 ranks

Times `Session.run` of a tiny graph (a 4-float feed, doubled and summed): the difference
between the N-rank median and a local session's median in the same run is what the job's
control messages (one per rank each way) and the feed scatter cost per step, for a
data-parallel graph and for a graph placed on a worker task.

It then times one SGD step of a 784-256-10 MLP (batch 256) three ways in the same job:
all-reduced gradients (the default), asynchronous updates applied by rank 0 (`--async`)
and SyncReplicasOptimizer with every rank a replica, and prints each one's ratio to the
all-reduce step.
"""
import statistics
import sys
import time

import numpy as np

import hpcflow as tf
from hpcflow.runtime.local import LocalRuntime


def median_step(sess, fetch, feed, repeats=300):
    for _ in range(20):
        sess.run(fetch, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run(fetch, feed)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    x = tf.placeholder(tf.float32, [None], name="x")
    data_parallel = tf.reduce_sum(x * 2.0)
    feed = {x: np.ones(4, np.float32)}
    results = {}
    with tf.Session() as sess:
        results["data parallel"] = median_step(sess, data_parallel, feed)
    graph = tf.Graph()
    with graph.as_default():
        y = tf.placeholder(tf.float32, [None], name="y")
        with tf.device("/job:worker/task:0"):
            placed = tf.reduce_sum(y * 2.0)
    with tf.Session(graph=graph, config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        results["placed on a worker"] = median_step(sess, placed, {y: np.ones(4, np.float32)})
    # Baseline: the same graph in a purely local session of this process.
    with tf.Session() as sess:
        sess._runtime = LocalRuntime(sess.graph, sess._config)
        sess._state = sess._runtime.local_state
        local = median_step(sess, data_parallel, feed)
    print("ranks: %d; local step (same process): %.1f us" % (tf.mpi.size(), local * 1e6))
    for name, value in results.items():
        print("%-20s step %.1f us, overhead %.1f us per step" % (
            name, value * 1e6, (value - local) * 1e6))
    training = {mode: training_step(mode) for mode in ("allreduce", "async", "sync_replicas")}
    print("MLP SGD step, median of 100:")
    for mode, value in training.items():
        print("  %-14s %.2f ms  (%.2f x allreduce)" % (mode, value * 1e3,
                                                     value / training["allreduce"]))
    return 0


def training_step(mode):
    """Median time of one SGD step of a small MLP, with gradients combined as `mode` says."""
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        y = tf.placeholder(tf.int64, [None])
        w1 = tf.Variable(rng.randn(784, 256).astype(np.float32) * 0.05)
        hidden = tf.nn.relu(tf.matmul(x, w1))
        logits = tf.matmul(hidden, tf.Variable(rng.randn(256, 10).astype(np.float32) * 0.05))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                             logits=logits))
        optimizer = tf.train.GradientDescentOptimizer(0.01)
        if mode == "sync_replicas":
            optimizer = tf.train.SyncReplicasOptimizer(optimizer, tf.mpi.size())
        train = optimizer.minimize(loss, global_step=tf.train.get_or_create_global_step())
        init = tf.global_variables_initializer()
    config = tf.ConfigProto(experimental=tf.ConfigProto.Experimental(
        async_updates=mode == "async"))
    feed = {x: rng.rand(256, 784).astype(np.float32), y: rng.randint(0, 10, 256)}
    with tf.Session(graph=graph, config=config) as sess:
        sess.run(init)
        return median_step(sess, train, feed, repeats=100)


if __name__ == "__main__":
    sys.exit(main())
