"""Atomic file replacement and the files that make up one checkpoint on disk.

Every checkpoint file is written to `<final>.tmp`, flushed, fsync'd, renamed over its
final name, and the directory fsync'd: a process killed at any point leaves either the
previous file or the new one, never a partial file under the final name. A stale `.tmp`
left by a killed writer is simply overwritten by the next writer of that name.
"""
import contextlib
import glob
import os

from . import format as ckpt_format


def open_hdf5(path, mode):
    """h5py.File(path, mode) without HDF5's file locking.

    Checkpoint files are only ever read once published (written under a temporary name),
    so locks protect nothing here, and on parallel file systems without flock support
    (some Lustre mounts) taking them fails.
    """
    import h5py
    try:
        return h5py.File(path, mode, locking=False)
    except TypeError:  # h5py < 3.5 has no `locking`: the environment variable does the same
        os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
        return h5py.File(path, mode)


def fsync_path(path):
    """fsyncs the file or directory at `path` (directories: where the OS allows it)."""
    flags = os.O_RDONLY
    if os.path.isdir(path):
        flags |= getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if os.path.isdir(path):  # some systems cannot open directories: nothing to sync
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not os.path.isdir(path):
            raise
    finally:
        os.close(fd)


def publish(temp_path, final_path):
    """fsyncs `temp_path`, renames it to `final_path` and fsyncs the directory."""
    fsync_path(temp_path)
    os.replace(temp_path, final_path)
    fsync_path(os.path.dirname(os.path.abspath(final_path)))


@contextlib.contextmanager
def atomic_path(final_path):
    """Yields a temp path to write; on success publishes it as `final_path`, else removes it.

    Usage:
        with atomic_path("/ckpt/model.ckpt-7") as temp:
            write the whole file at `temp` (and close it)
    """
    temp_path = final_path + ckpt_format.TEMP_SUFFIX
    try:
        yield temp_path
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp_path)
        raise
    publish(temp_path, final_path)


def write_text_atomic(path, text):
    """Replaces the text file `path` with `text` atomically (the `checkpoint` state file)."""
    with atomic_path(path) as temp:
        with open(temp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()


def checkpoint_files(prefix):
    """Every file of checkpoint `prefix`: the prefix file and its shards (those that exist)."""
    files = [prefix] if os.path.exists(prefix) else []
    files.extend(sorted(glob.glob(ckpt_format.shard_glob(prefix))))
    return files


def remove_checkpoint(prefix):
    """Deletes checkpoint `prefix`: the prefix (index) first, so it stops being one at once."""
    for path in checkpoint_files(prefix):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def remove_stale_shards(prefix, keep_token):
    """Deletes shard files of `prefix` written by earlier saves (token other than `keep_token`).

    Called after the index of a new save was published: nothing refers to them any more.
    """
    for path in glob.glob(ckpt_format.shard_glob(prefix)):
        token = path.rsplit(".", 1)[-1]
        if path.endswith(ckpt_format.TEMP_SUFFIX) or token != keep_token:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
