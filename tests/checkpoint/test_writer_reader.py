"""Writing and reading checkpoint files: round trips, slices, shards, damage, atomicity."""
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from hpcflow.checkpoint import files, reader, writer
from hpcflow.checkpoint import format as ckpt_format
from hpcflow.framework import errors

Entry = writer.Entry

VALUES = {
    "f16": np.arange(6, dtype=np.float16).reshape(2, 3),
    "f32": np.random.RandomState(0).randn(4, 5).astype(np.float32),
    "f64": np.random.RandomState(1).randn(3).astype(np.float64),
    "i8": np.array([-3, 4], np.int8),
    "i32": np.arange(7, dtype=np.int32),
    "i64": np.array(2**40, np.int64),
    "u16": np.array([1, 65535], np.uint16),
    "bool": np.array([[True, False]]),
    "c64": np.array([1 + 2j, 3 - 1j], np.complex64),
    "c128": np.array([0.5j], np.complex128),
    "str": np.array([b"hello", b"", b"w\xc3\xb6rld"], dtype=object),
    "scalar": np.float32(2.5),
    "empty": np.zeros((0, 4), np.float32),
    "nested/deeper/value": np.ones((2, 2), np.float64),
}


def _whole(values):
    return [Entry(k, v, None, None, k) for k, v in values.items()]


def test_round_trip_of_every_dtype(tmp_path):
    path = str(tmp_path / "model.ckpt-3")
    writer.write_checkpoint(path, _whole(VALUES), global_step=3)
    with reader.CheckpointReader(path) as r:
        assert r.global_step == 3 and r.num_shards == 1
        shapes = r.get_variable_to_shape_map()
        types = r.get_variable_to_dtype_map()
        for key, value in VALUES.items():
            value = np.asarray(value)
            got = r.get_tensor(key)
            assert shapes[key] == list(value.shape)
            if key == "str":
                assert types[key].name == "string"
                assert list(got) == list(value)
            else:
                assert got.dtype == value.dtype and types[key].name == value.dtype.name
                np.testing.assert_array_equal(got, value)


def test_plain_h5py_reads_one_dataset_per_variable(tmp_path):
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"layer1/weights": VALUES["f32"],
                                          "global_step": np.array(9, np.int64)}), 9)
    with h5py.File(path, "r") as f:
        assert isinstance(f["layer1"], h5py.Group)
        np.testing.assert_array_equal(f["layer1/weights"][...], VALUES["f32"])
        assert f["global_step"][()] == 9
        assert f.attrs["global_step"] == 9
        assert f.attrs["hpcflow_format_version"] == ckpt_format.FORMAT_VERSION
        assert "hpcflow_version" in f.attrs
        assert f["layer1/weights"].attrs["hpcflow_name"] == "layer1/weights"


def test_names_that_are_groups_too(tmp_path):
    path = str(tmp_path / "ckpt")
    values = {"w": np.ones(2, np.float32), "w/Adam": np.zeros(2, np.float32)}
    writer.write_checkpoint(path, _whole(values))
    with h5py.File(path, "r") as f:
        assert set(f) == {"w", "w:0"}
    with reader.CheckpointReader(path) as r:
        assert sorted(r.get_variable_to_shape_map()) == ["w", "w/Adam"]
        assert r.dataset_path("w") == "/w:0"
        np.testing.assert_array_equal(r.get_tensor("w"), values["w"])


def _slices(key, full, parts, axis=0):
    """Entries of `full` cut into `parts` slices along `axis`."""
    entries, offset = [], 0
    for i, piece in enumerate(np.array_split(full, parts, axis=axis)):
        var_offset = [0] * full.ndim
        var_offset[axis] = offset
        entries.append(Entry(key, piece, list(full.shape), var_offset, "%s/part_%d" % (key, i)))
        offset += piece.shape[axis]
    return entries


@pytest.mark.parametrize("axis", [0, 1])
def test_partitioned_variable_is_one_full_dataset_readable_in_any_slicing(tmp_path, axis):
    full = np.arange(7 * 6, dtype=np.float32).reshape(7, 6)
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _slices("emb", full, 3, axis))
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["emb"][...], full)
    with reader.CheckpointReader(path) as r:
        np.testing.assert_array_equal(r.get_tensor("emb"), full)
        for parts in (1, 2, 4, 7 if axis == 0 else 6):
            offset = 0
            for piece in np.array_split(full, parts, axis=axis):
                start = [0, 0]
                start[axis] = offset
                np.testing.assert_array_equal(r.read("emb", start, piece.shape), piece)
                offset += piece.shape[axis]


def test_unpartitioned_variable_read_as_slices(tmp_path):
    full = np.arange(10, dtype=np.int64).reshape(5, 2)
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"v": full}))
    with reader.CheckpointReader(path) as r:
        np.testing.assert_array_equal(r.read("v", [2, 0], [3, 2]), full[2:])
        with pytest.raises(errors.InvalidArgumentError, match="outside|shape in checkpoint"):
            r.read("v", [4, 0], [3, 2])


