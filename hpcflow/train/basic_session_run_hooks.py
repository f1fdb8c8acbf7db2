"""The standard SessionRunHooks of TF1: stop at a step, log, check for NaN, checkpoint, count.

Logging goes to the "hpcflow" logger at INFO level (as TF's hooks log through tf.logging
at INFO); `logging.basicConfig(level=logging.INFO)` shows it.
"""
import logging
import os
import time

import numpy as np

from ..framework import errors
from ..framework.graph import Tensor, get_default_graph
from . import training_util
from .monitored_session import SessionRunArgs, SessionRunHook

_logger = logging.getLogger("hpcflow")


class SecondOrStepTimer:
    """Triggers every `every_secs` seconds or every `every_steps` steps (TF1 API).

    Raises:
      ValueError: unless exactly one of the two is given.
    """

    def __init__(self, every_secs=None, every_steps=None):
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        if self._every_secs is None and self._every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if self._every_secs is not None and self._every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self):
        self._last_triggered_step = None
        self._last_triggered_time = None

    def should_trigger_for_step(self, step):
        """True if `step` is due: the first call, or enough seconds or steps since the last."""
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and \
                time.time() >= self._last_triggered_time + self._every_secs:
            return True
        if self._every_steps is not None and step >= self._last_triggered_step + self._every_steps:
            return True
        return False

    def update_last_triggered_step(self, step):
        """Records a trigger at `step`; returns (seconds, steps) since the previous one."""
        current_time = time.time()
        if self._last_triggered_time is None:
            elapsed_secs, elapsed_steps = None, None
        else:
            elapsed_secs = current_time - self._last_triggered_time
            elapsed_steps = step - self._last_triggered_step
        self._last_triggered_time = current_time
        self._last_triggered_step = step
        return elapsed_secs, elapsed_steps

    def last_triggered_step(self):
        return self._last_triggered_step


class NeverTriggerTimer(SecondOrStepTimer):
    """A timer that never triggers."""

    def __init__(self):
        self.reset()

    def should_trigger_for_step(self, step):
        return False


def _global_step_tensor(hook_name):
    step = training_util.get_global_step()
    if step is None:
        raise RuntimeError("Global step should be created to use %s." % hook_name)
    return step


def _as_graph_element(obj):
    graph = get_default_graph()
    if isinstance(obj, str):
        return graph.as_graph_element(obj)
    element = graph.as_graph_element(obj)
    if isinstance(element, Tensor) and element.graph is not graph:
        raise ValueError("Passed %s should have graph attribute that is equal to current graph "
                         "%s." % (obj, graph))
    return element


class StopAtStepHook(SessionRunHook):
    """Requests a stop at a global step (TF1 API).

    Args:
      num_steps: stop after this many more steps (counted from the step at session start).
      last_step: stop once the global step reaches this value.

    Raises:
      ValueError: unless exactly one of the two is given.
    """

    def __init__(self, num_steps=None, last_step=None):
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    def begin(self):
        self._global_step_tensor = _global_step_tensor("StopAtStepHook")

    def after_create_session(self, session, coord):
        if self._last_step is None:
            self._last_step = int(session.run(self._global_step_tensor)) + self._num_steps

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        global_step = int(run_values.results) + 1
        if global_step >= self._last_step:
            # The fetched step was read before this step's update: read it again.
            step = int(run_context.session.run(self._global_step_tensor))
            if step >= self._last_step:
                run_context.request_stop()


class LoggingTensorHook(SessionRunHook):
    """Logs tensor values every N local steps or seconds, and/or at the end (TF1 API).

    Args:
      tensors: a dict {tag: tensor or name} or a list of tensors or names.
      every_n_iter, every_n_secs: how often (exactly one, unless `at_end` alone).
      at_end: also log at the end.
      formatter: function(dict of tag -> value) -> str.

    Raises:
      ValueError: for an invalid combination of the above.
    """

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False,
                 formatter=None):
        only_log_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_log_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs "
                             "must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError("invalid every_n_iter=%s." % every_n_iter)
        if not isinstance(tensors, dict):
            self._tag_order = [getattr(t, "name", t) for t in tensors]
            tensors = {getattr(t, "name", t): t for t in tensors}
        else:
            self._tag_order = sorted(tensors.keys())
        self._tensors = tensors
        self._formatter = formatter
        self._timer = NeverTriggerTimer() if only_log_at_end else \
            SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter)
        self._log_at_end = at_end

    def begin(self):
        self._timer.reset()
        self._iter_count = 0
        self._current_tensors = {tag: _as_graph_element(t) for tag, t in self._tensors.items()}

    def before_run(self, run_context):
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        if self._should_trigger:
            return SessionRunArgs(self._current_tensors)
        return None

    def _log_tensors(self, tensor_values):
        original = np.get_printoptions()
        np.set_printoptions(suppress=True)
        try:
            elapsed_secs, _ = self._timer.update_last_triggered_step(self._iter_count)
            if self._formatter:
                _logger.info(self._formatter(tensor_values))
            else:
                stats = ", ".join("%s = %s" % (tag, tensor_values[tag]) for tag in self._tag_order)
                if elapsed_secs is not None:
                    _logger.info("%s (%.3f sec)", stats, elapsed_secs)
                else:
                    _logger.info("%s", stats)
        finally:
            np.set_printoptions(**original)

    def after_run(self, run_context, run_values):
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def end(self, session):
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


