"""Collectives for data-parallel steps, failure-safe: no rank ever waits on a collective
another rank will not enter.

Every collective runs in two phases. Phase one exchanges a small header (a failure flag and
the sizes); phase two moves the data only if no rank reported a failure. A rank whose step
failed keeps calling the remaining collectives of its plan with `failed=True` (phase one
only), so all ranks leave the step together and the error reaches rank 0.
"""
import numpy as np

from .transport import PeerFailedError


class StepCollectives:
    """The collectives of one rank for data-parallel steps (wraps a Transport's comm)."""

    def __init__(self, transport):
        from mpi4py import MPI
        self._mpi = MPI
        self.comm = transport.comm
        self.rank = transport.rank
        self.size = transport.size

    def _check(self, flags, what):
        failed = [r for r, flag in enumerate(flags) if flag]
        if failed:
            raise PeerFailedError(None, None, "Step aborted during %s: rank %s failed"
                                  % (what, ", ".join(map(str, failed))))

    def allreduce_sum(self, arrays, failed=False, what="an allreduce"):
        """Sums each array over all ranks; same-dtype arrays share one fused buffer.

        Every rank passes arrays of the same shapes and dtypes in the same order (the plan is
        the same on every rank), as Horovod's Tensor Fusion requires.
        """
        self._check(self.comm.allgather(bool(failed)), what)
        results = [None] * len(arrays)
        groups = {}
        for i, a in enumerate(arrays):
            groups.setdefault(np.asarray(a).dtype.str, []).append(i)
        for dtype_str in sorted(groups):
            indices = groups[dtype_str]
            parts = [np.asarray(arrays[i], order="C").reshape(-1) for i in indices]
            fused = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
            self.comm.Allreduce(self._mpi.IN_PLACE, fused, op=self._mpi.SUM)
            offset = 0
            for i, part in zip(indices, parts):
                results[i] = fused[offset:offset + part.size].reshape(np.shape(arrays[i]))
                offset += part.size
        return results

    def allgather_rows(self, array, failed=False, what="an allgather"):
        """Concatenates every rank's rows (axis 0) in rank order, on every rank."""
        headers = self.comm.allgather((bool(failed), None if failed else np.shape(array)))
        self._check([h[0] for h in headers], what)
        array = np.asarray(array, order="C")
        counts = [h[1][0] if h[1] else 0 for h in headers]
        return self._gatherv(array, counts, root=None)

    def gather_rows(self, array, failed=False, what="a fetch"):
        """Concatenates every rank's rows in rank order on rank 0 (None elsewhere)."""
        headers = self.comm.allgather((bool(failed), None if failed else np.shape(array)))
        self._check([h[0] for h in headers], what)
        array = np.asarray(array, order="C")
        counts = [h[1][0] if h[1] else 0 for h in headers]
        return self._gatherv(array, counts, root=0)

    def reduce_sum_to_root(self, array, failed=False, what="a fetch"):
        """The sum over ranks of `array`, on rank 0 (None elsewhere)."""
        self._check(self.comm.allgather(bool(failed)), what)
        array = np.asarray(array, order="C")
        out = np.empty_like(array) if self.rank == 0 else None
        self.comm.Reduce(array, out, op=self._mpi.SUM, root=0)
        return out

    def _gatherv(self, array, counts, root):
        row = int(np.prod(array.shape[1:], dtype=np.int64))
        shape = (sum(counts),) + array.shape[1:]
        if array.dtype.hasobject:  # strings: no MPI buffer type, use the pickle path
            parts = self.comm.allgather(array) if root is None else self.comm.gather(array, root)
            return None if parts is None else np.concatenate(parts)
        sizes = [c * row for c in counts]
        if root is None:
            out = np.empty(shape, dtype=array.dtype)
            self.comm.Allgatherv(array, [out, sizes])
            return out
        out = np.empty(shape, dtype=array.dtype) if self.rank == root else None
        self.comm.Gatherv(array, [out, sizes] if self.rank == root else None, root=root)
        return out

    def broadcast_value(self, array, root, failed=False, what="a broadcast"):
        """Rank `root`'s `array` on every rank (shape and dtype travel in the header)."""
        headers = self.comm.allgather((bool(failed), None if failed else
                                       (np.shape(array), np.asarray(array).dtype.str)))
        self._check([h[0] for h in headers], what)
        shape, dtype = headers[root][1]
        if np.dtype(dtype).hasobject:
            return self.comm.bcast(array, root=root)
        out = np.asarray(array, order="C") if self.rank == root else np.empty(shape, dtype=dtype)
        self.comm.Bcast(out, root=root)
        return out

    def scatter_rows(self, array, counts, shape_rest, dtype, failed=False):
        """Rank 0's `array` split into consecutive row blocks of `counts` rows, one per rank."""
        row = int(np.prod(shape_rest, dtype=np.int64))
        out = np.empty((counts[self.rank],) + tuple(shape_rest), dtype=dtype)
        if np.dtype(dtype).hasobject:
            pieces = None
            if self.rank == 0:
                bounds = np.cumsum([0] + list(counts))
                pieces = [array[bounds[r]:bounds[r + 1]] for r in range(self.size)]
            return self.comm.scatter(pieces, root=0)
        send = [np.asarray(array, order="C"), [c * row for c in counts]] if self.rank == 0 else None
        self.comm.Scatterv(send, out, root=0)
        return out

    def broadcast(self, array, shape, dtype):
        """Rank 0's `array` on every rank."""
        if np.dtype(dtype).hasobject:
            return self.comm.bcast(array, root=0)
        out = np.asarray(array, order="C") if self.rank == 0 else np.empty(shape, dtype=dtype)
        self.comm.Bcast(out, root=0)
        return out
