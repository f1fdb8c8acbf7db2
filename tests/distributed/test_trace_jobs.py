"""Chrome traces of steps run under real mpiexec: a lane per rank, sends joined to receives,
collectives on the MPI lanes."""
import json

import pytest

import mpi_harness as harness

pytestmark = pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")


@pytest.fixture(scope="module", params=[3, 4])
def traces(request):
    code, out, err, results = harness.run("traced_steps.py", request.param)
    assert code == 0, err[-3000:]
    return request.param, {k: json.loads(str(results["info_" + k]))["traceEvents"]
                           for k in ("placed", "data_parallel")}


def _lanes(events):
    return {e["pid"]: e["args"]["name"] for e in events
            if e.get("ph") == "M" and e["name"] == "process_name"}


def test_placed_trace_has_a_lane_per_working_rank_and_joined_transfers(traces):
    ranks, trace = traces
    events = trace["placed"]
    lanes = _lanes(events)
    assert [name.split()[1] for _, name in sorted(lanes.items())] == ["0", "1", "2"]
    assert "/job:worker/replica:0/task:1/device:CPU:0" in lanes[2]
    transfers = [e for e in events if e.get("ph") == "X" and e["cat"] == "MPI"]
    assert {e["name"] for e in transfers} == {"_Send", "_Recv"}
    assert all(e["tid"] == 1 for e in transfers)
    starts = {e["id"]: e for e in events if e.get("ph") == "s"}
    finishes = {e["id"]: e for e in events if e.get("ph") == "t"}
    assert starts and sorted(starts) == sorted(finishes)
    for edge, start in starts.items():
        assert start["pid"] != finishes[edge]["pid"], "a flow joins two different ranks"
    # The activations leave rank 1 for rank 2.
    sends = [e for e in transfers if e["name"] == "_Send" and e["pid"] == 1]
    assert any(e["args"].get("peer_rank") == 2 for e in sends)


def test_data_parallel_trace_shows_the_allreduce_on_every_rank(traces):
    ranks, trace = traces
    events = trace["data_parallel"]
    assert len(_lanes(events)) == ranks
    allreduces = [e for e in events if e.get("ph") == "X" and e["name"] == "_DPAllReduce"]
    assert sorted(e["pid"] for e in allreduces) == list(range(ranks))
    assert all(e["cat"] == "MPI" for e in allreduces)


def test_transfers_and_collectives_carry_their_bytes(traces):
    ranks, trace = traces
    allreduces = [e for e in trace["data_parallel"] if e.get("name") == "_DPAllReduce"]
    assert all(e["args"]["bytes"] == 6 * 3 * 4 for e in allreduces)
    hidden = [e for e in trace["placed"] if e.get("name") == "_Send" and e["pid"] == 1]
    assert any(e["args"]["bytes"] == 24 * 16 * 4 for e in hidden)
