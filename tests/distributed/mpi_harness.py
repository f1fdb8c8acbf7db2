"""Runs test scripts in one process and under real `mpiexec -n N python -m hpcflow`.

Each script saves its results with `save_results(**arrays)` (rank 0 only); tests compare the
N-rank results with the one-process results of the same script.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
RANK_COUNTS = (2, 3, 4)
TIMEOUT = 240


def mpiexec():
    """The mpiexec next to this Python (the PyPI MPICH wheel's), else the one on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return candidate if os.path.exists(candidate) else shutil.which("mpiexec")


def run(script, ranks=1, args=(), env=None, timeout=TIMEOUT, launcher_args=()):
    """Runs scripts/<script>; returns (returncode, stdout, stderr, results dict or None)."""
    path = os.path.join(SCRIPTS, script)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.npz")
        environment = dict(os.environ, HPCFLOW_RESULT=out, PYTHONUNBUFFERED="1")
        environment.pop("HPCFLOW_CHECK_KERNELS", None)
        environment.update(env or {})
        if ranks == 1:
            command = [sys.executable, path, *args]
        else:
            command = [mpiexec(), "-n", str(ranks), sys.executable, "-m", "hpcflow",
                       *launcher_args, path, *args]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=environment, cwd=tmp)
        results = None
        if os.path.exists(out):
            with np.load(out, allow_pickle=False) as data:
                results = {k: data[k] for k in data.files}
        return proc.returncode, proc.stdout, proc.stderr, results


def assert_same_results(reference, got, rtol=1e-5, atol=1e-6, context=""):
    """Asserts equal keys, dtypes, shapes and values; keys starting "info_" may differ."""
    assert got is not None, "no results written %s" % context
    assert sorted(reference) == sorted(got), context
    for key in reference:
        if key.startswith("info_"):
            continue
        a, b = reference[key], got[key]
        assert a.shape == b.shape and a.dtype == b.dtype, "%s %s: %s%s vs %s%s" % (
            context, key, a.dtype, a.shape, b.dtype, b.shape)
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, err_msg="%s %s" % (context, key))
