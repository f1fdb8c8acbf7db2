"""Ridge regression two ways, from the seeds: the closed form and gradient descent.

    python scripts/ridge_regression.py
    mpiexec -n 4 python -m hpcflow scripts/ridge_regression.py

w* = (X^T X + lambda I)^-1 X^T y is computed in the graph with matrix_inverse; gradient
descent on mean squared error + lambda/n ||w||^2 converges to the same w.
"""
import argparse

import numpy as np

import hpcflow as tf


def make_data(n, d, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    true_w = rng.randn(d, 1)
    y = X @ true_w + 0.1 * rng.randn(n, 1)
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--d", type=int, default=5)
    parser.add_argument("--lam", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)

    X_data, y_data = make_data(args.n, args.d)
    X = tf.placeholder(tf.float64, [None, args.d], name="X")
    y = tf.placeholder(tf.float64, [None, 1], name="y")

    # Closed form, in the graph.
    xtx = tf.matmul(X, X, transpose_a=True)
    closed_w = tf.matmul(tf.matrix_inverse(xtx + args.lam * tf.eye(args.d, dtype=tf.float64)),
                         tf.matmul(X, y, transpose_a=True))

    # Gradient descent on the same objective, scaled by 1/n.
    w = tf.Variable(tf.zeros([args.d, 1], dtype=tf.float64), name="w")
    n = tf.cast(tf.shape(X)[0], tf.float64)
    loss = (tf.reduce_sum(tf.square(tf.matmul(X, w) - y)) + args.lam * tf.reduce_sum(tf.square(w))) / n
    train = tf.train.GradientDescentOptimizer(args.lr).minimize(loss)

    feed = {X: X_data, y: y_data}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        w_closed = sess.run(closed_w, feed)
        for step in range(args.steps):
            _, loss_value = sess.run([train, loss], feed)
            if step % 100 == 0:
                print("step %4d  loss %.6f" % (step, loss_value))
        w_gd = sess.run(w)
    gap = float(np.max(np.abs(w_gd - w_closed)))
    print("closed form w: %s" % np.round(w_closed.ravel(), 4))
    print("gradient descent w: %s" % np.round(w_gd.ravel(), 4))
    print("max |difference| = %.2e" % gap)
    return gap


if __name__ == "__main__":
    main()
