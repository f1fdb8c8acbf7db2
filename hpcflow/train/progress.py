"""`ProgressHook`: steps/s, examples/s and the loss of a training run, on rank 0.

    hooks = [tf.train.ProgressHook(loss, examples_per_step=64, every_n_steps=50,
                                   total_steps=2000)]
    with tf.train.MonitoredTrainingSession(hooks=hooks) as sess: ...

On an interactive terminal it draws a tqdm progress bar (steps, with the loss and rates as
its postfix); in a batch job's log (not a terminal) it writes one plain line per interval:

    [  12.4 s] step 400/2000  loss 0.2153  31.2 steps/s  1997 examples/s

Only rank 0 reports (under `python -m hpcflow` the script runs there; a script started on
every rank by plain `mpiexec` stays quiet elsewhere). The loss is fetched only at the
steps that are logged, so the other steps run unchanged.
"""
import sys
import time

from ..framework.graph import get_default_graph
from . import training_util
from .basic_session_run_hooks import SecondOrStepTimer
from .monitored_session import SessionRunArgs, SessionRunHook


def _reporting_rank():
    from ..summary.writer import process_rank
    return process_rank() == 0


class ProgressHook(SessionRunHook):
    """Reports training progress every N steps or seconds (rank 0 only).

    Args:
      loss: a scalar tensor (or its name) to report, or None.
      examples_per_step: examples in one step's global batch, for examples/s (None: omit).
      every_n_steps, every_n_secs: how often to report (exactly one; default every 100 steps).
      total_steps: the step the run ends at, for the bar's length and "step N/total".
      stream: where to write (default sys.stderr).
      progress_bar: True for a tqdm bar, False for plain lines, None to choose a bar only
        when `stream` is an interactive terminal and tqdm is installed.

    Attributes:
      records: (global step, loss or None, steps/s, examples/s or None) per report.

    Raises:
      ValueError: if both or neither of every_n_steps and every_n_secs are given (after
        the default), or examples_per_step is not positive.
    """

    def __init__(self, loss=None, examples_per_step=None, every_n_steps=None, every_n_secs=None,
                 total_steps=None, stream=None, progress_bar=None):
        if every_n_steps is None and every_n_secs is None:
            every_n_steps = 100
        if every_n_steps is not None and every_n_secs is not None:
            raise ValueError("Give every_n_steps or every_n_secs, not both")
        if examples_per_step is not None and examples_per_step <= 0:
            raise ValueError("examples_per_step must be positive, got %r" % (examples_per_step,))
        self._loss = loss
        self._examples_per_step = examples_per_step
        self._timer = SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_steps)
        self._total_steps = total_steps
        self._stream = stream
        self._progress_bar = progress_bar
        self.records = []
        self._bar = None

    def begin(self):
        graph = get_default_graph()
        self._step_tensor = training_util.get_global_step(graph)
        self._loss_tensor = None if self._loss is None else graph.as_graph_element(self._loss)
        self._active = _reporting_rank()
        self._stream_out = self._stream or sys.stderr
        self._local_step = 0
        self._last_step = None
        self._start_time = None
        self._timer.reset()

    def _use_bar(self):
        if self._progress_bar is not None:
            return self._progress_bar
        isatty = getattr(self._stream_out, "isatty", None)
        if not (isatty and isatty()):
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return True

    def after_create_session(self, session, coord):
        self._start_time = time.time()
        if self._active and self._use_bar():
            from tqdm import tqdm
            initial = int(session.run(self._step_tensor)) if self._step_tensor is not None else 0
            self._bar = tqdm(total=self._total_steps, initial=initial, file=self._stream_out,
                             unit="step", dynamic_ncols=True, leave=True)
            self._last_step = initial

    def _next_step(self):
        return (self._last_step if self._last_step is not None else self._local_step) + 1

    def before_run(self, run_context):
        if not self._active:
            return None
        fetches = {}
        if self._step_tensor is not None:
            fetches["step"] = self._step_tensor
        if self._loss_tensor is not None and self._timer.should_trigger_for_step(
                self._next_step()):
            fetches["loss"] = self._loss_tensor
        return SessionRunArgs(fetches) if fetches else None

    def after_run(self, run_context, run_values):
        if not self._active:
            return
        results = run_values.results or {}
        self._local_step += 1
        step = int(results["step"]) if "step" in results else self._local_step
        if self._start_time is None:
            self._start_time = time.time()
        if self._bar is not None:
            self._bar.update(max(step - (self._last_step or 0), 0))
        self._last_step = step
        if not self._timer.should_trigger_for_step(step):
            return
        first_report = self._timer.last_triggered_step() is None
        elapsed_secs, elapsed_steps = self._timer.update_last_triggered_step(step)
        if first_report:
            # Measure the first interval from the session's start.
            elapsed_secs, elapsed_steps = time.time() - self._start_time, self._local_step
        loss = float(results["loss"]) if "loss" in results else None
        self._report(step, loss, elapsed_steps, elapsed_secs)

    def _report(self, step, loss, elapsed_steps, elapsed_secs):
        steps_per_sec = elapsed_steps / elapsed_secs if elapsed_secs else 0.0
        examples_per_sec = None if self._examples_per_step is None else \
            steps_per_sec * self._examples_per_step
        self.records.append((step, loss, steps_per_sec, examples_per_sec))
        if self._bar is not None:
            postfix = {"steps/s": "%.3g" % steps_per_sec}
            if loss is not None:
                postfix["loss"] = "%.4g" % loss
            if examples_per_sec is not None:
                postfix["examples/s"] = "%.0f" % examples_per_sec
            self._bar.set_postfix(postfix, refresh=True)
            return
        parts = ["[%7.1f s] step %d" % (time.time() - self._start_time, step)]
        if self._total_steps:
            parts[0] += "/%d" % self._total_steps
        if loss is not None:
            parts.append("loss %.4g" % loss)
        parts.append("%.3g steps/s" % steps_per_sec)
        if examples_per_sec is not None:
            parts.append("%.0f examples/s" % examples_per_sec)
        print("  ".join(parts), file=self._stream_out, flush=True)

    def end(self, session):
        if not self._active:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._start_time is None or not self._local_step:
            return
        elapsed = time.time() - self._start_time
        line = "done: %d steps in %.1f s (%.3g steps/s" % (
            self._local_step, elapsed, self._local_step / elapsed if elapsed else 0.0)
        if self._examples_per_step is not None and elapsed:
            line += ", %.0f examples/s" % (self._local_step * self._examples_per_step / elapsed)
        print(line + ")", file=self._stream_out, flush=True)
