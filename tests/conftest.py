"""Test-wide settings: kernel output checking on, a fresh default graph for every test."""
import os

os.environ.setdefault("HPCFLOW_CHECK_KERNELS", "1")

import pytest  # noqa: E402

import hpcflow as tf  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_default_graph():
    tf.reset_default_graph()
    yield
