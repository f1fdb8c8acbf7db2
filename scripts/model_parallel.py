"""Model parallelism: a two-stage network on real digits, one stage per worker rank.

    python scripts/model_parallel.py                          # one process
    mpiexec -n 3 python -m hpcflow scripts/model_parallel.py  # ps + 2 workers
    mpiexec -n 4 python -m hpcflow scripts/model_parallel.py  # (the 4th rank idles)
    python -m hpcflow graph --ranks 3 -o stages.svg scripts/model_parallel.py

Stage 1 (64 -> 256, and the HDF5 reader feeding it) lives on /job:worker/task:0 with its
weights; stage 2 (256 -> 128 -> 10 and the loss) on /job:worker/task:1 with its weights.
Weights never move: only the activations (forward) and their gradients (backward) cross
between the two ranks, as _Send/_Recv pairs. With fewer ranks, soft placement moves the
missing task's ops elsewhere. Prints the test accuracy.
"""

import hpcflow as tf
from digits_training import (digits_arguments, make_test_reader, make_train_reader,
                             parse_digits_arguments, train_then_test)


def dense(inputs, units, name, activation=None):
    with tf.variable_scope(name, reuse=tf.AUTO_REUSE):
        weights = tf.get_variable("weights", [inputs.shape.as_list()[-1], units],
                                  initializer=tf.glorot_uniform_initializer())
        biases = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
    out = tf.matmul(inputs, weights) + biases
    return activation(out) if activation else out


def two_stage_model(images):
    with tf.device("/job:worker/task:0"):
        hidden = dense(tf.reshape(images, [-1, 64]), 256, "stage1", tf.nn.relu)
    with tf.device("/job:worker/task:1"):
        hidden = dense(hidden, 128, "stage2_hidden", tf.nn.relu)
        return dense(hidden, 10, "stage2_logits")


def main(argv=None):
    args = parse_digits_arguments(digits_arguments(__doc__, epochs=10, learning_rate=0.003),
                                  argv)
    with tf.device("/job:worker/task:0"):  # stage 1's rank reads the data it consumes
        train_reader = make_train_reader(args)
        test_reader = make_test_reader(args)
    images, labels = train_reader.get_next()
    logits = two_stage_model(images)
    with tf.device("/job:worker/task:1"):
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits))
    train = tf.train.AdamOptimizer(args.learning_rate).minimize(
        loss, colocate_gradients_with_ops=True)
    test_images, test_labels = test_reader.get_next()
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(two_stage_model(test_images), 1),
                                             test_labels), tf.float32))
    config = tf.ConfigProto(allow_soft_placement=True)
    return train_then_test(train, loss, correct, train_reader, test_reader,
                           report_every_epochs=2, config=config)


if __name__ == "__main__":
    main()
