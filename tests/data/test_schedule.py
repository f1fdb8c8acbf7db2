"""Epoch schedules, shard blocks and the prefetch thread of hpcflow.data."""
import threading

import numpy as np
import pytest

from hpcflow.data import EpochSchedule, split_counts
from hpcflow.data.prefetch import Prefetcher


def test_split_counts_matches_the_data_parallel_split():
    from hpcflow.distributed.dp_runtime import split_counts as runtime_split
    for rows in (0, 1, 5, 8, 37):
        for shards in (1, 2, 3, 4, 7):
            assert split_counts(rows, shards) == runtime_split(rows, shards)
            assert sum(split_counts(rows, shards)) == rows


def test_each_epoch_is_a_seeded_permutation_cut_into_batches():
    schedule = EpochSchedule(10, 4, shuffle=True, seed=3, num_epochs=2)
    assert schedule.steps_per_epoch == 3 and schedule.total_steps() == 6
    batches = [schedule.batch(step) for step in range(6)]
    assert schedule.batch(6) is None
    assert [len(b) for _, b in batches] == [4, 4, 2, 4, 4, 2]
    assert [e for e, _ in batches] == [0, 0, 0, 1, 1, 1]
    for epoch in range(2):
        seen = np.concatenate([b for e, b in batches if e == epoch])
        assert sorted(seen.tolist()) == list(range(10))
    assert not np.array_equal(schedule.order(0), schedule.order(1))
    again = EpochSchedule(10, 4, shuffle=True, seed=3)
    np.testing.assert_array_equal(again.order(1), schedule.order(1))
    assert not np.array_equal(EpochSchedule(10, 4, seed=4).order(0), schedule.order(0))
    assert again.total_steps() is None and again.batch(1000) is not None


def test_no_shuffle_and_drop_remainder():
    schedule = EpochSchedule(10, 4, shuffle=False, drop_remainder=True, num_epochs=1)
    assert schedule.steps_per_epoch == 2
    assert [schedule.batch(s)[1].tolist() for s in range(2)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert schedule.batch(2) is None


def test_shard_blocks_partition_every_batch():
    indices = np.array([9, 4, 7, 1, 0, 3, 8])
    blocks = [EpochSchedule.shard_block(indices, r, 3) for r in range(3)]
    assert [b.tolist() for b in blocks] == [[9, 4, 7], [1, 0], [3, 8]]
    assert EpochSchedule.shard_block(indices[:2], 3, 4).tolist() == []


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_examples=0, batch_size=1), "no examples"),
    (dict(num_examples=5, batch_size=0), "batch_size must be positive"),
    (dict(num_examples=5, batch_size=2, num_epochs=0), "num_epochs"),
    (dict(num_examples=5, batch_size=6, drop_remainder=True), "leaves no batch"),
])
def test_bad_schedules(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EpochSchedule(**kwargs)


def test_prefetcher_yields_in_order_then_none():
    produced = []

    def produce(step):
        produced.append(step)
        return None if step == 5 else step * 10
    prefetcher = Prefetcher(produce, first_step=2, depth=2)
    assert [prefetcher.get() for _ in range(3)] == [20, 30, 40]
    assert prefetcher.get() is None and prefetcher.get() is None
    prefetcher.stop()
    assert produced == [2, 3, 4, 5]


def test_prefetcher_hands_the_threads_error_to_the_consumer():
    def produce(step):
        if step == 1:
            raise OSError("disk gone")
        return step
    prefetcher = Prefetcher(produce)
    assert prefetcher.get() == 0
    with pytest.raises(OSError, match="disk gone"):
        prefetcher.get()
    prefetcher.stop()


def test_prefetcher_reads_ahead_at_most_depth_and_stops():
    gate = threading.Event()
    produced = []

    def produce(step):
        produced.append(step)
        if step == 3:
            gate.set()
        return step
    prefetcher = Prefetcher(produce, depth=3)
    assert gate.wait(10)
    # depth 3 queued plus one produced and waiting for room: never more.
    assert len(produced) <= 4
    prefetcher.stop()
    assert not prefetcher.alive
