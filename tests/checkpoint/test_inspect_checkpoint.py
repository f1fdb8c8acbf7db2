"""scripts/inspect_checkpoint.py lists variables, shapes, dtypes and the step."""
import os
import subprocess
import sys

import numpy as np

from hpcflow.checkpoint import state_file, writer

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "inspect_checkpoint.py")


def _inspect(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=120)


def test_lists_the_latest_checkpoint_of_a_directory(tmp_path):
    path = str(tmp_path / "model.ckpt-12")
    writer.write_checkpoint(path, [
        writer.Entry("layer1/weights", np.ones((3, 4), np.float32), None, None, "w"),
        writer.Entry("global_step", np.array(12, np.int64), None, None, "global_step")], 12)
    state_file.update_checkpoint_state(str(tmp_path), path)
    proc = _inspect(str(tmp_path), "--verify", "--tensor", "global_step")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "checkpoint %s" % path
    assert lines[1] == "global step 12, 2 variables, 1 shard file"
    assert lines[2].split() == ["global_step", "int64", "[]", "/global_step"]
    assert lines[3].split() == ["layer1/weights", "float32", "[3,4]", "/layer1/weights"]
    assert "56 bytes of numeric values" in proc.stdout
    assert "verified: every value matches its checksum" in proc.stdout
    assert "global_step =\n12" in proc.stdout


def test_damaged_or_missing_checkpoint_fails_with_a_message(tmp_path):
    proc = _inspect(str(tmp_path / "nothing"))
    assert proc.returncode == 1 and "Failed to find any matching files" in proc.stderr
    path = str(tmp_path / "ckpt")
    writer.write_checkpoint(path, [writer.Entry("v", np.arange(1000.0), None, None, "v")])
    with open(path, "r+b") as f:
        f.truncate(300)
    proc = _inspect(path)
    assert proc.returncode == 1 and "damaged" in proc.stderr
