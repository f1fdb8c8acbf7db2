"""The HDF5 checkpoint format: file names, dataset paths, attributes and checksums.

A checkpoint is named by its prefix (`/ckpts/model.ckpt-7`, what `Saver.save` returns),
and the prefix itself is an HDF5 file:

* one device group (one process, data parallel, or every variable on one device): the
  prefix file holds one dataset per variable;
* several device groups (a placed MPI job): each group writes a shard file
  `<prefix>.data-<i>-of-<n>.<token>` on its own rank, then rank 0 writes the prefix file
  as an index whose entries are HDF5 external links into the shards (partitioned
  variables: virtual datasets assembled from the shards' slices). Plain h5py reads the
  index as one checkpoint. The token is new for every save, so re-saving a prefix never
  mixes shards of two saves: the index rename switches all of them at once.

Dataset paths are the variables' names without ":0" (`layer1/weights` is group `layer1`,
dataset `weights`). A name that is also a group because other variables live under it
(`w` next to its Adam slot `w/Adam`) is stored as `w:0`, beside group `w`; every dataset
carries its variable's name in attribute `hpcflow_name`, so readers never guess.

Attributes of the root group: `hpcflow_format_version`, `hpcflow_version`,
`checksum_algorithm`, `global_step` (when known), `writer_rank` (the MPI rank that wrote
the file) and, for an index, `num_shards` and `shard_token`.
Attributes of a dataset: `hpcflow_name`, then either `checksum` (of the whole value) or,
for a partitioned variable written slice by slice, `slice_offsets`, `slice_shapes` and
`slice_checksums` (one row per stored slice).

The checksum ("sum64-block") is two uint64 words over the value's bytes read as
little-endian uint64 words (zero-padded): the sum of the per-block sums (blocks of 4096
words, 32 KiB) and the sum of the block sums weighted by block number, both modulo 2**64.
It finds any change confined to one word, random damage with probability 1 - 2**-64, and
swapped or zeroed 32 KiB blocks, at ~10 GB/s in numpy (crc32 runs at ~2 GB/s here, which
would cost a third of the write throughput).
"""
import numpy as np

from ..framework import dtypes

FORMAT_VERSION = 1
CHECKSUM_ALGORITHM = "sum64-block4096"
_BLOCK_WORDS = 4096

ATTR_FORMAT_VERSION = "hpcflow_format_version"
ATTR_HPCFLOW_VERSION = "hpcflow_version"
ATTR_GLOBAL_STEP = "global_step"
ATTR_NUM_SHARDS = "num_shards"
ATTR_SHARD_TOKEN = "shard_token"
ATTR_CHECKSUM_ALGORITHM = "checksum_algorithm"
ATTR_WRITER_RANK = "writer_rank"
ATTR_NAME = "hpcflow_name"
ATTR_CHECKSUM = "checksum"
ATTR_SLICE_OFFSETS = "slice_offsets"
ATTR_SLICE_SHAPES = "slice_shapes"
ATTR_SLICE_CHECKSUMS = "slice_checksums"
# Attributes a shard gives the slices of partitioned variables it holds.
ATTR_FULL_SHAPE = "full_shape"
ATTR_VAR_OFFSET = "var_offset"

TEMP_SUFFIX = ".tmp"


def shard_filename(prefix, shard, num_shards, token):
    """The file of shard `shard` (0-based) of `num_shards` for checkpoint `prefix`."""
    return "%s.data-%05d-of-%05d.%s" % (prefix, shard, num_shards, token)


def shard_glob(prefix):
    """A glob pattern matching every shard file (and temp file) of checkpoint `prefix`."""
    import glob
    return glob.escape(prefix) + ".data-?????-of-?????.*"


def dataset_paths(names):
    """{checkpoint name: dataset path} for the names stored in one file (see module doc).

    Raises:
      ValueError: for an empty name or one with an empty path component.
    """
    names = list(names)
    prefixes = set()
    for name in names:
        parts = name.split("/")
        if not name or any(p == "" for p in parts):
            raise ValueError("Cannot store a variable named %r in a checkpoint: its name has an "
                             "empty path component" % name)
        for i in range(1, len(parts)):
            prefixes.add("/".join(parts[:i]))
    return {name: name + ":0" if name in prefixes else name for name in names}


