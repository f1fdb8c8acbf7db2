"""Writing checkpoint files: a whole checkpoint, one shard of one, or the index of shards.

See format.py for the layout. Each file is written under a temporary name and published
atomically (files.py); the caller publishes the index last and the state file after it.
"""
import collections
import os

import numpy as np

from ..framework import errors
from . import files
from . import format as ckpt_format

# What one saved variable (or one slice of a partitioned variable) contributes.
Entry = collections.namedtuple("Entry", "key value full_shape var_offset var_name")
Entry.__doc__ = """One value to save.

Fields:
  key: the checkpoint name (a partitioned variable's full name for its slices).
  value: the numpy array.
  full_shape, var_offset: where a slice sits in the full variable (None if not a slice).
  var_name: the session-state name of the variable holding the value.
"""


def _h5py():
    import h5py
    return h5py


def _hpcflow_version():
    from .. import __version__
    return __version__


def _root_attrs(f, global_step, rank=None):
    f.attrs[ckpt_format.ATTR_FORMAT_VERSION] = ckpt_format.FORMAT_VERSION
    if rank is not None:
        f.attrs[ckpt_format.ATTR_WRITER_RANK] = np.int64(rank)
    f.attrs[ckpt_format.ATTR_HPCFLOW_VERSION] = _hpcflow_version()
    f.attrs[ckpt_format.ATTR_CHECKSUM_ALGORITHM] = ckpt_format.CHECKSUM_ALGORITHM
    if global_step is not None and global_step >= 0:
        f.attrs[ckpt_format.ATTR_GLOBAL_STEP] = np.int64(global_step)


def _slice_box(full_shape, var_offset, shape, what):
    if len(full_shape) != len(shape) or len(var_offset) != len(shape):
        raise errors.InvalidArgumentError(
            None, None, "Slice of %s: offset %s and shape %s do not fit full shape %s"
            % (what, list(var_offset), list(shape), list(full_shape)))
    for o, n, full in zip(var_offset, shape, full_shape):
        if o < 0 or o + n > full:
            raise errors.InvalidArgumentError(
                None, None, "Slice of %s at offset %s with shape %s lies outside its full shape "
                "%s" % (what, list(var_offset), list(shape), list(full_shape)))
    return tuple(slice(o, o + n) for o, n in zip(var_offset, shape))


def _create_whole(f, path, key, value, value_sum, extra_attrs=None):
    """Writes `value` as dataset `path`; `value_sum` is a Future of its checksum."""
    stored = ckpt_format.storable(value)
    dataset = f.create_dataset(path, data=stored, dtype=ckpt_format.h5_dtype(stored.dtype))
    dataset.attrs[ckpt_format.ATTR_NAME] = key
    dataset.attrs[ckpt_format.ATTR_CHECKSUM] = value_sum.result()
    for name, attr in (extra_attrs or {}).items():
        dataset.attrs[name] = attr
    return dataset


def _checksums(entries):
    """{id(entry): Future of its checksum}, computed beside the writes (see format.py)."""
    return {id(entry): ckpt_format.checksum_in_background(entry.value) for entry in entries}


def _group_by_key(entries, what):
    by_key = collections.OrderedDict()
    for entry in entries:
        by_key.setdefault(entry.key, []).append(entry)
    for key, group in by_key.items():
        whole = [e for e in group if e.full_shape is None]
        if whole and len(group) > 1:
            raise errors.InvalidArgumentError(
                None, None, "%s: %d values are saved under the name %r; a name holds one "
                "variable or the slices of one partitioned variable" % (what, len(group), key))
        shapes = {tuple(e.full_shape) for e in group if e.full_shape is not None}
        if len(shapes) > 1:
            raise errors.InvalidArgumentError(
                None, None, "%s: the slices of %r disagree on the full shape: %s"
                % (what, key, sorted(shapes)))
    return by_key


def write_checkpoint(path, entries, global_step=None, rank=None):
    """Writes a complete checkpoint file at `path` (atomically): one dataset per name.

    Slices of a partitioned variable are written into one dataset of the full shape.

    Args:
      path: the checkpoint prefix (the file to create or replace).
      entries: a list of Entry.
      global_step: the step to record, or None.
      rank: the MPI rank writing the file, recorded for diagnosis (None: not recorded).

    Raises:
      InvalidArgumentError: for conflicting entries or a slice outside its full shape.
    """
    by_key = _group_by_key(entries, "Checkpoint %s" % path)
    paths = ckpt_format.dataset_paths(by_key)
    sums = _checksums(entries)
    with files.atomic_path(path) as temp:
        with files.open_hdf5(temp, "w") as f:
            _root_attrs(f, global_step, rank)
            for key, group in by_key.items():
                if group[0].full_shape is None:
                    _create_whole(f, paths[key], key, group[0].value, sums[id(group[0])])
                    continue
                full_shape = tuple(group[0].full_shape)
                dtype = ckpt_format.storable(group[0].value).dtype
                dataset = f.create_dataset(paths[key], shape=full_shape,
                                           dtype=ckpt_format.h5_dtype(dtype))
                offsets, shapes, slice_sums = [], [], []
                for entry in group:
                    value = np.asarray(entry.value)
                    box = _slice_box(full_shape, entry.var_offset, value.shape,
                                     "%s (variable %s)" % (key, entry.var_name))
                    dataset[box] = ckpt_format.storable(value)
                    offsets.append(list(entry.var_offset))
                    shapes.append(list(value.shape))
                    slice_sums.append(sums[id(entry)].result())
                _set_slice_attrs(dataset, key, offsets, shapes, slice_sums)


