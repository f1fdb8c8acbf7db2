"""Checks the MPI environment an hpcflow job will run in, on every rank.

    mpiexec -n 4 python mpi/check_environment.py

Each rank reports its host, rank, local rank (from the launcher's or Slurm's variables) and
what mpi4py sees; rank 0 then checks that the ranks agree, that point-to-point buffer
transfers and an Allreduce give the right answers, and prints one line per rank and a
verdict. Exit code 0 when everything checks out, 1 otherwise.
"""
import os
import socket
import sys

import numpy as np


def main():
    from mpi4py import MPI

    from hpcflow.distributed import environment

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    env_rank, env_size = environment.launched_rank_and_size()
    report = {
        "host": socket.gethostname(), "pid": os.getpid(), "rank": rank, "size": size,
        "env_rank": env_rank, "env_size": env_size, "local_rank": environment.local_rank(),
        "thread_level": MPI.Query_thread(), "slurm_job": os.environ.get("SLURM_JOB_ID", "-"),
    }
    problems = []
    # Ring exchange of a buffer: every rank sends its rank to the next.
    send = np.full(1024, rank, dtype=np.float64)
    recv = np.empty_like(send)
    comm.Sendrecv(send, dest=(rank + 1) % size, recvbuf=recv, source=(rank - 1) % size)
    if not np.all(recv == (rank - 1) % size):
        problems.append("rank %d: ring exchange received wrong data" % rank)
    total = np.array([rank], dtype=np.int64)
    comm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
    if total[0] != size * (size - 1) // 2:
        problems.append("rank %d: Allreduce gave %d" % (rank, total[0]))
    if size > 1 and (env_rank != rank or env_size != size):
        problems.append("rank %d: launcher variables say rank %d of %d" % (rank, env_rank, env_size))
    reports = comm.gather(report, root=0)
    all_problems = comm.gather(problems, root=0)
    if rank != 0:
        return 0
    print("MPI library: %s" % MPI.Get_library_version().splitlines()[0].strip())
    print("mpi4py %s, MPI standard %d.%d" % (__import__("mpi4py").__version__,
                                             *MPI.Get_version()))
    for r in reports:
        print("rank %(rank)d/%(size)d host %(host)s pid %(pid)d local rank %(local_rank)d "
              "env rank %(env_rank)d/%(env_size)d thread level %(thread_level)d "
              "slurm job %(slurm_job)s" % r)
    flat = [p for ps in all_problems for p in ps]
    for p in flat:
        print("PROBLEM: %s" % p)
    print("OK: %d ranks agree and exchange data correctly" % size if not flat else "FAILED")
    return 1 if flat else 0


if __name__ == "__main__":
    sys.exit(main())
