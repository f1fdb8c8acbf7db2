"""What the digits examples share: their command line, their HDF5 readers, and the loop that
trains until the reader's epochs run out, then reports the test accuracy (imported by
softmax_digits.py, mlp_digits.py, cnn_digits.py and model_parallel.py)."""
import argparse
import time

import hpcflow as tf
from prepare_digits import DEFAULT_PATH, ensure


def digits_arguments(doc, epochs, learning_rate):
    """The options every digits example takes; an example adds its own before parsing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_PATH)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=learning_rate)
    parser.add_argument("--seed", type=int, default=1)
    return parser


def parse_digits_arguments(parser, argv):
    """Parses `argv`, writes data/digits.h5 if it is missing and seeds the graph."""
    args = parser.parse_args(argv)
    ensure(args.data)
    tf.set_random_seed(args.seed)
    return args


def make_train_reader(args):
    """Shuffled training batches, `args.epochs` epochs of them."""
    return tf.data.HDF5Reader(args.data, ["train/images", "train/labels"],
                              batch_size=args.batch_size, num_epochs=args.epochs,
                              seed=args.seed, name="train_reader")


def make_test_reader(args):
    """The whole test set as one batch."""
    return tf.data.HDF5Reader(args.data, ["test/images", "test/labels"], batch_size=None,
                              shuffle=False, name="test_reader")


def train_then_test(train, loss, correct, train_reader, test_reader, report_every_epochs=5,
                    config=None):
    """Runs `train` until `train_reader` raises OutOfRangeError, then evaluates `correct`.

    Returns:
      The test accuracy (correct predictions / test examples); also printed, with the time
      and the number of ranks.
    """
    start = time.time()
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        step = 0
        try:
            while True:
                _, loss_value = sess.run([train, loss])
                step += 1
                if step % (report_every_epochs * train_reader.steps_per_epoch) == 0:
                    print("epoch %3d  loss %.4f" % (step // train_reader.steps_per_epoch,
                                                    loss_value), flush=True)
        except tf.errors.OutOfRangeError:
            pass
        accuracy = sess.run(correct) / test_reader.num_examples
    print("test accuracy %.4f (%d test digits), %.1f s on %d rank(s)"
          % (accuracy, test_reader.num_examples, time.time() - start, tf.mpi.size()))
    return accuracy
