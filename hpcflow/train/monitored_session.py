"""`MonitoredTrainingSession` and its parts: hooks, Scaffold, SessionManager (TF1 API).

A monitored session restores the latest checkpoint of its `checkpoint_dir` when it starts
(or runs the init ops when there is none), runs hooks around every step, saves
checkpoints periodically and at the end (CheckpointSaverHook), and stops when a hook asks.

Preemption (hpcflow/distributed/signals.py): on SIGTERM or SIGUSR1 the session finishes
the running step, closes (so the CheckpointSaverHook writes a final checkpoint), requeues
the Slurm job if HPCFLOW_REQUEUE_ON_SIGNAL=1, and exits the process with
`PREEMPTED_EXIT_CODE` (75); under `python -m hpcflow` that is the whole job's exit code.
Running the same command again resumes from that checkpoint.

    with tf.train.MonitoredTrainingSession(checkpoint_dir="ckpt", save_checkpoint_steps=100,
                                           hooks=[tf.train.StopAtStepHook(last_step=10000)]
                                           ) as sess:
        while not sess.should_stop():
            sess.run(train_op, feed_dict=batch_for(sess.run(global_step)))
"""
import collections
import logging
import sys
import time

from ..distributed import signals
from ..framework import errors
from ..framework.graph import GraphKeys, Operation, get_default_graph
from ..ops import control_flow_ops
from ..ops import variables as variables_lib
from ..runtime.session import Session
from . import queue_runner
from .coordinator import Coordinator

_logger = logging.getLogger("hpcflow")

PREEMPTED_EXIT_CODE = signals.PREEMPTED_EXIT_CODE
# Errors after which a MonitoredSession creates a new session (restoring the latest
# checkpoint) and retries, as TF1 does.
_PREEMPTION_ERRORS = (errors.AbortedError, errors.UnavailableError)
USE_DEFAULT = object()


# -- hooks -----------------------------------------------------------------------------------------

class SessionRunHook:
    """Code run around the steps of a MonitoredSession (TF1 `tf.train.SessionRunHook`).

    Call order: `begin()` once before the graph is finalized; `after_create_session()`
    for each new session; `before_run()` / `after_run()` around every `run()`; `end()`
    when the session closes without an error.
    """

    def begin(self):
        """Called once before the session is created; the graph may still be changed."""

    def after_create_session(self, session, coord):
        """Called when a session was created and restored or initialized."""

    def before_run(self, run_context):
        """Returns None or a SessionRunArgs to add fetches, feeds and options to the step."""
        return None

    def after_run(self, run_context, run_values):
        """Called after the step with a SessionRunValues holding this hook's fetches."""

    def end(self, session):
        """Called when the session closes (not after an error)."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs", "fetches feed_dict options")):
    """What a hook adds to a step: fetches, feeds and RunOptions (TF1 API)."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunContext:
    """What hooks see of a step: the caller's arguments, the session, a stop request."""

    def __init__(self, original_args, session):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self):
        return self._original_args

    @property
    def session(self):
        """The raw Session (hooks may run extra steps in it)."""
        return self._session

    @property
    def stop_requested(self):
        return self._stop_requested

    def request_stop(self):
        """Asks the monitored session to stop after this step (`should_stop()` turns True)."""
        self._stop_requested = True


SessionRunValues = collections.namedtuple("SessionRunValues", "results options run_metadata")
SessionRunValues.__doc__ = "A hook's fetched values for one step (TF1 API)."


# -- Scaffold and SessionManager ---------------------------------------------------------------

