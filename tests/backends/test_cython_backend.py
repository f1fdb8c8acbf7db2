"""The Cython backend as a whole: the build, the registration, `HPCFLOW_BACKEND=numpy`, the
`info` line, whole graphs (forward and gradients) against the numpy backend, and the OpenMP
thread budget of an MPI launch."""
import glob
import importlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import hpcflow as tf
import hpcflow._cy
from hpcflow import backends
from hpcflow.backends import cython_backend
from hpcflow.framework import registry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
built = pytest.mark.skipif(not cython_backend.available(),
                           reason="Cython kernels not built (HPCFLOW_NO_CYTHON=1?)")


def test_every_kernel_source_is_built():
    if os.environ.get("HPCFLOW_NO_CYTHON", "") not in ("", "0"):
        pytest.skip("installed with HPCFLOW_NO_CYTHON: nothing is compiled")
    sources = sorted(glob.glob(os.path.join(ROOT, "cy_kernels", "*.pyx")))
    assert sources, "no cy_kernels/*.pyx found"
    for source in sources:
        name = os.path.splitext(os.path.basename(source))[0]
        module = importlib.import_module("hpcflow._cy." + name)
        assert module.__file__.endswith((".so", ".pyd")), module.__file__
    assert cython_backend.available()


@built
def test_each_op_has_its_cython_kernel_and_numpy_fallback():
    assert len(cython_backend.KERNELS) >= 15
    assert "GatherV2" not in cython_backend.KERNELS  # measured no faster: numpy's runs
    for op_type, kernel in cython_backend.KERNELS.items():
        record = registry.get(op_type)
        assert record.kernels["cython"] is kernel
        assert "numpy" in record.kernels
        assert backends.kernel_for(record, ("cython", "numpy")) == ("cython", kernel)
        assert backends.table("cython")[op_type] is kernel
    # Ops without a Cython kernel still resolve to numpy in the cython table.
    assert backends.table("cython")["MatMul"] is registry.get("MatMul").kernels["numpy"]
    cython_backend.register()  # idempotent
    assert registry.get("Conv2D").kernels["cython"] is cython_backend.KERNELS["Conv2D"]


@built
def test_hpcflow_backend_numpy_forces_the_reference(monkeypatch):
    record = registry.get("Conv2D")
    monkeypatch.delenv("HPCFLOW_BACKEND", raising=False)
    assert backends.kernel_for(record)[0] == "cython"
    monkeypatch.setenv("HPCFLOW_BACKEND", "numpy")
    assert backends.kernel_for(record)[0] == "numpy"
    assert "HPCFLOW_BACKEND=numpy" in cython_backend.describe()


@built
def test_describe_names_the_build_and_the_ops(monkeypatch):
    monkeypatch.delenv("HPCFLOW_BACKEND", raising=False)
    line = cython_backend.describe()
    assert line.startswith("Cython kernels: built (")
    assert "OpenMP" in line and "Conv2D" in line and "SparseSoftmaxCrossEntropyWithLogits" in line
    assert "\n" not in line


def test_describe_and_register_without_a_build(monkeypatch):
    monkeypatch.setattr(cython_backend, "_IMPORT_ERROR", ImportError("No module named x"))
    assert not cython_backend.available()
    assert cython_backend.describe() == ("Cython kernels: not built (No module named x); "
                                         "numpy reference kernels in use")
    with pytest.raises(ImportError, match="not built"):
        cython_backend.register()


