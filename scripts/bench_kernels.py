"""Benchmark: each Cython kernel against the numpy reference kernel of the same op.

Run (the OpenBLAS variables are unset for this command only, as NOTES.md explains):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/bench_kernels.py [--repeats N]
        [--only SUBSTRING]

Shapes are those of the issue's workloads (LeNet-like CNN at batch 64, the 784-256-256-10
MLP at batch 128) plus an embedding and a large-softmax case. AddV2 and Sum appear as the
CNN's bias add (`conv + b`) and its gradient, which their Cython kernels take, and as the
small calls (the MLP's bias, 4 floats) they hand to numpy: there the ratio is the check's
own cost. GatherV2 is not here: its compiled version measured no faster than numpy
(np.take already copies whole rows) and is not registered. For each case the two kernels
are timed alternately in the same process; the script prints each one's median time per
call and the ratio cython / numpy (below 1 means the Cython kernel is faster), and checks
the two agree. Timings are what this machine gave in this run: nothing is asserted.
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


def _kernel(op_type, backend):
    return registry.get(op_type).kernels[backend]


def _conv_attrs(padding="SAME", strides=(1, 1, 1, 1)):
    return dict(strides=list(strides), padding=padding, explicit_paddings=[],
                data_format="NHWC", dilations=[1, 1, 1, 1], use_cudnn_on_gpu=True)


def _pool_attrs(k=2, s=2, padding="VALID"):
    return dict(ksize=[1, k, k, 1], strides=[1, s, s, 1], padding=padding, data_format="NHWC")


def cases(rng):
    """(name, op type, args, attrs) for each measured call."""
    f32 = np.float32

    def normal(*shape):
        return rng.standard_normal(shape).astype(f32)

    x1, w1 = normal(64, 28, 28, 1), normal(5, 5, 1, 32)
    x2, w2 = normal(64, 14, 14, 32), normal(5, 5, 32, 64)
    y1, y2 = normal(64, 28, 28, 32), normal(64, 14, 14, 64)
    pooled1 = _kernel("MaxPool", "numpy")(y1, **_pool_attrs())
    pooled2 = _kernel("MaxPool", "numpy")(y2, **_pool_attrs())
    shape2 = np.array(x2.shape, np.int32)
    out = [
        ("conv1 fwd 64x28x28x1 * 5x5x1x32", "Conv2D", (x1, w1), _conv_attrs()),
        ("conv2 fwd 64x14x14x32 * 5x5x32x64", "Conv2D", (x2, w2), _conv_attrs()),
        ("conv1 dfilter", "Conv2DBackpropFilter", (x1, np.array(w1.shape, np.int32), y1),
         _conv_attrs()),
        ("conv2 dfilter", "Conv2DBackpropFilter", (x2, np.array(w2.shape, np.int32), y2),
         _conv_attrs()),
        ("conv1 dinput (C=1)", "Conv2DBackpropInput", (np.array(x1.shape, np.int32), w1, y1),
         _conv_attrs()),
        ("conv2 dinput", "Conv2DBackpropInput", (shape2, w2, y2), _conv_attrs()),
        ("conv2 dinput stride 2", "Conv2DBackpropInput",
         (shape2, w2, normal(64, 7, 7, 64)), _conv_attrs(strides=(1, 2, 2, 1))),
        ("maxpool1 64x28x28x32 2x2/2", "MaxPool", (y1,), _pool_attrs()),
        ("maxpool2 64x14x14x64 2x2/2", "MaxPool", (y2,), _pool_attrs()),
        ("maxpool 3x3/2 SAME", "MaxPool", (y1,), _pool_attrs(3, 2, "SAME")),
        ("maxpool 2x2/2 SAME odd 64x27x27x32", "MaxPool", (normal(64, 27, 27, 32),),
         _pool_attrs(2, 2, "SAME")),
        ("maxpool1 grad", "MaxPoolGrad", (y1, pooled1, normal(*pooled1.shape)), _pool_attrs()),
        ("maxpool2 grad", "MaxPoolGrad", (y2, pooled2, normal(*pooled2.shape)), _pool_attrs()),
        ("maxpool grad-grad", "MaxPoolGradGrad", (y1, pooled1, normal(*y1.shape)),
         _pool_attrs()),
        ("relu 64x28x28x32", "Relu", (y1,), {}),
        ("relu grad 64x28x28x32", "ReluGrad", (normal(*y1.shape), y1), {}),
        ("relu grad 64x14x14x64", "ReluGrad", (normal(*y2.shape), y2), {}),
        ("avgpool 2x2/2", "AvgPool", (y1,), _pool_attrs()),
        ("avgpool 3x3/1 SAME", "AvgPool", (x2,), _pool_attrs(3, 1, "SAME")),
        ("avgpool grad 2x2/2", "AvgPoolGrad", (np.array(y1.shape, np.int32),
                                               normal(*pooled1.shape)), _pool_attrs()),
        ("softmax 128x10", "Softmax", (normal(128, 10),), {}),
        ("softmax 1024x1000", "Softmax", (normal(1024, 1000),), {}),
        ("log_softmax 1024x1000", "LogSoftmax", (normal(1024, 1000),), {}),
        ("xent 128x10", "SoftmaxCrossEntropyWithLogits",
         (normal(128, 10), rng.dirichlet(np.ones(10), 128).astype(f32)), {}),
        ("xent 1024x1000", "SoftmaxCrossEntropyWithLogits",
         (normal(1024, 1000), rng.dirichlet(np.ones(1000), 1024).astype(f32)), {}),
        ("sparse xent 128x10", "SparseSoftmaxCrossEntropyWithLogits",
         (normal(128, 10), rng.integers(0, 10, 128)), {}),
        ("sparse xent 1024x1000", "SparseSoftmaxCrossEntropyWithLogits",
         (normal(1024, 1000), rng.integers(0, 1000, 1024)), {}),
        ("segment_sum 2560x64 -> 10000", "UnsortedSegmentSum",
         (normal(2560, 64), rng.integers(0, 10000, 2560), np.int32(10000)), {}),
        ("segment_sum 4096x128 -> 50000", "UnsortedSegmentSum",
         (normal(4096, 128), rng.integers(0, 50000, 4096), np.int32(50000)), {}),
        ("segment_sum 100000 -> 100 (scalars)", "UnsortedSegmentSum",
         (normal(100000), rng.integers(0, 100, 100000), np.int32(100)), {}),
        ("bias_add 128x256", "BiasAdd", (normal(128, 256), normal(256)),
         {"data_format": "NHWC"}),
        ("bias_add 64x28x28x32", "BiasAdd", (y1, normal(32)), {"data_format": "NHWC"}),
        ("bias_add NCHW 64x32x28x28", "BiasAdd", (normal(64, 32, 28, 28), normal(32)),
         {"data_format": "NCHW"}),
        ("add bias 64x28x28x32 + 32", "AddV2", (y1, normal(32)), {}),
        ("add bias 64x14x14x64 + 64", "AddV2", (y2, normal(64)), {}),
        ("add bias 128x256 + 256 (numpy's)", "AddV2", (normal(128, 256), normal(256)), {}),
        ("add 4 floats (numpy's)", "AddV2", (normal(4), normal(4)), {}),
        ("sum bias grad 64x28x28x32", "Sum", (y1, np.array([0, 1, 2], np.int32)),
         {"keep_dims": False}),
        ("sum bias grad 64x14x14x64", "Sum", (y2, np.array([0, 1, 2], np.int32)),
         {"keep_dims": False}),
        ("sum bias grad 128x256 (numpy's)", "Sum", (normal(128, 256), np.array([0], np.int32)),
         {"keep_dims": False}),
        ("sum 4 floats (numpy's)", "Sum", (normal(4), np.array([0], np.int32)),
         {"keep_dims": False}),
        ("bias_add_grad 128x256", "BiasAddGrad", (normal(128, 256),), {"data_format": "NHWC"}),
        ("bias_add_grad 64x28x28x32", "BiasAddGrad", (y1,), {"data_format": "NHWC"}),
        ("bias_add_grad NCHW 64x32x28x28", "BiasAddGrad", (normal(64, 32, 28, 28),),
         {"data_format": "NCHW"}),
    ]
    return out


def _scatter_add_cases(rng):
    """ScatterAdd's kernel needs a session state; its row update is timed directly."""
    var = rng.standard_normal((10000, 64)).astype(np.float32)
    indices = rng.integers(0, 10000, 2560)
    updates = rng.standard_normal((2560, 64)).astype(np.float32)
    return [("scatter_add 10000x64 [2560]", var, indices, updates)]


