"""pytest plugin: run a test suite with every op on the stand-in GPU.

    HPCFLOW_FAKE_GPU=1 HPCFLOW_DEFAULT_DEVICE=gpu \
        python -m pytest -p tests.backends.fake_gpu_plugin tests/ops

puts every op that has a GPU kernel on the stand-in GPU (the copies inserted by
devices/copy_insertion.py move values in and out), so each test of the suite checks the GPU
kernels against its own numpy references and error cases.
"""
import os


def pytest_configure(config):
    os.environ.setdefault("HPCFLOW_FAKE_GPU", "1")
    os.environ.setdefault("HPCFLOW_DEFAULT_DEVICE", "gpu")
    from tests.backends import gpu_plan
    gpu_plan.install()


def pytest_sessionfinish(session, exitstatus):
    # Every array-module name the GPU kernels used, for the check against CuPy's API.
    path = os.environ.get("HPCFLOW_FAKE_GPU_NAMES_OUT")
    if path:
        from hpcflow.devices import fake
        with open(path, "w") as f:
            f.write("\n".join(sorted(fake.ACCESSED_NAMES)))
