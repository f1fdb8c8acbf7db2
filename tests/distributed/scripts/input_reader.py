"""HDF5Reader feeding a data-parallel job: each rank reads its block of every batch from the
file; training, fetched batches and summaries equal the one-process run."""
import glob
import os

import h5py
import numpy as np

import hpcflow as tf
import hpcflow.data  # noqa: F401 - tf.data
import hpcflow.summary  # noqa: F401 - tf.summary
from _common import save_results

ROWS, FEATURES, CLASSES = 37, 5, 3  # 37 rows in batches of 8: uneven blocks on 3 and 4 ranks
rng = np.random.RandomState(0)
with h5py.File("data.h5", "w") as f:
    f["train/x"] = rng.randn(ROWS, FEATURES).astype(np.float32)
    f["train/y"] = rng.randint(0, CLASSES, ROWS).astype(np.int64)

tf.set_random_seed(3)
reader = tf.data.HDF5Reader("data.h5", ["train/x", "train/y"], batch_size=8, seed=5,
                            num_epochs=3, prefetch=2)
x, y = reader.get_next()
w = tf.get_variable("w", [FEATURES, CLASSES], initializer=tf.glorot_uniform_initializer())
b = tf.get_variable("b", [CLASSES], initializer=tf.zeros_initializer())
logits = tf.matmul(x, w) + b
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
train = tf.train.AdamOptimizer(0.05).minimize(loss)
tf.summary.scalar("loss", loss)
tf.summary.histogram("w", w)
merged = tf.summary.merge_all()

writer = tf.summary.FileWriter("logs", tf.get_default_graph())
losses, indices, labels, steps = [], [], [], 0
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    try:
        while True:
            _, loss_value, batch_indices, batch_labels, summary = sess.run(
                [train, loss, reader.indices, y, merged])
            writer.add_summary(summary, steps)
            losses.append(loss_value)
            indices.append(batch_indices)
            labels.append(batch_labels)
            steps += 1
    except tf.errors.OutOfRangeError:
        pass
    weights, bias = sess.run([w, b])
writer.close()

(event_file,) = glob.glob(os.path.join("logs", "events.out.tfevents.*"))
summary_losses = [v.simple_value for e in tf.summary.summary_iterator(event_file)
                  if e.HasField("summary") for v in e.summary.value if v.tag == "loss"]
with h5py.File("data.h5", "r") as f:
    expected_labels = f["train/y"][:][np.concatenate(indices)]
save_results(losses=np.array(losses), indices=np.concatenate(indices), steps=steps,
             steps_per_epoch=reader.steps_per_epoch, weights=weights, bias=bias,
             summary_losses=np.array(summary_losses, dtype=np.float32),
             labels_match=np.array_equal(np.concatenate(labels), expected_labels),
             info_ranks=tf.mpi.size())
