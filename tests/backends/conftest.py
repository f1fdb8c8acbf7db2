"""Fixtures shared by the Cython kernel tests."""
import pytest


@pytest.fixture
def compiled_only(monkeypatch):
    """`compiled_only(op_type)` makes that Cython kernel's fallback to numpy raise, so a
    passing case is known to have run the compiled code."""
    from hpcflow.backends import cython_backend

    def forbid(op_type):
        def fallback(*args, **kwargs):
            raise AssertionError("%s fell back to the numpy kernel" % op_type)
        monkeypatch.setitem(cython_backend._NUMPY, op_type, fallback)
    return forbid