class NanLossDuringTrainingError(RuntimeError):
    """Raised by NanTensorHook when the loss is NaN."""

    def __str__(self):
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Stops (or raises NanLossDuringTrainingError) when the loss is NaN (TF1 API).

    Args:
      loss_tensor: the loss Tensor.
      fail_on_nan_loss: raise if True, else log a warning and request a stop.
    """

    def __init__(self, loss_tensor, fail_on_nan_loss=True):
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def before_run(self, run_context):
        return SessionRunArgs(self._loss_tensor)

    def after_run(self, run_context, run_values):
        if np.isnan(run_values.results):
            message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                _logger.error(message)
                raise NanLossDuringTrainingError
            _logger.warning(message)
            run_context.request_stop()


class CheckpointSaverListener:
    """Called around the saves of a CheckpointSaverHook (TF1 API).

    `after_save` returning True stops training.
    """

    def begin(self):
        pass

    def before_save(self, session, global_step_value):
        pass

    def after_save(self, session, global_step_value):
        pass

    def end(self, session, global_step_value):
        pass


class CheckpointSaverHook(SessionRunHook):
    """Saves checkpoints every N steps or seconds, at session start and at the end (TF1 API).

    Args:
      checkpoint_dir: the directory (created if missing).
      save_secs, save_steps: how often (exactly one).
      saver: the Saver (default: the Scaffold's, else the graph's default Saver).
      checkpoint_basename: file name of the checkpoints (default "model.ckpt").
      scaffold: a Scaffold whose saver to use.
      listeners: CheckpointSaverListeners.
      save_graph_def: accepted for TF compatibility (no graph file is written).

    Raises:
      ValueError: if both `saver` and `scaffold` are given, or not exactly one of
        `save_secs` and `save_steps`.
    """

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None,
                 checkpoint_basename="model.ckpt", scaffold=None, listeners=None,
                 save_graph_def=True):
        _logger.info("Create CheckpointSaverHook.")
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._saver = saver
        self._checkpoint_dir = checkpoint_dir
        self._save_path = os.path.join(checkpoint_dir, checkpoint_basename)
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = listeners or []
        self._steps_per_run = 1
        self._last_saved_path = None

    @property
    def last_saved_path(self):
        """The path of the last checkpoint this hook wrote, or None."""
        return self._last_saved_path

    def begin(self):
        os.makedirs(self._checkpoint_dir, exist_ok=True)
        self._global_step_tensor = _global_step_tensor("CheckpointSaverHook")
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session, coord):
        global_step = int(session.run(self._global_step_tensor))
        self._save(session, global_step)
        self._timer.update_last_triggered_step(global_step)

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                self._timer.update_last_triggered_step(global_step)
                if self._save(run_context.session, global_step):
                    run_context.request_stop()

    def end(self, session):
        last_step = int(session.run(self._global_step_tensor))
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _save(self, session, step):
        """Saves at `step`; returns True if a listener asked to stop."""
        _logger.info("Calling checkpoint listeners before saving checkpoint %d...", step)
        for listener in self._listeners:
            listener.before_save(session, step)
        _logger.info("Saving checkpoints for %d into %s.", step, self._save_path)
        self._last_saved_path = self._get_saver().save(session, self._save_path,
                                                       global_step=step)
        _logger.info("Calling checkpoint listeners after saving checkpoint %d...", step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                _logger.info("A CheckpointSaverListener requested that training be stopped. "
                             "listener: %s", listener)
                should_stop = True
        return should_stop

    def _get_saver(self):
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None:
            return self._scaffold.saver
        from .monitored_session import _default_saver
        self._saver = _default_saver()
        return self._saver


class StepCounterHook(SessionRunHook):
    """Logs global steps per second every N steps or seconds (TF1 API).

    Args:
      every_n_steps, every_n_secs: how often (exactly one).
      output_dir, summary_writer: accepted for TF compatibility; the rate is logged, not
        written as a summary.
    """

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None,
                 summary_writer=None):
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._steps_per_run = 1
        self.rates = []  # the (global step, steps per second) logged, newest last

    def begin(self):
        self._global_step_tensor = _global_step_tensor("StepCounterHook")

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        stale_global_step = int(run_values.results)
        if self._timer.should_trigger_for_step(stale_global_step + self._steps_per_run):
            global_step = int(run_context.session.run(self._global_step_tensor))
            if self._timer.should_trigger_for_step(global_step):
                elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(global_step)
                if elapsed_time is not None and elapsed_time > 0:
                    rate = elapsed_steps / elapsed_time
                    self.rates.append((global_step, rate))
                    _logger.info("global_step/sec: %g", rate)


class FinalOpsHook(SessionRunHook):
    """Runs ops when the session ends; their values are `final_ops_values` (TF1 API)."""

    def __init__(self, final_ops, final_ops_feed_dict=None):
        self._final_ops = final_ops
        self._final_ops_feed_dict = final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self):
        return self._final_ops_values

    def end(self, session):
        if self._final_ops is None:
            return
        try:
            self._final_ops_values = session.run(self._final_ops,
                                                 feed_dict=self._final_ops_feed_dict)
        except (errors.OutOfRangeError, StopIteration) as e:
            _logger.warning("An OutOfRangeError or StopIteration exception is raised by the code "
                            "in FinalOpsHook. This typically means the Ops running by the "
                            "FinalOpsHook have a dependency back to some input source, which "
                            "should not happen. Error: %s", e)
            raise


class FeedFnHook(SessionRunHook):
    """Adds `feed_fn()`'s feeds to every step (TF1 API)."""

    def __init__(self, feed_fn):
        self.feed_fn = feed_fn

    def before_run(self, run_context):
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())
