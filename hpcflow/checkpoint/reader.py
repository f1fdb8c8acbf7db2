"""Reading checkpoints: listing variables and reading verified values or slices of them.

`CheckpointReader` (TF's `NewCheckpointReader`) opens a checkpoint prefix, whether it is a
whole checkpoint or the index of shards, checks that it is an hpcflow checkpoint whose
shard files all exist, and reads values whose checksums it verifies. Any damage found
(truncated or foreign file, missing shard, checksum mismatch, unreadable data) raises
DataLossError naming the file and the variable; the files are only ever opened read-only.
"""
import collections
import os

import numpy as np

from ..framework import dtypes, errors
from . import files
from . import format as ckpt_format

# One dataset of the checkpoint: its h5py object and the slices it stores, each as
# (offset tuple, shape tuple, checksum words).
_Stored = collections.namedtuple("_Stored", "dataset path pieces")


def _h5py():
    import h5py
    return h5py


def _data_loss(message):
    return errors.DataLossError(None, None, message)


class CheckpointReader:
    """Reads one checkpoint (TF1 `tf.train.NewCheckpointReader`).

    Args:
      prefix: the checkpoint path, as `Saver.save` returned it.

    Raises:
      NotFoundError: if there is no checkpoint at `prefix`.
      DataLossError: if the file is damaged, not an hpcflow checkpoint, or a shard is missing.
      UnimplementedError: if it was written in a newer format than this hpcflow reads.
    """

    def __init__(self, prefix):
        self._prefix = prefix
        if not os.path.isfile(prefix):
            raise errors.NotFoundError(None, None, "Unsuccessful TensorSliceReader constructor: "
                                       "Failed to find any matching files for %s" % prefix)
        try:
            self._file = files.open_hdf5(prefix, "r")
        except OSError as e:
            raise _data_loss("Checkpoint %s is damaged: it cannot be opened as HDF5 (%s). The "
                             "file is truncated or overwritten; restore an earlier checkpoint."
                             % (prefix, e)) from None
        try:
            self._check_format()
            self._stored = self._walk()
        except BaseException:
            self._file.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _check_format(self):
        attrs = self._file.attrs
        if ckpt_format.ATTR_FORMAT_VERSION not in attrs:
            raise _data_loss("%s is an HDF5 file but not an hpcflow checkpoint (it has no %r "
                             "attribute)" % (self._prefix, ckpt_format.ATTR_FORMAT_VERSION))
        version = int(attrs[ckpt_format.ATTR_FORMAT_VERSION])
        if version > ckpt_format.FORMAT_VERSION:
            raise errors.UnimplementedError(
                None, None, "Checkpoint %s has format version %d; this hpcflow reads versions "
                "up to %d: upgrade hpcflow" % (self._prefix, version, ckpt_format.FORMAT_VERSION))

    def _directory(self):
        return os.path.dirname(os.path.abspath(self._prefix))

    def _check_source(self, file_name, key):
        if file_name in ("", "."):
            return
        path = file_name if os.path.isabs(file_name) else os.path.join(self._directory(),
                                                                      file_name)
        if not os.path.isfile(path):
            raise _data_loss("Checkpoint %s is incomplete: shard file %s holding variable %s "
                             "is missing" % (self._prefix, path, key))

    def _walk(self):
        h5py = _h5py()
        stored = {}
        stack = [self._file]
        while stack:
            group = stack.pop()
            for link_name in group:
                link = group.get(link_name, getlink=True)
                where = "%s/%s" % (group.name.rstrip("/"), link_name)
                if isinstance(link, h5py.ExternalLink):
                    self._check_source(link.filename, where.lstrip("/"))
                try:
                    obj = group[link_name]
                except (KeyError, OSError) as e:
                    raise _data_loss("Checkpoint %s is damaged: cannot open %s: %s"
                                     % (self._prefix, where, e)) from None
                if isinstance(obj, h5py.Group):
                    stack.append(obj)
                    continue
                key = ckpt_format.name_of_dataset(obj)
                if obj.is_virtual:
                    for source in obj.virtual_sources():
                        self._check_source(source.file_name, key)
                stored[key] = _Stored(obj, where, self._pieces(obj, key))
        return stored

    def _pieces(self, dataset, key):
        attrs = dataset.attrs
        shape = tuple(dataset.shape)
        if ckpt_format.ATTR_CHECKSUM in attrs:
            return [((0,) * len(shape), shape, np.asarray(attrs[ckpt_format.ATTR_CHECKSUM]))]
        if ckpt_format.ATTR_SLICE_OFFSETS in attrs:
            offsets = np.asarray(attrs[ckpt_format.ATTR_SLICE_OFFSETS])
            shapes = np.asarray(attrs[ckpt_format.ATTR_SLICE_SHAPES])
            sums = np.asarray(attrs[ckpt_format.ATTR_SLICE_CHECKSUMS])
            return [(tuple(int(x) for x in o), tuple(int(x) for x in s), c)
                    for o, s, c in zip(offsets, shapes, sums)]
        raise _data_loss("Checkpoint %s is damaged: variable %s has no checksum attribute"
                         % (self._prefix, key))

    # -- TF's reader API -----------------------------------------------------------------------

    @property
    def prefix(self):
        return self._prefix

    @property
    def global_step(self):
        """The global step recorded at save time, or None."""
        step = self._file.attrs.get(ckpt_format.ATTR_GLOBAL_STEP)
        return None if step is None else int(step)

    @property
    def num_shards(self):
        """How many shard files the checkpoint has (1 for a whole checkpoint)."""
        return int(self._file.attrs.get(ckpt_format.ATTR_NUM_SHARDS, 1))

    def get_variable_to_shape_map(self):
        """{variable name: list of dims} of every variable in the checkpoint."""
        return {key: list(s.dataset.shape) for key, s in self._stored.items()}

    def get_variable_to_dtype_map(self):
        """{variable name: DType} of every variable in the checkpoint."""
        return {key: dtypes.as_dtype(ckpt_format.tf_dtype_name(s.dataset.dtype))
                for key, s in self._stored.items()}

    def dataset_path(self, name):
        """The HDF5 path holding variable `name` (e.g. "/layer1/weights")."""
        return self._stored_for(name).path

    def has_tensor(self, name):
        return name in self._stored

    def get_tensor(self, name):
        """The verified value of variable `name`.

        Raises:
          NotFoundError: if the checkpoint has no such variable.
          DataLossError: if its data is damaged.
        """
        return self.read(name)

    def debug_string(self):
        lines = []
        for key in sorted(self._stored):
            dataset = self._stored[key].dataset
            lines.append("%s (%s) %s" % (key, ckpt_format.tf_dtype_name(dataset.dtype),
                                         list(dataset.shape)))
        return ("\n".join(lines) + "\n").encode()

    # -- verified reads ------------------------------------------------------------------------

    def _stored_for(self, name):
        try:
            return self._stored[name]
        except KeyError:
            raise errors.NotFoundError(None, None, "Key %s not found in checkpoint %s"
                                       % (name, self._prefix)) from None

    def _read_box(self, stored, name, box):
        dataset = stored.dataset
        try:
            if not box:
                return np.asarray(dataset[()])
            if all(s.start == 0 and s.stop == n for s, n in zip(box, dataset.shape)) and \
                    not ckpt_format.is_string_dtype(dataset.dtype) and dataset.size:
                out = np.empty(dataset.shape, dtype=dataset.dtype)
                dataset.read_direct(out)
                return out
            return np.asarray(dataset[box])
        except (OSError, ValueError, RuntimeError) as e:
            raise _data_loss("Checkpoint %s is damaged: cannot read variable %s: %s"
                             % (self._prefix, name, e)) from None

    def _check_sum(self, stored, name, offset, value_sum, expected):
        if not np.array_equal(value_sum, expected):
            raise _data_loss("Checkpoint %s is damaged: checksum mismatch in variable %s%s. "
                             "Restore an earlier checkpoint." % (
                                 self._prefix, name, "" if len(stored.pieces) == 1 else
                                 " (slice at offset %s)" % list(offset)))

    def _verified(self, stored, name, offset, shape, expected):
        box = tuple(slice(o, o + n) for o, n in zip(offset, shape))
        value = self._read_box(stored, name, box)
        self._check_sum(stored, name, offset, ckpt_format.checksum(value), expected)
        return value

    def _region(self, stored, name, offset, shape):
        """(offset, shape) of a requested region as tuples, checked against the variable."""
        full = tuple(stored.dataset.shape)
        offset = (0,) * len(full) if offset is None else tuple(int(o) for o in offset)
        shape = full if shape is None else tuple(int(n) for n in shape)
        if len(offset) != len(full) or len(shape) != len(full) or any(
                o < 0 or n < 0 or o + n > f for o, n, f in zip(offset, shape, full)):
            raise errors.InvalidArgumentError(
                None, None, "Cannot read slice at offset %s with shape %s of variable %s: its "
                "shape in checkpoint %s is %s" % (list(offset), list(shape), name, self._prefix,
                                                  list(full)))
        return offset, shape

    @staticmethod
    def _exact_piece(stored, offset, shape):
        for piece_offset, piece_shape, expected in stored.pieces:
            if piece_offset == offset and piece_shape == shape:
                return expected
        return None

    def read(self, name, offset=None, shape=None):
        """The verified value of variable `name`, or of its slice at `offset` with `shape`.

        Stored slices (of a partitioned variable) overlapping the requested region are read
        whole and verified, then the region is cut from them, so a variable saved with one
        partitioning restores into any other.

        Raises:
          NotFoundError: if the checkpoint has no such variable.
          InvalidArgumentError: if the region lies outside the variable.
          DataLossError: if data is damaged or the region was not completely saved.
        """
        stored = self._stored_for(name)
        offset, shape = self._region(stored, name, offset, shape)
        expected = self._exact_piece(stored, offset, shape)
        if expected is not None:
            return self._verified(stored, name, offset, shape, expected)
        out = np.empty(shape, dtype=object if ckpt_format.is_string_dtype(stored.dataset.dtype)
                       else stored.dataset.dtype)
        if out.size == 0:
            return out
        covered = 0
        for piece_offset, piece_shape, expected in stored.pieces:
            low = [max(a, b) for a, b in zip(offset, piece_offset)]
            high = [min(a + n, b + m) for a, n, b, m in zip(offset, shape, piece_offset,
                                                            piece_shape)]
            if any(h <= lo for lo, h in zip(low, high)):
                continue
            value = self._verified(stored, name, piece_offset, piece_shape, expected)
            source = tuple(slice(lo - p, h - p) for lo, h, p in zip(low, high, piece_offset))
            target = tuple(slice(lo - o, h - o) for lo, h, o in zip(low, high, offset))
            out[target] = value[source]
            covered += int(np.prod([h - lo for lo, h in zip(low, high)], dtype=np.int64))
        if covered != out.size:
            raise _data_loss("Checkpoint %s does not hold all of variable %s: %d of the %d "
                             "values requested (offset %s, shape %s) were saved"
                             % (self._prefix, name, covered, out.size, list(offset),
                                list(shape)))
        return out

    def read_many(self, requests):
        """The verified values for `requests`, [(name, offset, shape)] (None: whole), as
        `read` gives them, read in order.

        Each value stored as read (a whole variable, or a slice restored into the same
        partitioning) is verified by a helper thread while the next one is read: numpy
        releases the GIL, so with a free core verifying costs little time.

        Raises:
          As `read`; nothing is returned unless every value is verified.
        """
        results, pending = [None] * len(requests), []
        try:
            for index, (name, offset, shape) in enumerate(requests):
                stored = self._stored_for(name)
                offset, shape = self._region(stored, name, offset, shape)
                expected = self._exact_piece(stored, offset, shape)
                if expected is None:  # assembled from several stored slices
                    results[index] = self.read(name, offset, shape)
                    continue
                value = self._read_box(stored, name, tuple(
                    slice(o, o + n) for o, n in zip(offset, shape)))
                pending.append((stored, name, offset, expected,
                                ckpt_format.checksum_in_background(value)))
                results[index] = value
        finally:
            sums = [(entry, entry[4].result()) for entry in pending]
        for (stored, name, offset, expected, _), value_sum in sums:
            self._check_sum(stored, name, offset, value_sum, expected)
        return results

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def NewCheckpointReader(filepattern):  # noqa: N802 - TF's name
    """A CheckpointReader for the checkpoint `filepattern` (TF1 API)."""
    return CheckpointReader(filepattern)


def _resolve(ckpt_dir_or_file):
    if os.path.isdir(ckpt_dir_or_file):
        from . import state_file
        path = state_file.latest_checkpoint(ckpt_dir_or_file)
        if path is None:
            raise ValueError("Couldn't find 'checkpoint' file or checkpoints in given directory "
                             "%s" % ckpt_dir_or_file)
        return path
    return ckpt_dir_or_file


def load_checkpoint(ckpt_dir_or_file):
    """A CheckpointReader for a checkpoint file, or for the latest one in a directory.

    Raises:
      ValueError: if a directory holds no checkpoint.
    """
    return CheckpointReader(_resolve(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file):
    """[(name, shape)] of every variable of a checkpoint, sorted by name (TF1 API)."""
    with load_checkpoint(ckpt_dir_or_file) as reader:
        shapes = reader.get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]


def load_variable(ckpt_dir_or_file, name):
    """The value of variable `name` in a checkpoint (a trailing ":0" is ignored)."""
    if name.endswith(":0"):
        name = name[:-2]
    with load_checkpoint(ckpt_dir_or_file) as reader:
        return reader.get_tensor(name)