def test_info_prints_the_kernels_line():
    env = dict(os.environ)
    env.pop("HPCFLOW_BACKEND", None)
    proc = subprocess.run([sys.executable, "-m", "hpcflow", "info"], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Cython kernels:")]
    assert lines == [cython_backend.describe()]


def _cnn_results(data_format):
    """Loss, logits and every gradient of a small CNN built from the ops with Cython kernels."""
    tf.reset_default_graph()
    rng = np.random.default_rng(0)
    images = rng.standard_normal((5, 9, 8, 2)).astype(np.float64)
    labels = rng.integers(0, 4, 5)
    x = tf.constant(images if data_format == "NHWC" else images.transpose(0, 3, 1, 2))
    w1 = tf.Variable(rng.standard_normal((3, 3, 2, 6)), name="w1")
    b1 = tf.Variable(rng.standard_normal(6), name="b1")
    w2 = tf.Variable(rng.standard_normal((2, 2, 6, 5)), name="w2")
    embedding = tf.Variable(rng.standard_normal((20, 32)), name="embedding")
    strides = [1, 1, 2, 1] if data_format == "NHWC" else [1, 1, 1, 2]
    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, strides, "SAME", data_format=data_format),
                                  b1, data_format=data_format))
    window = [1, 2, 2, 1] if data_format == "NHWC" else [1, 1, 2, 2]
    h = tf.nn.max_pool(h, window, window, "SAME", data_format=data_format)
    h = tf.nn.conv2d(h, w2, [1, 1, 1, 1], "VALID", data_format=data_format,
                     dilations=[1, 1, 1, 1])
    h = tf.nn.avg_pool(h, window, [1, 1, 1, 1], "SAME", data_format=data_format)
    features = tf.reshape(h, [5, -1])
    rows = tf.gather(embedding, tf.constant([3, 7, 3, 19, 0]))
    logits = tf.matmul(features, tf.ones([features.shape[1], 4], tf.float64)) + \
        tf.reduce_sum(rows, 1, keepdims=True)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(labels, 4),
                                                       logits=logits)
    loss = tf.reduce_mean(sparse) + tf.reduce_mean(dense) + \
        tf.reduce_sum(tf.nn.log_softmax(logits) * tf.nn.softmax(logits))
    variables = [w1, b1, w2, embedding]
    grads = tf.gradients(loss, variables)
    grads = [tf.convert_to_tensor(g) for g in grads]  # the embedding's IndexedSlices, densified
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run([loss, logits] + grads)


@built
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_cnn_graph_same_on_cython_and_numpy(data_format, monkeypatch):
    calls = []
    for op_type in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPoolGrad",
                    "AvgPoolGrad", "SparseSoftmaxCrossEntropyWithLogits", "UnsortedSegmentSum",
                    "BiasAdd", "Relu", "ReluGrad", "_FusedConv2D"):
        kernel = registry.get(op_type).kernels["cython"]

        def spy(*args, _kernel=kernel, _op_type=op_type, **attrs):
            calls.append(_op_type)
            return _kernel(*args, **attrs)
        monkeypatch.setitem(registry.get(op_type).kernels, "cython", spy)
    monkeypatch.delenv("HPCFLOW_BACKEND", raising=False)
    with_cython = _cnn_results(data_format)
    # NHWC convolutions with their bias and Relu run as one fused node (conv_fusion).
    forward = {"_FusedConv2D"} if data_format == "NHWC" else {"Conv2D", "BiasAdd", "Relu"}
    assert {"Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPoolGrad", "AvgPoolGrad",
            "SparseSoftmaxCrossEntropyWithLogits", "ReluGrad"} | forward <= set(calls)
    calls.clear()
    monkeypatch.setenv("HPCFLOW_BACKEND", "numpy")
    with_numpy = _cnn_results(data_format)
    assert calls == []
    for got, expected in zip(with_cython, with_numpy):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@built
