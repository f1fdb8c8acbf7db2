"""Ops placed on a (stand-in) GPU run there, with host/device copies where edges change
memory; results equal the CPU run; soft placement falls back to the CPU with a notice."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow import backends
from hpcflow.backends import cupy_backend
from hpcflow.devices import copy_insertion, fake
from hpcflow.framework import errors

from . import gpu_plan
from .gpu_fixtures import fake_gpus  # noqa: F401 - fixture


def last_ir():
    return gpu_plan.COMPILED[-1]


def node_types(ir):
    return [n.type for n in ir.order()]


def test_gpu_ops_run_on_the_gpu_with_copies_at_the_edges(fake_gpus):
    fake_gpus(1)
    x = tf.placeholder(tf.float32, [None, 3])
    with tf.device("/gpu:0"):
        h = tf.nn.relu(tf.matmul(x, tf.constant(np.eye(3, dtype=np.float32) * 2)))
        flat = tf.reshape(h, [-1])
    total = tf.reduce_sum(flat)  # no device: the CPU
    value = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    with tf.Session() as sess:
        got_h, got_total = sess.run([h, total], {x: value})
    expected = np.maximum(value @ (np.eye(3) * 2), 0)
    np.testing.assert_allclose(got_h, expected)
    assert type(got_h) is np.ndarray and got_total == pytest.approx(expected.sum())
    ir = last_ir()
    assert ir.device_placement["MatMul"] == "/device:GPU:0"
    assert ir.device_placement["Relu"] == "/device:GPU:0"
    assert ir.device_placement["Sum"] == "/device:CPU:0"
    types = node_types(ir)
    # The feed goes up once; h (fetched) and flat (read by the CPU Sum) come down; the
    # reshape's shape constant is made on the CPU, where Reshape reads it.
    assert types.count("_HostToDevice") == 1 and types.count("_DeviceToHost") == 2
    assert ir.device_placement["Reshape/shape"] == "/device:CPU:0"


def test_shape_operands_stay_in_host_memory(fake_gpus):
    fake_gpus(1)
    x = tf.placeholder(tf.float32, [None, 4])
    with tf.device("/gpu:0"):
        y = tf.reshape(x * 2.0, tf.stack([tf.shape(x)[0] * 2, 2]))
        s = tf.reduce_sum(y, axis=tf.constant([1]))
    with tf.Session() as sess:
        got = sess.run(s, {x: np.ones((3, 4), np.float32)})
    np.testing.assert_allclose(got, np.full(6, 4.0))
    ir = last_ir()
    # Shape is a metadata op (host output) and the shape arithmetic runs on the GPU node
    # list but in host memory where its kernels say so: only the feed is copied up.
    assert node_types(ir).count("_HostToDevice") == 1
    assert cupy_backend.gpu_kernel("Shape").host_outputs
    assert cupy_backend.gpu_kernel("Reshape").input_in_host(1, 2)


def test_two_gpus_copy_device_to_device(fake_gpus):
    fake_gpus(2, HPCFLOW_GPUS_PER_RANK=2)
    x = tf.placeholder(tf.float64, [4])
    with tf.device("/gpu:0"):
        a = x * 3.0
    with tf.device("/gpu:1"):
        b = a + 1.0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(b, {x: np.arange(4.0)}), np.arange(4) * 3.0 + 1)
    assert "_DeviceToDevice" in node_types(last_ir())
    assert last_ir().device_placement["add"] == "/device:GPU:1"


def test_variables_live_on_the_gpu_and_train_like_on_the_cpu(fake_gpus):
    def train(on_gpu):
        tf.reset_default_graph()
        x = tf.placeholder(tf.float32, [None, 5])
        y = tf.placeholder(tf.int64, [None])
        with tf.device("/gpu:0" if on_gpu else "/cpu:0"):
            w = tf.Variable(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3), name="w")
            b = tf.Variable(np.zeros(3, np.float32), name="b")
            logits = tf.matmul(x, w) + b
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits))
            step = tf.train.AdamOptimizer(0.1).minimize(loss)
        rng = np.random.default_rng(0)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(5):
                sess.run(step, {x: rng.normal(size=(8, 5)).astype(np.float32),
                                y: rng.integers(0, 3, 8)})
            stored = sess._state.variables["w"]
            return sess.run([w, b]), stored

    fake_gpus(1)
    (w_gpu, b_gpu), stored = train(True)
    assert isinstance(stored, fake.FakeDeviceArray)  # the variable lives in device memory
    assert type(w_gpu) is np.ndarray
    (w_cpu, b_cpu), stored_cpu = train(False)
    assert type(stored_cpu) is np.ndarray
    np.testing.assert_allclose(w_gpu, w_cpu, rtol=1e-5)
    np.testing.assert_allclose(b_gpu, b_cpu, rtol=1e-5)


def test_a_fetched_variable_is_read_after_its_updates(fake_gpus):
    fake_gpus(1)
    with tf.device("/gpu:0"):
        counter = tf.Variable(0, name="counter")
        bump = tf.assign_add(counter, 1)
    with tf.Session() as sess:
        sess.run(counter.initializer)
        assert [int(sess.run([counter, bump])[0]) for _ in range(3)] == [1, 2, 3]


def test_host_values_written_into_a_gpu_variable_move_to_the_device(fake_gpus, tmp_path):
    fake_gpus(1)
    with tf.device("/gpu:0"):
        v = tf.Variable(np.arange(3, dtype=np.float32), name="v")
        doubled = v * 2.0
    from hpcflow.train.saver import Saver
    saver = Saver([v])
    with tf.Session() as sess:
        sess.run(v.initializer)
        path = saver.save(sess, str(tmp_path / "model"))
        sess.run(tf.assign(v, [7.0, 7.0, 7.0]))
        saver.restore(sess, path)  # RestoreHDF5 runs on the CPU and writes a host array
        np.testing.assert_allclose(sess.run(doubled), [0.0, 2.0, 4.0])
        assert isinstance(sess._state.variables["v"], fake.FakeDeviceArray)


def test_fused_chains_run_as_one_gpu_kernel_and_errors_name_the_member(fake_gpus):
    fake_gpus(1)
    x = tf.placeholder(tf.float32, [None])
    z = tf.placeholder(tf.float32, [None])
    with tf.device("/gpu:0"):
        y = tf.nn.relu(x * 1.5 + 0.25) * tf.sigmoid(x) - x / 2.0
        bad = tf.exp(x) + z
    value = np.linspace(-3, 3, 50).astype(np.float32)
    with tf.Session() as sess:
        got = sess.run(y, {x: value})
        assert "_FusedElementwise" in node_types(last_ir())
        np.testing.assert_allclose(
            got, np.maximum(value * 1.5 + 0.25, 0) / (1 + np.exp(-value)) - value / 2,
            rtol=1e-5)
        with pytest.raises(errors.InvalidArgumentError, match="add"):
            sess.run(bad, {x: np.ones(3, np.float32), z: np.ones(4, np.float32)})


def test_control_flow_bodies_run_their_gpu_ops_on_the_gpu(fake_gpus):
    fake_gpus(1)
    x = tf.placeholder(tf.float32, [])
    with tf.device("/gpu:0"):
        doubled = tf.cond(x > 0, lambda: x * 2.0, lambda: -x)
        _, total = tf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + x * 1.0),
                                 [tf.constant(0), tf.constant(0.0)])
    with tf.Session() as sess:
        assert sess.run([doubled, total], {x: 3.0}) == [6.0, 12.0]
        assert sess.run(doubled, {x: -2.0}) == 2.0


def test_gpu_kernel_errors_name_the_op_and_rank(fake_gpus):
    fake_gpus(1)
    x = tf.placeholder(tf.float32, [None])
    with tf.device("/gpu:0"):
        y = tf.reshape(x, [2, 2], name="to_square")
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"to_square.*rank 0"):
            sess.run(y, {x: np.ones(5, np.float32)})


def test_default_device_gpu_places_unplaced_ops(fake_gpus):
    fake_gpus(1, HPCFLOW_DEFAULT_DEVICE="gpu")
    a = tf.constant([1.0, 2.0])
    b = tf.square(a)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(b), [1.0, 4.0])
    assert last_ir().device_placement["Square"] == "/device:GPU:0"


def test_bad_default_device(fake_gpus):
    fake_gpus(1, HPCFLOW_DEFAULT_DEVICE="tpu")
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="HPCFLOW_DEFAULT_DEVICE"):
            sess.run(tf.constant(1.0) + 1.0)


def test_soft_placement_without_a_gpu(fake_gpus, capfd):
    fake_gpus(0)
    with tf.device("/gpu:0"):
        y = tf.constant([1.0, -1.0]) * 3.0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y), [3.0, -3.0])
        sess.run(y + 1.0)
    err = capfd.readouterr().err
    assert err.count("soft placement: rank 0 has no GPU:0") == 1


def test_soft_placement_of_ops_without_a_gpu_kernel(fake_gpus, capfd):
    fake_gpus(1)
    with tf.device("/gpu:0"):
        a = tf.constant([1.0, 2.0]) * 2.0
        printed = tf.py_func(lambda v: v + 1, [a], tf.float32)
        b = printed * 3.0
        text = tf.strings.format("{}", a) if hasattr(tf, "strings") else None
    with tf.device("/gpu:5"):
        c = a + 1.0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(b), [9.0, 15.0])
        np.testing.assert_allclose(sess.run(c), [3.0, 5.0])
        if text is not None:
            sess.run(text)
    err = capfd.readouterr().err
    assert "op type PyFunc has no GPU kernel (calls back into Python" in err
    assert "rank 0 has no GPU:5" in err
    ir = [ir for ir in gpu_plan.COMPILED if "PyFunc" in node_types(ir)][-1]
    placement = {n.type: ir.device_placement[n.op.name] for n in ir.nodes
                 if n.op.name in ir.device_placement}
    assert placement["PyFunc"] == "/device:CPU:0"
    assert placement["Mul"] == "/device:GPU:0"


def test_kernel_for_op_dispatches_placed_nodes_to_their_device(fake_gpus):
    fake_gpus(1)
    x = tf.placeholder(tf.float32, [2])
    with tf.device("/gpu:0"):
        y = tf.abs(x)
    with tf.Session() as sess:
        sess.run(y, {x: [1.0, -1.0]})
    ir = last_ir()
    node = [n for n in ir.nodes if n.type == "Abs"][0]
    backend, kernel = backends.kernel_for_op(node)
    assert backend == "cupy" and kernel.__name__ == "gpu_Abs"
    assert backends.kernel_for_op(y.op)[0] in ("numpy", "cython")  # the op itself: the CPU
    assert set(backends.table("cupy")) == set(cupy_backend.gpu_table())


def test_missing_copies_fail_loudly_naming_the_op(fake_gpus):
    gpu, = fake_gpus(1)
    with tf.device("/gpu:0"):
        y = tf.abs(tf.placeholder(tf.float32, [2], name="p"), name="absolute")
    spec = cupy_backend.gpu_kernel("Abs")
    bound = cupy_backend.bind(spec, gpu, y.op._record, y.op.inputs, y.op.outputs, y.op.name)
    with pytest.raises(errors.InternalError, match=r"absolute \(Abs\).*input 0 \(p:0\) is a "
                                                   r"host array"):
        bound(np.ones(2, np.float32))
    checked = copy_insertion._host_checked(lambda v: v, False, "cpu_op", "Neg")
    with pytest.raises(errors.InternalError, match="cpu_op .*device-to-host copy is missing"):
        checked(gpu.to_device(np.ones(2)))
