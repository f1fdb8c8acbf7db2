"""Benchmark: Conv2D and its two gradients by the direct loops against im2col + GEMM.

Run (the OpenBLAS variables are unset for this command only, as NOTES.md explains):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m hpcflow scripts/bench_conv.py
        [--repeats N] [--batch N]

`python -m hpcflow` imports hpcflow before numpy, so OpenBLAS's idle threads do not spin
on the cores the OpenMP loops need (hpcflow/_openblas_env.py). For each layer shape and op,
both paths of the Cython backend run alternately in this process (cython_backend.
DIRECT_CONVOLUTIONS switches between them); the script prints each one's median time, the
ratio direct / im2col (below 1: the direct loops are faster) and the GFLOP/s of each, with
numpy's sgemm on the layer's GEMM shape as the yardstick. Nothing is asserted: the numbers
are what this machine gave in this run.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hpcflow.backends import cython_backend  # noqa: E402
from hpcflow.framework import registry  # noqa: E402

# (name, x shape NHWC, filter shape): the benchmark CNN's layers and two wider ones.
LAYERS = [
    ("conv1 28x28 1->32 5x5", (28, 28, 1), (5, 5, 1, 32)),
    ("conv2 14x14 32->64 5x5", (14, 14, 32), (5, 5, 32, 64)),
    ("28x28 64->128 3x3", (28, 28, 64), (3, 3, 64, 128)),
    ("14x14 256->256 3x3", (14, 14, 256), (3, 3, 256, 256)),
]
ATTRS = dict(strides=[1, 1, 1, 1], padding="SAME", explicit_paddings=[], data_format="NHWC",
             dilations=[1, 1, 1, 1], use_cudnn_on_gpu=True)


def _median_seconds(fn, repeats):
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _alternating(fn, repeats):
    """(direct, im2col) median seconds of fn, the two paths taking turns."""
    direct, im2col = [], []
    for _ in range(3):
        for use_direct, out in ((True, direct), (False, im2col)):
            cython_backend.DIRECT_CONVOLUTIONS = use_direct
            out.append(_median_seconds(fn, repeats))
    cython_backend.DIRECT_CONVOLUTIONS = True
    return statistics.median(direct), statistics.median(im2col)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="samples per round")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args(argv)
    if not cython_backend.available():
        print(cython_backend.describe())
        return 1
    from hpcflow import _openblas_env
    from hpcflow._cy import direct_conv
    print("# %s; %s; numpy %s; loops: %s; OpenBLAS thread spin: %s" % (
        time.strftime("%Y-%m-%d"), platform.platform(), np.__version__, direct_conv.isa(),
        _openblas_env.applied()))
    print("%-24s %-8s %10s %10s %7s %9s %9s %9s" % (
        "layer", "op", "direct", "im2col", "ratio", "GF/s dir", "GF/s i2c", "GF/s gemm"))
    rng = np.random.default_rng(0)
    kernels = {op: registry.get(op).kernels["cython"]
               for op in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")}
    for name, image, filter_shape in LAYERS:
        x = rng.standard_normal((args.batch,) + image).astype(np.float32)
        w = rng.standard_normal(filter_shape).astype(np.float32)
        dy = rng.standard_normal((args.batch,) + image[:2] + filter_shape[3:]).astype(
            np.float32)
        kh, kw, c, o = filter_shape
        rows, patch = x.shape[0] * image[0] * image[1], kh * kw * c
        flops = 2.0 * rows * patch * o
        cols, wm = np.ones((rows, patch), np.float32), np.ones((patch, o), np.float32)
        gemm = _median_seconds(lambda: cols @ wm, args.repeats)
        calls = {
            "fwd": lambda: kernels["Conv2D"](x, w, **ATTRS),
            "dinput": lambda: kernels["Conv2DBackpropInput"](
                np.array(x.shape, np.int32), w, dy, **ATTRS),
            "dfilter": lambda: kernels["Conv2DBackpropFilter"](
                x, np.array(w.shape, np.int32), dy, **ATTRS),
        }
        for op, call in calls.items():
            direct, im2col = _alternating(call, args.repeats)
            print("%-24s %-8s %8.2fms %8.2fms %7.2f %9.0f %9.0f %9.0f" % (
                name, op, direct * 1e3, im2col * 1e3, direct / im2col, flops / direct / 1e9,
                flops / im2col / 1e9, flops / gemm / 1e9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
