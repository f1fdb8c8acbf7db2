"""Benchmarks of issue 6: hpcflow against plain numpy and TensorFlow on the same machine.

Workloads (the same TF1 graph code builds the hpcflow and the TensorFlow graphs):

    tiny        Session.run of reduce_sum(x * 2) on 4 floats (fixed cost per step)
    chain       a 1000-op chain of scalar tanh (time per op)
    mlp         one Adam step of a 784-256-256-10 ReLU MLP, batch 128
    cnn         one SGD step of a LeNet-like CNN (conv5x5x32, pool, conv5x5x64, pool, dense),
                batch 64 of 28x28x1
    elementwise relu(x * 1.5 + 0.25) * sigmoid(x) - x / 2 on 4M float32
    mlp_memory  peak resident memory of the MLP step above, over what the process held before
                (each framework in a fresh process; VmHWM after resetting it via clear_refs)

Each framework runs in fresh processes, alternating with the others for several rounds; a
result is the median over rounds of the median of repeated timings, and ratios are
hpcflow / baseline from the same run. TensorFlow runs in a subprocess (`--tf-python PYTHON`, or this interpreter if it can
import tensorflow), in compat.v1 graph mode; hpcflow never imports it. hpcflow's part runs
under its launcher (`python -m hpcflow bench.py ...`), as a job does: the launcher imports
hpcflow before numpy, which lets it shorten OpenBLAS's thread spin (hpcflow/_openblas_env.py).

Run (OpenBLAS variables unset for this command only, as the issue asks):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/bench.py --tf-python /path/to/tf/python
    python scripts/bench.py --quick            # fewer repeats

`HPCFLOW_REWRITES=none` or `--rewrites none` compares with the graph rewrites off.
"""
import argparse
import gc
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

WORKLOADS = ("tiny", "chain", "mlp", "cnn", "elementwise", "mlp_memory")
TIMED = WORKLOADS[:-1]
ELEMENTS = 4 * 1024 * 1024
CHAIN_LENGTH = 1000


# -- timing ---------------------------------------------------------------------------------

