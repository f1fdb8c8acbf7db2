"""Word embeddings (skip-gram) with a partitioned embedding matrix on the parameter servers.

    python scripts/word_embedding.py
    mpiexec -n 4 python -m hpcflow scripts/word_embedding.py            # 1 ps, 3 workers
    mpiexec -n 4 python -m hpcflow --ps 2 scripts/word_embedding.py     # shards on 2 ps

The corpus is real English that ships with Python (the help texts of `pydoc_data.topics`;
nothing is downloaded). The embedding matrix is one PartitionedVariable split by rows into
--shards pieces; `tf.train.replica_device_setter` spreads the pieces over the parameter
servers, `tf.nn.embedding_lookup` gathers only the rows a batch needs, and the optimizer
updates only those rows (sparse IndexedSlices gradients), so each step moves a few rows
per shard, not the matrix. Prints the held-out accuracy of predicting a context word
(top 5) and the nearest neighbours of a few words.
"""
import argparse
import collections
import re
import time

import numpy as np

import hpcflow as tf


def load_corpus(vocabulary_size):
    """Word ids of the pydoc topics text, the words beyond the most frequent mapped to 0."""
    from pydoc_data.topics import topics
    words = re.findall(r"[a-z]+", " ".join(topics[k] for k in sorted(topics)).lower())
    counts = collections.Counter(words).most_common(vocabulary_size - 1)
    vocabulary = ["<unk>"] + [w for w, _ in counts]
    index = {w: i for i, w in enumerate(vocabulary)}
    return np.array([index.get(w, 0) for w in words], dtype=np.int64), vocabulary


def skip_gram_pairs(ids, window):
    """(center, context) pairs within `window` words, skipping unknown words."""
    centers, contexts = [], []
    for offset in range(1, window + 1):
        for a, b in ((ids[:-offset], ids[offset:]), (ids[offset:], ids[:-offset])):
            keep = (a != 0) & (b != 0)
            centers.append(a[keep])
            contexts.append(b[keep])
    return np.concatenate(centers), np.concatenate(contexts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary", type=int, default=1000)
    parser.add_argument("--dimension", type=int, default=48)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    ids, vocabulary = load_corpus(args.vocabulary)
    split = int(len(ids) * 0.9)
    train_centers, train_contexts = skip_gram_pairs(ids[:split], args.window)
    test_centers, test_contexts = skip_gram_pairs(ids[split:], args.window)
    print("%d words, vocabulary %d, %d training and %d held-out pairs"
          % (len(ids), len(vocabulary), len(train_centers), len(test_centers)), flush=True)

    tf.set_random_seed(args.seed)
    centers = tf.placeholder(tf.int64, [None], name="centers")
    contexts = tf.placeholder(tf.int64, [None], name="contexts")
    with tf.device(tf.train.replica_device_setter(cluster=tf.mpi.cluster_spec())):
        embeddings = tf.get_variable(
            "embeddings", [len(vocabulary), args.dimension],
            initializer=tf.random_uniform_initializer(-0.5, 0.5),
            partitioner=tf.fixed_size_partitioner(args.shards))
        output_weights = tf.get_variable("output/weights", [args.dimension, len(vocabulary)],
                                         initializer=tf.truncated_normal_initializer(
                                             stddev=1.0 / np.sqrt(args.dimension)))
        output_biases = tf.get_variable("output/biases", [len(vocabulary)],
                                        initializer=tf.zeros_initializer())
        embedded = tf.nn.embedding_lookup(embeddings, centers)
        logits = tf.matmul(embedded, output_weights) + output_biases
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=contexts, logits=logits))
        global_step = tf.train.get_or_create_global_step()
        train = tf.train.AdagradOptimizer(args.learning_rate).minimize(loss, global_step)
        top5 = tf.nn.in_top_k(logits, contexts, 5)
        accuracy = tf.reduce_mean(tf.cast(top5, tf.float32))
        normalized = tf.nn.l2_normalize(tf.concat(list(embeddings), 0), 1)
        probe = tf.placeholder(tf.int64, [None], name="probe")
        similarity = tf.matmul(tf.gather(normalized, probe), normalized, transpose_b=True)
    shard_names = ", ".join("%s on %s" % (v.op.name, v.device or "the client")
                            for v in embeddings)
    print("embedding shards: %s" % shard_names, flush=True)

    rng = np.random.RandomState(args.seed)
    start = time.time()
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, args.steps + 1):
            batch = rng.randint(0, len(train_centers), args.batch_size)
            _, loss_value = sess.run([train, loss], {centers: train_centers[batch],
                                                     contexts: train_contexts[batch]})
            if step % max(args.steps // 5, 1) == 0:
                print("step %5d  loss %.3f" % (step, loss_value), flush=True)
        held_out = sess.run(accuracy, {centers: test_centers, contexts: test_contexts})
        words = [w for w in ("function", "list", "class", "error") if w in vocabulary]
        scores = sess.run(similarity, {probe: [vocabulary.index(w) for w in words]})
    for word, row in zip(words, scores):
        nearest = [vocabulary[i] for i in np.argsort(-row)[1:6]]
        print("nearest to %-9s %s" % (word + ":", ", ".join(nearest)))
    print("test accuracy %.4f (held-out top-5 context words, %d pairs), %.1f s on %d rank(s)"
          % (held_out, len(test_centers), time.time() - start, tf.mpi.size()))
    return held_out


if __name__ == "__main__":
    main()
