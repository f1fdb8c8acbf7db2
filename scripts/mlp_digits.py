"""A two-layer perceptron on real handwritten digits, fed by the sharded HDF5 reader.

    python scripts/mlp_digits.py
    mpiexec -n 4 python -m hpcflow scripts/mlp_digits.py

Data parallel under the launcher (the script names no device): each rank reads its block of
every batch from data/digits.h5; the result equals the one-process run. Prints the test
accuracy.
"""

import hpcflow as tf
from digits_training import (digits_arguments, make_test_reader, make_train_reader,
                             parse_digits_arguments, train_then_test)


def model(images, hidden):
    flat = tf.reshape(images, [-1, 64])
    with tf.variable_scope("mlp", reuse=tf.AUTO_REUSE):
        with tf.variable_scope("hidden"):
            w1 = tf.get_variable("weights", [64, hidden])
            b1 = tf.get_variable("biases", [hidden], initializer=tf.zeros_initializer())
        with tf.variable_scope("output"):
            w2 = tf.get_variable("weights", [hidden, 10])
            b2 = tf.get_variable("biases", [10], initializer=tf.zeros_initializer())
    return tf.matmul(tf.nn.relu(tf.matmul(flat, w1) + b1), w2) + b2


def main(argv=None):
    parser = digits_arguments(__doc__, epochs=15, learning_rate=0.005)
    parser.add_argument("--hidden", type=int, default=128)
    args = parse_digits_arguments(parser, argv)
    train_reader = make_train_reader(args)
    images, labels = train_reader.get_next()
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=model(images, args.hidden)))
    train = tf.train.AdamOptimizer(args.learning_rate).minimize(loss)

    test_reader = make_test_reader(args)
    test_images, test_labels = test_reader.get_next()
    predictions = tf.argmax(model(test_images, args.hidden), 1)
    correct = tf.reduce_sum(tf.cast(tf.equal(predictions, test_labels), tf.float32))
    return train_then_test(train, loss, correct, train_reader, test_reader,
                           report_every_epochs=5)


if __name__ == "__main__":
    main()
