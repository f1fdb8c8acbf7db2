"""The MPI launcher: `mpiexec -n N python -m hpcflow [--ps K] SCRIPT [ARGS...]`.

Rank 0 runs SCRIPT as `__main__` with ARGS as its argv and is the client, master and (by
default) parameter server; ranks 1..N-1 serve it until the script ends. The job's exit code
is the script's. `python -m hpcflow info` describes the installation and the job.
"""
import argparse
import os
import runpy
import sys
import traceback

USAGE_EPILOG = """\
examples:
  python -m hpcflow train.py                   one process (same as python train.py)
  mpiexec -n 4 python -m hpcflow train.py      4 ranks: rank 0 runs train.py
  mpiexec -n 8 python -m hpcflow --ps 2 train.py --epochs 3
                                               ranks 0-1 are /job:ps, 2-7 /job:worker
  mpiexec -n 4 python -m hpcflow --async train.py
                                               data parallel, asynchronous updates
  mpiexec -n 2 python -m hpcflow info          versions, MPI, kernels, GPUs per rank
  python -m hpcflow graph --help               GraphViz view of a script's graph by rank

cluster: ranks 0..K-1 form job "ps" (K=1 by default), the others job "worker";
place ops with tf.device("/job:worker/task:1") or tf.train.replica_device_setter.
exit code: the script's; an exception in the script ends every rank with code 1.
"""


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m hpcflow",
        description="Run a TensorFlow-1-style script on every rank of an MPI job.",
        epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ps", type=int, default=1, metavar="K",
                        help="number of parameter-server ranks (default 1)")
    parser.add_argument("--async", dest="async_updates", action="store_true",
                        help="asynchronous data-parallel training: rank 0 applies each "
                             "rank's gradients alone, as they arrive, instead of all-reducing")
    parser.add_argument("script", help="the training script (or 'info')")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    return parser


def _exit_code(system_exit):
    code = system_exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _run_script(path, args):
    """Runs `path` as __main__; returns its exit code (1 and a traceback on an exception)."""
    sys.argv = [path] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        return _exit_code(e)
    except BaseException:  # the script failed: report it, then end every rank cleanly
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["graph"]:  # its own options (e.g. --ps) must not reach the launcher's
        from .graph_view import main as graph_main
        return graph_main(argv[1:])
    options = _parser().parse_args(argv)
    from .distributed import environment
    if options.script == "info":
        from .info import print_info
        return print_info()
    if not os.path.exists(options.script):
        print("hpcflow: no such script: %s" % options.script, file=sys.stderr)
        return 2
    if not environment.in_parallel_launch():
        return _run_script(options.script, options.args)

    from mpi4py import MPI
    from .distributed import context, worker
    comm = MPI.COMM_WORLD
    announced = environment.launched_rank_and_size()[1]
    if comm.Get_size() != announced:
        # e.g. `srun --mpi=none`: N tasks, each its own one-rank MPI world.
        print("hpcflow: the launcher started %d tasks but MPI sees %d rank(s); under Slurm "
              "use `srun --mpi=pmi2` or mpiexec" % (announced, comm.Get_size()), file=sys.stderr)
        return 2
    try:
        job = context.start_job(comm, options.ps, options.async_updates)
    except ValueError as e:
        if comm.Get_rank() == 0:
            print("hpcflow: %s" % e, file=sys.stderr)
        return 2
    from .distributed import signals
    if job.rank == 0:
        signals.install_rank0_handlers()  # SIGTERM/SIGUSR1: checkpoint, then exit 75
        code = _run_script(options.script, options.args)
        _close_live_sessions()
        for rank in range(1, job.size):
            job.transport.send_control(rank, ("shutdown", code))
    else:
        signals.install_worker_handlers(job.rank)  # keep serving: rank 0 decides
        try:
            code = worker.serve(job)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            comm.Abort(1)  # a broken worker ends the whole job rather than hang it
            return 1
    job.transport.flush()
    context.end_job()
    return code


def _close_live_sessions():
    # Sessions the script left open would keep state on the workers: close them first.
    from .runtime import session
    for live in list(session._live_sessions):
        try:
            live.close()
        except Exception:  # a session already broken by an error: nothing to release
            pass


if __name__ == "__main__":
    sys.exit(main())
