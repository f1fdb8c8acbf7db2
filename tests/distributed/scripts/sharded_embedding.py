"""A partitioned embedding on two parameter servers, trained with sparse Adagrad updates."""
import numpy as np

import hpcflow as tf
from _common import save_results

rng = np.random.RandomState(5)
ids_data = rng.randint(0, 50, size=(12, 3)).astype(np.int64)
targets_data = rng.randn(12, 4).astype(np.float32)
with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
    ids = tf.placeholder(tf.int64, [None, 3])
    targets = tf.placeholder(tf.float32, [None, 4])
    table = tf.get_variable("table", [50, 4], initializer=tf.random_normal_initializer(seed=1),
                            partitioner=tf.fixed_size_partitioner(2))
    vectors = tf.reduce_mean(tf.nn.embedding_lookup(table, ids), axis=1)
    loss = tf.reduce_mean(tf.square(vectors - targets))
    train = tf.train.AdagradOptimizer(0.5).minimize(loss)
with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(5):
        sess.run(train, {ids: ids_data, targets: targets_data})
    shards = sess.run(list(table))
    print("shard devices:", [v.device for v in table])
save_results(shard0=shards[0], shard1=shards[1])
