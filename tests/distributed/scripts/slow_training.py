"""A job that trains until it is killed (the test kills one of its worker ranks)."""
import numpy as np

import hpcflow as tf

x = tf.placeholder(tf.float32, [None, 4])
w = tf.Variable(np.ones((4, 1), np.float32))
loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
train = tf.train.GradientDescentOptimizer(0.001).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print("training", flush=True)
    for step in range(10**7):
        sess.run(train, {x: np.ones((8, 4), np.float32)})
