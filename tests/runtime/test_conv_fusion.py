"""The conv_fusion pass: Conv2D + bias (+ Relu) -> one `_FusedConv2D` node.

Every case compares a session with the pass against one without it (HPCFLOW_REWRITES=
-conv_fusion): the fused results, including whole training steps, must be equal to the bit.
"""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors
from hpcflow.runtime.rewrites import fused_conv


@pytest.fixture(autouse=True)
def default_environment(monkeypatch):
    monkeypatch.delenv("HPCFLOW_REWRITES", raising=False)
    monkeypatch.delenv("HPCFLOW_INTER_OP_THREADS", raising=False)


def _run(fetches, feeds, spec, monkeypatch, targets=(), steps=1, init=None):
    """(results of the last step, types of the last plan's nodes) with HPCFLOW_REWRITES=spec."""
    monkeypatch.setenv("HPCFLOW_REWRITES", spec)
    with tf.Session() as sess:
        if init is not None:
            sess.run(init)
        for _ in range(steps):
            values = sess.run(list(fetches) + list(targets), feeds)[:len(fetches)]
        plans = list(sess._runtime.local_executor._plans.values())
        types = [n.ir_type for n in plans[-1].nodes]
    return values, types


def _both(fetches, feeds, monkeypatch, **kwargs):
    fused, fused_types = _run(fetches, feeds, "", monkeypatch, **kwargs)
    plain, plain_types = _run(fetches, feeds, "-conv_fusion", monkeypatch, **kwargs)
    assert "_FusedConv2D" not in plain_types
    for f, p in zip(fused, plain):
        assert f.dtype == p.dtype and f.shape == p.shape
        np.testing.assert_array_equal(f, p)
    return fused_types


def _conv_inputs(dtype=np.float32, channels=3, outs=16, seed=0):
    rng = np.random.default_rng(seed)
    x = tf.placeholder(dtype, [None, 9, 8, channels])
    w = tf.constant(rng.standard_normal((3, 3, channels, outs)).astype(dtype))
    b = tf.constant(rng.standard_normal(outs).astype(dtype))
    value = rng.standard_normal((2, 9, 8, channels)).astype(dtype)
    return x, w, b, {x: value}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("outs", [16, 12])  # 12: not the direct loops' vector multiple
def test_conv_bias_relu_becomes_one_node(dtype, outs, monkeypatch):
    x, w, b, feeds = _conv_inputs(dtype, outs=outs)
    y = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b) * 2
    types = _both([y], feeds, monkeypatch)
    assert types.count("_FusedConv2D") == 1
    assert "Relu" not in types and "AddV2" not in types and "Conv2D" not in types


@pytest.mark.parametrize("make", [
    lambda conv, b: b + conv,                             # bias first
    lambda conv, b: tf.nn.bias_add(conv, b),              # BiasAdd
    lambda conv, b: tf.add(conv, b),
])
def test_bias_add_forms(make, monkeypatch):
    x, w, b, feeds = _conv_inputs()
    y = tf.nn.relu(make(tf.nn.conv2d(x, w, [1, 2, 2, 1], "VALID"), b))
    assert _both([y], feeds, monkeypatch).count("_FusedConv2D") == 1


def test_without_relu_the_add_is_fused_alone(monkeypatch):
    x, w, b, feeds = _conv_inputs()
    z = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b
    y = tf.nn.sigmoid(z) + tf.nn.relu(z)     # the add has two uses: no Relu in the node
    types = _both([y], feeds, monkeypatch)
    # The Relu stays: on its own, or in the element-wise chain with the sigmoid.
    assert types.count("_FusedConv2D") == 1
    assert "Relu" in types or "_FusedElementwise" in types


def test_fetched_or_shared_values_are_left_alone(monkeypatch):
    x, w, b, feeds = _conv_inputs()
    conv = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
    y = tf.nn.relu(conv + b)
    assert "_FusedConv2D" not in _run([y, conv], feeds, "", monkeypatch)[1]   # conv fetched
    two_uses = tf.nn.relu(conv + b) + conv
    assert "_FusedConv2D" not in _run([two_uses], feeds, "", monkeypatch)[1]
    tf.reset_default_graph()
    x, w, b, feeds = _conv_inputs()
    z = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b
    y = tf.nn.relu(z)
    types = _both([y, z], feeds, monkeypatch)   # z fetched: conv + bias fused, Relu apart
    assert types.count("_FusedConv2D") == 1 and "Relu" in types