class Scaffold:
    """The ops a monitored session needs, created with defaults at `finalize()` (TF1 API).

    Args:
      init_op, init_feed_dict, init_fn: how to initialize a model not restored (default: the
        global variables initializer).
      ready_op: a string Tensor naming uninitialized variables (default:
        `report_uninitialized_variables()`).
      ready_for_local_init_op: as ready_op, checked before local_init_op.
      local_init_op, local_init_feed_dict: run on every session (default: the local
        variables initializer).
      summary_op: kept for TF compatibility.
      saver: the Saver restoring and saving (default: one Saver over all global variables,
        shared through the SAVERS collection).
      copy_from_scaffold: a Scaffold whose fields default ours.
    """

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None, saver=None,
                 copy_from_scaffold=None, local_init_feed_dict=None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            init_op = init_op if init_op is not None else copy_from_scaffold.init_op
            init_feed_dict = init_feed_dict or copy_from_scaffold._init_feed_dict
            init_fn = init_fn or copy_from_scaffold._user_init_fn
            ready_op = ready_op if ready_op is not None else copy_from_scaffold.ready_op
            ready_for_local_init_op = ready_for_local_init_op if \
                ready_for_local_init_op is not None else copy_from_scaffold.ready_for_local_init_op
            local_init_op = local_init_op if local_init_op is not None else \
                copy_from_scaffold.local_init_op
            local_init_feed_dict = (local_init_feed_dict or
                                    copy_from_scaffold._local_init_feed_dict)
            summary_op = summary_op if summary_op is not None else copy_from_scaffold.summary_op
            saver = saver if saver is not None else copy_from_scaffold.saver
        self._user_init_fn = init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op = init_op
        self._init_feed_dict = init_feed_dict
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._local_init_op = local_init_op
        self._local_init_feed_dict = local_init_feed_dict
        self._summary_op = summary_op
        self._saver = saver

    def finalize(self):
        """Creates the missing ops (defaults, shared through collections); finalizes the graph."""
        graph = get_default_graph()
        if self._init_op is None:
            self._init_op = _get_or_default(
                GraphKeys.INIT_OP, lambda: control_flow_ops.group(
                    variables_lib.global_variables_initializer(), name="init"))
        if self._ready_op is None:
            self._ready_op = _get_or_default(
                GraphKeys.READY_OP, lambda: variables_lib.report_uninitialized_variables())
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = _get_or_default(
                GraphKeys.READY_FOR_LOCAL_INIT_OP,
                lambda: variables_lib.report_uninitialized_variables(
                    variables_lib.global_variables()))
        if self._local_init_op is None:
            self._local_init_op = _get_or_default(
                GraphKeys.LOCAL_INIT_OP, lambda: control_flow_ops.group(
                    variables_lib.local_variables_initializer(), name="local_init"))
        if self._summary_op is None:
            self._summary_op = _collection_single(GraphKeys.SUMMARY_OP)
        if self._saver is None:
            self._saver = _default_saver()
        self._saver.build()
        graph.finalize()
        return self

    @property
    def init_fn(self):
        return self._init_fn

    @property
    def init_op(self):
        return self._init_op

    @property
    def ready_op(self):
        return self._ready_op

    @property
    def ready_for_local_init_op(self):
        return self._ready_for_local_init_op

    @property
    def local_init_op(self):
        return self._local_init_op

    @property
    def summary_op(self):
        return self._summary_op

    @property
    def saver(self):
        return self._saver

    @property
    def init_feed_dict(self):
        return self._init_feed_dict

    @property
    def local_init_feed_dict(self):
        return self._local_init_feed_dict

    @staticmethod
    def get_or_default(arg_name, collection_key, default_constructor):
        """The single op of `collection_key`, or `default_constructor()` added to it."""
        return _get_or_default(collection_key, default_constructor)

    @staticmethod
    def default_local_init_op():
        return control_flow_ops.group(variables_lib.local_variables_initializer())


def _collection_single(key):
    items = get_default_graph().get_collection(key)
    if len(items) > 1:
        raise RuntimeError("More than one item in collection %s. Please indicate which one to "
                           "use by passing it to the constructor." % key)
    return items[0] if items else None


def _get_or_default(collection_key, default_constructor):
    op = _collection_single(collection_key)
    if op is None:
        op = default_constructor()
        get_default_graph().add_to_collection(collection_key, op)
    return op


def _default_saver():
    from .saver import Saver
    savers = get_default_graph().get_collection(GraphKeys.SAVERS)
    if savers:
        if len(savers) > 1:
            raise RuntimeError("More than one item in collection %s. Please indicate which one "
                               "to use by passing it to the constructor." % GraphKeys.SAVERS)
        return savers[0]
    saver = Saver(sharded=True, allow_empty=True)
    get_default_graph().add_to_collection(GraphKeys.SAVERS, saver)
    return saver


def _uninitialized_names(value):
    import numpy as np
    names = np.asarray(value).reshape(-1)
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


