"""`HDF5Reader`: an input pipeline op that reads shuffled batches of an HDF5 file, sharded by rank.

    reader = tf.data.HDF5Reader("digits.h5", ["train/images", "train/labels"],
                                batch_size=64, shuffle=True, seed=1)
    images, labels = reader.get_next()     # [None, 8, 8, 1] float32, [None] int64

Each step the reader op yields the next global batch of an epoch schedule (schedule.py):
a seeded permutation of the rows, cut into batches. The op is an ordinary stateful graph
op, so where it runs it reads:

* in one process (`python train.py`) it reads every row of every batch;
* in a data-parallel MPI job (the script names no job) every rank runs the same graph and
  the op's kernel on rank r reads only block r of each global batch, straight from the file
  (a shared file system): nothing is funnelled through rank 0, N ranks each read 1/N of
  every epoch, and the batch is already split the way the data-parallel runtime splits fed
  batches, so training gives the one-process result;
* placed on one rank (a script that names jobs) it reads whole batches there, or the block
  `shard_index` of `num_shards` if those are given (one reader per worker, TF1 style).

A background thread per rank reads `prefetch` batches ahead (prefetch.py). With
`num_epochs` set, the step after the last batch raises OutOfRangeError, as TF1 queues do.
Set HPCFLOW_DATA_READ_LOG=DIR to have every rank append the example indices it reads to
DIR/rank<r>.log (one line per step: epoch, step, indices).
"""
import os
import threading
import weakref

import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.graph import get_default_graph
from ..framework.tensor_shape import TensorShape
from ..ops.op_helpers import apply_op
from .prefetch import Prefetcher
from .schedule import EpochSchedule

READ_LOG_VARIABLE = "HPCFLOW_DATA_READ_LOG"


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency of hpcflow
        raise ImportError("HDF5Reader needs h5py: pip install h5py") from None
    return h5py


