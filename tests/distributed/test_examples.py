"""The ridge-regression example: gradient descent reaches the closed form, in one process
and data parallel (the digits examples: test_digits_examples.py)."""
import os
import re
import subprocess
import sys

import pytest

import mpi_harness as harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script, ranks, *args):
    path = os.path.join(ROOT, "scripts", script)
    if ranks == 1:
        command = [sys.executable, path, *args]
    else:
        command = [harness.mpiexec(), "-n", str(ranks), sys.executable, "-m", "hpcflow", path,
                   *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_ridge_regression_gradient_descent_reaches_closed_form():
    out = _run("ridge_regression.py", 1)
    gap = float(re.search(r"max \|difference\| = (\S+)", out).group(1))
    assert gap < 1e-4, out


@pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")
@pytest.mark.parametrize("ranks", [2, 3])
def test_ridge_regression_data_parallel_matches(ranks):
    one = _run("ridge_regression.py", 1)
    many = _run("ridge_regression.py", ranks)
    pick = lambda text: re.findall(r"w: \[([^\]]*)\]", text)  # noqa: E731
    assert pick(one) == pick(many), (one, many)
