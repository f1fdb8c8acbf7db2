"""Runs an hpcflow script with device copy insertion in every rank's plans (tests only).

    python gpu_launch.py SCRIPT                          # one process
    mpiexec -n N python gpu_launch.py --mpi SCRIPT       # as `python -m hpcflow SCRIPT`

Until runtime/executor.py calls devices.copy_insertion itself, ranks other than 0 (which
never run the script) need the hook installed before the hpcflow launcher starts.
"""
import os
import runpy
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
sys.path.insert(0, ROOT)

from tests.backends import gpu_plan  # noqa: E402

gpu_plan.install()
if sys.argv[1] == "--mpi":
    sys.argv = ["hpcflow"] + sys.argv[2:]
    runpy.run_module("hpcflow", run_name="__main__", alter_sys=True)
else:
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
