"""`tf.test`: numerical gradient checking and other test helpers."""
from .gradient_checker import compute_gradient, compute_gradient_error  # noqa: F401


def is_gpu_available(cuda_only=False, min_cuda_compute_capability=None):
    """True when CuPy can see a GPU (hpcflow's GPU backend is CuPy)."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no cupy, no driver, no device
        return False


def is_built_with_cuda():
    try:
        import cupy  # noqa: F401
        return True
    except ImportError:
        return False