def test_slices_that_were_not_all_saved(tmp_path):
    full = np.arange(8, dtype=np.float32)
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _slices("emb", full, 4)[:3])  # the last slice is missing
    with reader.CheckpointReader(path) as r:
        np.testing.assert_array_equal(r.read("emb", [0], [6]), full[:6])
        with pytest.raises(errors.DataLossError, match="does not hold all of variable emb"):
            r.read("emb")


def test_conflicting_entries_are_refused(tmp_path):
    path = str(tmp_path / "ckpt")
    with pytest.raises(errors.InvalidArgumentError, match="under the name 'v'"):
        writer.write_checkpoint(path, [Entry("v", np.ones(2), None, None, "a"),
                                       Entry("v", np.ones(2), None, None, "b")])
    with pytest.raises(errors.InvalidArgumentError, match="outside its full shape"):
        writer.write_checkpoint(path, [Entry("v", np.ones(3), [4], [2], "v/part_1")])
    assert not os.path.exists(path) and not os.path.exists(path + ".tmp")


def _write_sharded(tmp_path, token="tok"):
    prefix = str(tmp_path / "model.ckpt-5")
    full = np.arange(12, dtype=np.float32).reshape(6, 2)
    pieces = _slices("emb", full, 2)
    shard0 = [Entry("w", VALUES["f32"], None, None, "w"), pieces[0]]
    shard1 = [Entry("global_step", np.array(5, np.int64), None, None, "global_step"), pieces[1]]
    paths = [ckpt_format.shard_filename(prefix, i, 2, token) for i in range(2)]
    writer.write_shard(paths[0], shard0, 5, rank=0)
    writer.write_shard(paths[1], shard1, 5, rank=1)
    writer.write_index(prefix, paths, 5, token, rank=0)
    return prefix, full, paths


def test_sharded_checkpoint_reads_as_one(tmp_path):
    prefix, full, paths = _write_sharded(tmp_path)
    with h5py.File(prefix, "r") as f:  # plain h5py: links and a virtual dataset
        np.testing.assert_array_equal(f["w"][...], VALUES["f32"])
        np.testing.assert_array_equal(f["emb"][...], full)
        assert f["global_step"][()] == 5
        assert f.attrs["num_shards"] == 2
    with h5py.File(paths[1], "r") as f:
        assert f.attrs["writer_rank"] == 1
    with reader.CheckpointReader(prefix) as r:
        assert r.num_shards == 2
        assert r.get_variable_to_shape_map() == {"w": [4, 5], "emb": [6, 2], "global_step": []}
        np.testing.assert_array_equal(r.read("emb", [2, 0], [3, 2]), full[2:5])
        np.testing.assert_array_equal(r.get_tensor("w"), VALUES["f32"])


def test_sharded_checkpoint_survives_moving_its_directory(tmp_path):
    os.makedirs(tmp_path / "a")
    _, full, _ = _write_sharded(tmp_path / "a")
    os.rename(tmp_path / "a", tmp_path / "b")
    with reader.CheckpointReader(str(tmp_path / "b" / "model.ckpt-5")) as r:
        np.testing.assert_array_equal(r.get_tensor("emb"), full)


@pytest.mark.parametrize("missing", [0, 1])
def test_missing_shard_is_data_loss(tmp_path, missing):
    prefix, _, paths = _write_sharded(tmp_path)
    os.remove(paths[missing])
    with pytest.raises(errors.DataLossError, match="shard file .* is missing"):
        reader.CheckpointReader(prefix)


def test_index_of_missing_shard_is_refused(tmp_path):
    prefix = str(tmp_path / "ckpt")
    with pytest.raises(errors.DataLossError, match="missing or unreadable"):
        writer.write_index(prefix, [prefix + ".data-00000-of-00001.x"])
    assert not os.path.exists(prefix)


def _data_offset(path, dataset_path):
    with h5py.File(path, "r") as f:
        return f[dataset_path].id.get_offset()


def _flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_flipped_byte_in_data_is_data_loss_naming_the_variable(tmp_path):
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"a": VALUES["f32"], "b": VALUES["f64"]}))
    _flip(path, _data_offset(path, "b") + 3)
    with reader.CheckpointReader(path) as r:
        np.testing.assert_array_equal(r.get_tensor("a"), VALUES["f32"])
        with pytest.raises(errors.DataLossError, match="checksum mismatch in variable b"):
            r.get_tensor("b")


def test_flipped_byte_in_a_slice_is_found_by_slice_reads(tmp_path):
    full = np.arange(100, dtype=np.float64)
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _slices("emb", full, 4))
    _flip(path, _data_offset(path, "emb") + 8 * 80)  # inside the last slice
    with reader.CheckpointReader(path) as r:
        np.testing.assert_array_equal(r.read("emb", [0], [50]), full[:50])
        with pytest.raises(errors.DataLossError, match=r"emb \(slice at offset \[75\]\)"):
            r.read("emb", [60], [40])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_file_is_data_loss(tmp_path, damage):
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"a": np.ones(10000, np.float32)}))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if damage == "truncate":
            f.truncate(size // 2)
        elif damage == "garbage":
            f.write(os.urandom(512))
        else:
            f.truncate(0)
    with pytest.raises(errors.DataLossError, match="damaged"):
        with reader.CheckpointReader(path) as r:
            r.get_tensor("a")


def test_foreign_hdf5_file_is_not_a_checkpoint(tmp_path):
    path = str(tmp_path / "other.h5")
    with h5py.File(path, "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(errors.DataLossError, match="not an hpcflow checkpoint"):
        reader.CheckpointReader(path)


def test_newer_format_is_refused(tmp_path):
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"a": np.ones(1)}))
    with h5py.File(path, "r+") as f:
        f.attrs["hpcflow_format_version"] = ckpt_format.FORMAT_VERSION + 1
    with pytest.raises(errors.UnimplementedError, match="upgrade hpcflow"):
        reader.CheckpointReader(path)


