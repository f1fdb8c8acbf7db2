"""replica_device_setter over the job's cluster: variables spread over ps tasks, ops on workers."""
import numpy as np

import hpcflow as tf
from _common import save_results

rng = np.random.RandomState(4)
X = rng.randn(12, 3).astype(np.float32)
T = rng.randn(12, 1).astype(np.float32)

cluster = tf.train.ClusterSpec({"ps": ["a", "b"], "worker": ["c"]})
with tf.device(tf.train.replica_device_setter(
        cluster=cluster, ps_strategy=tf.train.GreedyLoadBalancingStrategy(2))):
    x = tf.placeholder(tf.float32, [None, 3])
    t = tf.placeholder(tf.float32, [None, 1])
    w = tf.Variable(np.ones((3, 1), np.float32), name="w")
    b = tf.Variable(np.zeros(1, np.float32), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - t))
    train = tf.train.AdagradOptimizer(0.3).minimize(loss)
print("w on", w.device, "| b on", b.device, "| loss on", loss.device)

with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(6):
        sess.run(train, {x: X, t: T})
    save_results(w=sess.run(w), b=sess.run(b), loss=sess.run(loss, {x: X, t: T}))
