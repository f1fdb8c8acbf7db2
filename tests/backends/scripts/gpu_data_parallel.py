"""Data parallel with the model on every rank's GPU:0 (no job named): gradients come off the
GPU for the host allreduce and the updated variables live on each rank's GPU."""
import numpy as np

import hpcflow as tf
from _common import save_results

rng = np.random.RandomState(4)
X = rng.randn(24, 6).astype(np.float32)
Y = rng.randint(0, 3, 24).astype(np.int64)

x = tf.placeholder(tf.float32, [None, 6])
y = tf.placeholder(tf.int64, [None])
with tf.device("/gpu:0"):
    w = tf.Variable((rng.randn(6, 3) * 0.2).astype(np.float32), name="w")
    b = tf.Variable(np.zeros(3, np.float32), name="b")
    logits = tf.matmul(x, w) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                         logits=logits))
    train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    losses = [sess.run([loss, train], {x: X, y: Y})[0] for _ in range(4)]
    save_results(losses=np.array(losses), w=sess.run(w), b=sess.run(b))