def median_seconds(fn, repeats, warmup=2, inner=1):
    """Median wall time of `fn` over `repeats` measurements of `inner` calls each."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return float(np.median(samples))


def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def measure_peak(step, steps=10):
    """Peak RSS (MiB) while running `step` `steps` times, over the RSS before the first."""
    gc.collect()
    before = _rss_kib()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    for _ in range(steps):
        step()
    return (_hwm_kib() - before) / 1024.0


# -- graphs shared by hpcflow and TensorFlow (TF1 API) ---------------------------------------

def build_tiny(tf):
    x = tf.placeholder(tf.float32, [4])
    y = tf.reduce_sum(x * 2.0)
    return [y], {x: np.arange(4, dtype=np.float32)}


def build_chain(tf):
    x = tf.placeholder(tf.float32, [])
    y = x
    for _ in range(CHAIN_LENGTH):
        y = tf.tanh(y)
    return [y], {x: np.float32(0.5)}


def _mlp_data():
    rng = np.random.RandomState(0)
    return (rng.rand(128, 784).astype(np.float32), rng.randint(0, 10, 128).astype(np.int64))


def _dense_init(rng, fan_in, fan_out):
    return (rng.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def build_mlp(tf):
    rng = np.random.RandomState(1)
    x = tf.placeholder(tf.float32, [None, 784])
    labels = tf.placeholder(tf.int64, [None])
    h = x
    sizes = [784, 256, 256, 10]
    for i in range(3):
        w = tf.Variable(_dense_init(rng, sizes[i], sizes[i + 1]))
        b = tf.Variable(np.zeros(sizes[i + 1], np.float32))
        h = tf.matmul(h, w) + b
        if i < 2:
            h = tf.nn.relu(h)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=h))
    train = tf.train.AdamOptimizer(1e-3).minimize(loss)
    xv, yv = _mlp_data()
    return [train], {x: xv, labels: yv}


def _cnn_data():
    rng = np.random.RandomState(2)
    return (rng.rand(64, 28, 28, 1).astype(np.float32), rng.randint(0, 10, 64).astype(np.int64))


def _cnn_params():
    rng = np.random.RandomState(3)
    return {"w1": (rng.randn(5, 5, 1, 32) * 0.1).astype(np.float32),
            "b1": np.zeros(32, np.float32),
            "w2": (rng.randn(5, 5, 32, 64) * 0.03).astype(np.float32),
            "b2": np.zeros(64, np.float32),
            "w3": (rng.randn(7 * 7 * 64, 10) * 0.02).astype(np.float32),
            "b3": np.zeros(10, np.float32)}


def build_cnn(tf):
    p = {k: tf.Variable(v) for k, v in _cnn_params().items()}
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    labels = tf.placeholder(tf.int64, [None])
    h = tf.nn.relu(tf.nn.conv2d(x, p["w1"], [1, 1, 1, 1], "SAME") + p["b1"])
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    h = tf.nn.relu(tf.nn.conv2d(h, p["w2"], [1, 1, 1, 1], "SAME") + p["b2"])
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    logits = tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), p["w3"]) + p["b3"]
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    xv, yv = _cnn_data()
    return [train], {x: xv, labels: yv}


def build_elementwise(tf):
    x = tf.placeholder(tf.float32, [None])
    y = tf.nn.relu(x * 1.5 + 0.25) * tf.sigmoid(x) - x / 2
    return [y], {x: np.random.RandomState(4).randn(ELEMENTS).astype(np.float32)}


BUILDERS = {"tiny": build_tiny, "chain": build_chain, "mlp": build_mlp, "cnn": build_cnn,
            "elementwise": build_elementwise}


def graph_mode_results(tf, workloads, repeats):
    """{workload: median seconds} for a TF1-API module (hpcflow or tf.compat.v1)."""
    results = {}
    for name in workloads:
        if name == "mlp_memory":
            continue
        graph = tf.Graph()
        with graph.as_default():
            fetches, feeds = BUILDERS[name](tf)
            sess = tf.Session(graph=graph)
            sess.run(tf.global_variables_initializer())

            def step():
                sess.run(fetches, feeds)
            inner = {"tiny": 200, "chain": 5}.get(name, 1)
            reps = repeats * (3 if name in ("tiny", "chain") else 1)
            results[name] = median_seconds(step, reps, warmup=3, inner=inner)
            sess.close()
    return results


def graph_mode_peak(tf):
    graph = tf.Graph()
    with graph.as_default():
        fetches, feeds = build_mlp(tf)
        sess = tf.Session(graph=graph)
        sess.run(tf.global_variables_initializer())
        return measure_peak(lambda: sess.run(fetches, feeds))


# -- the plain numpy implementation ----------------------------------------------------------

def numpy_tiny():
    x = np.arange(4, dtype=np.float32)
    return lambda: np.sum(x * np.float32(2))


def numpy_chain():
    x = np.float32(0.5)

    def run():
        y = x
        for _ in range(CHAIN_LENGTH):
            y = np.tanh(y)
        return y
    return run


def _softmax_xent_grad(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs = exp / exp.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = -np.mean(np.log(probs[np.arange(n), labels]))
    probs[np.arange(n), labels] -= 1
    return loss, probs / n


class _Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def apply(self, grads):
        self.t += 1
        lr = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (lr * m / (np.sqrt(v) + self.eps)).astype(p.dtype)


def numpy_mlp():
    rng = np.random.RandomState(1)
    sizes = [784, 256, 256, 10]
    params = []
    for i in range(3):
        params += [_dense_init(rng, sizes[i], sizes[i + 1]), np.zeros(sizes[i + 1], np.float32)]
    adam = _Adam(params)
    x, labels = _mlp_data()

    def step():
        w1, b1, w2, b2, w3, b3 = params
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        logits = h2 @ w3 + b3
        _, d3 = _softmax_xent_grad(logits, labels)
        d2 = (d3 @ w3.T) * (z2 > 0)
        d1 = (d2 @ w2.T) * (z1 > 0)
        adam.apply([x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)])
    return step


def _conv_same(x, w):
    """SAME, stride-1 convolution (NHWC, HWIO) by im2col; returns (output, columns)."""
    kh, kw, c, k = w.shape
    n, h, wd, _ = x.shape
    padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * wd, kh * kw * c)
    return (cols @ w.reshape(kh * kw * c, k)).reshape(n, h, wd, k), cols


def _conv_input_grad(dy, w):
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)  # (kh, kw, K, C)
    return _conv_same(dy, np.ascontiguousarray(flipped))[0]


def _pool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _pool_grad(x, y, dy):
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // 2, 2, w // 2, 2, c)
    mask = blocks == y[:, :, None, :, None, :]
    return (mask * dy[:, :, None, :, None, :]).reshape(x.shape)


def numpy_cnn():
    p = _cnn_params()
    x, labels = _cnn_data()
    lr = np.float32(0.01)

    def step():
        z1, cols1 = _conv_same(x, p["w1"])
        z1 += p["b1"]
        a1 = np.maximum(z1, 0)
        p1 = _pool(a1)
        z2, cols2 = _conv_same(p1, p["w2"])
        z2 += p["b2"]
        a2 = np.maximum(z2, 0)
        p2 = _pool(a2)
        flat = p2.reshape(len(x), -1)
        logits = flat @ p["w3"] + p["b3"]
        _, dlogits = _softmax_xent_grad(logits, labels)
        grads = {"w3": flat.T @ dlogits, "b3": dlogits.sum(0)}
        dp2 = (dlogits @ p["w3"].T).reshape(p2.shape)
        dz2 = _pool_grad(a2, p2, dp2) * (z2 > 0)
        grads["w2"] = (cols2.T @ dz2.reshape(-1, 64)).reshape(p["w2"].shape)
        grads["b2"] = dz2.sum(axis=(0, 1, 2))
        dp1 = _conv_input_grad(dz2, p["w2"])
        dz1 = _pool_grad(a1, p1, dp1) * (z1 > 0)
        grads["w1"] = (cols1.T @ dz1.reshape(-1, 32)).reshape(p["w1"].shape)
        grads["b1"] = dz1.sum(axis=(0, 1, 2))
        for k, g in grads.items():
            p[k] -= lr * g
    return step


def numpy_elementwise():
    x = np.random.RandomState(4).randn(ELEMENTS).astype(np.float32)

    def run():
        return np.maximum(x * np.float32(1.5) + np.float32(0.25), 0) * \
            (1 / (1 + np.exp(-x))) - x / np.float32(2)
    return run


NUMPY = {"tiny": numpy_tiny, "chain": numpy_chain, "mlp": numpy_mlp, "cnn": numpy_cnn,
         "elementwise": numpy_elementwise}


def numpy_results(workloads, repeats):
    results = {}
    for name in workloads:
        if name == "mlp_memory":
            continue
        inner = {"tiny": 200, "chain": 5}.get(name, 1)
        reps = repeats * (3 if name in ("tiny", "chain") else 1)
        results[name] = median_seconds(NUMPY[name](), reps, warmup=3, inner=inner)
    return results


# -- processes -------------------------------------------------------------------------------

def _child(args):
    """Runs one framework's part and prints its results as JSON (subprocess entry point)."""
    if args.child == "tensorflow":
        import tensorflow.compat.v1 as tf
        tf.disable_eager_execution()
        tf.logging.set_verbosity(tf.logging.ERROR)
    elif args.child == "hpcflow":
        import hpcflow as tf
    else:
        tf = None
    if args.peak:
        peak = graph_mode_peak(tf) if tf is not None else measure_peak(numpy_mlp())
        print(json.dumps({"mlp_memory": peak}))
        return
    workloads = args.workloads.split(",")
    if tf is None:
        print(json.dumps(numpy_results(workloads, args.repeats)))
    else:
        print(json.dumps(graph_mode_results(tf, workloads, args.repeats)))


