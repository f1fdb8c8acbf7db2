"""`SummarySaverHook`: runs the summary op every N steps or seconds and writes it (TF1 API)."""
from ..framework.graph import get_default_graph
from ..train import training_util
from ..train.basic_session_run_hooks import SecondOrStepTimer
from ..train.monitored_session import SessionRunArgs, SessionRunHook
from . import summary_ops
from .writer import FileWriterCache


class SummarySaverHook(SessionRunHook):
    """Saves summaries every `save_steps` steps or `save_secs` seconds (TF1
    `tf.train.SummarySaverHook`), as a SessionRunHook of a MonitoredSession.

    Args:
      save_steps, save_secs: how often (exactly one).
      output_dir: where to write (a cached FileWriter of that directory), or
      summary_writer: a FileWriter to use.
      scaffold: take the summary op from this Scaffold (its `summary_op`, else all
        summaries merged), or
      summary_op: the summary tensor (or a list of them) to run.

    Raises:
      ValueError: if not exactly one of scaffold/summary_op, or of save_steps/save_secs, is
        given, or neither output_dir nor summary_writer.
    """

    def __init__(self, save_steps=None, save_secs=None, output_dir=None, summary_writer=None,
                 scaffold=None, summary_op=None):
        if (scaffold is None) == (summary_op is None):
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        if (save_steps is None) == (save_secs is None):
            raise ValueError("Exactly one of save_steps or save_secs must be provided.")
        if output_dir is None and summary_writer is None:
            raise ValueError("Give output_dir or summary_writer.")
        self._summary_op = summary_op
        self._scaffold = scaffold
        self._output_dir = output_dir
        self._summary_writer = summary_writer
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self):
        if self._scaffold is not None and self._scaffold.summary_op is None:
            self._summary_op = summary_ops.merge_all()
        if self._summary_writer is None:
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._global_step = training_util.get_global_step(get_default_graph())
        if self._global_step is None:
            raise RuntimeError("Global step should be created to use SummarySaverHook.")
        self._next_step = None
        self._timer.reset()

    def _summary_tensors(self):
        op = self._summary_op if self._summary_op is not None else self._scaffold.summary_op
        if op is None:
            return []
        return list(op) if isinstance(op, (list, tuple)) else [op]

    def before_run(self, run_context):
        fetches = {"step": self._global_step}
        self._request_summary = self._next_step is None or \
            self._timer.should_trigger_for_step(self._next_step)
        if self._request_summary:
            fetches["summary"] = self._summary_tensors()
        return SessionRunArgs(fetches)

    def after_run(self, run_context, run_values):
        step = int(run_values.results["step"])
        if self._request_summary:
            self._timer.update_last_triggered_step(step)
            for summary in run_values.results.get("summary") or []:
                self._summary_writer.add_summary(summary, step)
        self._next_step = step + 1

    def end(self, session=None):
        if self._summary_writer is not None:
            self._summary_writer.flush()