def read_rows(dataset, indices):
    """Rows `indices` (any order, no repeats) of an h5py dataset, in that order.

    A contiguous increasing run is one slice read; otherwise the rows are read in increasing
    order (as HDF5 selections require) and put back in the requested order.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == 0:
        return np.empty((0,) + dataset.shape[1:], dtype=dataset.dtype)
    start = int(indices[0])
    if np.array_equal(indices, np.arange(start, start + indices.size)):
        return dataset[start:start + indices.size]
    order = np.argsort(indices, kind="stable")
    rows = dataset[indices[order]]
    out = np.empty_like(rows)
    out[order] = rows
    return out


class _ReaderState:
    """One reader op's position and prefetch thread in one session on one rank."""

    def __init__(self, op_name, attrs, shard, rank):
        self.op_name = op_name
        self.attrs = attrs
        self.schedule = EpochSchedule(
            attrs["num_examples"], attrs["batch_size"], attrs["shuffle"], attrs["seed"],
            None if attrs["num_epochs"] < 0 else attrs["num_epochs"], attrs["drop_remainder"])
        self.shard = shard
        self.rank = rank
        self.consumed = 0  # global steps handed to the graph so far
        self._file = None
        self._log = None
        self.prefetcher = None
        self._start(0)

    def _start(self, step):
        self.prefetcher = Prefetcher(self._read, step, self.attrs["prefetch"],
                                     name="hpcflow-reader-%s" % self.op_name)

    def reshard(self, shard):
        """Continue at the current step with another shard (e.g. the session changed mode)."""
        self.prefetcher.stop()
        self.shard = shard
        self._start(self.consumed)

    def _read(self, step):
        batch = self.schedule.batch(step)
        if batch is None:
            self.close_file()
            return None
        epoch, indices = batch
        block = EpochSchedule.shard_block(indices, *self.shard)
        if self._file is None:
            self._file = _h5py().File(self.attrs["path"], "r")
        arrays = [read_rows(self._file[name], block) for name in self.attrs["datasets"]]
        self._log_read(epoch, step, block)
        return len(indices), block, arrays

    def _log_read(self, epoch, step, block):
        directory = os.environ.get(READ_LOG_VARIABLE)
        if not directory:
            return
        if self._log is None:
            os.makedirs(directory, exist_ok=True)
            self._log = open(os.path.join(directory, "rank%d.log" % self.rank), "a")
        self._log.write("%s %d %d %s\n" % (self.op_name, epoch, step,
                                           ",".join(str(int(i)) for i in block)))
        self._log.flush()

    def close_file(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def next_batch(self):
        """(global rows, this shard's indices, arrays) of the next step, or None at the end."""
        batch = self.prefetcher.get()
        if batch is not None:
            self.consumed += 1
        return batch


def _stop(reader_state):
    reader_state.prefetcher.stop()
    reader_state.close_file()


def _reader_states(state):
    # Readers are per session (like variables): kept on the SessionState, and their threads
    # stopped when that state goes away (session closed, worker told to drop the session).
    with state.lock:
        readers = getattr(state, "_hdf5_readers", None)
        if readers is None:
            readers = {}
            state._hdf5_readers = readers
            state._hdf5_readers_lock = threading.Lock()
        return readers


def _shard_of(ctx, attrs):
    step = getattr(ctx.state, "dp_step", None)
    if step is not None:
        return step.rank, len(step.counts)
    if attrs["num_shards"] > 0:
        return attrs["shard_index"], attrs["num_shards"]
    return 0, 1


def _reader_kernel(ctx, **attrs):
    readers = _reader_states(ctx.state)
    shard = _shard_of(ctx, attrs)
    with ctx.state._hdf5_readers_lock:
        reader = readers.get(ctx.op_name)
        if reader is None:
            reader = _ReaderState(ctx.op_name, attrs, shard, ctx.rank)
            readers[ctx.op_name] = reader
            weakref.finalize(ctx.state, _stop, reader)
        elif reader.shard != shard:
            reader.reshard(shard)
    try:
        batch = reader.next_batch()
    except OSError as e:
        raise errors.NotFoundError(None, None, "%s cannot read %s: %s"
                                   % (ctx.op_name, attrs["path"], e)) from None
    if batch is None:
        raise errors.OutOfRangeError(
            None, None, "%s: end of data (%d epochs of %d examples read)"
            % (ctx.op_name, attrs["num_epochs"], attrs["num_examples"]))
    global_rows, block, arrays = batch
    step = getattr(ctx.state, "dp_step", None)
    if step is not None:
        step.set_global_rows(global_rows, ctx.op_name)
    return tuple(arrays) + (np.asarray(block, dtype=np.int64),)


def _reader_shape(op):
    specs = [(TensorShape([None] + list(row)), dtypes.as_dtype(dtype))
             for dtype, row in zip(op.get_attr("dtypes"), op.get_attr("row_shapes"))]
    return specs + [(TensorShape([None]), dtypes.int64)]


registry.register_op("HDF5Reader", shape=_reader_shape, numpy=_reader_kernel, context=True,
                     stateful=True, sharding=sharding.BATCH_INPUT)
registry.not_differentiable("HDF5Reader")


def _describe(path, datasets):
    """(num_examples, [numpy dtype], [row shape]) of `datasets` in the file at `path`."""
    h5py = _h5py()
    try:
        handle = h5py.File(path, "r")
    except OSError as e:
        raise ValueError("HDF5Reader cannot open %s: %s" % (path, e)) from None
    with handle:
        lengths, kinds, rows = [], [], []
        for name in datasets:
            if name not in handle or not isinstance(handle[name], h5py.Dataset):
                raise ValueError("HDF5Reader: %s has no dataset %r (it has: %s)"
                                 % (path, name, ", ".join(_dataset_names(handle))))
            dataset = handle[name]
            if dataset.ndim == 0:
                raise ValueError("HDF5Reader: dataset %r of %s is a scalar; its first "
                                 "dimension must index the examples" % (name, path))
            try:
                dtype = dtypes.as_dtype(dataset.dtype)
            except (TypeError, ValueError, KeyError):
                raise ValueError("HDF5Reader: dataset %r of %s has dtype %s, which hpcflow "
                                 "cannot hold" % (name, path, dataset.dtype)) from None
            lengths.append(dataset.shape[0])
            kinds.append(dtype)
            rows.append(list(dataset.shape[1:]))
    if len(set(lengths)) != 1:
        raise ValueError("HDF5Reader: the datasets of %s have different numbers of rows: %s"
                         % (path, dict(zip(datasets, lengths))))
    return lengths[0], kinds, rows


def _dataset_names(handle):
    names = []
    handle.visititems(lambda name, obj: names.append(name) if hasattr(obj, "shape") else None)
    return names or ["no datasets"]


class HDF5Reader:
    """Batches of rows of HDF5 datasets, shuffled per epoch, each rank reading its share.

    Args:
      path: the HDF5 file (on a file system every rank sees).
      datasets: names of datasets with the same number of rows (dimension 0 indexes the
        examples), e.g. ["train/images", "train/labels"].
      batch_size: rows per global batch (all ranks together); None: the whole dataset
        in one batch (e.g. a test set).
      shuffle: permute the rows anew in each epoch.
      seed: the permutations' seed; None takes the graph seed (`tf.set_random_seed`) or,
        without one, a random seed fixed now (so every rank uses the same).
      num_epochs: epochs before OutOfRangeError (None: forever).
      drop_remainder: skip each epoch's last, smaller batch.
      prefetch: batches each rank reads ahead on a background thread.
      num_shards, shard_index: read only block `shard_index` of `num_shards` of each batch
        (for one reader per worker in a placed graph); in a data-parallel job the rank and
        job size decide this by themselves.
      name: the op's name (default "HDF5Reader").

    Raises:
      ValueError: if the file or a dataset is missing, the datasets' lengths differ, or an
        argument is out of range.
    """

    def __init__(self, path, datasets, batch_size, shuffle=True, seed=None, num_epochs=None,
                 drop_remainder=False, prefetch=2, num_shards=None, shard_index=None,
                 name=None):
        if isinstance(datasets, str):
            datasets = [datasets]
        datasets = list(datasets)
        if not datasets:
            raise ValueError("HDF5Reader needs at least one dataset name")
        if (num_shards is None) != (shard_index is None):
            raise ValueError("Give both num_shards and shard_index, or neither")
        if num_shards is not None and not 0 <= shard_index < num_shards:
            raise ValueError("shard_index must be in [0, %d), got %d" % (num_shards, shard_index))
        if int(prefetch) < 1:
            raise ValueError("prefetch must be at least 1, got %r" % (prefetch,))
        path = os.path.abspath(os.fspath(path))
        num_examples, kinds, rows = _describe(path, datasets)
        if batch_size is None:
            batch_size = num_examples
        if seed is None:
            graph_seed = get_default_graph().seed
            seed = graph_seed if graph_seed is not None else \
                int(np.random.default_rng().integers(0, 2**31 - 1))
        # Validates batch_size, num_epochs and drop_remainder, as the kernel will use them.
        self._schedule = EpochSchedule(num_examples, int(batch_size), shuffle, int(seed),
                                       num_epochs, drop_remainder)
        attrs = {"path": path, "datasets": datasets, "batch_size": int(batch_size),
                 "shuffle": bool(shuffle), "seed": int(seed),
                 "num_epochs": -1 if num_epochs is None else int(num_epochs),
                 "drop_remainder": bool(drop_remainder), "prefetch": int(prefetch),
                 "num_shards": int(num_shards or 0), "shard_index": int(shard_index or 0),
                 "num_examples": int(num_examples), "dtypes": [k.name for k in kinds],
                 "row_shapes": rows}
        outputs = apply_op("HDF5Reader", [], attrs, name=name or "HDF5Reader")
        self._outputs = list(outputs)
        self.path = path
        self.datasets = datasets

    @property
    def op(self):
        """The reader's Operation."""
        return self._outputs[0].op

    def get_next(self):
        """The batch tensors, one per dataset, each [None, ...row shape].

        All come from one op run per step: fetching several of them in one `Session.run`
        gives rows of the same examples; each `Session.run` that needs them takes the next
        batch.
        """
        outputs = self._outputs[:-1]
        return outputs[0] if len(outputs) == 1 else list(outputs)

    @property
    def indices(self):
        """The int64 indices (rows of the file) of the batch's examples."""
        return self._outputs[-1]

    @property
    def num_examples(self):
        return self._schedule.num_examples

    @property
    def batch_size(self):
        return self._schedule.batch_size

    @property
    def steps_per_epoch(self):
        """Steps (global batches) in one epoch."""
        return self._schedule.steps_per_epoch