def _run_child(python, framework, args, peak=False):
    launcher = ["-m", "hpcflow"] if framework == "hpcflow" else []
    command = [python] + launcher + [os.path.abspath(__file__), "--child", framework,
               "--repeats", str(args.repeats), "--workloads", ",".join(args.workloads)]
    if peak:
        command.append("--peak")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if args.rewrites is not None:
        env["HPCFLOW_REWRITES"] = args.rewrites
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write("%s part failed:\n%s\n" % (framework, done.stderr[-3000:]))
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _tf_python(args):
    if args.tf_python:
        return args.tf_python
    if importlib.util.find_spec("tensorflow") is not None:
        return sys.executable
    return None


def _format(name, seconds):
    if name == "mlp_memory":
        return "%8.1f MiB" % seconds
    if name == "chain":
        return "%8.3f us/op" % (seconds / CHAIN_LENGTH * 1e6)
    if name == "tiny":
        return "%8.1f us" % (seconds * 1e6)
    return "%8.2f ms" % (seconds * 1e3)


TARGETS = {"tiny": 1.0, "mlp": 1.0, "cnn": 1.5, "elementwise": 1.0, "chain": 10.0,
           "mlp_memory": 1.0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timings per workload")
    parser.add_argument("--rounds", type=int, default=None,
                        help="fresh processes per framework, alternating (default 3, quick 1)")
    parser.add_argument("--tf-python", default=None,
                        help="a Python interpreter with TensorFlow (2.x CPU is fine)")
    parser.add_argument("--no-tf", action="store_true", help="skip TensorFlow")
    parser.add_argument("--rewrites", default=None,
                        help="HPCFLOW_REWRITES for the hpcflow part (e.g. none, -fusion)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset of %s" % ",".join(WORKLOADS))
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 5 if args.quick else 15
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.child:
        _child(args)
        return 0
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error("unknown workloads: %s" % ", ".join(unknown))
    tf_python = None if args.no_tf else _tf_python(args)
    frameworks = [(f, p) for f, p in (("hpcflow", sys.executable), ("numpy", sys.executable),
                                      ("tensorflow", tf_python)) if p is not None]
    timed = [w for w in args.workloads if w in TIMED]
    # Frameworks alternate round after round, so that a busy spell of the machine hits all of
    # them alike; each workload's figure is the median over rounds of per-round medians.
    samples = {f: {} for f, _ in frameworks}
    for _ in range(args.rounds):
        for framework, python in frameworks:
            part = _run_child(python, framework, argparse.Namespace(**dict(
                vars(args), workloads=timed))) if timed else {}
            if part is not None and "mlp_memory" in args.workloads:
                part.update(_run_child(python, framework, args, peak=True) or {})
            for name, value in (part or {}).items():
                samples[framework].setdefault(name, []).append(value)
    results = {f: {name: float(np.median(v)) for name, v in per.items()}
               for f, per in samples.items() if per}
    _report(results, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def _report(results, args):
    blas = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print("hpcflow benchmarks, %s, %s, %d cores, Python %s, numpy %s" % (
        time.strftime("%Y-%m-%d"), platform.processor() or platform.machine(), os.cpu_count(),
        platform.python_version(), np.__version__))
    print("OpenBLAS variables: %s; %d rounds x %d repeats; HPCFLOW_REWRITES=%r" % (
        blas, args.rounds, args.repeats, args.rewrites if args.rewrites is not None
        else os.environ.get("HPCFLOW_REWRITES", "")))
    header = "%-12s %15s %15s %15s %10s %10s %8s" % ("workload", "hpcflow", "numpy", "tensorflow",
                                                     "hpc/numpy", "hpc/tf", "target")
    print(header)
    print("-" * len(header))
    for name in args.workloads:
        row = [results.get(f, {}).get(name) for f in ("hpcflow", "numpy", "tensorflow")]
        cells = [_format(name, v) if v is not None else "%15s" % "-" for v in row]
        ratios = ["%10.2f" % (row[0] / b) if row[0] is not None and b else "%10s" % "-"
                  for b in row[1:]]
        print("%-12s %15s %15s %15s %s %s %8s" % (name, cells[0], cells[1], cells[2], ratios[0],
                                                  ratios[1], "<= %g" % TARGETS[name]))


if __name__ == "__main__":
    sys.exit(main())
