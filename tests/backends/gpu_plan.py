"""Records the graph IR of every Plan compiled, for tests to inspect placement and copies.

Plan.__init__ (runtime/executor.py) calls `copy_insertion.insert_device_copies(ir, ...)`
after the rewrites; `install` wraps that function so each compiled IR is kept.
"""
from hpcflow.devices import copy_insertion

# The GraphIRs compiled since install (newest last).
COMPILED = []


def install(monkeypatch=None):
    """Records every Plan compiled from now on (idempotent)."""
    if hasattr(copy_insertion.insert_device_copies, "__wrapped__"):
        return
    original = copy_insertion.insert_device_copies

    def recording(ir, context):
        result = original(ir, context)
        COMPILED.append(ir)
        del COMPILED[:-50]
        return result
    recording.__wrapped__ = original
    if monkeypatch is not None:
        monkeypatch.setattr(copy_insertion, "insert_device_copies", recording)
    else:
        copy_insertion.insert_device_copies = recording
