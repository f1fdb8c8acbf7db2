"""Errors on any rank reach rank 0 as TF errors naming op and rank; the session stays usable."""
import sys

import numpy as np

import hpcflow as tf
from _common import save_results

mode = sys.argv[1]
x = tf.placeholder(tf.float32, [None], name="x")
y = tf.placeholder(tf.float32, [None], name="y")
if mode == "placed":
    last_worker = "/job:worker/task:%d" % 0
    with tf.device(last_worker):
        total = tf.add(x, y, name="bad_add")
else:
    total = tf.add(x, y, name="bad_add")
doubled = total * 2.0
caught = ""
with tf.Session() as sess:
    try:
        sess.run(doubled, {x: np.ones(4), y: np.ones(5)})
    except tf.errors.InvalidArgumentError as e:
        caught = str(e)
        print("caught:", caught)
    again = sess.run(doubled, {x: np.ones(4), y: np.ones(4)})
save_results(caught_names_op=np.array("bad_add" in caught),
             caught_names_rank=np.array("rank" in caught), again=again)
if mode == "exit":
    sys.exit(3)
if mode == "raise":
    raise RuntimeError("the script failed on purpose")
