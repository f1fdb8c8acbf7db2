"""Shortens how long OpenBLAS's idle threads spin, before numpy loads OpenBLAS.

After each multi-threaded GEMM, OpenBLAS's worker threads keep spinning for 2^28 CPU
cycles (about 0.1 s) waiting for the next one. The compiled kernels (direct convolutions,
pooling, ...) run on OpenMP threads: while an OpenBLAS thread spins on a core, the OpenMP
thread there gets half of it, and a parallel loop waits for its slowest thread. Measured
on the benchmark CNN (whose dense layer runs GEMMs every step), each direct convolution
took 5.4 ms instead of 2.8 ms. OPENBLAS_THREAD_TIMEOUT=n cuts the spin to 2^n cycles; it
is read once, when OpenBLAS loads, so it must be set before the first `import numpy`.

`import hpcflow` does it first thing, and so does `python -m hpcflow SCRIPT` before the
script runs. A script that imports numpy before hpcflow keeps the long spin (`python -m
hpcflow info` and `applied()` say which); setting the variable in the job script works in
every case. A value the user set is left alone.
"""
import os
import sys

# 2^18 cycles is about 0.1 ms: long enough for the back-to-back GEMMs of a dense layer's
# forward and backward passes to find their threads awake (see the README's benchmark
# section for the measurements behind the value), short enough that a convolution starting
# after the dense layer does not share its cores with spinning threads.
TIMEOUT_LOG2_CYCLES = 18
_VARIABLES = ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")

_state = "not run"


def shorten_openblas_thread_spin():
    """Sets OPENBLAS_THREAD_TIMEOUT unless the user set it or numpy is already loaded."""
    global _state
    if any(os.environ.get(name) for name in _VARIABLES):
        _state = "set by the user (%s)" % ", ".join(
            "%s=%s" % (name, os.environ[name]) for name in _VARIABLES if os.environ.get(name))
    elif "numpy" in sys.modules:
        _state = ("not set: numpy was imported before hpcflow (OpenBLAS threads spin "
                  "~0.1 s after each GEMM; run with python -m hpcflow or set "
                  "OPENBLAS_THREAD_TIMEOUT=%d)" % TIMEOUT_LOG2_CYCLES)
    else:
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(TIMEOUT_LOG2_CYCLES)
        _state = "set by hpcflow (OPENBLAS_THREAD_TIMEOUT=%d)" % TIMEOUT_LOG2_CYCLES
    return _state


def applied():
    """What happened to OpenBLAS's thread spin in this process, as a sentence fragment."""
    return _state
