"""Async training and SyncReplicasOptimizer under real mpiexec, against one process.

Asynchronous results depend on the order in which rank 0 takes the ranks' gradients, so
they are checked by replaying, in numpy, exactly the updates tf.mpi.parameter_server_log
reports: each rank's gradient computed from the version of the variables it had read.
"""
import numpy as np
import pytest

from hpcflow.distributed.dp_ops import split_counts
from mpi_harness import RANK_COUNTS, assert_same_results, run

STEPS, ROWS, LR = 6, 23, 0.1


def _data():
    rng = np.random.RandomState(0)
    x = rng.randn(STEPS, ROWS, 5).astype(np.float32)
    w_true = rng.randn(5, 3).astype(np.float32)
    x_eval = rng.randn(11, 5).astype(np.float32)
    return x, x @ w_true + 0.5, x_eval


def _gradient(x, y, w, b):
    """The gradient of mean((xw + b - y)^2) over these rows."""
    residual = x @ w + b - y
    scale = 2.0 / residual.size
    return scale * x.T @ residual, scale * residual.sum(axis=0)


def _replay(log, ranks):
    """The SGD trajectory the log describes: [(w, b) after each update]."""
    x, y, _ = _data()
    counts = split_counts(ROWS, ranks)
    offsets = np.cumsum([0] + counts)
    step_index = {s: i for i, s in enumerate(sorted(set(log[:, 0])))}
    versions = [(np.full((5, 3), 0.1), np.zeros(3))]
    applied = log[log[:, 4] >= 0]
    for version in sorted(set(applied[:, 4])):
        group = applied[applied[:, 4] == version]
        rows = [np.arange(offsets[r], offsets[r + 1]) for r in group[:, 1]]
        assert len(set(group[:, 3])) == 1, "one update read one version"
        w_read, b_read = versions[group[0, 3]]
        i = step_index[group[0, 0]]
        take = np.concatenate(rows)
        dw, db = _gradient(x[i][take].astype(np.float64), y[i][take], w_read, b_read)
        w, b = versions[-1]
        assert version == len(versions)
        versions.append((w - LR * dw, b - LR * db))
    return versions


@pytest.fixture(scope="module")
def one_process():
    return {model: run("ps_updates.py", 1, args=[model])[3] for model in ("sgd", "adam")}


@pytest.mark.parametrize("ranks", RANK_COUNTS)
def test_async_updates_are_each_ranks_gradient_applied_alone(ranks):
    code, out, err, got = run("ps_updates.py", ranks, args=["sgd"], launcher_args=["--async"])
    assert code == 0, err
    log = got["info_log"]
    # Every rank's gradients of every step were applied alone, as their own update.
    assert len(log) == STEPS * ranks and sorted(log[:, 4]) == list(range(1, STEPS * ranks + 1))
    assert int(got["info_step"]) == STEPS * ranks  # global_step counts updates, as in TF1
    # Staleness: updates applied between the values a rank read and its own update. A rank
    # reads the values of its last answer, so at most two steps' worth of the others'.
    staleness = log[:, 4] - 1 - log[:, 3]
    assert staleness.min() >= 0 and staleness.max() <= 2 * (ranks - 1)
    assert staleness.max() >= 1, "some gradients were computed from values already updated"
    w, b = _replay(log, ranks)[-1]
    np.testing.assert_allclose(got["w"], w, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(got["b"], b, rtol=2e-4, atol=2e-5)
    # The evaluation after training ran on every rank with rank 0's values.
    _, _, x_eval = _data()
    np.testing.assert_allclose(got["evaluation"], x_eval @ got["w"] + got["b"], rtol=1e-5,
                               atol=1e-5)


def test_async_on_one_rank_is_plain_training(one_process):
    code, _, err, got = run("ps_updates.py", 1, args=["sgd", "0", "config"])
    assert code == 0, err
    assert_same_results(one_process["sgd"], got)


def test_async_from_the_session_config():
    code, _, err, got = run("ps_updates.py", 3, args=["sgd", "0", "config"])
    assert code == 0, err
    assert len(got["info_log"]) == STEPS * 3 and int(got["info_step"]) == STEPS * 3


@pytest.mark.parametrize("ranks", RANK_COUNTS)
@pytest.mark.parametrize("model", ["sgd", "adam"])
def test_sync_replicas_of_every_rank_equal_one_process(ranks, model, one_process):
    code, _, err, got = run("ps_updates.py", ranks, args=[model, str(ranks)])
    assert code == 0, err
    assert_same_results(one_process[model], got, rtol=2e-5, atol=2e-6,
                        context="%d ranks" % ranks)
    log = got["info_log"]
    assert int(got["info_step"]) == STEPS  # one update per step
    assert len(log) == STEPS * ranks and (log[:, 4] >= 0).all()


@pytest.mark.parametrize("ranks", [3, 4])
def test_sync_replicas_drop_the_backup_workers_gradients(ranks):
    aggregate = ranks - 1
    code, _, err, got = run("ps_updates.py", ranks, args=["sgd", str(aggregate)])
    assert code == 0, err
    log = got["info_log"]
    assert int(got["info_step"]) == STEPS
    for step in set(log[:, 0]):
        records = log[log[:, 0] == step]
        assert (records[:, 4] >= 0).sum() == aggregate  # the first R to arrive count
        assert (records[:, 4] < 0).sum() == ranks - aggregate  # the backup worker is dropped
    w, b = _replay(log, ranks)[-1]
    np.testing.assert_allclose(got["w"], w, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(got["b"], b, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("mode", ["async", "sync_replicas"])
def test_a_failing_rank_raises_on_rank_0_and_the_session_goes_on(mode):
    ranks = 3
    if mode == "async":
        args, launcher = ["sgd", "0", "fail"], ["--async"]
    else:
        args, launcher = ["sgd", str(ranks), "fail"], []
    code, _, err, got = run("ps_updates.py", ranks, args=args, launcher_args=launcher)
    assert code == 0, err
    caught = str(got["info_caught"])
    assert "rows with NaN" in caught and "rank %d" % (ranks - 1) in caught, caught
    log = got["info_log"]
    if mode == "async":  # the other ranks' gradients were each applied alone
        failed_step = log[:, 0].max()
        assert len(set(log[:, 0])) == STEPS + 1
        assert sorted(log[log[:, 0] == failed_step][:, 1]) == [0, 1]
        assert int(got["info_step"]) == STEPS * ranks + 2
    else:  # fewer than R replicas: no update at all
        assert len(set(log[:, 0])) == STEPS and int(got["info_step"]) == STEPS
    # The evaluation after the failure still ran on every rank with rank 0's values.
    _, _, x_eval = _data()
    np.testing.assert_allclose(got["evaluation"], x_eval @ got["w"] + got["b"], rtol=1e-5,
                               atol=1e-5)


def test_sync_replicas_needing_more_replicas_than_ranks_fails_clearly():
    code, _, err, _ = run("ps_updates.py", 2, args=["sgd", "3"])
    assert code == 1
    assert "replicas_to_aggregate=3, but this job has 2 replica(s)" in err


def test_sync_replicas_in_a_placed_graph_fails_clearly():
    code, _, err, _ = run("ps_updates.py", 2, args=["sgd", "2", "placed"])
    assert code == 1
    assert "SyncReplicasOptimizer(replicas_to_aggregate=2) needs a data-parallel job" in err
