"""Traces one placed step and one data-parallel step and saves their Chrome traces."""
import numpy as np

import hpcflow as tf
from hpcflow import timeline
from _common import save_results

rng = np.random.RandomState(0)
X = rng.randn(24, 6).astype(np.float32)
options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)

# Placed: two stages on two worker tasks, so activations cross ranks as _Send/_Recv.
placed = tf.Graph()
with placed.as_default():
    x = tf.placeholder(tf.float32, [None, 6])
    with tf.device("/job:worker/task:0"):
        w1 = tf.Variable(rng.randn(6, 16).astype(np.float32))
        hidden = tf.tanh(tf.matmul(x, w1))
    with tf.device("/job:worker/task:1"):
        w2 = tf.Variable(rng.randn(16, 3).astype(np.float32))
        out = tf.reduce_sum(tf.matmul(hidden, w2))
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        sess.run(tf.global_variables_initializer())
        placed_metadata = tf.RunMetadata()
        sess.run(out, {x: X}, options=options, run_metadata=placed_metadata)

# Data parallel: no device named; the gradients are all-reduced.
data_parallel = tf.Graph()
with data_parallel.as_default():
    x = tf.placeholder(tf.float32, [None, 6])
    w = tf.Variable(rng.randn(6, 3).astype(np.float32))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        dp_metadata = tf.RunMetadata()
        sess.run([train, loss], {x: X}, options=options, run_metadata=dp_metadata)

save_results(info_placed=np.array(timeline.Timeline(placed_metadata.step_stats)
                                  .generate_chrome_trace_format()),
             info_data_parallel=np.array(timeline.Timeline(dp_metadata.step_stats)
                                         .generate_chrome_trace_format()),
             info_ranks=tf.mpi.size())
