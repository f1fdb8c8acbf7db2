"""The op test suites pass with every op on the stand-in GPU, and every array-module name
the GPU kernels use exists in CuPy; the GPU table covers every registered op type."""
import importlib
import os
import subprocess
import sys

import pytest

from hpcflow.backends import cupy_backend
from hpcflow.framework import registry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Modules registering ops (everything an MPI rank may be asked to run).
OP_MODULES = ("hpcflow", "hpcflow.checkpoint.ops", "hpcflow.summary.summary_ops",
              "hpcflow.data.hdf5_reader", "hpcflow.runtime.rewrites",
              "hpcflow.distributed.dp_ops", "hpcflow.ops.collective_ops")

# Tests of the suites that read the session's variable storage directly (a device array on
# the GPU) rather than through a fetch.
INTERNALS = ("not test_assign_add_is_in_place_and_assign_stores_a_copy",)

# Names the kernels may use on the host side only (dtype machinery), not CuPy functions.
HOST_ONLY_NAMES = {"errstate"}


def _import_op_modules():
    for name in OP_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional module (h5py missing): its ops are not registered
            pass


def test_gpu_table_covers_every_registered_op():
    _import_op_modules()
    table = cupy_backend.gpu_table()
    records = registry.all_records()
    missing = sorted(set(records) - set(table) - set(cupy_backend.HOST_ONLY))
    assert not missing, "ops with neither a GPU kernel nor a HOST_ONLY reason: %s" % missing
    assert not set(table) & set(cupy_backend.HOST_ONLY)
    assert all(reason for reason in cupy_backend.HOST_ONLY.values())
    kinds = {spec.kind for spec in table.values()}
    assert kinds <= {"xp", "adapted", "metadata", "host"}
    for op_type in ("MatMul", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
                    "MaxPool", "MaxPoolGrad", "AvgPool", "AvgPoolGrad", "_FusedElementwise",
                    "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits",
                    "UnsortedSegmentSum", "ApplyAdam", "VariableV2", "Assign", "_Send", "_Recv"):
        assert op_type in table, op_type
    assert "GPU kernels:" in cupy_backend.describe()


def test_op_suites_pass_on_the_stand_in_gpu(tmp_path):
    names_file = tmp_path / "names.txt"
    env = dict(os.environ, HPCFLOW_FAKE_GPU="1", HPCFLOW_DEFAULT_DEVICE="gpu",
               HPCFLOW_CHECK_KERNELS="1", HPCFLOW_FAKE_GPU_NAMES_OUT=str(names_file))
    suites = ["tests/ops/test_nn_ops.py", "tests/ops/test_array_ops.py",
              "tests/ops/test_math_ops.py", "tests/ops/test_variables.py",
              "tests/ops/test_linalg_ops.py", "tests/train/test_optimizers.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p",
         "tests.backends.fake_gpu_plugin", "-k", " and ".join(INTERNALS)] + suites,
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    names = set(names_file.read_text().split())
    assert {"matmul", "maximum", "exp"} <= names
    cupy = pytest.importorskip("cupy")
    missing = []
    for name in sorted(names - HOST_ONLY_NAMES):
        target = cupy
        for part in name.split("."):
            target = getattr(target, part, None)
            if target is None:
                missing.append(name)
                break
    assert not missing, "array-module names the GPU kernels use that CuPy lacks: %s" % missing


def test_gpu_benchmark_runs_on_the_stand_in():
    env = dict(os.environ, HPCFLOW_FAKE_GPU="1")
    env.pop("HPCFLOW_CHECK_KERNELS", None)
    proc = subprocess.run([sys.executable, "scripts/bench_gpu.py", "--steps", "1",
                           "--mlp-batch", "8", "--cnn-batch", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "STAND-IN" in proc.stdout and "LeNet-like CNN" in proc.stdout
