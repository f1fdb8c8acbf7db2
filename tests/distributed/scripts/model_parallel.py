"""Model parallel: two layers on two worker tasks, loss on the parameter server (explicit devices).

On fewer ranks than the devices named, soft placement puts the missing tasks' ops elsewhere.
"""
import numpy as np

import hpcflow as tf
from _common import save_results

rng = np.random.RandomState(2)
X = rng.randn(16, 5)
T = rng.randn(16, 2)

x = tf.placeholder(tf.float64, [None, 5])
t = tf.placeholder(tf.float64, [None, 2])
with tf.device("/job:ps/task:0"):
    w1 = tf.Variable(rng.randn(5, 8) * 0.3, name="w1")
    w2 = tf.Variable(rng.randn(8, 2) * 0.3, name="w2")
with tf.device("/job:worker/task:0"):
    hidden = tf.tanh(tf.matmul(x, w1))
with tf.device("/job:worker/task:1"):
    out = tf.matmul(hidden, w2)
with tf.device("/job:ps/task:0"):
    loss = tf.reduce_mean(tf.square(out - t))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, colocate_gradients_with_ops=True)

config = tf.ConfigProto(allow_soft_placement=True)
with tf.Session(config=config) as sess:
    sess.run(tf.global_variables_initializer())
    losses = [sess.run([loss, train], {x: X, t: T})[0] for _ in range(5)]
    metadata = tf.RunMetadata()
    sess.run(out, {x: X}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
             run_metadata=metadata)
    devices = sorted({d.device for d in metadata.step_stats.dev_stats})
    print("devices traced:", devices)
    save_results(losses=np.array(losses), w1=sess.run(w1), w2=sess.run(w2),
                 info_traced_devices=np.array(len(devices)))
