"""Model parallel on GPUs: each worker's layer on its rank's GPU:0, variables on the parameter
server's CPU. Cut edges carry GPU tensors: received into and sent from device memory
(staged through pinned memory, or directly with HPCFLOW_CUDA_AWARE_MPI=1)."""
import numpy as np

import hpcflow as tf
from _common import save_results

rng = np.random.RandomState(3)
X = rng.randn(16, 5).astype(np.float32)
T = rng.randn(16, 2).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 5])
t = tf.placeholder(tf.float32, [None, 2])
with tf.device("/job:ps/task:0"):
    w1 = tf.Variable((rng.randn(5, 8) * 0.3).astype(np.float32), name="w1")
    w2 = tf.Variable((rng.randn(8, 2) * 0.3).astype(np.float32), name="w2")
with tf.device("/job:worker/task:0/device:GPU:0"):
    hidden = tf.nn.relu(tf.matmul(x, w1))
with tf.device("/job:worker/task:1/device:GPU:0"):
    out = tf.matmul(hidden, w2)
    loss = tf.reduce_mean(tf.square(out - t))
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, colocate_gradients_with_ops=True)

config = tf.ConfigProto(allow_soft_placement=True)
with tf.Session(config=config) as sess:
    sess.run(tf.global_variables_initializer())
    losses = [sess.run([loss, train], {x: X, t: T})[0] for _ in range(5)]
    save_results(losses=np.array(losses), w1=sess.run(w1), w2=sess.run(w2),
                 out=sess.run(out, {x: X}))