def test_scatter_add_op_runs_the_cython_update(monkeypatch):
    used = []
    monkeypatch.setattr(cython_backend._scatter_add, "scatter_add_rows",
                        _recording(cython_backend._scatter_add.scatter_add_rows, used))
    var = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    update = tf.scatter_add(var, tf.constant([[1, 3], [1, 0]]),
                            tf.constant(np.ones((2, 2, 3), np.float32)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(update)
    expected = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.add.at(expected, [1, 3, 1, 0], np.ones((4, 3), np.float32))
    np.testing.assert_array_equal(got, expected)
    assert used, "ScatterAdd did not run the compiled row update"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match="ScatterAdd"):
            sess.run(tf.scatter_add(var, [4], np.ones((1, 3), np.float32)))


def _recording(fn, log):
    def wrapper(*args):
        log.append(True)
        return fn(*args)
    return wrapper


@pytest.mark.parametrize("environment,expected", [
    ({"MPI_LOCALNRANKS": "2"}, "half"),
    ({"OMPI_COMM_WORLD_LOCAL_SIZE": "64"}, "1"),
    ({"MPI_LOCALNRANKS": "2", "OMP_NUM_THREADS": "3"}, None),   # the user's choice stays
    ({"MPI_LOCALNRANKS": "2", "OMP_THREAD_LIMIT": "3"}, "3"),
    ({}, None),                                                  # not an MPI launch
    ({"MPI_LOCALNRANKS": "1"}, None),
])
def test_openmp_threads_shared_between_local_ranks(environment, expected, monkeypatch):
    for name in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "MPI_LOCALNRANKS",
                 "OMPI_COMM_WORLD_LOCAL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    cores = os.cpu_count()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    hpcflow._cy.share_cores_between_local_ranks()
    if expected == "half":
        expected = str(max(1, cores // 2))
    assert os.environ.get("OMP_THREAD_LIMIT") == expected
    # OMP_NUM_THREADS stays the user's (OpenBLAS and the launcher read it).
    assert os.environ.get("OMP_NUM_THREADS") == environment.get("OMP_NUM_THREADS")


def test_openmp_threads_of_a_bound_rank(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    monkeypatch.setenv("MPI_LOCALNRANKS", "2")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2, 3, 4}, raising=False)
    hpcflow._cy.share_cores_between_local_ranks()
    assert os.environ["OMP_THREAD_LIMIT"] == "3"


@built
def test_openmp_threads_under_mpiexec():
    """Each of 2 ranks on this machine gets half its cores (at least 1) for OpenMP."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec")
    # One write per rank (print's pieces from two ranks could interleave).
    code = ("import os, hpcflow.backends.cython_backend as cb; os.write(1, ('threads %s %d\\n' "
            "% (os.environ['OMP_THREAD_LIMIT'], cb._build_info.max_threads())).encode())")
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    env.pop("OMP_THREAD_LIMIT", None)
    proc = subprocess.run([mpiexec, "-n", "2", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    cores = os.cpu_count()
    bound = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    share = str(max(1, bound if bound < cores else cores // 2))
    lines = sorted(line for line in proc.stdout.splitlines() if line.startswith("threads"))
    assert lines == ["threads %s %s" % (share, share)] * 2, proc.stdout


def _embedding_training(steps=3):
    """An embedding trained by SGD through the sparse update (with repeated indices)."""
    tf.reset_default_graph()
    rng = np.random.default_rng(1)
    table = tf.Variable(rng.standard_normal((30, 16)).astype(np.float32), name="table")
    ids = tf.placeholder(tf.int64, [None])
    rows = tf.nn.embedding_lookup(table, ids)
    loss = tf.reduce_sum(tf.square(rows - 0.5))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(steps):
            sess.run(train, {ids: rng.integers(0, 30, 40)})
        return sess.run(table)


@built
def test_sparse_gradient_descent_same_on_cython_and_numpy(monkeypatch):
    used = []
    monkeypatch.setattr(cython_backend._scatter_add, "scatter_add_rows",
                        _recording(cython_backend._scatter_add.scatter_add_rows, used))
    monkeypatch.delenv("HPCFLOW_BACKEND", raising=False)
    with_cython = _embedding_training()
    assert used, "SparseApplyGradientDescent did not run the compiled row update"
    monkeypatch.setenv("HPCFLOW_BACKEND", "numpy")
    np.testing.assert_allclose(with_cython, _embedding_training(), rtol=1e-6, atol=1e-6)


@built
def test_sparse_gradient_descent_bad_index_raises_the_reference_error():
    var = tf.Variable(np.zeros((4, 3), np.float32), name="v")
    update = tf.train.GradientDescentOptimizer(1.0).apply_gradients(
        [(tf.IndexedSlices(tf.ones([2, 3]), tf.constant([1, 4]), tf.constant([4, 3])), var)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match="out of range for variable v"):
            sess.run(update)
