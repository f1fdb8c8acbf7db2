"""Train a classifier on real handwritten digits (scikit-learn's bundled 8x8 `load_digits`).

    python scripts/train_digits.py                              # one process
    mpiexec -n 4 python -m hpcflow scripts/train_digits.py      # data parallel over 4 ranks

A plain TF1 script: it names no device, so under the launcher every rank trains on its
block of each batch and gradients are all-reduced; the result equals the one-process run up
to float rounding. Prints the test accuracy at the end.
"""
import argparse
import time

import numpy as np

import hpcflow as tf


def load_data(seed=0, test_fraction=0.2):
    """Digits scaled to [0, 1], shuffled with `seed` and split into train and test."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    n_test = int(len(labels) * test_fraction)
    return (images[n_test:], labels[n_test:]), (images[:n_test], labels[:n_test])


def build_model(hidden, learning_rate):
    x = tf.placeholder(tf.float32, [None, 64], name="images")
    y = tf.placeholder(tf.int64, [None], name="labels")
    with tf.variable_scope("hidden"):
        w1 = tf.get_variable("weights", [64, hidden])
        b1 = tf.get_variable("biases", [hidden], initializer=tf.zeros_initializer())
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
    with tf.variable_scope("softmax"):
        w2 = tf.get_variable("weights", [hidden, 10])
        b2 = tf.get_variable("biases", [10], initializer=tf.zeros_initializer())
        logits = tf.matmul(h, w2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
    step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=step)
    return x, y, loss, correct, train, step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    (train_x, train_y), (test_x, test_y) = load_data()
    tf.set_random_seed(args.seed)
    x, y, loss, correct, train, step = build_model(args.hidden, args.learning_rate)
    order_rng = np.random.RandomState(args.seed)
    start = time.time()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(args.epochs):
            order = order_rng.permutation(len(train_y))
            for i in range(0, len(order), args.batch_size):
                batch = order[i:i + args.batch_size]
                _, loss_value = sess.run([train, loss], {x: train_x[batch], y: train_y[batch]})
            if epoch % 5 == 0 or epoch == args.epochs - 1:
                print("epoch %3d  step %5d  loss %.4f" % (epoch, sess.run(step), loss_value),
                      flush=True)
        accuracy = sess.run(correct, {x: test_x, y: test_y}) / len(test_y)
    print("test accuracy %.4f (%d test digits), %.1f s on %d rank(s)"
          % (accuracy, len(test_y), time.time() - start, tf.size()))
    return accuracy


if __name__ == "__main__":
    main()
