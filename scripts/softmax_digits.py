"""Softmax regression on real handwritten digits, fed by the sharded HDF5 reader.

    python scripts/softmax_digits.py
    mpiexec -n 4 python -m hpcflow scripts/softmax_digits.py

The script names no device, so under the launcher it runs data parallel: every rank reads
its block of each batch from data/digits.h5 itself (nothing goes through rank 0) and the
gradients are all-reduced; the result equals the one-process run. Prints the test accuracy.
"""

import hpcflow as tf
from digits_training import (digits_arguments, make_test_reader, make_train_reader,
                             parse_digits_arguments, train_then_test)


def model(images):
    with tf.variable_scope("softmax", reuse=tf.AUTO_REUSE):
        w = tf.get_variable("weights", [64, 10], initializer=tf.zeros_initializer())
        b = tf.get_variable("biases", [10], initializer=tf.zeros_initializer())
    return tf.matmul(tf.reshape(images, [-1, 64]), w) + b


def main(argv=None):
    args = parse_digits_arguments(digits_arguments(__doc__, epochs=20, learning_rate=0.5), argv)
    train_reader = make_train_reader(args)
    images, labels = train_reader.get_next()
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=model(images)))
    train = tf.train.GradientDescentOptimizer(args.learning_rate).minimize(loss)

    test_reader = make_test_reader(args)
    test_images, test_labels = test_reader.get_next()
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(model(test_images), 1), test_labels),
                                    tf.float32))
    return train_then_test(train, loss, correct, train_reader, test_reader,
                           report_every_epochs=5)


if __name__ == "__main__":
    main()
