"""A small convolutional network on real handwritten digits: the main example.

    python scripts/cnn_digits.py
    mpiexec -n 4 python -m hpcflow scripts/cnn_digits.py       # data parallel, 4 ranks
    tensorboard --logdir runs/cnn_digits                        # then look at the run

Each rank reads its block of every batch from data/digits.h5 (tf.data.HDF5Reader); the
script names no device, so the launcher runs it data parallel and all-reduces the
gradients. Training runs in a MonitoredTrainingSession that restores the latest checkpoint
of --logdir if there is one, saves checkpoints there, and writes TensorBoard summaries
(loss, accuracy, weight histograms, some input images, the graph); a progress hook
reports steps/s, examples/s and the loss on rank 0. At the end the final checkpoint is
restored into a fresh Session and the test accuracy printed.
"""
import time

import hpcflow as tf
from digits_training import (digits_arguments, make_test_reader, make_train_reader,
                             parse_digits_arguments)


def conv_layer(inputs, out_channels, name):
    with tf.variable_scope(name):
        in_channels = inputs.shape.as_list()[-1]
        kernel = tf.get_variable("weights", [3, 3, in_channels, out_channels],
                                 initializer=tf.variance_scaling_initializer(2.0))
        biases = tf.get_variable("biases", [out_channels], initializer=tf.zeros_initializer())
        conv = tf.nn.relu(tf.nn.bias_add(
            tf.nn.conv2d(inputs, kernel, strides=[1, 1, 1, 1], padding="SAME"), biases))
        return tf.nn.max_pool(conv, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def dense_layer(inputs, units, name, activation=None):
    with tf.variable_scope(name):
        weights = tf.get_variable("weights", [inputs.shape.as_list()[-1], units],
                                  initializer=tf.glorot_uniform_initializer())
        biases = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
        out = tf.matmul(inputs, weights) + biases
        return activation(out) if activation else out


def cnn(images):
    """8x8x1 -> conv 3x3x32 -> pool -> conv 3x3x64 -> pool -> 128 -> 10 logits."""
    with tf.variable_scope("cnn", reuse=tf.AUTO_REUSE):
        net = conv_layer(images, 32, "conv1")                  # 4x4x32
        net = conv_layer(net, 64, "conv2")                     # 2x2x64
        net = tf.reshape(net, [-1, 2 * 2 * 64])
        net = dense_layer(net, 128, "fc1", tf.nn.relu)
        return dense_layer(net, 10, "logits")


def main(argv=None):
    parser = digits_arguments(__doc__, epochs=10, learning_rate=0.003)
    parser.add_argument("--logdir", default="runs/cnn_digits",
                        help="checkpoints and TensorBoard summaries")
    parser.add_argument("--summary-steps", type=int, default=10)
    args = parse_digits_arguments(parser, argv)

    train_reader = make_train_reader(args)
    images, labels = train_reader.get_next()
    logits = cnn(images)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits), name="cross_entropy")
    batch_accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    global_step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(args.learning_rate).minimize(loss, global_step=global_step)

    tf.summary.scalar("loss", loss)
    tf.summary.scalar("batch_accuracy", batch_accuracy)
    tf.summary.image("inputs", images, max_outputs=4)
    for variable in tf.trainable_variables():
        tf.summary.histogram("histograms/" + variable.op.name, variable)
    summaries = tf.summary.merge_all()

    test_reader = make_test_reader(args)
    test_images, test_labels = test_reader.get_next()
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(cnn(test_images), 1), test_labels),
                                    tf.float32))
    saver = tf.train.Saver()

    total_steps = args.epochs * train_reader.steps_per_epoch
    hooks = [tf.train.ProgressHook(loss, examples_per_step=args.batch_size,
                                   every_n_steps=max(total_steps // 10, 1),
                                   total_steps=total_steps),
             tf.train.SummarySaverHook(save_steps=args.summary_steps, output_dir=args.logdir,
                                       summary_op=summaries)]
    start = time.time()
    with tf.train.MonitoredTrainingSession(checkpoint_dir=args.logdir, hooks=hooks,
                                           save_checkpoint_steps=total_steps // 2,
                                           log_step_count_steps=None) as sess:
        while not sess.should_stop():
            sess.run(train)
    train_seconds = time.time() - start

    with tf.Session() as sess:
        checkpoint = tf.train.latest_checkpoint(args.logdir)
        saver.restore(sess, checkpoint)
        accuracy = sess.run(correct) / test_reader.num_examples
        step = sess.run(global_step)
    print("checkpoint %s (step %d)" % (checkpoint, step))
    print("test accuracy %.4f (%d test digits), trained in %.1f s on %d rank(s)"
          % (accuracy, test_reader.num_examples, train_seconds, tf.mpi.size()))
    return accuracy


if __name__ == "__main__":
    main()
