"""Benchmark: MLP and CNN training steps on /gpu:0, against the same models in CuPy-only code.

    python scripts/bench_gpu.py [--steps 30] [--mlp-batch 128] [--cnn-batch 64]

For whoever has a GPU: it needs CuPy and a CUDA device (this project's machines have none,
so these numbers have never been measured; see README). The baseline, measured in the same
run on the same device, is hand-written CuPy code for the same model (same kernels for
convolution and pooling, no graph, no session): the ratio is the cost of hpcflow's graph
runtime and copies on top of the kernels. Each step is timed to a stream synchronize; the
medians of `--steps` steps after warm-up are printed.

With HPCFLOW_FAKE_GPU=1 it runs on the numpy stand-in GPU, which only checks that the script
works: those times mean nothing about GPUs.
"""
import argparse
import statistics
import sys
import time

import numpy as np

import hpcflow as tf
from hpcflow.backends import gpu_kernels
from hpcflow.devices import device as device_lib
from hpcflow.ops import nn_ops


def _median_ms(step, gpu, steps, warmup=3):
    for _ in range(warmup):
        step()
    gpu.synchronize()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        gpu.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


# -- MLP 784-256-256-10, softmax cross-entropy, SGD ---------------------------------------------

def mlp_hpcflow(batch, rng):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.int64, [None])
    with tf.device("/gpu:0"):
        h = x
        for i, (n_in, n_out) in enumerate(((784, 256), (256, 256), (256, 10))):
            w = tf.Variable(rng.normal(0, 0.05, (n_in, n_out)).astype(np.float32), name="w%d" % i)
            b = tf.Variable(np.zeros(n_out, np.float32), name="b%d" % i)
            h = tf.matmul(h, w) + b
            if i < 2:
                h = tf.nn.relu(h)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    feed = {x: rng.random((batch, 784), dtype=np.float32), y: rng.integers(0, 10, batch)}
    return lambda: sess.run(train, feed), sess


def mlp_cupy(batch, rng, xp):
    params = []
    for n_in, n_out in ((784, 256), (256, 256), (256, 10)):
        params.append([xp.asarray(rng.normal(0, 0.05, (n_in, n_out)).astype(np.float32)),
                       xp.zeros(n_out, np.float32)])
    x = xp.asarray(rng.random((batch, 784), dtype=np.float32))
    labels = xp.asarray(rng.integers(0, 10, batch))

    def step():
        acts = [x]
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < 2:
                h = xp.maximum(h, 0)
            acts.append(h)
        logits = acts[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = xp.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        grad = probs
        grad[xp.arange(batch), labels] -= 1
        grad /= batch
        for i in (2, 1, 0):
            w, b = params[i]
            gw, gb = acts[i].T @ grad, grad.sum(axis=0)
            if i:
                grad = (grad @ w.T) * (acts[i] > 0)
            w -= 0.01 * gw
            b -= 0.01 * gb
    return step


# -- LeNet-like CNN: conv5x5x32-pool-conv5x5x64-pool-fc10, SGD ----------------------------------

def cnn_hpcflow(batch, rng):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    y = tf.placeholder(tf.int64, [None])
    with tf.device("/gpu:0"):
        w1 = tf.Variable(rng.normal(0, 0.1, (5, 5, 1, 32)).astype(np.float32))
        w2 = tf.Variable(rng.normal(0, 0.05, (5, 5, 32, 64)).astype(np.float32))
        w3 = tf.Variable(rng.normal(0, 0.02, (7 * 7 * 64, 10)).astype(np.float32))
        h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME")),
                           [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(h, w2, [1, 1, 1, 1], "SAME")),
                           [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        logits = tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), w3)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                             logits=logits))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    feed = {x: rng.random((batch, 28, 28, 1), dtype=np.float32), y: rng.integers(0, 10, batch)}
    return lambda: sess.run(train, feed), sess


