"""Transport and collectives on every rank of a real MPI job (pytest-mpi).

Run under MPI only: `mpiexec -n 3 python -m pytest --with-mpi tests/distributed/mpi_units`
(tests/distributed/test_mpi_jobs.py does, at 2, 3 and 4 ranks). Nothing assumes a rank
count: neighbours are found by ring arithmetic, and every assertion is made collectively
(all ranks agree on the verdict), so one failing rank cannot leave the others waiting.
"""
import numpy as np
import pytest


def _world():
    from mpi4py import MPI
    return MPI.COMM_WORLD


def _all_ranks_agree(comm, ok, what):
    verdicts = comm.allgather(bool(ok))
    assert all(verdicts), "%s failed on ranks %s" % (what, [r for r, v in enumerate(verdicts) if not v])


def _values_of(rank):
    """What `rank` sends: every kind of buffer the runtime moves."""
    strings = np.empty(1, dtype=object)
    strings[0] = b"rank%d" % rank
    return [np.float32(rank), np.arange(5, dtype=np.int64) * rank,
            np.full((3, 0, 2), rank, np.float64), np.array([rank % 2 == 0, True]),
            (np.arange(16, dtype=np.float16).reshape(4, 4) + rank).T, strings]


@pytest.mark.mpi
def test_tensors_go_around_a_ring_with_every_dtype_and_shape():
    from hpcflow.distributed.transport import Transport
    comm = _world()
    transport = Transport(comm)
    rank, size = comm.Get_rank(), comm.Get_size()
    left = (rank - 1) % size
    ok = True
    for i, (value, expected) in enumerate(zip(_values_of(rank), _values_of(left))):
        tag = 100 + 2 * i
        transport.send_tensor(value, (rank + 1) % size, tag)
        got = transport.recv_tensor(left, tag, "ring")
        transport.flush()
        expected = np.asarray(expected)
        ok &= got.shape == expected.shape and got.dtype == expected.dtype
        ok &= bool(np.array_equal(got, expected))
    _all_ranks_agree(comm, ok, "ring exchange")


@pytest.mark.mpi
def test_fused_allreduce_and_row_gathers():
    from hpcflow.distributed.collectives import StepCollectives
    from hpcflow.distributed.transport import Transport
    comm = _world()
    collectives = StepCollectives(Transport(comm))
    rank, size = comm.Get_rank(), comm.Get_size()
    a, b, c = np.full(3, rank, np.float32), np.full((2, 2), 1.0), np.array(rank, np.int64)
    total_a, total_b, total_c = collectives.allreduce_sum([a, b, c])
    rows = np.arange(rank + 1, dtype=np.float64).reshape(rank + 1, 1) + 10 * rank
    gathered = collectives.allgather_rows(rows)
    at_root = collectives.gather_rows(rows)
    expected_rows = np.concatenate([np.arange(r + 1).reshape(r + 1, 1) + 10 * r
                                    for r in range(size)])
    ok = np.allclose(total_a, sum(range(size))) and np.allclose(total_b, size)
    ok &= int(total_c) == sum(range(size)) and total_c.shape == ()
    ok &= np.array_equal(gathered, expected_rows)
    ok &= (at_root is None) if rank else np.array_equal(at_root, expected_rows)
    _all_ranks_agree(comm, ok, "allreduce/gather")


@pytest.mark.mpi
def test_a_failed_rank_aborts_the_collective_everywhere_without_hanging():
    from hpcflow.distributed.collectives import StepCollectives
    from hpcflow.distributed.transport import PeerFailedError, Transport
    comm = _world()
    collectives = StepCollectives(Transport(comm))
    rank, size = comm.Get_rank(), comm.Get_size()
    failing = size - 1
    raised = False
    try:
        collectives.allreduce_sum([np.ones(4)], failed=(rank == failing))
    except PeerFailedError as e:
        raised = "rank %d failed" % failing in str(e)
    _all_ranks_agree(comm, raised, "failure propagation")
    # The collectives still work afterwards.
    total, = collectives.allreduce_sum([np.ones(2)])
    _all_ranks_agree(comm, np.allclose(total, size), "allreduce after a failure")
