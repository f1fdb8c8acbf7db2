"""`tf.train.Coordinator` and `LooperThread`: stopping a set of threads together (TF1).

Threads (queue runners, user loops) poll `should_stop()`; any of them may
`request_stop(exception)`; the main thread `join()`s them and re-raises the first
reported exception. OutOfRangeError (an input pipeline running out of epochs) stops the
threads cleanly without being reported.
"""
import contextlib
import logging
import sys
import threading
import time

from ..framework import errors

_logger = logging.getLogger("hpcflow")


class Coordinator:
    """A coordinator for threads (TF1 `tf.train.Coordinator`).

    Typical use:

        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        try:
            while not coord.should_stop():
                sess.run(train_op)
        except tf.errors.OutOfRangeError:
            pass
        finally:
            coord.request_stop()
        coord.join(threads)
    """

    def __init__(self, clean_stop_exception_types=None):
        """Creates a coordinator.

        Args:
          clean_stop_exception_types: exception types that stop the threads without being
            re-raised by `join()` (default: `(tf.errors.OutOfRangeError,)`).
        """
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (errors.OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        # sys.exc_info() of the first reported exception, re-raised by join().
        self._exc_info_to_raise = None
        self._joined = False
        self._registered_threads = set()

    def _filter_exception(self, ex):
        ex2 = ex[1] if isinstance(ex, tuple) else ex
        if isinstance(ex2, self._clean_stop_exception_types):
            return None
        return ex

    def request_stop(self, ex=None):
        """Asks all threads to stop; `ex` (an exception or exc_info tuple) is reported by join.

        Only the first reported exception is kept. After `join()`, a reported exception is
        raised right here instead, since nobody would see it otherwise.
        """
        with self._lock:
            ex = self._filter_exception(ex)
            if self._joined:
                if isinstance(ex, tuple):
                    raise ex[1]
                if ex is not None:
                    raise ex
            if not self._stop_event.is_set():
                if ex and self._exc_info_to_raise is None:
                    if isinstance(ex, tuple):
                        _logger.info("Error reported to Coordinator: %s", ex[1])
                        self._exc_info_to_raise = ex
                    else:
                        _logger.info("Error reported to Coordinator: %s, %s", type(ex), ex)
                        self._exc_info_to_raise = (type(ex), ex, ex.__traceback__)
                self._stop_event.set()

    def clear_stop(self):
        """Resets the coordinator so that it can be used again (after `join`)."""
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            if self._stop_event.is_set():
                self._stop_event.clear()

    def should_stop(self):
        """True once a stop was requested."""
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        """A context in which any exception requests a stop (and is reported by join)."""
        try:
            yield
        except:  # noqa: E722 - as TF: everything, including SystemExit in threads
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None):
        """Waits until a stop is requested (or `timeout` seconds); returns should_stop()."""
        return self._stop_event.wait(timeout)

    def register_thread(self, thread):
        """Adds `thread` to the threads `join()` waits for."""
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
        """Waits for the threads to stop; re-raises the first reported exception.

        Args:
          threads: threads to wait for, besides the registered ones.
          stop_grace_period_secs: how long threads get to finish after a stop request.
          ignore_live_threads: log instead of raising when some threads outlive the grace
            period.

        Raises:
          The exception passed to `request_stop`, if any; RuntimeError if threads are still
          running after the grace period (unless `ignore_live_threads`).
        """
        with self._lock:
            if threads is None:
                threads = self._registered_threads
            else:
                threads = self._registered_threads.union(set(threads))
            threads = list(threads)
        # Wait for the threads to finish or for a stop request.
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(0.1):
            pass
        # Then give the live ones the grace period, polling with a growing sleep.
        stop_wait_secs = 0.001
        while any(t.is_alive() for t in threads) and stop_grace_period_secs >= 0.0:
            time.sleep(stop_wait_secs)
            stop_grace_period_secs -= stop_wait_secs
            stop_wait_secs = 2 * stop_wait_secs
            stop_wait_secs = max(min(stop_wait_secs, stop_grace_period_secs), 0.001)
        stragglers = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                raise self._exc_info_to_raise[1]
            if stragglers:
                if ignore_live_threads:
                    _logger.info("Coordinator stopped with threads still running: %s",
                                 " ".join(stragglers))
                else:
                    raise RuntimeError("Coordinator stopped with threads still running: %s"
                                       % " ".join(stragglers))

    @property
    def joined(self):
        return self._joined

    def raise_requested_exception(self):
        """Raises the exception passed to `request_stop`, if any."""
        with self._lock:
            if self._exc_info_to_raise:
                raise self._exc_info_to_raise[1]

    def loop(self, timer_interval_secs, target, args=None, kwargs=None):
        """Starts a LooperThread calling `target(*args, **kwargs)` every interval."""
        looper = LooperThread(self, timer_interval_secs, target=target, args=args,
                              kwargs=kwargs)
        looper.start()
        return looper


class LooperThread(threading.Thread):
    """A thread that runs code repeatedly until its coordinator stops (TF1 LooperThread)."""

    def __init__(self, coord, timer_interval_secs, target=None, args=None, kwargs=None):
        """Creates the thread; subclasses override `run_loop` instead of passing `target`.

        Args:
          coord: the Coordinator.
          timer_interval_secs: seconds between calls, or None to call back to back.

        Raises:
          ValueError: if both `target` and a `run_loop` override are given.
        """
        if not isinstance(coord, Coordinator):
            raise ValueError("'coord' argument must be a Coordinator: %s" % coord)
        super().__init__()
        self.daemon = True
        self._coord = coord
        self._timer_interval_secs = timer_interval_secs
        self._target = target
        if self._target:
            self._args = args or ()
            self._kwargs = kwargs or {}
        elif args or kwargs:
            raise ValueError("'args' and 'kwargs' argument require that you also pass 'target'")
        self._coord.register_thread(self)

    @staticmethod
    def loop(coord, timer_interval_secs, target, args=None, kwargs=None):
        looper = LooperThread(coord, timer_interval_secs, target=target, args=args,
                              kwargs=kwargs)
        looper.start()
        return looper

    def run(self):
        with self._coord.stop_on_exception():
            self.start_loop()
            if self._timer_interval_secs is None:
                while not self._coord.should_stop():
                    self.run_loop()
            else:
                next_timer_time = time.time()
                while not self._coord.wait_for_stop(next_timer_time - time.time()):
                    next_timer_time += self._timer_interval_secs
                    self.run_loop()
            self.stop_loop()

    def start_loop(self):
        """Called once when the thread starts."""

    def stop_loop(self):
        """Called once before the thread terminates."""

    def run_loop(self):
        """Called at each iteration; runs `target` unless overridden."""
        if self._target:
            self._target(*self._args, **self._kwargs)

__all__ = ["Coordinator", "LooperThread"]