class SessionManager:
    """Creates sessions that are restored from a checkpoint or initialized (TF1 API).

    Args:
      local_init_op: run on every new session once the model is ready for it.
      ready_op: a string Tensor naming uninitialized variables (empty when ready).
      ready_for_local_init_op: as ready_op, checked before local_init_op.
      graph: the graph (default: the default graph).
      recovery_wait_secs: poll interval of `wait_for_session` / `wait_for_checkpoint`.
      local_init_run_options, local_init_feed_dict: for running local_init_op.
    """

    def __init__(self, local_init_op=None, ready_op=None, ready_for_local_init_op=None,
                 graph=None, recovery_wait_secs=30, local_init_run_options=None,
                 local_init_feed_dict=None):
        self._local_init_op = local_init_op
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._graph = graph if graph is not None else get_default_graph()
        self._recovery_wait_secs = recovery_wait_secs
        self._local_init_run_options = local_init_run_options
        self._local_init_feed_dict = local_init_feed_dict
        if ready_for_local_init_op is not None and local_init_op is None:
            raise ValueError("If you pass a ready_for_local_init_op you must also pass a "
                             "local_init_op , ready_for_local_init_op [%s]"
                             % ready_for_local_init_op)

    def _restore_checkpoint(self, master, saver=None, checkpoint_dir=None,
                            checkpoint_filename_with_path=None, wait_for_checkpoint=False,
                            max_wait_secs=7200, config=None):
        from .saver import get_checkpoint_state
        sess = Session(master, graph=self._graph, config=config)
        if checkpoint_dir and checkpoint_filename_with_path:
            raise ValueError("Can not provide both checkpoint_dir and "
                             "checkpoint_filename_with_path.")
        if not saver or not (checkpoint_dir or checkpoint_filename_with_path):
            return sess, False
        if checkpoint_filename_with_path:
            saver.restore(sess, checkpoint_filename_with_path)
            return sess, True
        wait_time = 0
        state = get_checkpoint_state(checkpoint_dir)
        while not state or not state.model_checkpoint_path:
            if not wait_for_checkpoint or wait_time >= max_wait_secs:
                return sess, False
            _logger.info("Waiting for checkpoint to be available.")
            time.sleep(self._recovery_wait_secs)
            wait_time += self._recovery_wait_secs
            state = get_checkpoint_state(checkpoint_dir)
        try:
            saver.restore(sess, state.model_checkpoint_path)
        except BaseException:
            sess.close()
            raise
        saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
        return sess, True

    def prepare_session(self, master, init_op=None, saver=None, checkpoint_dir=None,
                        checkpoint_filename_with_path=None, wait_for_checkpoint=False,
                        max_wait_secs=7200, config=None, init_feed_dict=None, init_fn=None):
        """A Session restored from the latest checkpoint, or initialized if there is none.

        Raises:
          RuntimeError: if nothing can initialize the model, or it is not ready after.
          ValueError: if both checkpoint_dir and checkpoint_filename_with_path are given.
          DataLossError, NotFoundError, InvalidArgumentError: from restoring a checkpoint.
        """
        sess, loaded = self._restore_checkpoint(
            master, saver, checkpoint_dir=checkpoint_dir,
            checkpoint_filename_with_path=checkpoint_filename_with_path,
            wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config)
        try:
            if not loaded:
                if init_op is None and not init_fn and self._local_init_op is None:
                    raise RuntimeError("Model is not initialized and no init_op or init_fn or "
                                       "local_init_op was given")
                if init_op is not None:
                    sess.run(init_op, feed_dict=init_feed_dict)
                if init_fn:
                    init_fn(sess)
            ok, message = self._try_run_local_init_op(sess)
            if not ok:
                raise RuntimeError("Init operations did not make model ready for local_init. "
                                   "Init op: %s, init fn: %s, error: %s"
                                   % (_name(init_op), init_fn, message))
            ready, message = self._model_ready(sess)
            if not ready:
                raise RuntimeError("Init operations did not make model ready. Init op: %s, "
                                   "init fn: %s, local_init_op: %s, error: %s"
                                   % (_name(init_op), init_fn, _name(self._local_init_op),
                                      message))
        except BaseException:
            sess.close()
            raise
        return sess

    def recover_session(self, master, saver=None, checkpoint_dir=None,
                        checkpoint_filename_with_path=None, wait_for_checkpoint=False,
                        max_wait_secs=7200, config=None):
        """(session, True) if restored from a checkpoint and ready, else (session, False)."""
        sess, loaded = self._restore_checkpoint(
            master, saver, checkpoint_dir=checkpoint_dir,
            checkpoint_filename_with_path=checkpoint_filename_with_path,
            wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config)
        ok, _ = self._try_run_local_init_op(sess)
        if not loaded:
            return sess, False
        if not ok:
            return sess, False
        ready, message = self._model_ready(sess)
        if not ready:
            _logger.info("Restoring model from %s: %s", checkpoint_dir, message)
            return sess, False
        return sess, True

    def wait_for_session(self, master, config=None, max_wait_secs=float("Inf")):
        """Polls new sessions until one is ready (another process initialized the model).

        Raises:
          DeadlineExceededError: if `max_wait_secs` pass first.
        """
        start = time.time()
        while True:
            sess = Session(master, graph=self._graph, config=config)
            ok, message = self._try_run_local_init_op(sess)
            if ok:
                ready, message = self._model_ready(sess)
                if ready:
                    return sess
            sess.close()
            remaining = max_wait_secs - (time.time() - start)
            if remaining < self._recovery_wait_secs:
                raise errors.DeadlineExceededError(None, None, "Session was not ready after "
                                                   "waiting %d secs: %s" % (max_wait_secs,
                                                                            message))
            _logger.info("Waiting for model to be ready. Ready_for_local_init_op: %s, ready: %s",
                         _name(self._ready_for_local_init_op), message)
            time.sleep(self._recovery_wait_secs)

    def _ready(self, op, sess, what):
        if op is None:
            return True, None
        try:
            names = _uninitialized_names(sess.run(op))
        except errors.FailedPreconditionError as e:
            return False, "%s failed: %s" % (what, e)
        if names:
            return False, "Variables not initialized: %s" % ", ".join(names)
        return True, None

    def _model_ready(self, sess):
        return self._ready(self._ready_op, sess, "Model ready check")

    def _try_run_local_init_op(self, sess):
        if self._local_init_op is None:
            return True, None
        ready, message = self._ready(self._ready_for_local_init_op, sess,
                                     "Ready for local init check")
        if not ready:
            return False, message
        sess.run(self._local_init_op, feed_dict=self._local_init_feed_dict,
                 options=self._local_init_run_options)
        return True, None


