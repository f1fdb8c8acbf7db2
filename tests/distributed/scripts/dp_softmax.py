"""Data parallel with no code change: softmax regression trained with Adam on fed batches."""
import numpy as np

import hpcflow as tf
from _common import save_results

tf.set_random_seed(7)
rng = np.random.RandomState(0)
X = rng.randn(37, 6).astype(np.float32)  # 37 rows: uneven blocks on 2, 3 and 4 ranks
labels = rng.randint(0, 4, size=37).astype(np.int64)

x = tf.placeholder(tf.float32, [None, 6], name="x")
y = tf.placeholder(tf.int64, [None], name="y")
w = tf.get_variable("w", [6, 4], initializer=tf.glorot_uniform_initializer())
b = tf.get_variable("b", [4], initializer=tf.zeros_initializer())
logits = tf.matmul(x, w) + b
per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
loss = tf.reduce_mean(per_example)
total = tf.reduce_sum(per_example)
correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
step = tf.train.get_or_create_global_step()
train = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=step)

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    losses = []
    for i in range(8):
        lo, _ = sess.run([loss, train], {x: X, y: labels})
        losses.append(lo)
    fetched = sess.run({"logits": logits, "per_example": per_example, "total": total,
                        "correct": correct, "w": w, "b": b, "step": step}, {x: X, y: labels})
    small = sess.run(logits, {x: X[:3]})  # fewer rows than ranks on 4 ranks
save_results(losses=np.array(losses), small=small, **fetched)
