"""hpcflow's tensor transport against raw mpi4py on the same buffers: bandwidth and latency.

    mpiexec -n 2 python mpi/bench_transport.py            # ping-pong between ranks 0 and 1
    mpiexec -n 4 python mpi/bench_transport.py --sizes 1024,4194304

Point-to-point: rank 0 and rank 1 ping-pong each message size with raw `comm.Send/Recv` and
with hpcflow's `Transport.send_tensor/recv_tensor` (pickled header + buffer payload, as the
runtime's _Send/_Recv use). Collective: every rank all-reduces a buffer with raw
`comm.Allreduce` and with hpcflow's fused, failure-safe `StepCollectives.allreduce_sum`.
Prints medians over repetitions and the ratio hpcflow / raw (bandwidth ratio: higher is
better, 1.0 = as fast as raw mpi4py).
"""
import argparse
import statistics
import sys
import time

import numpy as np


def _median_time(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ping_pong(comm, rank, buffer, raw, transport, tag=1000):
    """One round trip between ranks 0 and 1 (other ranks idle)."""
    if rank == 0:
        if raw:
            comm.Send(buffer, dest=1, tag=tag)
            comm.Recv(buffer, source=1, tag=tag)
        else:
            transport.send_tensor(buffer, 1, tag)
            transport.flush()
            transport.recv_tensor(1, tag, "pong")
    elif rank == 1:
        if raw:
            comm.Recv(buffer, source=0, tag=tag)
            comm.Send(buffer, dest=0, tag=tag)
        else:
            received = transport.recv_tensor(0, tag, "ping")
            transport.send_tensor(received, 0, tag)
            transport.flush()


def main(argv=None):
    from mpi4py import MPI

    from hpcflow.distributed.collectives import StepCollectives
    from hpcflow.distributed.transport import Transport

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8,1024,65536,1048576,4194304,16777216",
                        help="message sizes in bytes, comma separated")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    from hpcflow.runtime.memory import tune_allocator
    tune_allocator()  # as the launcher does on every rank of a job
    if size < 2:
        print("run with at least 2 ranks: mpiexec -n 2 python %s" % sys.argv[0])
        return 1
    transport = Transport(comm)
    collectives = StepCollectives(transport)
    sizes = [int(s) for s in args.sizes.split(",")]
    if rank == 0:
        print("point-to-point ping-pong, ranks 0 <-> 1 (%d ranks), median of %d"
              % (size, args.repeats))
        print("%12s %14s %14s %14s %14s %8s" % ("bytes", "raw us/trip", "hpcflow us/trip",
                                                "raw MB/s", "hpcflow MB/s", "ratio"))
    for nbytes in sizes:
        buffer = np.zeros(max(nbytes // 4, 1), dtype=np.float32)
        timings = {}
        for raw in (True, False):
            comm.Barrier()
            timings[raw] = _median_time(
                lambda: _ping_pong(comm, rank, buffer, raw, transport), args.repeats)
        if rank == 0:
            raw_bw = 2 * buffer.nbytes / timings[True] / 1e6
            ours_bw = 2 * buffer.nbytes / timings[False] / 1e6
            print("%12d %14.1f %14.1f %14.1f %14.1f %8.2f" % (
                buffer.nbytes, timings[True] * 1e6, timings[False] * 1e6, raw_bw, ours_bw,
                ours_bw / raw_bw))
    if rank == 0:
        print("\nallreduce (sum) over %d ranks, median of %d" % (size, args.repeats))
        print("%12s %14s %14s %8s" % ("bytes", "raw us", "hpcflow us", "ratio"))
    for nbytes in sizes:
        buffer = np.ones(max(nbytes // 4, 1), dtype=np.float32)
        comm.Barrier()
        raw = _median_time(lambda: comm.Allreduce(MPI.IN_PLACE, buffer.copy(), op=MPI.SUM),
                           args.repeats)
        comm.Barrier()
        ours = _median_time(lambda: collectives.allreduce_sum([buffer]), args.repeats)
        if rank == 0:
            print("%12d %14.1f %14.1f %8.2f" % (buffer.nbytes, raw * 1e6, ours * 1e6, raw / ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