def test_missing_checkpoint_and_variable_are_not_found(tmp_path):
    with pytest.raises(errors.NotFoundError):
        reader.CheckpointReader(str(tmp_path / "nothing"))
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"a": np.ones(1)}))
    with reader.CheckpointReader(path) as r:
        with pytest.raises(errors.NotFoundError, match="Key b not found in checkpoint"):
            r.get_tensor("b")


def test_tf_style_module_functions(tmp_path):
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"b": np.ones(2), "a/x": np.zeros((1, 3))}))
    assert reader.list_variables(path) == [("a/x", [1, 3]), ("b", [2])]
    np.testing.assert_array_equal(reader.load_variable(path, "b:0"), np.ones(2))
    assert reader.NewCheckpointReader(path).has_tensor("a/x")
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        reader.load_checkpoint(str(tmp_path))


def test_stale_shards_are_removed_but_not_the_current_ones(tmp_path):
    prefix, _, old = _write_sharded(tmp_path, token="old")
    _, _, new = _write_sharded(tmp_path, token="new")
    open(new[0] + ".tmp", "w").close()
    files.remove_stale_shards(prefix, "new")
    assert all(not os.path.exists(p) for p in old) and all(os.path.exists(p) for p in new)
    assert not os.path.exists(new[0] + ".tmp")
    files.remove_checkpoint(prefix)
    assert files.checkpoint_files(prefix) == []


# -- atomicity: a writer killed mid-write -------------------------------------------------------

_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from hpcflow.checkpoint import format as ckpt_format, writer
    path, mode = sys.argv[1], sys.argv[2]
    entries = [writer.Entry("v%03d" % i, np.full(1000, 2.0), None, None, "v%03d" % i)
               for i in range(100)]
    if mode == "first":
        entries = [e._replace(value=np.full(1000, 1.0)) for e in entries]
    else:
        # Stop halfway through the datasets, with the temporary file open, and wait there.
        storable, count = ckpt_format.storable, [0]
        def slow(value):
            count[0] += 1
            if count[0] == 50:
                print("halfway", flush=True)
                time.sleep(60)
            return storable(value)
        ckpt_format.storable = slow
    writer.write_checkpoint(path, entries, global_step=1 if mode == "first" else 2)
    print("done", flush=True)
""")


def test_writer_killed_mid_write_leaves_the_previous_file(tmp_path):
    path = str(tmp_path / "model.ckpt")
    script = str(tmp_path / "writer.py")
    with open(script, "w") as f:
        f.write(_KILLED_WRITER)
    first = subprocess.run([sys.executable, script, path, "first"], capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    before = open(path, "rb").read()
    proc = subprocess.Popen([sys.executable, script, path, "second"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "halfway"
        assert os.path.exists(path + ".tmp")  # the new file is being written beside it
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert open(path, "rb").read() == before
    with reader.CheckpointReader(path) as r:
        assert r.global_step == 1
        np.testing.assert_array_equal(r.get_tensor("v099"), np.full(1000, 1.0))
    # The next writer replaces the stale temporary file.
    writer.write_checkpoint(path, _whole({"a": np.ones(1)}), global_step=3)
    assert not os.path.exists(path + ".tmp")
    assert reader.CheckpointReader(path).global_step == 3


def test_read_many_verifies_everything_it_returns(tmp_path):
    full = np.arange(12, dtype=np.float64).reshape(6, 2)
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, _whole({"a": VALUES["f32"], "b": VALUES["f64"]}) +
                            _slices("emb", full, 3))
    with reader.CheckpointReader(path) as r:
        got = r.read_many([("a", None, None), ("emb", [2, 0], [2, 2]), ("emb", [1, 0], [4, 2]),
                           ("b", None, None)])
    np.testing.assert_array_equal(got[0], VALUES["f32"])
    np.testing.assert_array_equal(got[1], full[2:4])  # a stored slice, verified in the helper
    np.testing.assert_array_equal(got[2], full[1:5])  # assembled from three slices
    np.testing.assert_array_equal(got[3], VALUES["f64"])
    _flip(path, _data_offset(path, "a") + 1)
    with reader.CheckpointReader(path) as r:
        with pytest.raises(errors.DataLossError, match="checksum mismatch in variable a"):
            r.read_many([("a", None, None), ("b", None, None)])
        with pytest.raises(errors.NotFoundError):
            r.read_many([("b", None, None), ("missing", None, None)])
