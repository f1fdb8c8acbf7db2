"""Runs device copy insertion in every Plan compile, as runtime/executor.py will (tests only).

The lead wires `devices.copy_insertion.insert_device_copies(ir, ...)` into Plan.__init__
right after `rewrites.rewrite(...)` and before `ir.order()`. Until then, `install` wraps
`rewrites.rewrite` (which every Plan calls: local sessions, function graphs, MPI
partitions, data-parallel steps) so that it runs the copy insertion last.
"""
from hpcflow.devices import copy_insertion
from hpcflow.runtime import rewrites


def _already_wired():
    import inspect
    from hpcflow.runtime import executor
    return "insert_device_copies" in inspect.getsource(executor.Plan.__init__)


# The GraphIRs compiled since install (newest last), for tests to inspect placement.
COMPILED = []


def rewrite_with_device_copies(original):
    def rewrite(ir, passes, preference=None):
        stats = original(ir, passes, preference)
        stats["device_copies"] = copy_insertion.insert_device_copies(
            ir, rewrites.RewriteContext(preference))
        COMPILED.append(ir)
        del COMPILED[:-50]
        return stats
    rewrite.__wrapped__ = original
    return rewrite


def install(monkeypatch=None):
    """Makes every Plan compiled from now on insert device copies (no-op once wired in)."""
    if _already_wired() or hasattr(rewrites.rewrite, "__wrapped__"):
        return
    patched = rewrite_with_device_copies(rewrites.rewrite)
    if monkeypatch is not None:
        monkeypatch.setattr(rewrites, "rewrite", patched)
    else:
        rewrites.rewrite = patched
