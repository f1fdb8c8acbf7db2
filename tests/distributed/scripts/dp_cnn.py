"""Data parallel CNN: conv2d, bias_add, max_pool, reshape, dropout, momentum; per-example fetches.

The second convolution has 16 output channels, so it runs the direct loops (and, with its
bias and Relu, the fused _FusedConv2D node) on every rank."""
import numpy as np

import hpcflow as tf
from _common import save_results

tf.set_random_seed(3)
rng = np.random.RandomState(1)
images = rng.rand(10, 8, 8, 1).astype(np.float32)
labels = rng.randint(0, 3, size=10).astype(np.int32)

x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="images")
y = tf.placeholder(tf.int32, [None], name="labels")
keep = tf.placeholder_with_default(1.0, [], name="keep_prob")
filters = tf.get_variable("filters", [3, 3, 1, 4], initializer=tf.truncated_normal_initializer(stddev=0.3))
bias = tf.get_variable("conv_bias", [4], initializer=tf.constant_initializer(0.1))
conv = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, filters, [1, 1, 1, 1], "SAME"), bias))
filters2 = tf.get_variable("filters2", [3, 3, 4, 16],
                           initializer=tf.truncated_normal_initializer(stddev=0.3))
bias2 = tf.get_variable("conv_bias2", [16], initializer=tf.constant_initializer(0.05))
conv2 = tf.nn.relu(tf.nn.conv2d(conv, filters2, [1, 1, 1, 1], "SAME") + bias2)
pool = tf.nn.max_pool(conv2, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
flat = tf.reshape(pool, [-1, 4 * 4 * 16])
dropped = tf.nn.dropout(flat, keep_prob=keep, seed=5)
dense = tf.layers.dense(dropped, 3, name="dense") if hasattr(tf, "layers") else None
if dense is None:
    w = tf.get_variable("dense_w", [4 * 4 * 16, 3])
    dense = tf.matmul(dropped, w)
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=dense))
train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
probabilities = tf.nn.softmax(dense)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(4):
        sess.run(train, {x: images, y: labels, keep: 0.75})
    result = sess.run({"loss": loss, "probabilities": probabilities, "filters": filters,
                       "bias": bias, "filters2": filters2, "bias2": bias2, "pool": pool},
                      {x: images, y: labels})
save_results(**result)
