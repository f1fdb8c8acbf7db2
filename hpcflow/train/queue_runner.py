"""`tf.train.QueueRunner`: Python threads that keep running enqueue ops to fill a queue.

Each thread calls `Session.run(enqueue_op)` in a loop until the coordinator stops or the
enqueue op reports that its input is exhausted (OutOfRangeError: an upstream queue was
closed); the last thread to finish closes the queue so that its consumers drain it and
then get OutOfRangeError themselves. On a stop request the queue is closed with pending
enqueues cancelled, which unblocks every runner thread.
"""
import logging
import threading
import weakref

from ..framework import errors
from ..framework.graph import GraphKeys, add_to_collection, get_collection

_logger = logging.getLogger("hpcflow")


class QueueRunner:
    """Holds a queue and the enqueue ops that fill it; starts their threads (TF1 QueueRunner)."""

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None, queue_runner_def=None, import_scope=None):
        """Creates a QueueRunner.

        Args:
          queue: a queue (FIFOQueue, RandomShuffleQueue...).
          enqueue_ops: enqueue ops to run, one thread each (list them several times for
            several threads running the same op).
          close_op: op closing the queue when the inputs are exhausted (default
            `queue.close()`).
          cancel_op: op closing the queue on a stop request (default
            `queue.close(cancel_pending_enqueues=True)`).
          queue_closed_exception_types: exceptions from an enqueue op meaning "no more
            input" (default `(tf.errors.OutOfRangeError,)`).

        Raises:
          ValueError: if `queue` or `enqueue_ops` is missing, or `queue_runner_def` given.
          TypeError: if `queue_closed_exception_types` is not a tuple of OpError types.
        """
        if queue_runner_def is not None:
            raise ValueError("QueueRunner protocol buffers (queue_runner_def) are not "
                             "supported by hpcflow; pass queue and enqueue_ops.")
        if not queue or not enqueue_ops:
            raise ValueError("Must provide queue and enqueue_ops.")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op
        self._cancel_op = cancel_op
        if queue_closed_exception_types is not None:
            if (not isinstance(queue_closed_exception_types, tuple)
                    or not queue_closed_exception_types
                    or not all(isinstance(t, type) and issubclass(t, errors.OpError)
                               for t in queue_closed_exception_types)):
                raise TypeError("queue_closed_exception_types, when provided, must be a tuple "
                                "of tf.error types, but saw: %s"
                                % (queue_closed_exception_types,))
        self._queue_closed_exception_types = queue_closed_exception_types or \
            (errors.OutOfRangeError,)
        if self._close_op is None:
            # No more input: close, letting pending enqueues finish.
            self._close_op = self._queue.close()
        if self._cancel_op is None:
            # A stop request (often an error): close and unblock everything.
            self._cancel_op = self._queue.close(cancel_pending_enqueues=True)
        self._lock = threading.Lock()
        # Threads still running per session: the last one to finish closes the queue.
        self._runs_per_session = weakref.WeakKeyDictionary()
        self._exceptions_raised = []

    @property
    def queue(self):
        return self._queue

    @property
    def enqueue_ops(self):
        return self._enqueue_ops

    @property
    def close_op(self):
        return self._close_op

    @property
    def cancel_op(self):
        return self._cancel_op

    @property
    def queue_closed_exception_types(self):
        return self._queue_closed_exception_types

    @property
    def exceptions_raised(self):
        """Exceptions raised by the threads when no coordinator was given."""
        return self._exceptions_raised

    @property
    def name(self):
        """The name of the queue's op."""
        return self._queue.name

    def _run(self, sess, enqueue_op, coord=None):
        """The body of one enqueue thread."""
        decremented = False
        try:
            enqueue = getattr(sess, "make_callable", None)
            run_enqueue = enqueue(enqueue_op) if enqueue is not None else \
                (lambda: sess.run(enqueue_op))
            while True:
                if coord and coord.should_stop():
                    break
                try:
                    run_enqueue()
                except self._queue_closed_exception_types:
                    # The input is exhausted: the last thread closes the queue.
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        decremented = True
                        if self._runs_per_session[sess] == 0:
                            try:
                                sess.run(self._close_op)
                            except Exception as e:  # noqa: BLE001 - closing is best effort
                                _logger.debug("Ignored exception: %s", e)
                        return
        except Exception as e:  # noqa: BLE001 - reported to the coordinator, as TF
            if coord:
                coord.request_stop(e)
            else:
                _logger.error("Exception in QueueRunner: %s", e)
                with self._lock:
                    self._exceptions_raised.append(e)
                raise
        finally:
            if not decremented:
                with self._lock:
                    self._runs_per_session[sess] -= 1

    def _close_on_stop(self, sess, cancel_op, coord):
        """Closes the queue (cancelling pending enqueues) once the coordinator stops."""
        coord.wait_for_stop()
        try:
            sess.run(cancel_op)
        except Exception as e:  # noqa: BLE001 - the session may be closed already
            _logger.debug("Ignored exception: %s", e)

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        """Creates (and optionally starts) one thread per enqueue op, for session `sess`.

        With a coordinator, one more thread closes the queue when a stop is requested, and
        all threads are registered with the coordinator. Calling this again for a session
        whose threads still run creates nothing.

        Returns:
          The list of threads.
        """
        with self._lock:
            if self._runs_per_session.get(sess, 0) > 0:
                return []  # already running for this session
            self._runs_per_session[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord),
                                    name="QueueRunnerThread-%s-%s" % (self.name, op.name))
                   for op in self._enqueue_ops]
        if coord:
            threads.append(threading.Thread(
                target=self._close_on_stop, args=(sess, self._cancel_op, coord),
                name="QueueRunnerThread-%s-close_on_stop" % self.name))
        for t in threads:
            if coord:
                coord.register_thread(t)
            if daemon:
                t.daemon = True
            if start:
                t.start()
        return threads


def add_queue_runner(qr, collection=GraphKeys.QUEUE_RUNNERS):
    """Adds `qr` to the graph collection `collection` (for `start_queue_runners`)."""
    add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True,
                        collection=GraphKeys.QUEUE_RUNNERS):
    """Starts the threads of all queue runners collected in the session's graph.

    Args:
      sess: the Session (default: the default session).
      coord: an optional Coordinator.
      daemon: make the threads daemons (they do not keep the process alive).
      start: start the threads (else only create them).
      collection: the collection holding the queue runners.

    Returns:
      The list of threads.

    Raises:
      ValueError: with no session given and no default session.
      TypeError: if `sess` is not a Session.
    """
    from ..runtime import session as session_lib
    if sess is None:
        sess = session_lib.get_default_session()
        if not sess:
            raise ValueError("Cannot start queue runners: No default session is registered. "
                             "Use `with sess.as_default()` or pass an explicit session to "
                             "tf.start_queue_runners(sess=sess)")
    if not isinstance(sess, session_lib.BaseSession):
        if type(sess).__name__ in ("MonitoredSession", "SingularMonitoredSession"):
            return []  # they start their queue runners themselves
        raise TypeError("sess must be a `tf.Session` object. Given class: %s" % type(sess))
    with sess.graph.as_default():
        queue_runners = get_collection(collection)
        if not queue_runners:
            _logger.warning("`tf.train.start_queue_runners()` was called when no queue runners "
                            "were defined. You can safely remove the call to this deprecated "
                            "function.")
        threads = []
        for qr in queue_runners:
            threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads


__all__ = ["QueueRunner", "add_queue_runner", "start_queue_runners"]