class _State:
    """The one method of a session state that the optimizer update kernels use."""

    def __init__(self, variables):
        self.variables = variables

    def read_variable(self, name):
        return self.variables[name]


class _Context:
    def __init__(self, variables):
        self.state = _State(variables)


def _context_pair(variables):
    """Contexts for the numpy and the cython kernel, each with its own copy of the state."""
    return (_Context({k: v.copy() for k, v in variables.items()}),
            _Context({k: v.copy() for k, v in variables.items()}))


def _update_cases(rng):
    """(name, op type, context for numpy, context for cython, args, attrs): optimizer
    updates of an embedding and of the MLP's first weight matrix."""
    def normal(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def scalars(*values):
        return tuple(np.asarray(v, np.float32) for v in values)

    table, rows = normal(50000, 128), normal(4096, 128)
    indices = rng.integers(0, 50000, 4096)  # repeats: the reference deduplicates them
    weights, grad = normal(784, 256), normal(784, 256)
    slots = {"m": np.abs(normal(784, 256)), "v": np.abs(normal(784, 256))}

    def dense(slot_names, **attrs):
        return dict(var_name="w", slot_names=slot_names, var_shape=[784, 256], sparse=False,
                    **attrs)

    return [
        ("sparse SGD 50000x128 [4096]", "SparseApplyGradientDescent")
        + _context_pair({"table": table}) + ((np.float32(0.01), rows, indices),
                                             dict(var_name="table", slot_names=[],
                                                  var_shape=[50000, 128], sparse=True)),
        ("adam 784x256", "ApplyAdam") + _context_pair(dict(slots, w=weights))
        + (scalars(0.9, 0.999, 1e-3, 0.9, 0.999, 1e-8) + (grad,), dense(["m", "v"])),
        ("momentum 784x256", "ApplyMomentum") + _context_pair({"w": weights, "m": slots["m"]})
        + ((np.float32(0.01), grad, np.float32(0.9)), dense(["m"], use_nesterov=False)),
    ]


def _single_channel_copies(rng, repeats, only):
    """conv1 through each compiled copy of the one-channel loops (AVX-512, AVX2, baseline:
    what this CPU runs), timed alternately in this process; ratio: time / the first copy's."""
    from hpcflow._cy import conv
    isas = conv.single_channel_isas()[::-1]
    x1 = rng.standard_normal((64, 28, 28, 1)).astype(np.float32)
    w1 = rng.standard_normal((5, 5, 1, 32)).astype(np.float32)
    y1 = rng.standard_normal((64, 28, 28, 32)).astype(np.float32)
    for name, op_type, call_args in [
            ("conv1 fwd", "Conv2D", (x1, w1)),
            ("conv1 dfilter", "Conv2DBackpropFilter", (x1, np.array(w1.shape, np.int32), y1))]:
        if only not in name:
            continue
        kernel = _kernel(op_type, "cython")

        def run(isa):
            conv.set_single_channel_isa(isa)
            kernel(*call_args, **_conv_attrs())

        try:
            run(isas[0])
            number = _number_for(lambda: run(isas[0]))
            samples = {isa: [] for isa in isas}
            for _ in range(repeats):
                for isa in isas:
                    samples[isa].append(_time(lambda: run(isa), number))
        finally:
            conv.set_single_channel_isa(None)
        best = statistics.median(samples[isas[0]])
        for isa in isas:
            t = statistics.median(samples[isa])
            print("%-38s %12s %10.1fus %8.2f" % ("%s [%s copy]" % (name, isa), "", t * 1e6,
                                                 t / best))


def _time(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def _number_for(fn):
    """Calls per sample so that a sample lasts about 20 ms."""
    once = _time(fn, 1)
    return max(1, min(1000, int(0.02 / max(once, 1e-7))))


def compare(numpy_fn, cython_fn, repeats):
    numpy_fn(), cython_fn()  # warm up (allocations, first-touch)
    number = _number_for(numpy_fn)
    numpy_times, cython_times = [], []
    for _ in range(repeats):
        numpy_times.append(_time(numpy_fn, number))
        cython_times.append(_time(cython_fn, number))
    return statistics.median(numpy_times), statistics.median(cython_times)


def _agree(a, b):
    """Same shapes and dtypes, values equal up to float32 rounding. The absolute tolerance
    scales with the largest value: a float32 sum of many products (conv1's filter gradient
    sums 50k, to values near 1000) rounds relative to its terms, not to each result."""
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)

    def scale(y):
        return max(1.0, float(np.abs(y).max())) if y.size else 1.0

    return all(x.shape == y.shape and x.dtype == y.dtype and
               np.allclose(x, y, rtol=1e-4, atol=1e-4 * scale(y)) for x, y in zip(a, b))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="samples per kernel")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args(argv)
    if not cython_backend.available():
        print(cython_backend.describe())
        return 1
    print("# %s; %s; Python %s, numpy %s; OPENBLAS_CORETYPE=%s" % (
        time.strftime("%Y-%m-%d"), platform.platform(), platform.python_version(),
        np.__version__, os.environ.get("OPENBLAS_CORETYPE", "(unset)")))
    print("# " + cython_backend.describe())
    print("%-38s %12s %12s %8s  %s" % ("case", "numpy", "cython", "ratio", "agree"))
    rng = np.random.default_rng(0)
    for name, op_type, call_args, attrs in cases(rng):
        if args.only not in name:
            continue
        numpy_kernel, cython_kernel = _kernel(op_type, "numpy"), _kernel(op_type, "cython")
        agree = _agree(numpy_kernel(*call_args, **attrs), cython_kernel(*call_args, **attrs))
        t_numpy, t_cython = compare(lambda: numpy_kernel(*call_args, **attrs),
                                    lambda: cython_kernel(*call_args, **attrs), args.repeats)
        print("%-38s %10.1fus %10.1fus %8.2f  %s" % (name, t_numpy * 1e6, t_cython * 1e6,
                                                     t_cython / t_numpy, agree))
        sys.stdout.flush()
    _single_channel_copies(rng, args.repeats, args.only)
    for name, var, indices, updates in _scatter_add_cases(rng):
        if args.only not in name:
            continue
        a, b = var.copy(), var.copy()
        np.add.at(a, indices, updates)
        cython_backend._scatter_add_at(b, indices, updates)
        agree = bool(np.allclose(a, b, rtol=1e-5, atol=1e-5))
        t_numpy, t_cython = compare(lambda: np.add.at(a, indices, updates),
                                    lambda: cython_backend._scatter_add_at(b, indices, updates),
                                    args.repeats)
        print("%-38s %10.1fus %10.1fus %8.2f  %s" % (name, t_numpy * 1e6, t_cython * 1e6,
                                                     t_cython / t_numpy, agree))
    for name, op_type, numpy_ctx, cython_ctx, call_args, attrs in _update_cases(rng):
        if args.only not in name:
            continue
        numpy_kernel, cython_kernel = _kernel(op_type, "numpy"), _kernel(op_type, "cython")
        agree = bool(np.allclose(numpy_kernel(numpy_ctx, *call_args, **attrs),
                                 cython_kernel(cython_ctx, *call_args, **attrs),
                                 rtol=1e-5, atol=1e-5))
        t_numpy, t_cython = compare(lambda: numpy_kernel(numpy_ctx, *call_args, **attrs),
                                    lambda: cython_kernel(cython_ctx, *call_args, **attrs),
                                    args.repeats)
        print("%-38s %10.1fus %10.1fus %8.2f  %s" % (name, t_numpy * 1e6, t_cython * 1e6,
                                                     t_cython / t_numpy, agree))
    return 0


if __name__ == "__main__":
    sys.exit(main())
