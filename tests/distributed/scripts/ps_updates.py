"""Updates applied at the parameter server: async training and SyncReplicasOptimizer.

    ps_updates.py sgd [R [FLAG...]]   linear regression with plain SGD
    ps_updates.py adam [R [FLAG...]]  softmax regression with Adam

R > 0 wraps the optimizer in SyncReplicasOptimizer(replicas_to_aggregate=R); "config" asks
for asynchronous updates in the session's ConfigProto, as `python -m hpcflow --async` does;
"fail" adds a training step that fails on the rank holding the batch's last row; "placed"
places the model on a worker (a partitioned graph: one replica per step). Saves the trained
values, an evaluation after training, the global step and tf.mpi.parameter_server_log(sess).
"""
import sys

import numpy as np

import hpcflow as tf
from _common import save_results

model = sys.argv[1]
replicas = int(sys.argv[2]) if len(sys.argv) > 2 else 0
flags = set(sys.argv[3:])
config = tf.ConfigProto(experimental=tf.ConfigProto.Experimental(
    async_updates="config" in flags))
STEPS = 6
rng = np.random.RandomState(0)
X = rng.randn(STEPS, 23, 5).astype(np.float32)  # 23 rows: uneven blocks on 2, 3, 4 ranks
W_TRUE = rng.randn(5, 3).astype(np.float32)
X_EVAL = rng.randn(11, 5).astype(np.float32)

x = tf.placeholder(tf.float32, [None, 5], name="x")
w = tf.Variable(np.full((5, 3), 0.1, np.float32), name="w")
b = tf.Variable(np.zeros(3, np.float32), name="b")
with tf.device("/job:worker/task:0" if "placed" in flags else None):
    prediction = tf.matmul(tf.debugging.check_numerics(x, "rows with NaN"), w) + b
global_step = tf.train.get_or_create_global_step()
if model == "sgd":
    y = tf.placeholder(tf.float32, [None, 3], name="y")
    Y = X @ W_TRUE + 0.5
    loss = tf.reduce_mean(tf.square(prediction - y))
    learning_rate = tf.placeholder(tf.float32, [], name="learning_rate")  # fed every step
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
else:
    y = tf.placeholder(tf.int64, [None], name="y")
    Y = np.argmax(X @ W_TRUE, axis=-1)
    learning_rate = tf.placeholder_with_default(0.05, [], name="learning_rate")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                         logits=prediction))
    optimizer = tf.train.AdamOptimizer(learning_rate)
hooks = []
if replicas:
    optimizer = tf.train.SyncReplicasOptimizer(optimizer, replicas_to_aggregate=replicas,
                                               total_num_replicas=tf.mpi.size())
    hooks.append(optimizer.make_session_run_hook(is_chief=True))
train = optimizer.minimize(loss, global_step=global_step)

with tf.Session(config=config) as sess:
    sess.run(tf.global_variables_initializer())
    losses = []
    for i in range(STEPS):
        loss_value, _ = sess.run([loss, train], {x: X[i], y: Y[i], learning_rate: 0.1})
        losses.append(loss_value)
    # A kernel error on the rank holding the last rows: raised here, the session stays usable.
    caught = ""
    if "fail" in flags:
        bad = X[0].copy()
        bad[-1, 0] = np.nan
        try:
            sess.run(train, {x: bad, y: Y[0], learning_rate: 0.1})
        except tf.errors.InvalidArgumentError as e:
            caught = str(e)
    trained_w, trained_b, step = sess.run([w, b, global_step])
    # A plain data-parallel step after the pushed ones: every rank must see rank 0's values.
    evaluation = sess.run(prediction, {x: X_EVAL})
    log = tf.mpi.parameter_server_log(sess)

save_results(w=trained_w, b=trained_b, evaluation=evaluation, info_step=step,
             info_caught=np.array(caught),
             info_losses=np.array(losses),
             info_log=np.array([[r["step"], r["rank"], r["rows"], r["read_version"],
                                 -1 if r["version"] is None else r["version"]] for r in log],
                               dtype=np.int64).reshape(-1, 5))
