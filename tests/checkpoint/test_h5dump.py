"""Checkpoints are plain HDF5: the HDF5 command line tools read them (if installed)."""
import shutil
import subprocess

import numpy as np
import pytest

from hpcflow.checkpoint import format as ckpt_format
from hpcflow.checkpoint import writer

pytestmark = pytest.mark.skipif(shutil.which("h5dump") is None,
                                reason="h5dump not installed (Debian: apt-get install hdf5-tools)")


def test_h5dump_reads_a_whole_checkpoint(tmp_path):
    path = str(tmp_path / "model.ckpt-4")
    writer.write_checkpoint(path, [
        writer.Entry("layer1/weights", np.array([[1.5, -2.0]], np.float32), None, None, "w"),
        writer.Entry("global_step", np.array(4, np.int64), None, None, "global_step")], 4)
    out = subprocess.run(["h5dump", "-d", "/layer1/weights", path], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "H5T_IEEE_F32LE" in out.stdout and "1.5, -2" in out.stdout
    header = subprocess.run(["h5dump", "-A", path], capture_output=True, text=True, timeout=60)
    assert 'ATTRIBUTE "global_step"' in header.stdout
    assert 'ATTRIBUTE "hpcflow_format_version"' in header.stdout


def test_h5dump_follows_the_index_of_a_sharded_checkpoint(tmp_path):
    prefix = str(tmp_path / "model.ckpt-5")
    full = np.arange(6, dtype=np.int32)
    shards = [ckpt_format.shard_filename(prefix, i, 2, "t") for i in range(2)]
    writer.write_shard(shards[0], [writer.Entry("emb", full[:4], [6], [0], "emb/part_0")], 5)
    writer.write_shard(shards[1], [writer.Entry("emb", full[4:], [6], [4], "emb/part_1"),
                                   writer.Entry("b", np.array([7.25]), None, None, "b")], 5)
    writer.write_index(prefix, shards, 5, "t")
    out = subprocess.run(["h5dump", "-d", "/emb", prefix], capture_output=True, text=True,
                         timeout=60, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "0, 1, 2, 3, 4, 5" in out.stdout
    linked = subprocess.run(["h5dump", prefix], capture_output=True, text=True, timeout=60,
                            cwd=str(tmp_path))
    assert 'EXTERNAL_LINK "b"' in linked.stdout and "7.25" in linked.stdout
