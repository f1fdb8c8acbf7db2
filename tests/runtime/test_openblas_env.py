"""hpcflow/_openblas_env.py: OpenBLAS's idle-thread spin is shortened before numpy loads it.

Each case runs a fresh interpreter: the setting only works, and is only made, before the
first `import numpy` of a process.
"""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Prints what hpcflow decided, the variable, and what OpenBLAS itself read (its exported
# openblas_thread_timeout(), when the loaded OpenBLAS has that symbol).
PROBE = r"""
import ctypes, os, sys
{imports}
import numpy
from hpcflow import _openblas_env
read = "unknown"
try:
    import threadpoolctl
    for info in threadpoolctl.threadpool_info():
        if info.get("internal_api") == "openblas":
            read = ctypes.CDLL(info["filepath"]).openblas_thread_timeout()
except (ImportError, AttributeError, OSError):
    pass
print(_openblas_env.applied())
print(os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
print(read)
"""


def _probe(imports, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    env.update(env_changes)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_import_hpcflow_first_sets_the_timeout_before_openblas_loads():
    from hpcflow import _openblas_env
    state, value, read = _probe("import hpcflow")
    assert state.startswith("set by hpcflow")
    assert value == str(_openblas_env.TIMEOUT_LOG2_CYCLES)
    if read != "unknown":
        assert int(read) == _openblas_env.TIMEOUT_LOG2_CYCLES


def test_numpy_first_leaves_it_and_says_how_to_fix_it():
    state, value, _ = _probe("import numpy\nimport hpcflow")
    assert state.startswith("not set: numpy was imported before hpcflow")
    assert "OPENBLAS_THREAD_TIMEOUT" in state
    assert value == "None"


@pytest.mark.parametrize("name", ["OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT"])
def test_a_users_setting_wins(name):
    state, value, _ = _probe("import hpcflow", **{name: "25"})
    assert state == "set by the user (%s=25)" % name
    assert value == ("25" if name == "OPENBLAS_THREAD_TIMEOUT" else "None")


def test_the_launcher_imports_hpcflow_before_the_script(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import numpy\nfrom hpcflow import _openblas_env\n"
                      "print(_openblas_env.applied())\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-m", "hpcflow", str(script)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("set by hpcflow")