def _unfinalize(graph):
    unfinalize = getattr(graph, "_unsafe_unfinalize", None)
    if unfinalize is not None:
        unfinalize()
    else:
        graph._unsafe_unfinalize()


def _name(op):
    if op is None:
        return None
    return op.name if isinstance(op, Operation) or hasattr(op, "name") else str(op)


# -- session creators ----------------------------------------------------------------------------

class SessionCreator:
    """Creates a Session for a MonitoredSession (TF1 API)."""

    def create_session(self):
        raise NotImplementedError("create_session is not implemented for %s." % self)


class ChiefSessionCreator(SessionCreator):
    """Restores the latest checkpoint of `checkpoint_dir` or initializes (TF1 API)."""

    def __init__(self, scaffold=None, master="", config=None, checkpoint_dir=None,
                 checkpoint_filename_with_path=None):
        self._checkpoint_dir = checkpoint_dir
        self._checkpoint_filename_with_path = checkpoint_filename_with_path
        self._scaffold = scaffold or Scaffold()
        self._session_manager = None
        self._master = master
        self._config = config

    def _get_session_manager(self):
        if self._session_manager is None:
            self._session_manager = SessionManager(
                local_init_op=self._scaffold.local_init_op,
                local_init_feed_dict=self._scaffold.local_init_feed_dict,
                ready_op=self._scaffold.ready_op,
                ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
                graph=get_default_graph())
        return self._session_manager

    def create_session(self):
        self._scaffold.finalize()
        return self._get_session_manager().prepare_session(
            self._master, saver=self._scaffold.saver, checkpoint_dir=self._checkpoint_dir,
            checkpoint_filename_with_path=self._checkpoint_filename_with_path,
            config=self._config, init_op=self._scaffold.init_op,
            init_feed_dict=self._scaffold.init_feed_dict, init_fn=self._scaffold.init_fn)


class WorkerSessionCreator(SessionCreator):
    """Waits until the model is initialized by a chief (TF1 API).

    In hpcflow the script runs on rank 0 only, so there is no other chief: this creator is
    useful only with a graph another session of this process initializes.
    """

    def __init__(self, scaffold=None, master="", config=None, max_wait_secs=30 * 60):
        self._scaffold = scaffold or Scaffold()
        self._master = master
        self._config = config
        self._max_wait_secs = max_wait_secs

    def create_session(self):
        self._scaffold.finalize()
        manager = SessionManager(local_init_op=self._scaffold.local_init_op,
                                 local_init_feed_dict=self._scaffold.local_init_feed_dict,
                                 ready_op=self._scaffold.ready_op,
                                 ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
                                 graph=get_default_graph())
        return manager.wait_for_session(self._master, config=self._config,
                                        max_wait_secs=self._max_wait_secs)


