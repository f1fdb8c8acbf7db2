"""A worker waits on rank 0's slow Python op: the stall is reported, then a deadline hits."""
import sys
import time

import numpy as np

import hpcflow as tf
from _common import save_results


def slow_identity(x):
    time.sleep(float(sys.argv[1]))
    return x


x = tf.placeholder(tf.float32, [2])
slow = tf.py_func(slow_identity, [x], tf.float32)  # runs on rank 0, where it was defined
with tf.device("/job:worker/task:0"):
    doubled = slow * 2.0
config = tf.ConfigProto(allow_soft_placement=True,
                        operation_timeout_in_ms=int(float(sys.argv[2]) * 1000))
timed_out = False
with tf.Session(config=config) as sess:
    try:
        first = sess.run(doubled, {x: np.ones(2, np.float32)})
    except tf.errors.DeadlineExceededError as e:
        timed_out = True
        print("deadline:", e)
        first = np.zeros(2, np.float32)
    # The session is still usable, and the late message of the failed step is not mistaken
    # for this step's.
    sys.argv[1] = "0"
    second = sess.run(doubled, {x: np.full(2, 3.0, np.float32)})
save_results(first=first, second=second, info_timed_out=np.array(timed_out))
