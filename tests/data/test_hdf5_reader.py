"""HDF5Reader in one process: batches, shuffling, epochs, explicit shards, errors."""
import gc

import h5py
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.data import HDF5Reader, read_rows
from hpcflow.framework import errors


@pytest.fixture
def data_file(tmp_path):
    path = str(tmp_path / "data.h5")
    with h5py.File(path, "w") as f:
        f["train/x"] = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
        f["train/y"] = np.arange(10, dtype=np.int64) * 7
        f["other/z"] = np.zeros(4)
        f["scalar"] = 1.0
    return path


def _read_all(tensors, limit=100):
    out = []
    with tf.Session() as sess:
        try:
            for _ in range(limit):
                out.append(sess.run(tensors))
        except errors.OutOfRangeError as e:
            return out, e
    return out, None


def test_batches_are_rows_of_the_file_with_static_shapes(data_file):
    reader = HDF5Reader(data_file, ["train/x", "train/y"], batch_size=4, seed=1, num_epochs=1)
    x, y = reader.get_next()
    assert x.shape.as_list() == [None, 3] and x.dtype == tf.float32
    assert y.shape.as_list() == [None] and y.dtype == tf.int64
    assert reader.num_examples == 10 and reader.steps_per_epoch == 3
    assert reader.op.type == "HDF5Reader" and reader.op.name == "HDF5Reader"
    batches, end = _read_all([x, y, reader.indices])
    assert [len(b[2]) for b in batches] == [4, 4, 2]
    for bx, by, idx in batches:
        np.testing.assert_array_equal(by, idx * 7)
        np.testing.assert_array_equal(bx, np.arange(30, dtype=np.float32).reshape(10, 3)[idx])
    assert sorted(np.concatenate([b[2] for b in batches]).tolist()) == list(range(10))
    assert "end of data" in str(end) and "HDF5Reader" in str(end)


def test_no_shuffle_reads_in_file_order_and_the_end_stays_the_end(data_file):
    reader = HDF5Reader(data_file, "train/y", batch_size=4, shuffle=False, num_epochs=2,
                        drop_remainder=True)
    y = reader.get_next()
    with tf.Session() as sess:
        got = [sess.run(y).tolist() for _ in range(4)]
        for _ in range(2):
            with pytest.raises(errors.OutOfRangeError):
                sess.run(y)
    assert got == [[0, 7, 14, 21], [28, 35, 42, 49]] * 2


def test_same_seed_same_order_and_graph_seed_is_used(data_file):
    def order(seed=None, graph_seed=None):
        tf.reset_default_graph()
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        reader = HDF5Reader(data_file, "train/y", batch_size=10, seed=seed)
        with tf.Session() as sess:
            return [sess.run(reader.indices).tolist() for _ in range(2)]
    assert order(seed=5) == order(seed=5)
    assert order(seed=5) != order(seed=6)
    assert order(graph_seed=9) == order(graph_seed=9)
    first, second = order(seed=5)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second


def test_each_session_reads_from_the_start(data_file):
    reader = HDF5Reader(data_file, "train/y", batch_size=3, seed=2)
    with tf.Session() as sess:
        first = [sess.run(reader.indices).tolist() for _ in range(3)]
    with tf.Session() as sess:
        assert [sess.run(reader.indices).tolist() for _ in range(3)] == first


def test_explicit_shards_split_every_batch(data_file):
    readers = [HDF5Reader(data_file, "train/y", batch_size=5, seed=4, num_shards=3,
                          shard_index=i, num_epochs=1) for i in range(3)]
    whole = HDF5Reader(data_file, "train/y", batch_size=5, seed=4, num_epochs=1)
    with tf.Session() as sess:
        for _ in range(2):
            parts = sess.run([r.indices for r in readers] + [whole.indices])
            assert [len(p) for p in parts[:3]] == [2, 2, 1]
            np.testing.assert_array_equal(np.concatenate(parts[:3]), parts[3])


def test_reader_feeds_training(data_file):
    reader = HDF5Reader(data_file, ["train/x", "train/y"], batch_size=4, seed=0)
    x, y = reader.get_next()
    w = tf.Variable(tf.zeros([3, 1]))
    target = tf.cast(tf.reshape(y, [-1, 1]), tf.float32) / 70.0
    loss = tf.reduce_mean(tf.square(tf.matmul(x / 30.0, w) - target))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        losses = [sess.run([train, loss])[1] for _ in range(60)]
    assert np.mean(losses[-5:]) < 0.1 * np.mean(losses[:5])