# -- the wrapped sessions --------------------------------------------------------------------------

class _WrappedSession:
    """A session wrapper with a stop check; subclasses add behaviour to `run`."""

    def __init__(self, sess):
        self._sess = sess
        self._wrapped_is_stoppable = isinstance(sess, _WrappedSession)

    @property
    def graph(self):
        return self._sess.graph

    @property
    def sess_str(self):
        return self._sess.sess_str

    def should_stop(self):
        if self._check_stop():
            return True
        if self._sess:
            return self._wrapped_is_stoppable and self._sess.should_stop()
        return True

    def _check_stop(self):
        return False

    def close(self):
        if self._sess:
            try:
                self._sess.close()
            except _PREEMPTION_ERRORS as e:
                _logger.error("An error occurred when attempting to close the session: %s", e)
            finally:
                self._sess = None

    def run(self, *args, **kwargs):
        return self._sess.run(*args, **kwargs)

    def run_step_fn(self, step_fn, raw_session, run_with_hooks):
        run_with_hooks = run_with_hooks or self.run
        return step_fn(_StepContext(raw_session, run_with_hooks))


class _RecoverableSession(_WrappedSession):
    """Creates a new session (restoring the latest checkpoint) after Aborted/Unavailable."""

    def __init__(self, sess_creator):
        self._sess_creator = sess_creator
        super().__init__(self._create_session())

    def _create_session(self):
        while True:
            try:
                return self._sess_creator.create_session()
            except _PREEMPTION_ERRORS as e:
                _logger.info("An error was raised while a session was being created: %s. "
                             "Trying again.", e)

    def _check_stop(self):
        try:
            if self._sess:
                return self._sess._check_stop()
            return True
        except _PREEMPTION_ERRORS as e:
            _logger.info("An error was raised while considering whether the session is "
                         "complete: %s. A new session will be created.", e)
            self.close()
            self._sess = self._create_session()
            return False

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        while True:
            try:
                if not self._sess:
                    self._sess = self._create_session()
                return self._sess.run(fetches, feed_dict=feed_dict, options=options,
                                      run_metadata=run_metadata)
            except _PREEMPTION_ERRORS as e:
                _logger.info("An error was raised (%s: %s): the session is closed and a new "
                             "one created from the latest checkpoint.", type(e).__name__, e)
                self.close()
                self._sess = None


class _CoordinatedSession(_WrappedSession):
    """Stops the coordinator's threads (queue runners) when closed or when a step fails."""

    def __init__(self, sess, coord, stop_grace_period_secs=120):
        super().__init__(sess)
        self._coord = coord
        self._stop_grace_period_secs = stop_grace_period_secs

    def _check_stop(self):
        self._coord.raise_requested_exception()
        return self._coord.should_stop()

    def close(self):
        self._coord.request_stop()
        try:
            self._coord.join(stop_grace_period_secs=self._stop_grace_period_secs,
                             ignore_live_threads=True)
        finally:
            try:
                super().close()
            except Exception:  # the session is broken already; the join's error matters more
                pass

    def run(self, *args, **kwargs):
        try:
            return self._sess.run(*args, **kwargs)
        except _PREEMPTION_ERRORS:
            raise
        except Exception:
            original = sys.exc_info()
            try:
                self._coord.raise_requested_exception()
            except _PREEMPTION_ERRORS:
                raise
            except Exception:
                pass
            raise original[1].with_traceback(original[2])