def name_of_dataset(dataset):
    """The checkpoint name stored with `dataset` (its path without ":0" if unnamed)."""
    name = dataset.attrs.get(ATTR_NAME)
    if name is None:
        name = dataset.name.lstrip("/")
        return name[:-2] if name.endswith(":0") else name
    return name.decode() if isinstance(name, bytes) else str(name)


# -- values <-> HDF5 -----------------------------------------------------------------------------

def is_string_dtype(dtype):
    return np.dtype(dtype).kind in ("O", "S", "U")


def h5_dtype(dtype):
    """The h5py dtype storing values of numpy `dtype` (strings as variable-length bytes)."""
    import h5py
    if is_string_dtype(dtype):
        return h5py.string_dtype(encoding="ascii")
    return np.dtype(dtype)


def storable(array):
    """`array` as h5py writes it: strings as an object array of bytes.

    Raises:
      ValueError: for strings holding NUL bytes (HDF5 strings end at the first NUL).
    """
    array = np.asarray(array)
    if not is_string_dtype(array.dtype):
        return array
    out = np.empty(array.shape, dtype=object)
    for index, item in np.ndenumerate(array):
        data = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        if b"\0" in data:
            raise ValueError("cannot store a string holding NUL bytes in HDF5")
        out[index] = data
    return out


def tf_dtype_name(h5_dataset_dtype):
    """The TF dtype name of values stored with HDF5/numpy dtype `h5_dataset_dtype`."""
    import h5py
    if h5py.check_string_dtype(h5_dataset_dtype) is not None or \
            np.dtype(h5_dataset_dtype).kind in ("O", "S", "U"):
        return "string"
    return dtypes.as_dtype(np.dtype(h5_dataset_dtype)).name


# -- checksums -----------------------------------------------------------------------------------

def _string_bytes(array):
    # Length-prefixed items, so that ["ab", "c"] and ["a", "bc"] differ.
    parts = []
    for item in array.reshape(-1):
        data = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        parts.append(len(data).to_bytes(8, "little"))
        parts.append(data)
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


def checksum(array):
    """The sum64-block checksum of `array`'s value (see the module docstring).

    Returns:
      A uint64 array of two words.
    """
    array = np.asarray(array)
    if is_string_dtype(array.dtype):
        raw = _string_bytes(array)
    else:
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    whole = raw.size // 8
    words = raw[:whole * 8].view("<u8")
    tail = raw[whole * 8:]
    if tail.size:
        padded = np.zeros(8, dtype=np.uint8)
        padded[:tail.size] = tail
        words = np.concatenate([words, padded.view("<u8")])
    full_blocks = words.size // _BLOCK_WORDS
    block_sums = np.add.reduce(words[:full_blocks * _BLOCK_WORDS].reshape(
        full_blocks, _BLOCK_WORDS), axis=1, dtype=np.uint64)
    if words.size > full_blocks * _BLOCK_WORDS:
        rest = np.add.reduce(words[full_blocks * _BLOCK_WORDS:], dtype=np.uint64)
        block_sums = np.concatenate([block_sums, np.array([rest], dtype=np.uint64)])
    weights = np.arange(1, block_sums.size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        total = np.add.reduce(block_sums, dtype=np.uint64)
        weighted = np.add.reduce(block_sums * weights, dtype=np.uint64)
    # A value's size is part of it: [0] and [0, 0] must differ.
    return np.array([total, weighted ^ np.uint64(raw.size)], dtype=np.uint64)


_pool = None


def checksum_in_background(array):
    """A Future of `checksum(array)`, computed by a helper thread.

    numpy's reductions release the GIL, so while h5py reads or writes the next value in the
    calling thread (holding the GIL), this one is checksummed on another core.
    """
    global _pool
    if _pool is None:
        import concurrent.futures
        _pool = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                      thread_name_prefix="hpcflow-checksum")
    return _pool.submit(checksum, array)
