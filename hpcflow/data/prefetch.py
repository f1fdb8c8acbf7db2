"""Reading batches ahead on a background thread, into a bounded queue.

Like a TF1 queue runner, but inside the reader's kernel on each rank: while a step
computes, the thread already reads the next batches from the HDF5 file, so the step only
waits for I/O when reading is slower than computing.
"""
import queue
import threading

_END = object()


class Prefetcher:
    """Runs `produce(step)` for step = first, first+1, ... on a daemon thread.

    `produce` returns a batch, or None when the data ends. `get()` returns the batches in
    order (None at the end) and re-raises an exception the thread hit.

    Args:
      produce: function(step) -> batch or None.
      first_step: the step to start at.
      depth: batches read ahead (the queue's capacity, >= 1).
      name: the thread's name.
    """

    def __init__(self, produce, first_step=0, depth=2, name="hpcflow-prefetch"):
        self._produce = produce
        self._queue = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(first_step,), name=name,
                                        daemon=True)
        self._thread.start()

    def _put(self, item):
        # Wait for room, but notice a stop request (a closed session) within 0.1 s.
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _loop(self, step):
        while not self._stop.is_set():
            try:
                batch = self._produce(step)
            except BaseException as e:  # handed to the consumer, which raises it in its step
                self._put((_END, e))
                return
            if batch is None:
                self._put((_END, None))
                return
            if not self._put((step, batch)):
                return
            step += 1

    def get(self):
        """The next batch (None once the data has ended).

        Raises:
          Exception: whatever the reading thread raised.
        """
        step, item = self._queue.get()
        if step is _END:
            # Leave the end marker for later calls: the data stays ended.
            self._queue.put((_END, item))
            if item is not None:
                raise item
            return None
        return item

    def stop(self):
        """Asks the thread to end (it finishes the read in progress) and waits for it briefly."""
        self._stop.set()
        self._thread.join(timeout=5.0)

    @property
    def alive(self):
        return self._thread.is_alive()