class _HookedSession(_WrappedSession):
    """Runs the hooks' before_run / after_run around every step."""

    def __init__(self, sess, hooks):
        super().__init__(sess)
        self._hooks = hooks
        self._should_stop = False

    def _check_stop(self):
        return self._should_stop

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        actual_fetches = {"caller": fetches}
        run_context = SessionRunContext(original_args=SessionRunArgs(fetches, feed_dict),
                                        session=self._sess)
        options = options or _run_options()
        feed_dict = self._call_hook_before_run(run_context, actual_fetches, feed_dict, options)
        outputs = self._sess.run(actual_fetches, feed_dict=feed_dict, options=options,
                                 run_metadata=run_metadata)
        for hook in self._hooks:
            hook.after_run(run_context, SessionRunValues(
                results=outputs[hook] if hook in outputs else None, options=options,
                run_metadata=run_metadata))
        self._should_stop = self._should_stop or run_context.stop_requested
        return outputs["caller"]

    def _call_hook_before_run(self, run_context, fetch_dict, user_feed_dict, options):
        hook_feeds = {}
        for hook in self._hooks:
            request = hook.before_run(run_context)
            if request is None:
                continue
            if request.fetches is not None:
                fetch_dict[hook] = request.fetches
            if request.feed_dict:
                _raise_if_feeds_intersect(hook_feeds, request.feed_dict,
                                          "Same tensor is fed by two hooks.")
                hook_feeds.update(request.feed_dict)
            if request.options:
                _merge_run_options(options, request.options)
        if not hook_feeds:
            return user_feed_dict
        if not user_feed_dict:
            return hook_feeds
        _raise_if_feeds_intersect(user_feed_dict, hook_feeds,
                                  "Same tensor is fed by a SessionRunHook and user.")
        merged = dict(user_feed_dict)
        merged.update(hook_feeds)
        return merged


def _run_options():
    from ..runtime.config import RunOptions
    return RunOptions()


def _merge_run_options(options, incoming):
    incoming_level = getattr(incoming, "trace_level", 0)
    if incoming_level > getattr(options, "trace_level", 0):
        options.trace_level = incoming_level
    timeout = getattr(incoming, "timeout_in_ms", 0)
    if timeout and hasattr(options, "timeout_in_ms"):
        options.timeout_in_ms = max(getattr(options, "timeout_in_ms", 0) or 0, timeout)


def _raise_if_feeds_intersect(feeds1, feeds2, message):
    if set(feeds1) & set(feeds2):
        raise RuntimeError(message + " Conflict(s): " + str(sorted(
            str(getattr(k, "name", k)) for k in set(feeds1) & set(feeds2))))


class _StepContext:
    """What `run_step_fn`'s step_fn receives (TF1's StepContext)."""

    def __init__(self, session, run_with_hooks_fn):
        self._session = session
        self._run_with_hooks_fn = run_with_hooks_fn

    @property
    def session(self):
        return self._session

    def run_with_hooks(self, *args, **kwargs):
        return self._run_with_hooks_fn(*args, **kwargs)

    def request_stop(self):
        raise StopIteration("step_fn has requested the iterations to stop.")


class _CoordinatedSessionCreator(SessionCreator):
    """Creates the raw session, starts queue runners, calls after_create_session."""

    def __init__(self, session_creator, hooks, stop_grace_period_secs):
        self._session_creator = session_creator
        self._hooks = hooks
        self.coord = None
        self.tf_sess = None
        self._stop_grace_period_secs = stop_grace_period_secs

    def create_session(self):
        self.tf_sess = self._session_creator.create_session()
        self.coord = Coordinator()
        if get_default_graph().get_collection(GraphKeys.QUEUE_RUNNERS):
            queue_runner.start_queue_runners(sess=self.tf_sess, coord=self.coord)
        for hook in self._hooks:
            hook.after_create_session(self.tf_sess, self.coord)
        return _CoordinatedSession(_HookedSession(self.tf_sess, self._hooks), self.coord,
                                   self._stop_grace_period_secs)


# -- MonitoredSession -----------------------------------------------------------------------------