def cnn_cupy(batch, rng, xp):
    """The same CNN with the GPU backend's own convolution and pooling functions."""
    w1 = xp.asarray(rng.normal(0, 0.1, (5, 5, 1, 32)).astype(np.float32))
    w2 = xp.asarray(rng.normal(0, 0.05, (5, 5, 32, 64)).astype(np.float32))
    w3 = xp.asarray(rng.normal(0, 0.02, (7 * 7 * 64, 10)).astype(np.float32))
    x = xp.asarray(rng.random((batch, 28, 28, 1), dtype=np.float32))
    labels = xp.asarray(rng.integers(0, 10, batch))
    conv1 = nn_ops._conv_geometry_from((batch, 28, 28, 1), (5, 5), _attrs(), "x")
    conv2 = nn_ops._conv_geometry_from((batch, 14, 14, 32), (5, 5), _attrs(), "x")
    pool1 = nn_ops._pool_geometry((batch, 28, 28, 32), [1, 2, 2, 1], [1, 2, 2, 1], "SAME",
                                  "NHWC", "x")
    pool2 = nn_ops._pool_geometry((batch, 14, 14, 64), [1, 2, 2, 1], [1, 2, 2, 1], "SAME",
                                  "NHWC", "x")

    def step():
        nonlocal w1, w2, w3
        a1 = xp.maximum(gpu_kernels.conv2d_forward_xp(xp, x, w1, conv1), 0)
        p1 = gpu_kernels.max_pool_xp(xp, a1, pool1)
        a2 = xp.maximum(gpu_kernels.conv2d_forward_xp(xp, p1, w2, conv2), 0)
        p2 = gpu_kernels.max_pool_xp(xp, a2, pool2)
        flat = p2.reshape(batch, -1)
        logits = flat @ w3
        probs = xp.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[xp.arange(batch), labels] -= 1
        grad = probs / batch
        g3 = flat.T @ grad
        dp2 = (grad @ w3.T).reshape(p2.shape)
        da2 = gpu_kernels.max_pool_grad_xp(xp, a2, dp2, pool2) * (a2 > 0)
        g2 = gpu_kernels.conv2d_filter_grad_xp(xp, p1, da2, conv2, 5, 5)
        dp1 = gpu_kernels.conv2d_input_grad_xp(xp, da2, w2, conv2, 14, 14)
        da1 = gpu_kernels.max_pool_grad_xp(xp, a1, dp1, pool1) * (a1 > 0)
        g1 = gpu_kernels.conv2d_filter_grad_xp(xp, x, da1, conv1, 5, 5)
        w1 = w1 - 0.01 * g1
        w2 = w2 - 0.01 * g2
        w3 = w3 - 0.01 * g3
    return step


def _attrs():
    return {"strides": [1, 1, 1, 1], "padding": "SAME", "explicit_paddings": [],
            "data_format": "NHWC", "dilations": [1, 1, 1, 1]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--mlp-batch", type=int, default=128)
    parser.add_argument("--cnn-batch", type=int, default=64)
    args = parser.parse_args(argv)
    gpu = device_lib.get_gpu(0)
    if gpu is None:
        print("No GPU: %s. Nothing to measure (HPCFLOW_FAKE_GPU=1 runs the script on the "
              "numpy stand-in, whose times mean nothing)." % device_lib.why_no_gpu())
        return 0
    print("device: %s (%s)%s" % (gpu.name, gpu.kind, "  -- STAND-IN: times are not GPU times"
                                  if gpu.kind == "fake" else ""))
    rng = np.random.default_rng(0)
    rows = []
    for name, make_graph, make_cupy, batch in (
            ("MLP 784-256-256-10 SGD", mlp_hpcflow, mlp_cupy, args.mlp_batch),
            ("LeNet-like CNN SGD", cnn_hpcflow, cnn_cupy, args.cnn_batch)):
        graph_step, sess = make_graph(batch, rng)
        with gpu.activate():
            baseline = _median_ms(make_cupy(batch, rng, gpu.xp), gpu, args.steps)
        ours = _median_ms(graph_step, gpu, args.steps)
        sess.close()
        rows.append((name, batch, ours, baseline))
    print("%-26s %6s %14s %16s %7s" % ("model", "batch", "hpcflow ms", "CuPy-only ms",
                                        "ratio"))
    for name, batch, ours, baseline in rows:
        print("%-26s %6d %14.3f %16.3f %7.2f" % (name, batch, ours, baseline, ours / baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
