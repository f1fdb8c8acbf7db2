"""Shared by the GPU MPI test scripts: where to save results, where ops ran."""
import os

import numpy as np


def save_results(**arrays):
    path = os.environ.get("HPCFLOW_RESULT")
    if path:
        np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