class _MonitoredSession:
    """Shared code of MonitoredSession and SingularMonitoredSession."""

    def __init__(self, session_creator, hooks, should_recover, stop_grace_period_secs=120):
        self._graph = get_default_graph()
        self._graph_was_finalized = self._graph.finalized
        self._hooks = list(hooks or [])
        for hook in self._hooks:
            hook.begin()
        self._coordinated_creator = _CoordinatedSessionCreator(
            session_creator=session_creator or ChiefSessionCreator(), hooks=self._hooks,
            stop_grace_period_secs=stop_grace_period_secs)
        # Preemption signals are recorded (not fatal) while this session exists.
        self._signal_watch = signals.watching()
        self._signal_watch.__enter__()
        try:
            if should_recover:
                self._sess = _RecoverableSession(self._coordinated_creator)
            else:
                self._sess = self._coordinated_creator.create_session()
        except BaseException:
            self._stop_watching()
            raise

    def _stop_watching(self):
        if self._signal_watch is not None:
            watch, self._signal_watch = self._signal_watch, None
            watch.__exit__(None, None, None)

    @property
    def graph(self):
        return self._coordinated_creator.tf_sess.graph

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Runs one step with the hooks; exits with code 75 once preempted.

        A preemption signal that arrived before the step stops the job without running it;
        one that arrives during the step lets it finish first.
        """
        self._exit_if_preempted()
        result = self._sess.run(fetches, feed_dict=feed_dict, options=options,
                                run_metadata=run_metadata)
        self._exit_if_preempted()
        return result

    def run_step_fn(self, step_fn):
        """Runs `step_fn(step_context)` (TF1 API) and returns its result.

        Raises:
          ValueError: if `step_fn` does not take exactly a `step_context` argument.
          StopIteration: if `step_fn` called `step_context.request_stop()`.
        """
        step_fn_arguments = step_fn.__code__.co_varnames[:step_fn.__code__.co_argcount]
        if step_fn_arguments != ("step_context",) and \
                step_fn_arguments != ("self", "step_context"):
            raise ValueError("`step_fn` may either have one `step_context` argument, or "
                             "`self` and `step_context` arguments if it's an instance method. "
                             "Got {} instead.".format(step_fn_arguments))
        self._exit_if_preempted()
        # A step_fn's request_stop() raises StopIteration, which leaves the `with` block.
        result = self._sess.run_step_fn(step_fn, self._tf_sess(), run_with_hooks=None)
        self._exit_if_preempted()
        return result

    def _exit_if_preempted(self):
        name = signals.preemption_requested()
        if name is None:
            return
        from .basic_session_run_hooks import CheckpointSaverHook
        saver_hooks = [h for h in self._hooks if isinstance(h, CheckpointSaverHook)]
        self.close()  # the hooks' end(): CheckpointSaverHook writes the final checkpoint
        saved = [h.last_saved_path for h in saver_hooks if h.last_saved_path]
        where = ("checkpoint %s" % saved[-1]) if saved else "no checkpoint (no checkpoint_dir)"
        print("hpcflow: stopped by %s: saved %s; exiting with code %d (run the same command "
              "again to resume)" % (name, where, PREEMPTED_EXIT_CODE), file=sys.stderr,
              flush=True)
        signals.requeue_if_asked(signal_name=name)
        raise SystemExit(PREEMPTED_EXIT_CODE)

    def should_stop(self):
        """True when a hook requested a stop, the session failed, or it is closed."""
        return self._sess is None or self._sess.should_stop()

    def close(self):
        """Calls the hooks' end() (a final checkpoint) and closes the session."""
        self._close_internal()

    def _close_internal(self, exception_type=None):
        try:
            if not exception_type and self._coordinated_creator.tf_sess is not None:
                for hook in self._hooks:
                    hook.end(self._coordinated_creator.tf_sess)
        finally:
            try:
                if self._sess is not None:
                    self._sess.close()
            finally:
                self._sess = None
                self._coordinated_creator.tf_sess = None
                self._coordinated_creator.coord = None
                if not self._graph_was_finalized:
                    # As TF: the Scaffold finalized the graph for the session's lifetime only.
                    _unfinalize(self._graph)
                self._stop_watching()

    def __enter__(self):
        return self

    def __exit__(self, exception_type, exception_value, traceback):
        if exception_type in (errors.OutOfRangeError, StopIteration):
            exception_type = None
        if self._sess is not None or self._coordinated_creator.tf_sess is not None:
            self._close_internal(exception_type)
        return exception_type is None

    def _tf_sess(self):
        return self._coordinated_creator.tf_sess


class MonitoredSession(_MonitoredSession):
    """A session that restores or initializes, runs hooks, and recovers (TF1 API).

    After an AbortedError or UnavailableError in a step it creates a new session, restored
    from the latest checkpoint, and runs the step again.

    Args:
      session_creator: a SessionCreator (default ChiefSessionCreator()).
      hooks: SessionRunHooks.
      stop_grace_period_secs: how long close() waits for queue-runner threads.
    """

    def __init__(self, session_creator=None, hooks=None, stop_grace_period_secs=120):
        super().__init__(session_creator, hooks, should_recover=True,
                         stop_grace_period_secs=stop_grace_period_secs)