def test_bias_that_is_not_a_channel_vector_is_left_alone(monkeypatch):
    x, w, _, feeds = _conv_inputs()
    conv = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
    for bias in (tf.constant(1.5), tf.ones([1, 1, 1, 16]), tf.ones([8, 16])):
        y = tf.nn.relu(conv + bias)
        assert "_FusedConv2D" not in _run([y], feeds, "", monkeypatch)[1]


def test_nchw_is_left_alone(monkeypatch):
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float32, [None, 4, 6, 6])
    w = tf.constant(rng.standard_normal((3, 3, 4, 16)).astype(np.float32))
    y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME",
                                               data_format="NCHW"), tf.ones([16]),
                                  data_format="NCHW"))
    feeds = {x: rng.standard_normal((2, 4, 6, 6)).astype(np.float32)}
    assert "_FusedConv2D" not in _run([y], feeds, "", monkeypatch)[1]


def test_training_steps_equal_the_unfused_ones(monkeypatch):
    # The gradient graph reads the fused Relu (ReluGrad) and Shape(conv) (the add's
    # gradient): both must see the right values.
    rng = np.random.default_rng(2)
    x = tf.placeholder(tf.float32, [None, 8, 8, 1])
    w1 = tf.Variable(rng.standard_normal((3, 3, 1, 16)).astype(np.float32) * 0.3)
    b1 = tf.Variable(np.full(16, 0.1, np.float32))
    w2 = tf.Variable(rng.standard_normal((3, 3, 16, 32)).astype(np.float32) * 0.1)
    b2 = tf.Variable(np.zeros(32, np.float32))
    h = tf.nn.relu(tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME") + b1)
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, w2, [1, 1, 1, 1], "SAME"), b2))
    loss = tf.reduce_mean(tf.square(h - 0.5))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    feeds = {x: rng.standard_normal((4, 8, 8, 1)).astype(np.float32)}
    init = tf.global_variables_initializer()
    types = _both([loss, w1, b1, w2, b2], feeds, monkeypatch, targets=[train], steps=3,
                  init=init)
    assert types.count("_FusedConv2D") == 2


def test_a_bad_input_is_reported_by_the_original_op(monkeypatch):
    rng = np.random.default_rng(3)
    x = tf.placeholder(tf.float32, [None, None, None, None])
    w = tf.constant(rng.standard_normal((3, 3, 3, 16)).astype(np.float32))
    y = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME", name="my_conv") + tf.ones([16]))
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="my_conv"):
            sess.run(y, {x: np.ones((1, 5, 5, 4), np.float32)})   # 4 channels, filter 3


def test_not_applied_on_a_rank_with_gpus(monkeypatch):
    from hpcflow.runtime.rewrites import conv_fusion
    monkeypatch.setattr(conv_fusion.device_lib, "gpus", lambda: ["a GPU"])
    x, w, b, feeds = _conv_inputs()
    ir_types = _plan_types_without_running(tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
                                                      + b))
    assert "_FusedConv2D" not in ir_types


def _plan_types_without_running(y):
    from hpcflow.runtime import rewrites
    from hpcflow.runtime import executor as executor_lib
    ir = rewrites.GraphIR(executor_lib.prune([y], [], []), [y], [], [])
    rewrites.rewrite(ir, rewrites.PASS_NAMES)
    return [n.type for n in ir.nodes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [3, 1])  # 1: a 1x1 convolution (one GEMM, then the others)
def test_kernels_equal_the_three_ops(dtype, size):
    from hpcflow.framework import registry
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 6, 4)).astype(dtype)
    w = rng.standard_normal((size, size, 4, 32)).astype(dtype)
    bias = rng.standard_normal(32).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    attrs = dict(strides=[1, 1, 1, 1], padding="SAME", explicit_paddings=[],
                 data_format="NHWC", dilations=[1, 1, 1, 1], use_cudnn_on_gpu=True)
    kernels = registry.get("_FusedConv2D").kernels
    for activation in fused_conv.ACTIVATIONS:
        expected = kernels["numpy"](x, w, bias, activation=activation, **attrs)
        for backend, kernel in kernels.items():
            got = kernel(x, w, bias, activation=activation, **attrs)
            np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32
                                       else 1e-12, atol=1e-5, err_msg=backend)
            assert np.isnan(got).sum() == np.isnan(expected).sum() > 0
    with pytest.raises(ValueError, match="unknown activation 'Tanh'"):
        kernels["numpy"](x, w, bias, activation="Tanh", **attrs)
