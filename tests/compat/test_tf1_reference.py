"""TF1 programs run under hpcflow and compared with results recorded from real TensorFlow.

The expected values in expected/*.npz were produced by running the same programs under
TensorFlow (see regenerate.py); no test here imports TensorFlow.
"""
import glob
import os
import runpy

import numpy as np
import pytest

import hpcflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = sorted(glob.glob(os.path.join(HERE, "programs", "*.py")))


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: os.path.basename(p)[:-3])
def test_matches_tensorflow(path):
    expected_path = os.path.join(HERE, "expected", os.path.basename(path)[:-3] + ".npz")
    with np.load(expected_path, allow_pickle=False) as data:
        expected = {k: data[k] for k in data.files}
    got = {k: np.asarray(v) for k, v in runpy.run_path(path)["program"](tf).items()}
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        have = got[key]
        assert have.shape == want.shape and have.dtype.kind == want.dtype.kind, key
        if want.dtype.kind in "USb":
            np.testing.assert_array_equal(have, want, err_msg=key)
        else:
            # float32 training loops: TF (oneDNN) sums in other orders, so allow float32 rounding.
            np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-5, err_msg=key)