class SingularMonitoredSession(_MonitoredSession):
    """A MonitoredSession that does not recover from errors, with a `raw_session()` (TF1 API).

    Args:
      hooks: SessionRunHooks.
      scaffold, master, config, checkpoint_dir, checkpoint_filename_with_path: for the
        ChiefSessionCreator it builds.
      stop_grace_period_secs: how long close() waits for queue-runner threads.
    """

    def __init__(self, hooks=None, scaffold=None, master="", config=None, checkpoint_dir=None,
                 stop_grace_period_secs=120, checkpoint_filename_with_path=None):
        creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config,
                                      checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, should_recover=False,
                         stop_grace_period_secs=stop_grace_period_secs)

    def raw_session(self):
        """The underlying Session."""
        return self._tf_sess()


def MonitoredTrainingSession(master="", is_chief=True, checkpoint_dir=None,  # noqa: N802
                             scaffold=None, hooks=None, chief_only_hooks=None,
                             save_checkpoint_secs=USE_DEFAULT, save_summaries_steps=USE_DEFAULT,
                             save_summaries_secs=USE_DEFAULT, config=None,
                             stop_grace_period_secs=120, log_step_count_steps=100,
                             max_wait_secs=7200, save_checkpoint_steps=USE_DEFAULT,
                             summary_dir=None, save_graph_def=True):
    """A MonitoredSession set up for training (TF1 `tf.train.MonitoredTrainingSession`).

    The chief (always, in hpcflow: the script runs on rank 0) restores the latest
    checkpoint of `checkpoint_dir` or initializes the variables, and saves checkpoints
    every `save_checkpoint_steps` steps or `save_checkpoint_secs` seconds (default: every
    600 seconds) and when the session closes. On SIGTERM/SIGUSR1 it saves and exits with
    code 75 (see this module's docstring).

    Args:
      master: unused (the job is the MPI job).
      is_chief: if False, wait for another session to initialize (WorkerSessionCreator).
      checkpoint_dir: where checkpoints are restored from and saved to (None: neither).
      scaffold: a Scaffold (default: one with default ops).
      hooks: SessionRunHooks for every process; chief_only_hooks: for the chief only.
      save_checkpoint_secs, save_checkpoint_steps: how often to save; at most one may be
        given (the other is then None); both None disables periodic saving.
      save_summaries_steps, save_summaries_secs, summary_dir, save_graph_def: accepted for
        TF compatibility; this session writes no summaries.
      config: the ConfigProto of the session.
      stop_grace_period_secs: how long close() waits for queue-runner threads.
      log_step_count_steps: log global steps per second this often (None/0: never).
      max_wait_secs: for a non-chief, how long to wait for initialization.

    Returns:
      A MonitoredSession.
    """
    from .basic_session_run_hooks import CheckpointSaverHook, StepCounterHook
    if save_checkpoint_steps is USE_DEFAULT and save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    elif save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_secs = None
    elif save_checkpoint_steps is USE_DEFAULT:
        save_checkpoint_steps = None
    scaffold = scaffold or Scaffold()
    if not is_chief:
        creator = WorkerSessionCreator(scaffold=scaffold, master=master, config=config,
                                       max_wait_secs=max_wait_secs)
        return MonitoredSession(session_creator=creator, hooks=hooks or [],
                                stop_grace_period_secs=stop_grace_period_secs)
    all_hooks = list(chief_only_hooks or []) + list(hooks or [])
    creator = ChiefSessionCreator(scaffold=scaffold, checkpoint_dir=checkpoint_dir,
                                  master=master, config=config)
    if log_step_count_steps and log_step_count_steps > 0:
        all_hooks.append(StepCounterHook(every_n_steps=log_step_count_steps))
    if checkpoint_dir and (save_checkpoint_secs or save_checkpoint_steps):
        all_hooks.append(CheckpointSaverHook(checkpoint_dir, save_steps=save_checkpoint_steps,
                                             save_secs=save_checkpoint_secs, scaffold=scaffold))
    return MonitoredSession(session_creator=creator, hooks=all_hooks,
                            stop_grace_period_secs=stop_grace_period_secs)


__all__ = ["ChiefSessionCreator", "MonitoredSession", "MonitoredTrainingSession",
           "PREEMPTED_EXIT_CODE", "Scaffold", "SessionCreator", "SessionManager",
           "SessionRunArgs", "SessionRunContext", "SessionRunHook", "SessionRunValues",
           "SingularMonitoredSession", "WorkerSessionCreator"]
