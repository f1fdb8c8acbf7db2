"""Input pipelines under real mpiexec: the sharded HDF5 reader and summaries in data-parallel jobs.

Each rank reads only its block of every batch straight from the file; across the ranks every
example is read exactly once per epoch, and training, fetched batches and TensorBoard
summaries equal the one-process run.
"""
import collections
import os

import numpy as np
import pytest

import mpi_harness as harness
from hpcflow.data import split_counts

pytestmark = pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")

ROWS, BATCH, EPOCHS = 37, 8, 3


def _read_logs(directory):
    """{rank: [(epoch, step, [indices])]} from the reader's HPCFLOW_DATA_READ_LOG files."""
    logs = {}
    for name in sorted(os.listdir(directory)):
        rank = int(name[len("rank"):-len(".log")])
        entries = []
        for line in open(os.path.join(directory, name)):
            _, epoch, step, indices = line.split()
            entries.append((int(epoch), int(step), [int(i) for i in indices.split(",") if i]))
        logs[rank] = entries
    return logs


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    log_dir = str(tmp_path_factory.mktemp("one_process_reads"))
    code, out, err, results = harness.run("input_reader.py", 1,
                                          env={"HPCFLOW_DATA_READ_LOG": log_dir})
    assert code == 0, err[-3000:]
    return results, _read_logs(log_dir)


def test_one_process_reads_every_example_once_per_epoch(one_process):
    results, logs = one_process
    assert list(logs) == [0]
    steps_per_epoch = -(-ROWS // BATCH)
    assert int(results["steps"]) == EPOCHS * steps_per_epoch == int(results["steps_per_epoch"]) * 3
    indices = results["indices"].reshape(-1)
    for epoch in range(EPOCHS):
        block = indices[epoch * ROWS:(epoch + 1) * ROWS]
        assert sorted(block.tolist()) == list(range(ROWS))
    assert not np.array_equal(indices[:ROWS], indices[ROWS:2 * ROWS]), "epochs not reshuffled"
    assert bool(results["labels_match"])
    np.testing.assert_allclose(results["summary_losses"], results["losses"], rtol=1e-6)


@pytest.mark.parametrize("ranks", [3, 4])
def test_each_rank_reads_its_block_and_training_matches_one_process(ranks, one_process,
                                                                    tmp_path):
    reference, _ = one_process
    log_dir = str(tmp_path / "reads")
    code, out, err, results = harness.run("input_reader.py", ranks,
                                          env={"HPCFLOW_DATA_READ_LOG": log_dir})
    assert code == 0, err[-3000:]
    harness.assert_same_results(reference, results, rtol=2e-5, atol=1e-6,
                                context="input_reader.py at %d ranks" % ranks)
    logs = _read_logs(log_dir)
    assert sorted(logs) == list(range(ranks)), "every rank reads"
    global_batches = reference["indices"].reshape(-1)
    per_epoch = collections.defaultdict(list)
    position = 0
    for step in range(int(reference["steps"])):
        batch_rows = min(BATCH, ROWS - (step % 5) * BATCH)
        batch = global_batches[position:position + batch_rows].tolist()
        position += batch_rows
        counts = split_counts(batch_rows, ranks)
        offset = 0
        for rank in range(ranks):
            epoch, logged_step, block = logs[rank][step]
            assert logged_step == step
            # Rank r read exactly block r of the one-process batch: nothing else.
            assert block == batch[offset:offset + counts[rank]], (rank, step)
            offset += counts[rank]
            per_epoch[epoch].extend(block)
    for rank in range(ranks):
        assert len(logs[rank]) == int(reference["steps"]), "no rank read more than its blocks"
    assert sorted(per_epoch) == list(range(EPOCHS))
    for epoch, read in per_epoch.items():
        assert sorted(read) == list(range(ROWS)), "epoch %d: every example exactly once" % epoch
