"""Preemption signals: SIGTERM and SIGUSR1 make a training job checkpoint and exit.

Slurm sends SIGUSR1 before a time limit or preemption when asked to
(`#SBATCH --signal=USR1@90`) and SIGTERM when it ends a job; MPICH's `mpiexec` forwards
both to every rank (tested: tests/distributed/test_checkpoint_jobs.py). So:

* **Rank 0** (the process running the script) records the signal while a
  `MonitoredTrainingSession` is running; the session finishes the current step, saves a
  checkpoint, optionally requeues the Slurm job, and exits the job with
  `PREEMPTED_EXIT_CODE` (75, EX_TEMPFAIL: "try again later"). With no monitored session
  running, the signal keeps its default action (the process ends, and with it the job).
* **Worker ranks** ignore both signals (printing a note): they keep serving rank 0, which
  needs them to save the variables they hold, and end when rank 0 ends the job.

Requeueing: when `HPCFLOW_REQUEUE_ON_SIGNAL=1` and `SLURM_JOB_ID` are set, rank 0 runs
`scontrol requeue $SLURM_JOB_ID` after the checkpoint is written, before exiting.
"""
import os
import signal
import subprocess
import sys
import threading

# The exit code of a job that stopped because it was asked to (EX_TEMPFAIL in sysexits.h):
# the checkpoint is written, run the same command again to continue.
PREEMPTED_EXIT_CODE = 75

PREEMPTION_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
REQUEUE_VARIABLE = "HPCFLOW_REQUEUE_ON_SIGNAL"

_lock = threading.Lock()
_requested = None        # the signal number received while watched, or None
_watchers = 0            # running monitored sessions
_installed = {}          # signal number -> the handler we replaced
_worker_rank = None      # this process's rank when it is a worker


def _signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


def _rank0_handler(signum, frame):
    global _requested
    if _watchers == 0:
        # Nothing can checkpoint: behave as if we had never installed a handler.
        previous = _installed.get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _requested is None:
        _requested = signum
        print("hpcflow: received %s: finishing the current step, then saving a checkpoint and "
              "exiting with code %d" % (_signal_name(signum), PREEMPTED_EXIT_CODE),
              file=sys.stderr, flush=True)


def _worker_handler(signum, frame):
    print("hpcflow: rank %s received %s: ignored, rank 0 decides when the job stops"
          % (_worker_rank, _signal_name(signum)), file=sys.stderr, flush=True)


def _can_install():
    return threading.current_thread() is threading.main_thread()


def install_rank0_handlers():
    """Installs rank 0's handlers (idempotent; only from the main thread).

    Returns:
      True if the handlers are in place.
    """
    if not _can_install():
        return False
    with _lock:
        for signum in PREEMPTION_SIGNALS:
            current = signal.getsignal(signum)
            if current is _rank0_handler:
                continue
            if current is signal.SIG_IGN:
                continue  # someone chose to ignore it (e.g. nohup-like wrappers): respect that
            _installed[signum] = current
            signal.signal(signum, _rank0_handler)
    return True


def install_worker_handlers(rank):
    """Makes SIGTERM and SIGUSR1 harmless on worker rank `rank` (called by the launcher)."""
    global _worker_rank
    _worker_rank = rank
    if _can_install():
        for signum in PREEMPTION_SIGNALS:
            signal.signal(signum, _worker_handler)


class watching:  # noqa: N801 - used as a context manager, like contextlib's helpers
    """While entered, preemption signals on this process are recorded, not fatal.

    A monitored session enters it when created and leaves it when closed.
    """

    def __enter__(self):
        global _watchers
        install_rank0_handlers()
        with _lock:
            _watchers += 1
        return self

    def __exit__(self, *exc):
        global _watchers
        with _lock:
            _watchers = max(0, _watchers - 1)
        return False


def preemption_requested():
    """The name of the preemption signal received (e.g. "SIGUSR1"), or None."""
    return None if _requested is None else _signal_name(_requested)


def clear_request():
    """Forgets a received signal (tests; a job that decided to continue)."""
    global _requested
    _requested = None


def request_preemption(signum=signal.SIGUSR1):
    """Records a preemption request as if `signum` had arrived (tests, custom schedulers)."""
    global _requested
    if _requested is None:
        _requested = signum


def requeue_if_asked(run=subprocess.run, signal_name="SIGUSR1"):
    """Runs `scontrol requeue $SLURM_JOB_ID` when HPCFLOW_REQUEUE_ON_SIGNAL=1 under Slurm.

    Only after SIGUSR1, Slurm's warning before a time limit or preemption: SIGTERM comes
    from `scancel` or the end of the job, and requeueing would undo the cancellation.

    Returns:
      True if the requeue command ran and succeeded.
    """
    if os.environ.get(REQUEUE_VARIABLE, "") != "1":
        return False
    if signal_name != "SIGUSR1":
        print("hpcflow: not requeueing after %s (the job is being ended, not warned)"
              % signal_name, file=sys.stderr, flush=True)
        return False
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        print("hpcflow: %s=1 but SLURM_JOB_ID is not set: not requeueing" % REQUEUE_VARIABLE,
              file=sys.stderr, flush=True)
        return False
    try:
        result = run(["scontrol", "requeue", job_id], capture_output=True, text=True,
                     timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        print("hpcflow: scontrol requeue %s failed: %s" % (job_id, e), file=sys.stderr,
              flush=True)
        return False
    if result.returncode != 0:
        print("hpcflow: scontrol requeue %s failed (exit %d): %s" % (
            job_id, result.returncode, (result.stderr or "").strip()), file=sys.stderr,
            flush=True)
        return False
    print("hpcflow: requeued Slurm job %s" % job_id, file=sys.stderr, flush=True)
    return True
