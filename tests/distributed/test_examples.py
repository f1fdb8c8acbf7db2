"""The examples in scripts/ run in one process and under mpiexec with the same results."""
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


@pytest.mark.skipif(harness.mpiexec() is None, reason="no mpiexec found")
def test_digits_trains_to_high_accuracy_on_four_ranks():
    pytest.importorskip("sklearn")
    one = _run("train_digits.py", 1, "--epochs", "8")
    many = _run("train_digits.py", 4, "--epochs", "8")
    accuracy = lambda text: float(re.search(r"test accuracy (\S+)", text).group(1))  # noqa: E731
    assert accuracy(one) > 0.9
    assert abs(accuracy(one) - accuracy(many)) < 1e-6, (one, many)
