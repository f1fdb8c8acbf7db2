"""Horovod-style collective ops inside a data-parallel job."""
import numpy as np

import hpcflow as tf
from _common import save_results

X = np.arange(22, dtype=np.float64).reshape(11, 2)
x = tf.placeholder(tf.float64, [None, 2])
local_sum = tf.reduce_sum(x)          # per rank: the sum of its rows
total = tf.mpi.allreduce(local_sum, average=False)
gathered = tf.mpi.allgather(x * 2.0)
from_root = tf.mpi.broadcast(local_sum, root_rank=0)
grad_of_total = tf.gradients(tf.mpi.allreduce(tf.reduce_sum(x * x), average=False), x)[0]
with tf.Session() as sess:
    values = sess.run({"total": total, "gathered": gathered, "grad": grad_of_total}, {x: X})
    root_value = sess.run(from_root, {x: X})
save_results(info_root=root_value, info_size=np.array(tf.mpi.size()), **values)
