"""Moving tensors between ranks: a small pickled header, then the payload as an MPI buffer.

Tensor payloads always go through mpi4py's buffer (uppercase) calls on contiguous numpy
arrays; only the header (status, dtype, shape) and control messages use pickle. Sends are
non-blocking and completed at the end of each step, so a rank never waits on its own
sends; receives poll so that a stall can be reported (which ranks, which edge) instead of
hanging silently.
"""
import collections
import os
import sys
import time

import numpy as np

from ..framework import errors

# Tags below this are control-plane tags; edge tags are allocated above it.
CONTROL_TAG = 1
REPLY_TAG = 2
FIRST_EDGE_TAG = 16

_OK = 0
_FAILED = 1


class PeerFailedError(errors.AbortedError):
    """A step was aborted because another rank failed first (not the root cause)."""


def stall_timeout_seconds():
    """Seconds a receive may wait before the stall is reported (HPCFLOW_STALL_TIMEOUT)."""
    return float(os.environ.get("HPCFLOW_STALL_TIMEOUT", "60"))


class Transport:
    """Point-to-point tensor transfer over an MPI communicator for one rank."""

    def __init__(self, comm):
        from mpi4py import MPI
        self._mpi = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._tag_limit = comm.Get_attr(MPI.TAG_UB) or 32767
        self._pending = []  # (request, array kept alive until the send completes)
        self._stale = collections.Counter()  # (source, tag) -> messages to discard
        self.stall_timeout = stall_timeout_seconds()
        self.deadline_seconds = None  # set per step from ConfigProto.operation_timeout_in_ms

    # -- tags ----------------------------------------------------------------------------------

    def edge_tag(self, plan_id, edge_index):
        """The header tag of edge `edge_index` of plan `plan_id` (its payload uses tag + 1)."""
        span = (self._tag_limit - FIRST_EDGE_TAG) // 2
        return FIRST_EDGE_TAG + 2 * ((plan_id * 65536 + edge_index) % span)

    # -- control plane -------------------------------------------------------------------------

    def send_control(self, dest, message, tag=CONTROL_TAG):
        self.comm.send(message, dest=dest, tag=tag)

    def recv_control(self, source, tag=CONTROL_TAG, what="a control message",
                     report_stalls=True):
        self._wait_for(source, tag, what, report_stalls)
        return self.comm.recv(source=source, tag=tag)

    # -- data plane ----------------------------------------------------------------------------

    def send_tensor(self, array, dest, tag, device=None):
        """Starts sending `array` to `dest`; completed by `flush()` at the end of the step.

        `device` (a GPU of this rank, or None for host memory) says where `array` lives: a
        device array is handed to MPI directly or staged through pinned memory
        (hpcflow/devices/staging.py).
        """
        if device is not None:
            from ..devices import staging
            array = staging.send_buffer(array, device)
        array = np.asarray(array) if device is None else array
        if array.dtype.hasobject:  # strings: no fixed-size buffer exists, pickle them
            self.comm.send((_OK, "O", array.shape), dest=dest, tag=tag)
            self.comm.send(array, dest=dest, tag=tag + 1)
            return
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
            array = array.copy(order="C")
        self.comm.send((_OK, array.dtype.str, array.shape), dest=dest, tag=tag)
        request = self.comm.Isend(array.reshape(-1).view(np.uint8), dest=dest, tag=tag + 1)
        self._pending.append((request, array))

    def send_failure(self, dest, tag, message):
        """Tells the receiver of edge `tag` that this rank failed and will not send."""
        self.comm.send((_FAILED, message, None), dest=dest, tag=tag)

    def recv_tensor(self, source, tag, what, device=None):
        """Receives the tensor sent on edge `tag` by `source` (into `device`'s memory if given).

        Raises:
          PeerFailedError: if the sender failed before it could send.
          DeadlineExceededError: if the step's operation timeout expires first.
        """
        while self._stale[(source, tag)]:
            # A message a timed-out step gave up on: it still comes, and must not be taken
            # for this step's (messages between two ranks on one tag arrive in order).
            self._stale[(source, tag)] -= 1
            self._receive(source, tag)
        try:
            self._wait_for(source, tag, what)
        except errors.DeadlineExceededError:
            self._stale[(source, tag)] += 1
            raise
        return self._receive(source, tag, what, device)

    def _receive(self, source, tag, what=None, device=None):
        status, dtype, shape = self.comm.recv(source=source, tag=tag)
        if status != _OK:
            if what is None:
                return None
            raise PeerFailedError(None, None, "Step aborted: rank %d did not send %s: %s"
                                  % (source, what, dtype))
        if dtype == "O":
            return self.comm.recv(source=source, tag=tag + 1)
        if device is None:
            array = np.empty(shape, dtype=np.dtype(dtype))
        else:
            from ..devices import staging
            array = staging.recv_buffer(shape, np.dtype(dtype), device)
        self.comm.Recv(array.reshape(-1).view(np.uint8), source=source, tag=tag + 1)
        if device is not None:
            return staging.finish_recv(array, device)
        return array

    def flush(self):
        """Waits for this rank's outstanding sends (the receivers have posted their receives)."""
        if self._pending:
            self._mpi.Request.Waitall([r for r, _ in self._pending])
            self._pending.clear()

    def wait_any(self, tag, what):
        """Waits for a message on `tag` from any rank; returns the sending rank."""
        status = self._mpi.Status()
        self._wait_for(self._mpi.ANY_SOURCE, tag, what, status=status)
        return status.Get_source()

    def _wait_for(self, source, tag, what, report_stalls=True, status=None):
        # Poll rather than block, so that a stall can be reported. Poll hot at first (as MPI
        # itself does) but yield the core between probes, since ranks often outnumber cores;
        # after a while back off to short sleeps so an idle rank costs nothing.
        comm = self.comm
        if comm.Iprobe(source=source, tag=tag, status=status):
            return
        start = time.monotonic()
        reported = False
        polls = 0
        while not comm.Iprobe(source=source, tag=tag, status=status):
            polls += 1
            if polls < 20000:
                os.sched_yield()  # time.sleep(0) costs ~100 us here; a yield ~1 us
                if polls % 1000:
                    continue
            else:
                time.sleep(0.0005)
            if not report_stalls:
                continue
            waited = time.monotonic() - start
            if self.deadline_seconds and waited > self.deadline_seconds:
                raise errors.DeadlineExceededError(
                    None, None, "Rank %d timed out after %.1f s waiting for %s%s"
                    % (self.rank, waited, what, self._from(source)))
            if not reported and waited > self.stall_timeout:
                reported = True
                print("hpcflow: stall: rank %d has waited %.0f s for %s%s"
                      % (self.rank, waited, what, self._from(source)), file=sys.stderr,
                      flush=True)

    def _from(self, source):
        return "" if source == self._mpi.ANY_SOURCE else " from rank %d" % source