def test_prefetch_thread_ends_with_its_session(data_file):
    reader = HDF5Reader(data_file, "train/y", batch_size=2, prefetch=3)
    sess = tf.Session()
    sess.run(reader.indices)
    (state,) = sess._state._hdf5_readers.values()
    assert state.prefetcher.alive
    sess.close()
    del sess
    gc.collect()
    assert not state.prefetcher.alive


def test_missing_file_datasets_and_bad_arguments(data_file, tmp_path):
    with pytest.raises(ValueError, match="cannot open"):
        HDF5Reader(str(tmp_path / "none.h5"), "x", batch_size=1)
    with pytest.raises(ValueError, match="no dataset 'train/w'.*train/x"):
        HDF5Reader(data_file, ["train/w"], batch_size=1)
    with pytest.raises(ValueError, match="different numbers of rows"):
        HDF5Reader(data_file, ["train/x", "other/z"], batch_size=1)
    with pytest.raises(ValueError, match="scalar"):
        HDF5Reader(data_file, ["scalar"], batch_size=1)
    with pytest.raises(ValueError, match="at least one dataset"):
        HDF5Reader(data_file, [], batch_size=1)
    with pytest.raises(ValueError, match="both num_shards and shard_index"):
        HDF5Reader(data_file, "train/y", batch_size=1, num_shards=2)
    with pytest.raises(ValueError, match="shard_index must be in"):
        HDF5Reader(data_file, "train/y", batch_size=1, num_shards=2, shard_index=2)
    with pytest.raises(ValueError, match="prefetch"):
        HDF5Reader(data_file, "train/y", batch_size=1, prefetch=0)
    with pytest.raises(ValueError, match="batch_size"):
        HDF5Reader(data_file, "train/y", batch_size=0)


def test_file_gone_at_run_time_names_the_op(data_file):
    import os
    reader = HDF5Reader(data_file, "train/y", batch_size=2, name="digits_reader")
    os.remove(data_file)
    with tf.Session() as sess:
        with pytest.raises(errors.NotFoundError, match="digits_reader.*cannot read"):
            sess.run(reader.indices)


def test_read_rows_keeps_the_requested_order(data_file):
    with h5py.File(data_file, "r") as f:
        y = f["train/y"]
        np.testing.assert_array_equal(read_rows(y, [9, 2, 5]), [63, 14, 35])
        np.testing.assert_array_equal(read_rows(y, [3, 4, 5]), [21, 28, 35])
        assert read_rows(f["train/x"], []).shape == (0, 3)


def test_data_parallel_step_learns_the_readers_batch_size():
    from hpcflow.distributed.dp_ops import DataParallelStep
    step = DataParallelStep(2, [0] * 4, collectives=None)
    step.set_global_rows(10, "r")
    assert (step.counts, step.global_rows, step.local_rows, step.offset) == ([3, 3, 2, 2], 10, 2, 6)
    step.set_global_rows(10, "r")  # a second reader of the same batch size: fine
    with pytest.raises(errors.InvalidArgumentError, match="one batch size"):
        step.set_global_rows(8, "other_reader")


def test_data_parallel_analysis_treats_reader_outputs_as_split(data_file):
    from hpcflow.distributed import data_parallel
    reader = HDF5Reader(data_file, ["train/x", "train/y"], batch_size=4)
    x, _ = reader.get_next()
    total = tf.reduce_sum(x)
    plan = data_parallel.build(tf.get_default_graph(), [total], [], [], [],
                               np.random.default_rng(0))
    assert plan.states[x.name] == "S" and plan.states[total.name] == "P"


def test_batch_size_none_reads_the_whole_dataset_each_step(data_file):
    reader = HDF5Reader(data_file, "train/y", batch_size=None, shuffle=False)
    assert reader.batch_size == 10 and reader.steps_per_epoch == 1
    with tf.Session() as sess:
        for _ in range(2):
            np.testing.assert_array_equal(sess.run(reader.get_next()), np.arange(10) * 7)