def _set_slice_attrs(dataset, key, offsets, shapes, sums):
    ndim = len(dataset.shape)
    dataset.attrs[ckpt_format.ATTR_NAME] = key
    dataset.attrs[ckpt_format.ATTR_SLICE_OFFSETS] = np.array(offsets, np.int64).reshape(-1, ndim)
    dataset.attrs[ckpt_format.ATTR_SLICE_SHAPES] = np.array(shapes, np.int64).reshape(-1, ndim)
    dataset.attrs[ckpt_format.ATTR_SLICE_CHECKSUMS] = np.array(sums, np.uint64).reshape(-1, 2)


def write_shard(path, entries, global_step=None, rank=None):
    """Writes one shard file at `path` (atomically): whole variables and separate slices.

    A slice is stored as its own dataset, named by the variable holding it, with its place
    in the full variable as attributes; the index assembles the full variable.
    """
    stored_names = [e.key if e.full_shape is None else e.var_name for e in entries]
    if len(set(stored_names)) != len(stored_names):
        raise errors.InvalidArgumentError(None, None, "Shard %s: two values share a name: %s"
                                          % (path, sorted(stored_names)))
    paths = ckpt_format.dataset_paths(stored_names)
    sums = _checksums(entries)
    with files.atomic_path(path) as temp:
        with files.open_hdf5(temp, "w") as f:
            _root_attrs(f, global_step, rank)
            for name, entry in zip(stored_names, entries):
                extra = None
                if entry.full_shape is not None:
                    value = np.asarray(entry.value)
                    _slice_box(entry.full_shape, entry.var_offset, value.shape,
                               "%s (variable %s)" % (entry.key, entry.var_name))
                    extra = {ckpt_format.ATTR_FULL_SHAPE: np.array(entry.full_shape, np.int64),
                             ckpt_format.ATTR_VAR_OFFSET: np.array(entry.var_offset, np.int64)}
                _create_whole(f, paths[name], entry.key, entry.value, sums[id(entry)], extra)


def _shard_datasets(h5file):
    """Every dataset of an open shard file, depth first."""
    found = []
    h5file.visititems(lambda name, obj: found.append(obj)
                      if isinstance(obj, _h5py().Dataset) else None)
    return found


def write_index(prefix, shard_paths, global_step=None, token="", rank=None):
    """Writes the index file `prefix` (atomically) over the published `shard_paths`.

    Whole variables become external links to their shard's dataset; partitioned variables
    become virtual datasets of the full shape mapping each slice from its shard.

    Raises:
      DataLossError: if a shard file is missing or unreadable.
      InvalidArgumentError: if shards disagree about a variable.
    """
    h5py = _h5py()
    whole = collections.OrderedDict()   # key -> (shard basename, dataset path)
    sliced = collections.OrderedDict()  # key -> [(basename, path, offset, shape, dtype, sum)]
    full_shapes = {}
    for shard_path in shard_paths:
        base = os.path.basename(shard_path)
        try:
            shard = files.open_hdf5(shard_path, "r")
        except (OSError, FileNotFoundError) as e:
            raise errors.DataLossError(None, None, "Cannot write the index of checkpoint %s: "
                                       "shard %s is missing or unreadable: %s"
                                       % (prefix, shard_path, e)) from None
        with shard:
            for dataset in _shard_datasets(shard):
                key = ckpt_format.name_of_dataset(dataset)
                if ckpt_format.ATTR_FULL_SHAPE in dataset.attrs:
                    full = tuple(int(d) for d in dataset.attrs[ckpt_format.ATTR_FULL_SHAPE])
                    if full_shapes.setdefault(key, full) != full:
                        raise errors.InvalidArgumentError(
                            None, None, "Shards of checkpoint %s disagree on the full shape of "
                            "%s: %s vs %s" % (prefix, key, full_shapes[key], full))
                    offset = [int(d) for d in dataset.attrs[ckpt_format.ATTR_VAR_OFFSET]]
                    sliced.setdefault(key, []).append(
                        (base, dataset.name, offset, dataset.shape, dataset.dtype,
                         np.asarray(dataset.attrs[ckpt_format.ATTR_CHECKSUM])))
                else:
                    if key in whole:
                        raise errors.InvalidArgumentError(
                            None, None, "Variable %s is saved in two shards of checkpoint %s "
                            "(%s and %s)" % (key, prefix, whole[key][0], base))
                    whole[key] = (base, dataset.name)
    clash = set(whole) & set(sliced)
    if clash:
        raise errors.InvalidArgumentError(None, None, "Checkpoint %s: %s saved both whole and as "
                                          "slices" % (prefix, sorted(clash)))
    paths = ckpt_format.dataset_paths(list(whole) + list(sliced))
    with files.atomic_path(prefix) as temp:
        with files.open_hdf5(temp, "w") as f:
            _root_attrs(f, global_step, rank)
            f.attrs[ckpt_format.ATTR_NUM_SHARDS] = len(shard_paths)
            f.attrs[ckpt_format.ATTR_SHARD_TOKEN] = token
            for key, (base, target) in whole.items():
                f[paths[key]] = h5py.ExternalLink(base, target)
            for key, pieces in sliced.items():
                layout = h5py.VirtualLayout(shape=full_shapes[key], dtype=pieces[0][4])
                for base, target, offset, shape, _, _ in pieces:
                    box = tuple(slice(o, o + n) for o, n in zip(offset, shape))
                    layout[box] = h5py.VirtualSource(base, target, shape=shape)
                dataset = f.create_virtual_dataset(paths[key], layout)
                _set_slice_attrs(dataset, key, [p[2] for p in pieces],
                                 [list(p[3]) for p in pieces], [p[5] for p in pieces])
