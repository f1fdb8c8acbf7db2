"""The seeds' code samples: d=b+c, e=c+2, a=d*e; accumulate with assign; softmax regression."""
import numpy as np


def program(tf):
    out = {}
    b = tf.constant(1.0)
    c = tf.constant(2.0)
    d = tf.add(b, c)
    e = tf.add(c, 2.0)
    a = tf.multiply(d, e)
    start = tf.Variable(0.0)
    x = tf.placeholder(tf.float32)
    y = start.assign(start + x)
    with tf.Session() as sess:
        out["a"] = sess.run(a)
        sess.run(tf.global_variables_initializer())
        out["accumulated"] = np.array([sess.run(y, {x: v}) for v in (1.0, 0.5, 2.2)])
    rng = np.random.RandomState(3)
    images = rng.rand(16, 20).astype(np.float32)
    labels = np.eye(5, dtype=np.float32)[rng.randint(0, 5, 16)]
    g = tf.Graph()
    with g.as_default():
        xs = tf.placeholder(tf.float32, [None, 20])
        ys = tf.placeholder(tf.float32, [None, 5])
        W = tf.Variable(tf.zeros([20, 5]))
        bias = tf.Variable(tf.zeros([5]))
        logits = tf.matmul(xs, W) + bias
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=ys, logits=logits))
        train = tf.train.AdagradOptimizer(0.01).minimize(loss)
        prediction = tf.nn.softmax(logits)
        cross_entropy = -tf.reduce_sum(ys * tf.log(prediction), axis=1)
        train_gd = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(10):
                sess.run(train, {xs: images, ys: labels})
            out["adagrad_W"] = sess.run(W)
            for _ in range(10):
                sess.run(train_gd, {xs: images, ys: labels})
            out["gd_W"] = sess.run(W)
            out["loss"] = sess.run(loss, {xs: images, ys: labels})
    return out
