"""The loop the small digits examples share: train until the reader's epochs run out, then
report the test accuracy (imported by softmax_digits.py, mlp_digits.py, model_parallel.py)."""
import time

import hpcflow as tf


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
