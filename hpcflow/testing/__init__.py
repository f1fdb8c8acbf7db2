"""`tf.test`: numerical gradient checking and other test helpers."""
from .gradient_checker import compute_gradient, compute_gradient_error  # noqa: F401


from ..devices import gpu_device_name, is_gpu_available  # noqa: E402,F401


def is_built_with_cuda():
    """True when CuPy (hpcflow's GPU backend) is installed."""
    try:
        import cupy  # noqa: F401
        return True
    except ImportError:
        return False
