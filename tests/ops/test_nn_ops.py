"""tf.nn: every op forward against numpy, backward against numerical gradients (float64),
second derivatives through the grad ops, and bad inputs raising TF's error classes."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework.indexed_slices import IndexedSlices
from hpcflow.ops import nn_conv_ops, nn_ops
from hpcflow.ops.op_helpers import apply_op

from gradcheck import check_gradient

RNG = np.random.RandomState(1234)


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def randn(*shape, dtype=np.float64):
    return RNG.randn(*shape).astype(dtype)


def away_from(values, points, margin=0.1):
    """`values` nudged so no entry is within `margin` of a kink in `points`."""
    values = np.array(values, dtype=np.float64)
    for p in points:
        near = np.abs(values - p) < margin
        values[near] = p + np.where(values[near] >= p, margin, -margin) * 2
    return values


def tol_for(dtype):
    return {np.float16: 2e-3, np.float32: 1e-5, np.float64: 1e-12}[np.dtype(dtype).type]


def assert_close(got, expected, dtype, rtol=None):
    rtol = rtol if rtol is not None else max(tol_for(dtype) * 10, 1e-10)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == np.shape(expected), (got.shape, np.shape(expected))
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(expected, np.float64),
                               rtol=rtol, atol=rtol)


def second_derivative(fn):
    """x -> d/dx sum(fn(x)^2): differentiating it again exercises the *Grad op's gradient
    with respect to both of its inputs."""
    return lambda x: tf.gradients(tf.square(fn(x)), x)[0]


# ---------------------------------------------------------------------------------------------
# Activations.

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

ACTIVATIONS = {
    "relu": (tf.nn.relu, lambda x: np.maximum(x, 0), [0.0]),
    "relu6": (tf.nn.relu6, lambda x: np.clip(x, 0, 6), [0.0, 6.0]),
    "elu": (tf.nn.elu, lambda x: np.where(x < 0, np.expm1(np.minimum(x, 0)), x), [0.0]),
    "selu": (tf.nn.selu, lambda x: SELU_SCALE * np.where(
        x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))), [0.0]),
    "leaky_relu": (tf.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), [0.0]),
    "leaky_relu_0.01": (lambda x: tf.nn.leaky_relu(x, alpha=0.01),
                        lambda x: np.where(x > 0, x, 0.01 * x), [0.0]),
    "softplus": (tf.nn.softplus, lambda x: np.logaddexp(x, 0), []),
    "softsign": (tf.nn.softsign, lambda x: x / (1 + np.abs(x)), [0.0]),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (0, 3)])
def test_activation_forward(name, dtype, shape):
    fn, ref, _ = ACTIVATIONS[name]
    x = (randn(*shape) * 4).astype(dtype)
    y = fn(tf.constant(x))
    assert y.dtype == tf.as_dtype(dtype) and y.shape.as_list() == list(shape)
    assert_close(run(y), ref(x.astype(np.float64)), dtype,
                 rtol=2e-3 if dtype == np.float16 else None)


def test_activation_op_names_and_types():
    x = tf.placeholder(tf.float32, [2])
    first, second = tf.nn.relu(x), tf.nn.relu(x)
    assert first.op.type == "Relu" and (first.name, second.name) == ("Relu:0", "Relu_1:0")
    assert tf.nn.leaky_relu(x).op.type == "LeakyRelu"
    assert tf.nn.softplus(x, name="sp").name == "sp:0"
    assert tf.nn.relu6(x).op.type == "Relu6"


def test_softplus_is_stable_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], np.float32)
    y = run(tf.nn.softplus(tf.constant(x)))
    np.testing.assert_allclose(y, [0.0, np.exp(-50.0), np.log(2.0), 50.0, 1000.0], rtol=1e-6)


def test_relu_accepts_integers_and_leaky_relu_casts_them():
    assert run(tf.nn.relu(tf.constant([-3, 4]))).tolist() == [0, 4]
    y = tf.nn.leaky_relu(tf.constant([-10, 4]))
    assert y.dtype == tf.float32
    np.testing.assert_allclose(run(y), [-2.0, 4.0])


@pytest.mark.parametrize("fn", [tf.nn.softplus, tf.nn.elu, tf.nn.selu, tf.nn.softsign])
def test_float_activations_refuse_integers(fn):
    with pytest.raises(TypeError, match="int32"):
        fn(tf.constant([1, 2]))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradient(name):
    fn, _, kinks = ACTIVATIONS[name]
    x = away_from(randn(3, 4) * 4, kinks)
    check_gradient(fn, [x], tol=1e-7)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_second_derivative(name):
    fn, _, kinks = ACTIVATIONS[name]
    x = away_from(randn(2, 3) * 4, kinks)
    check_gradient(second_derivative(fn), [x], tol=1e-6)


def test_relu_gradient_uses_fused_grad_op():
    x = tf.placeholder(tf.float64, [3])
    g = tf.gradients(tf.nn.relu(x), x)[0]
    assert g.op.type == "ReluGrad"
    np.testing.assert_array_equal(run(g, {x: [-1.0, 2.0, 0.5]}), [0.0, 1.0, 1.0])


def test_crelu_swish_relu_layer():
    x = randn(3, 4)
    np.testing.assert_allclose(run(tf.nn.crelu(tf.constant(x))),
                               np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], -1))
    np.testing.assert_allclose(run(tf.nn.swish(tf.constant(x))), x / (1 + np.exp(-x)))
    np.testing.assert_allclose(run(tf.nn.silu(tf.constant(x), beta=2.0)),
                               x / (1 + np.exp(-2 * x)))
    w, b = randn(4, 2), randn(2)
    np.testing.assert_allclose(run(tf.nn.relu_layer(tf.constant(x), tf.constant(w),
                                                    tf.constant(b))),
                               np.maximum(x @ w + b, 0))
    check_gradient(lambda t: tf.nn.swish(t), [x], tol=1e-8)
    check_gradient(lambda t: tf.nn.crelu(t), [away_from(x, [0.0])], tol=1e-8)


# ---------------------------------------------------------------------------------------------
# Softmax and log softmax.

def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [((5,), -1), ((3, 7), -1), ((3, 7), 0), ((2, 3, 4), 1),
                                        ((2, 3, 4), -3), ((4, 0), 0)])
def test_softmax_and_log_softmax_forward(dtype, shape, axis):
    x = (randn(*shape) * 3).astype(dtype)
    sm = tf.nn.softmax(tf.constant(x), axis=axis)
    lsm = tf.nn.log_softmax(tf.constant(x), axis=axis)
    assert sm.shape.as_list() == list(shape) and sm.dtype == tf.as_dtype(dtype)
    got_sm, got_lsm = run([sm, lsm])
    rtol = 3e-3 if dtype == np.float16 else None
    assert_close(got_sm, np_softmax(x.astype(np.float64), axis), dtype, rtol)
    assert_close(got_lsm, np_log_softmax(x.astype(np.float64), axis), dtype, rtol)


def test_softmax_dim_alias_names_and_stability():
    x = np.array([[1000.0, 1000.0, -1000.0], [-5.0, 0.0, 5.0]], np.float32)
    y = tf.nn.softmax(tf.constant(x), dim=0)
    np.testing.assert_allclose(run(y), np_softmax(x.astype(np.float64), 0), rtol=1e-6)
    last = tf.nn.softmax(tf.constant(x))
    assert last.op.type == "Softmax" and last.name == "Softmax_1:0"  # dim=0 made "Softmax"
    assert np.all(np.isfinite(run(tf.nn.log_softmax(tf.constant(x)))))


def test_softmax_bad_inputs():
    with pytest.raises(ValueError, match="Softmax"):
        tf.nn.softmax(tf.constant(1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="dim"):
        tf.nn.softmax(tf.constant([[1.0, 2.0]]), axis=2)
    with pytest.raises(TypeError, match="Softmax"):
        tf.nn.softmax(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="both"):
        tf.nn.softmax(tf.constant([1.0]), axis=0, dim=0)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_gradients(axis):
    x = randn(3, 4)
    check_gradient(lambda t: tf.nn.softmax(t, axis=axis), [x], tol=1e-9)
    check_gradient(lambda t: tf.nn.log_softmax(t, axis=axis), [x], tol=1e-9)
    check_gradient(second_derivative(lambda t: tf.nn.softmax(t, axis=axis)), [x], tol=1e-7)


# ---------------------------------------------------------------------------------------------
# Cross entropies.

def random_distribution(*shape, axis=-1):
    return np_softmax(randn(*shape) * 2, axis)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [((4, 5), -1), ((2, 3, 4), -1), ((3, 4), 0),
                                        ((5,), -1), ((0, 3), -1)])
def test_softmax_cross_entropy_forward(dtype, shape, axis):
    logits = (randn(*shape) * 3).astype(dtype)
    labels = random_distribution(*shape, axis=axis).astype(dtype)
    expected = -np.sum(labels.astype(np.float64) * np_log_softmax(logits.astype(np.float64),
                                                                  axis), axis=axis)
    for fn in (tf.nn.softmax_cross_entropy_with_logits,
               tf.nn.softmax_cross_entropy_with_logits_v2):
        loss = fn(labels=tf.constant(labels), logits=tf.constant(logits), axis=axis)
        assert loss.shape.as_list() == list(expected.shape)
        assert_close(run(loss), expected, dtype, rtol=5e-3 if dtype == np.float16 else None)


def test_softmax_cross_entropy_extreme_logits_and_dim_alias():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 3.0]], np.float32)
    labels = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], np.float32)
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits, dim=-1)
    np.testing.assert_allclose(run(loss), [0.0, 1e4], rtol=1e-6)
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels, logits, dim=1)
    np.testing.assert_allclose(run(v2), [0.0, 1e4], rtol=1e-6)


def test_softmax_cross_entropy_gradients():
    logits, labels = randn(3, 4), random_distribution(3, 4)
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2
    check_gradient(lambda lab, log: v2(labels=lab, logits=log), [labels, logits], tol=1e-9)
    # (The fused backprop is softmax - labels: exact for labels that sum to 1 on the axis.)
    check_gradient(lambda lab, log: v2(labels=lab, logits=log, axis=0),
                   [random_distribution(3, 4, axis=0), logits], tol=1e-9)
    check_gradient(lambda lab, log: v2(labels=lab, logits=log),
                   [random_distribution(2, 3, 4), randn(2, 3, 4)], tol=1e-9)
    # Second derivatives, through the fused op's backprop output.
    check_gradient(lambda log: tf.gradients(v2(labels=tf.constant(labels), logits=log) ** 2,
                                            log)[0], [logits], tol=1e-7)
    check_gradient(lambda lab: tf.gradients(tf.square(v2(labels=lab, logits=tf.constant(logits))),
                                            lab)[0], [labels], tol=1e-7)
    # Mixed: d/dlabels of d loss/d logits goes through the backprop output's labels term.
    check_gradient(lambda lab, log: tf.gradients(tf.square(v2(labels=lab, logits=log)), log)[0],
                   [labels, logits], tol=1e-7)


def test_softmax_cross_entropy_v1_stops_label_gradient():
    logits = tf.placeholder(tf.float64, [2, 3])
    labels = tf.placeholder(tf.float64, [2, 3])
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    g_logits, g_labels = tf.gradients(loss, [logits, labels])
    assert g_labels is None
    x, z = randn(2, 3), random_distribution(2, 3)
    np.testing.assert_allclose(run(g_logits, {logits: x, labels: z}), np_softmax(x) - z)
    loss2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    assert tf.gradients(loss2, labels)[0] is not None


def test_softmax_cross_entropy_bad_inputs():
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2
    with pytest.raises(ValueError, match="softmax_cross_entropy_with_logits"):
        v2(labels=tf.placeholder(tf.float32, [2, 4]), logits=tf.placeholder(tf.float32, [2, 3]))
    with pytest.raises(TypeError):
        v2(labels=tf.placeholder(tf.int32, [2, 3]), logits=tf.placeholder(tf.float32, [2, 3]))
    # As TF, float labels of another type are cast to the logits' type.
    mixed = v2(labels=tf.constant([[0.25, 0.75]], tf.float64), logits=tf.constant([[1.0, 2.0]]))
    assert mixed.dtype == tf.float32
    with pytest.raises(ValueError, match="scalars"):
        v2(labels=tf.constant(1.0), logits=tf.constant(1.0))
    with pytest.raises(ValueError, match="must be provided"):
        tf.nn.softmax_cross_entropy_with_logits(logits=tf.constant([[1.0]]))


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (5,), (0, 3)])
def test_sparse_softmax_cross_entropy_forward(label_dtype, dtype, shape):
    logits = (randn(*shape) * 3).astype(dtype)
    labels = RNG.randint(0, shape[-1], size=shape[:-1]).astype(label_dtype)
    lsm = np_log_softmax(logits.astype(np.float64))
    expected = -np.take_along_axis(lsm, labels[..., None].astype(np.int64), -1)[..., 0]
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(labels),
                                                          logits=tf.constant(logits))
    assert loss.shape.as_list() == list(shape[:-1]) and loss.dtype == tf.as_dtype(dtype)
    assert_close(run(loss), expected, dtype, rtol=5e-3 if dtype == np.float16 else None)


def test_sparse_softmax_cross_entropy_names_and_unknown_shapes():
    logits = tf.placeholder(tf.float32, [None, None, 3])
    labels = tf.placeholder(tf.int64, [None, None])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    assert loss.shape.as_list() == [None, None]
    x = randn(2, 4, 3, dtype=np.float32)
    z = RNG.randint(0, 3, size=(2, 4))
    expected = -np.take_along_axis(np_log_softmax(x.astype(np.float64)), z[..., None], -1)[..., 0]
    np.testing.assert_allclose(run(loss, {logits: x, labels: z}), expected, rtol=1e-5)
    flat = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant([0]), logits=tf.constant([[1.0, 2.0]]))
    assert flat.op.type == "SparseSoftmaxCrossEntropyWithLogits"


def test_sparse_softmax_cross_entropy_gradients():
    labels = np.array([0, 2, 1], np.int32)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits
    check_gradient(lambda z, log: sparse(labels=z, logits=log), [labels, randn(3, 4)], tol=1e-9)
    check_gradient(lambda z, log: sparse(labels=z, logits=log),
                   [labels.reshape(3, 1), randn(3, 1, 4)], tol=1e-9)
    check_gradient(lambda z, log: tf.gradients(tf.square(sparse(labels=z, logits=log)), log)[0],
                   [labels, randn(3, 4)], tol=1e-7)


def test_sparse_softmax_cross_entropy_bad_inputs():
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits
    labels = tf.placeholder(tf.int32, [2])
    loss = sparse(labels=labels, logits=tf.constant([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"label value of 3 which is outside the valid range of \[0, 3\)"
                             r"(.|\n)*SparseSoftmaxCrossEntropyWithLogits"):
        run(loss, {labels: [0, 3]})
    with pytest.raises(tf.errors.InvalidArgumentError, match="label value of -1"):
        run(loss, {labels: [-1, 0]})
    with pytest.raises(TypeError, match="int32, int64"):
        sparse(labels=tf.constant([1.0, 0.0]), logits=tf.constant([[1.0, 2.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="labels.shape"):
        sparse(labels=tf.constant([1, 0, 1]), logits=tf.constant([[1.0, 2.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="scalars"):
        sparse(labels=tf.constant(1), logits=tf.constant(1.0))


def np_sigmoid_xent(x, z):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_cross_entropy_forward(dtype):
    x = np.concatenate([randn(3, 4) * 3, [[-100.0, 100.0, 0.0, 30.0]]]).astype(dtype)
    z = RNG.uniform(size=(4, 4)).astype(dtype)
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=tf.constant(x))
    assert loss.name == "logistic_loss:0" and loss.shape.as_list() == [4, 4]
    got = run(loss)
    assert np.all(np.isfinite(got))
    assert_close(got, np_sigmoid_xent(x.astype(np.float64), z.astype(np.float64)), dtype)


def test_sigmoid_and_weighted_cross_entropy_gradients():
    x, z = randn(3, 4), RNG.uniform(size=(3, 4))
    sig = tf.nn.sigmoid_cross_entropy_with_logits
    check_gradient(lambda lab, log: sig(labels=lab, logits=log), [z, x], tol=1e-9)
    # At exactly 0 the gradient is sigmoid(0) - z, as TF's selects give.
    logits = tf.placeholder(tf.float64, [2])
    g = tf.gradients(sig(labels=tf.constant([0.25, 1.0], tf.float64), logits=logits), logits)[0]
    np.testing.assert_allclose(run(g, {logits: [0.0, 0.0]}), [0.25, -0.5])
    weighted = tf.nn.weighted_cross_entropy_with_logits
    check_gradient(lambda lab, log: weighted(labels=lab, logits=log, pos_weight=2.5), [z, x],
                   tol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_cross_entropy_forward(dtype):
    x = np.concatenate([randn(3, 4) * 3, [[-100.0, 100.0, 0.0, 30.0]]]).astype(dtype)
    z = RNG.uniform(size=(4, 4)).astype(dtype)
    q = 3.0
    expected = (1 - z) * x + (1 + (q - 1) * z) * (np.log1p(np.exp(-np.abs(x)))
                                                    + np.maximum(-x, 0))
    loss = tf.nn.weighted_cross_entropy_with_logits(labels=tf.constant(z), logits=tf.constant(x),
                                                    pos_weight=q)
    assert_close(run(loss), expected, dtype)
    legacy = tf.nn.weighted_cross_entropy_with_logits(targets=z, logits=tf.constant(x),
                                                      pos_weight=q)
    assert_close(run(legacy), expected, dtype)
    # pos_weight = 1 is the plain logistic loss.
    plain = tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=tf.constant(x),
                                                     pos_weight=1.0)
    assert_close(run(plain), np_sigmoid_xent(x.astype(np.float64), z.astype(np.float64)), dtype)


def test_logistic_losses_bad_inputs():
    with pytest.raises(ValueError, match="must have the same shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.placeholder(tf.float32, [2, 4]),
                                                logits=tf.placeholder(tf.float32, [2, 3]))
    with pytest.raises(ValueError, match="must have the same shape"):
        tf.nn.weighted_cross_entropy_with_logits(labels=tf.placeholder(tf.float32, [2]),
                                                 logits=tf.placeholder(tf.float32, [3]),
                                                 pos_weight=2.0)
    with pytest.raises(TypeError):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.placeholder(tf.float64, [2]),
                                                logits=tf.placeholder(tf.float32, [2]))


def test_log_poisson_loss():
    log_input, targets = randn(3, 4), RNG.randint(0, 5, size=(3, 4)).astype(np.float64)
    expected = np.exp(log_input) - log_input * targets
    got = run(tf.nn.log_poisson_loss(targets, tf.constant(log_input)))
    np.testing.assert_allclose(got, expected)
    full = run(tf.nn.log_poisson_loss(targets, tf.constant(log_input), compute_full_loss=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        stirling = targets * np.log(targets) - targets + 0.5 * np.log(2 * np.pi * targets)
    np.testing.assert_allclose(full, expected + np.where(targets <= 1, 0, stirling))
    check_gradient(lambda li: tf.nn.log_poisson_loss(targets, li, compute_full_loss=True),
                   [log_input], tol=1e-8)


# ---------------------------------------------------------------------------------------------
# bias_add and xw_plus_b.

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32])
def test_bias_add_forward(dtype):
    for shape, fmt, channel in [((3, 5), None, 1), ((2, 3, 4, 5), "NHWC", 3),
                                ((2, 3, 4, 5), "NCHW", 1), ((2, 3, 4), "NCW", 1),
                                ((0, 3), "NHWC", 1)]:
        value = (randn(*shape) * 5).astype(dtype)
        bias = (randn(shape[channel]) * 5).astype(dtype)
        y = tf.nn.bias_add(tf.constant(value), tf.constant(bias), data_format=fmt)
        assert y.shape.as_list() == list(shape) and y.dtype == tf.as_dtype(dtype)
        b = bias.reshape([-1 if i == channel else 1 for i in range(len(shape))])
        expected = value.astype(np.float64) + b.astype(np.float64)
        assert run(y).dtype == dtype
        np.testing.assert_allclose(run(y), expected.astype(dtype), rtol=1e-3)


def test_bias_add_gradients():
    for shape, fmt in [((3, 4), "NHWC"), ((2, 3, 2, 4), "NHWC"), ((2, 4, 3, 2), "NCHW")]:
        channels = shape[1] if fmt == "NCHW" else shape[-1]
        check_gradient(lambda v, b: tf.nn.bias_add(v, b, data_format=fmt),
                       [randn(*shape), randn(channels)], tol=1e-9)
        # BiasAddGrad's own gradient (second order w.r.t. the bias path).
        check_gradient(lambda v, b: tf.gradients(tf.square(tf.nn.bias_add(v, b, fmt)), b)[0],
                       [randn(*shape), randn(channels)], tol=1e-8)
    v = tf.placeholder(tf.float64, [2, 3])
    assert tf.gradients(tf.nn.bias_add(v, tf.zeros([3], tf.float64)), v)[0] is not None


def test_bias_add_bad_inputs():
    with pytest.raises(ValueError, match="BiasAdd"):
        tf.nn.bias_add(tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.float32, [4]))
    with pytest.raises(ValueError, match="at least rank 2"):
        tf.nn.bias_add(tf.placeholder(tf.float32, [3]), tf.placeholder(tf.float32, [3]))
    with pytest.raises(ValueError, match="rank 1"):
        tf.nn.bias_add(tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.float32, [1, 3]))
    with pytest.raises(ValueError, match="float32"):
        tf.nn.bias_add(tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.float64, [3]))
    value = tf.placeholder(tf.float32, [None, None])
    y = tf.nn.bias_add(value, tf.constant([1.0, 2.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="BiasAdd"):
        run(y, {value: np.zeros((2, 3))})


def test_xw_plus_b():
    x, w, b = randn(3, 4), randn(4, 2), randn(2)
    y = tf.nn.xw_plus_b(tf.constant(x), tf.constant(w), tf.constant(b))
    assert y.name == "xw_plus_b:0" and y.op.type == "BiasAdd"
    np.testing.assert_allclose(run(y), x @ w + b)
    check_gradient(tf.nn.xw_plus_b, [x, w, b], tol=1e-9)


# ---------------------------------------------------------------------------------------------
# conv2d.

def np_conv2d(x, w, strides, padding, dilations=(1, 1)):
    """Direct loop reference, NHWC; padding is "SAME", "VALID" or ((t, b), (l, r))."""
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    eh, ew = (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1
    if padding == "SAME":
        oh, ow = -(-h // strides[0]), -(-wd // strides[1])
        th = max((oh - 1) * strides[0] + eh - h, 0)
        tw = max((ow - 1) * strides[1] + ew - wd, 0)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    elif padding == "VALID":
        pads = ((0, 0), (0, 0))
    else:
        pads = padding
    xp = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    oh = (xp.shape[1] - eh) // strides[0] + 1
    ow = (xp.shape[2] - ew) // strides[1] + 1
    out = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * strides[0]:i * strides[0] + eh:dilations[0],
                       j * strides[1]:j * strides[1] + ew:dilations[1], :]
            out[:, i, j, :] = np.tensordot(patch, w.astype(np.float64), axes=([1, 2, 3],
                                                                             [0, 1, 2]))
    return out


CONV_CASES = [  # (input NHWC, filter, strides, padding, dilations)
    ((2, 5, 6, 3), (3, 3, 3, 4), 1, "SAME", 1),
    ((2, 5, 6, 3), (3, 3, 3, 4), 2, "SAME", 1),
    ((2, 5, 6, 3), (3, 3, 3, 4), 1, "VALID", 1),
    ((2, 5, 6, 3), (3, 3, 3, 4), 2, "VALID", 1),
    ((1, 7, 4, 2), (3, 2, 2, 3), [2, 1], "SAME", 1),
    ((1, 7, 4, 2), (2, 3, 2, 1), [1, 2], "VALID", 1),
    ((2, 8, 7, 1), (3, 3, 1, 2), 1, "SAME", 2),
    ((2, 8, 7, 1), (2, 2, 1, 2), 2, "VALID", [2, 1]),
    ((1, 4, 5, 2), (1, 1, 2, 3), 1, "VALID", 1),
    ((1, 4, 5, 2), (3, 3, 2, 2), 1, [[0, 0], [1, 2], [0, 1], [0, 0]], 1),
    ((3, 1, 1, 2), (1, 1, 2, 2), 2, "SAME", 1),
]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _ref_padding(padding):
    if isinstance(padding, list):
        return (tuple(padding[1]), tuple(padding[2]))
    return padding


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_forward(case, dtype):
    x_shape, w_shape, strides, padding, dilations = CONV_CASES[case]
    x, w = randn(*x_shape).astype(dtype), randn(*w_shape).astype(dtype)
    y = tf.nn.conv2d(tf.constant(x), tf.constant(w), strides, padding, dilations=dilations)
    expected = np_conv2d(x, w, _pair(strides), _ref_padding(padding), _pair(dilations))
    assert y.shape.as_list() == list(expected.shape) and y.op.type == "Conv2D"
    assert_close(run(y), expected, dtype, rtol=1e-4 if dtype == np.float32 else None)


def test_conv2d_nchw_float16_and_unknown_shapes():
    x, w = randn(2, 5, 6, 3), randn(3, 3, 3, 4)
    expected = np_conv2d(x, w, (2, 2), "SAME")
    nchw = tf.nn.conv2d(tf.constant(x.transpose(0, 3, 1, 2)), tf.constant(w), [1, 1, 2, 2],
                        "SAME", data_format="NCHW")
    assert nchw.shape.as_list() == [2, 4, 3, 3]
    np.testing.assert_allclose(run(nchw), expected.transpose(0, 3, 1, 2), rtol=1e-10)
    half = tf.nn.conv2d(tf.constant(x.astype(np.float16)), tf.constant(w.astype(np.float16)),
                        [1, 2, 2, 1], "SAME")
    got = run(half)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, expected, rtol=2e-2, atol=2e-2)
    xp = tf.placeholder(tf.float64, [None, None, None, 3])
    y = tf.nn.conv2d(xp, tf.constant(w), 2, "SAME")
    assert y.shape.as_list() == [None, None, None, 4]
    np.testing.assert_allclose(run(y, {xp: x}), expected, rtol=1e-10)


# Conv2DBackpropInput has two strategies: one GEMM per window offset for few input channels,
# GEMM + col2im otherwise; the channel counts below exercise both.
@pytest.mark.parametrize("channels", [2, nn_ops._PER_OFFSET_MAX_CHANNELS + 1])
def test_conv2d_large_batch_is_chunked(monkeypatch, channels):
    monkeypatch.setattr(nn_conv_ops, "_IM2COL_CHUNK_ELEMENTS", 500)
    x, w = randn(5, 6, 5, channels), randn(3, 3, channels, 3)
    y = tf.nn.conv2d(tf.constant(x), tf.constant(w), 1, "SAME")
    np.testing.assert_allclose(run(y), np_conv2d(x, w, (1, 1), "SAME"), rtol=1e-10)
    dy = randn(5, 6, 5, 3)
    dx = tf.nn.conv2d_backprop_input([5, 6, 5, channels], tf.constant(w), tf.constant(dy), 1,
                                     "SAME")
    dw = tf.nn.conv2d_backprop_filter(tf.constant(x), [3, 3, channels, 3], tf.constant(dy), 1,
                                      "SAME")
    y_v, dx_v, dw_v = run([y, dx, dw])
    np.testing.assert_allclose(np.sum(x * dx_v), np.sum(y_v * dy), rtol=1e-10)
    np.testing.assert_allclose(np.sum(w * dw_v), np.sum(y_v * dy), rtol=1e-10)


GRAD_CONV_CASES = [
    ((1, 4, 5, 2), (3, 3, 2, 2), 1, "SAME", 1),
    # Many input channels: the other dx strategies (col2im; stride 1: flipped-filter conv).
    ((1, 3, 4, 9), (2, 3, 9, 2), 2, "SAME", 1),
    ((1, 5, 4, 8), (3, 2, 8, 1), 1, "VALID", [2, 1]),
    ((1, 4, 3, 8), (3, 3, 8, 1), 1, [[0, 0], [2, 0], [1, 1], [0, 0]], 1),
    ((1, 3, 3, 8), (2, 2, 8, 1), 1, [[0, 0], [3, 0], [0, 2], [0, 0]], 1),
    ((2, 5, 4, 1), (3, 2, 1, 2), 2, "SAME", 1),
    ((1, 5, 6, 2), (2, 3, 2, 1), [1, 2], "VALID", 1),
    ((1, 6, 5, 1), (2, 2, 1, 2), 1, "SAME", 2),
    ((1, 4, 4, 1), (3, 3, 1, 1), 1, [[0, 0], [2, 0], [1, 1], [0, 0]], 1),
]


@pytest.mark.parametrize("case", range(len(GRAD_CONV_CASES)))
def test_conv2d_gradients(case):
    x_shape, w_shape, strides, padding, dilations = GRAD_CONV_CASES[case]

    def build(x, w):
        return tf.nn.conv2d(x, w, strides, padding, dilations=dilations)
    check_gradient(build, [randn(*x_shape), randn(*w_shape)], tol=1e-8)


def test_conv2d_gradient_ops_and_second_order():
    x = tf.placeholder(tf.float64, [1, 4, 5, 2])
    w = tf.placeholder(tf.float64, [3, 3, 2, 2])
    dx, dw = tf.gradients(tf.nn.conv2d(x, w, 2, "SAME"), [x, w])
    assert dx.op.type == "Conv2DBackpropInput" and dw.op.type == "Conv2DBackpropFilter"
    # The backprop ops' own gradients, w.r.t. every float input.
    attrs = dict(strides=[1, 2, 2, 1], padding="SAME")
    dy = randn(1, 2, 3, 2)
    check_gradient(lambda f, g: tf.nn.conv2d_backprop_input([1, 4, 5, 2], f, g, **attrs),
                   [randn(3, 3, 2, 2), dy], tol=1e-8)
    check_gradient(lambda i, g: tf.nn.conv2d_backprop_filter(i, [3, 3, 2, 2], g, **attrs),
                   [randn(1, 4, 5, 2), dy], tol=1e-8)
    # A genuine second derivative: d/dw of |d loss / dx|^2.
    check_gradient(lambda xx, ww: tf.gradients(tf.square(tf.nn.conv2d(xx, ww, 1, "VALID")),
                                               xx)[0],
                   [randn(1, 4, 4, 1), randn(2, 2, 1, 2)], tol=1e-7)


@pytest.mark.parametrize("channels", [3, 12])
def test_conv2d_backprop_ops_match_adjoint(channels):
    c = channels
    x, w, dy = randn(2, 5, 6, c), randn(3, 2, c, 4), randn(2, 3, 3, 4)
    y = tf.nn.conv2d(tf.constant(x), tf.constant(w), 2, "SAME")
    dx = tf.nn.conv2d_backprop_input(tf.constant([2, 5, 6, c]), tf.constant(w), tf.constant(dy),
                                     2, "SAME")
    dw = tf.nn.conv2d_backprop_filter(tf.constant(x), [3, 2, c, 4], tf.constant(dy),
                                      [1, 2, 2, 1], "SAME")
    y_v, dx_v, dw_v = run([y, dx, dw])
    # <conv(x, w), dy> == <x, dx> == <w, dw>.
    np.testing.assert_allclose(np.sum(y_v * dy), np.sum(x * dx_v), rtol=1e-10)
    np.testing.assert_allclose(np.sum(y_v * dy), np.sum(w * dw_v), rtol=1e-10)


def test_conv2d_transpose_and_conv1d():
    x, w = randn(2, 3, 3, 4), randn(3, 3, 2, 4)
    y = tf.nn.conv2d_transpose(tf.constant(x), tf.constant(w), [2, 5, 6, 2], [1, 2, 2, 1],
                               "SAME")
    assert y.shape.as_list() == [2, 5, 6, 2]
    z = randn(2, 5, 6, 2)
    conv = np_conv2d(z, w, (2, 2), "SAME")
    np.testing.assert_allclose(np.sum(run(y) * z), np.sum(conv * x), rtol=1e-10)
    with pytest.raises(ValueError, match="output channels"):
        tf.nn.conv2d_transpose(tf.constant(x), tf.constant(w), [2, 5, 6, 3], 2, "SAME")
    v, f = randn(2, 9, 3), randn(3, 3, 2)
    c1 = tf.nn.conv1d(tf.constant(v), tf.constant(f), 2, "VALID")
    expected = np_conv2d(v[:, None], f[None], (1, 2), "VALID")[:, 0]
    np.testing.assert_allclose(run(c1), expected, rtol=1e-10)
    c1_ncw = tf.nn.conv1d(tf.constant(v.transpose(0, 2, 1)), tf.constant(f), 2, "VALID",
                          data_format="NCW")
    np.testing.assert_allclose(run(c1_ncw), expected.transpose(0, 2, 1), rtol=1e-10)


def test_atrous_conv2d_and_convolution():
    x, w = randn(2, 8, 7, 2), randn(3, 2, 2, 3)
    atrous = tf.nn.atrous_conv2d(tf.constant(x), tf.constant(w), 2, "SAME")
    np.testing.assert_allclose(run(atrous), np_conv2d(x, w, (1, 1), "SAME", (2, 2)), rtol=1e-10)
    conv = tf.nn.convolution(tf.constant(x), tf.constant(w), "VALID", strides=[2, 1])
    np.testing.assert_allclose(run(conv), np_conv2d(x, w, (2, 1), "VALID"), rtol=1e-10)
    v, f = randn(2, 9, 3), randn(3, 3, 2)
    conv_1d = tf.nn.convolution(tf.constant(v), tf.constant(f), "SAME", dilation_rate=2)
    expected = np_conv2d(v[:, None], f[None], (1, 1), "SAME", (1, 2))[:, 0]
    np.testing.assert_allclose(run(conv_1d), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="cannot be less than one"):
        tf.nn.atrous_conv2d(tf.constant(x), tf.constant(w), 0, "SAME")
    with pytest.raises(ValueError, match="in conjunction with dilation_rate"):
        tf.nn.convolution(tf.constant(x), tf.constant(w), "SAME", strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="rank 3 or 4"):
        tf.nn.convolution(tf.zeros([1, 2, 2, 2, 1]), tf.zeros([1, 1, 1, 1, 1]), "SAME")


def test_conv_and_pool_empty_inputs():
    for shape in [(0, 5, 6, 3), (2, 0, 6, 3)]:
        for stride in (1, 2):
            x = tf.placeholder(tf.float64, shape)
            w = tf.placeholder(tf.float64, [3, 3, 3, 4])
            y = tf.nn.conv2d(x, w, stride, "SAME")
            dx, dw = tf.gradients(tf.reduce_sum(y), [x, w])
            pools = [tf.nn.max_pool(x, 2, stride, "SAME"), tf.nn.avg_pool(x, 2, stride, "SAME")]
            values = run([y, dx, dw] + pools, {x: np.zeros(shape), w: randn(3, 3, 3, 4)})
            assert values[0].shape == tuple(y.shape.as_list()) and values[0].size == 0
            assert values[1].shape == shape and not values[2].any()
            assert all(v.size == 0 for v in values[3:])


def test_conv2d_bad_inputs():
    x = tf.placeholder(tf.float32, [2, 5, 6, 3], name="x")
    with pytest.raises(ValueError, match=r"Depth of input \(3\)(.|\n)*Conv2D"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 2, 4]), 1, "SAME")
    with pytest.raises(ValueError, match="padding(.|\n)*FOO"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 3, 4]), 1, "FOO")
    with pytest.raises(ValueError, match="padding(.|\n)*same"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 3, 4]), 1, "same")
    with pytest.raises(ValueError, match="Negative dimension size(.|\n)*Conv2D"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [7, 3, 3, 4]), 1, "VALID")
    with pytest.raises(TypeError, match="Conv2D"):
        tf.nn.conv2d(x, tf.placeholder(tf.float64, [3, 3, 3, 4]), 1, "SAME")
    with pytest.raises(ValueError, match="rank 4(.|\n)*Conv2D"):
        tf.nn.conv2d(tf.placeholder(tf.float32, [5, 6, 3]),
                     tf.placeholder(tf.float32, [3, 3, 3, 4]), 1, "SAME")
    with pytest.raises(ValueError, match="strides should be of length"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 3, 4]), [1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="data_format"):
        tf.nn.conv2d(x, tf.placeholder(tf.float32, [3, 3, 3, 4]), 1, "SAME", data_format="HWC")
    y = tf.nn.conv2d(tf.zeros([2, 5, 6, 3]), tf.zeros([3, 3, 3, 4]), [2, 1, 1, 1], "SAME")
    with pytest.raises(tf.errors.UnimplementedError, match="batch and depth(.|\n)*Conv2D"):
        run(y)
    xu = tf.placeholder(tf.float32, [None, None, None, None])
    yu = tf.nn.conv2d(xu, tf.zeros([3, 3, 3, 4]), 1, "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError, match="depth(.|\n)*Conv2D"):
        run(yu, {xu: np.zeros((1, 4, 4, 2))})


# ---------------------------------------------------------------------------------------------
# Pooling.

def np_pool(x, ksize, strides, padding, kind):
    n, h, w, c = x.shape
    kh, kw = ksize
    sh, sw = strides
    if padding == "SAME":
        oh, ow = -(-h // sh), -(-w // sw)
        pt = max((oh - 1) * sh + kh - h, 0) // 2
        pl = max((ow - 1) * sw + kw - w, 0) // 2
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        pt = pl = 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - pt, j * sw - pl
            window = x[:, max(r0, 0):r0 + kh, max(c0, 0):c0 + kw, :].astype(np.float64)
            out[:, i, j, :] = window.max(axis=(1, 2)) if kind == "max" else window.mean(
                axis=(1, 2))
    return out


POOL_CASES = [  # (input NHWC, ksize, strides, padding)
    ((2, 5, 6, 3), 2, 2, "SAME"),
    ((2, 5, 6, 3), 2, 2, "VALID"),
    ((2, 5, 6, 3), 3, 1, "SAME"),
    ((2, 5, 6, 3), 3, 1, "VALID"),
    ((1, 7, 4, 2), [3, 2], [2, 1], "SAME"),
    ((1, 7, 4, 2), [1, 3, 2, 1], [1, 2, 3, 1], "VALID"),
    ((1, 3, 3, 1), 3, 2, "SAME"),
]


@pytest.mark.parametrize("case", range(len(POOL_CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_forward(case, dtype, kind):
    x_shape, ksize, strides, padding = POOL_CASES[case]
    x = randn(*x_shape).astype(dtype)
    fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
    y = fn(tf.constant(x), ksize, strides, padding)
    k2 = nn_ops._get_sequence(ksize, 2, 3, "ksize")[1:3]
    s2 = nn_ops._get_sequence(strides, 2, 3, "strides")[1:3]
    expected = np_pool(x, k2, s2, padding, kind)
    assert y.shape.as_list() == list(expected.shape)
    assert y.op.type == ("MaxPool" if kind == "max" else "AvgPool")
    assert_close(run(y), expected, dtype, rtol=1e-5 if dtype == np.float32 else None)


def test_pool_nchw_int_float16_and_unknown_shapes():
    x = randn(2, 5, 6, 3)
    expected = np_pool(x, (2, 2), (2, 2), "SAME", "max")
    nchw = tf.nn.max_pool(tf.constant(x.transpose(0, 3, 1, 2)), [1, 1, 2, 2], [1, 1, 2, 2],
                          "SAME", data_format="NCHW")
    np.testing.assert_allclose(run(nchw), expected.transpose(0, 3, 1, 2))
    avg = tf.nn.avg_pool(tf.constant(x.transpose(0, 3, 1, 2)), [1, 1, 3, 3], [1, 1, 2, 2],
                         "SAME", data_format="NCHW")
    np.testing.assert_allclose(run(avg), np_pool(x, (3, 3), (2, 2), "SAME", "avg").transpose(
        0, 3, 1, 2))
    ints = (x * 10).astype(np.int32)
    got = run(tf.nn.max_pool(tf.constant(ints), 2, 2, "SAME"))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, np_pool(ints, (2, 2), (2, 2), "SAME", "max"))
    half = run(tf.nn.avg_pool2d(tf.constant(x.astype(np.float16)), 2, 1, "VALID"))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, np_pool(x, (2, 2), (1, 1), "VALID", "avg"), atol=3e-3)
    xp = tf.placeholder(tf.float64, [None, 5, None, 3])
    y = tf.nn.max_pool2d(xp, 2, 2, "SAME")
    assert y.shape.as_list() == [None, 3, None, 3]
    np.testing.assert_allclose(run(y, {xp: x}), expected)


@pytest.mark.parametrize("case", range(len(POOL_CASES)))
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradients(case, kind):
    x_shape, ksize, strides, padding = POOL_CASES[case]
    x_shape = (1,) + x_shape[1:]
    # Distinct, well separated values: the max of every window is unambiguous.
    x = RNG.permutation(int(np.prod(x_shape))).reshape(x_shape).astype(np.float64) / 7.0
    fn = tf.nn.max_pool if kind == "max" else tf.nn.avg_pool
    check_gradient(lambda t: fn(t, ksize, strides, padding), [x], tol=1e-8)


def test_pool_grad_ops_and_second_order():
    x = RNG.permutation(40).reshape(1, 5, 4, 2).astype(np.float64)
    xt = tf.placeholder(tf.float64, [1, 5, 4, 2])
    gmax = tf.gradients(tf.nn.max_pool(xt, 2, 2, "SAME"), xt)[0]
    gavg = tf.gradients(tf.nn.avg_pool(xt, 2, 2, "SAME"), xt)[0]
    assert gmax.op.type == "MaxPoolGrad" and gavg.op.type == "AvgPoolGrad"
    # Max pool routes each window's gradient to its max; avg pool spreads it.
    pooled_grad, avg_grad = run([gmax, gavg], {xt: x})
    assert pooled_grad.sum() == 12 and set(np.unique(pooled_grad)) <= {0.0, 1.0}
    np.testing.assert_allclose(avg_grad.sum(), 12.0)
    check_gradient(second_derivative(lambda t: tf.nn.max_pool(t, 2, 2, "SAME")), [x], tol=1e-8)
    check_gradient(second_derivative(lambda t: tf.nn.avg_pool(t, [3, 2], [2, 1], "SAME")),
                   [x], tol=1e-8)
    # MaxPoolGradGrad's own gradient: differentiate the grad op w.r.t. its `grad` input.
    attrs = {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "SAME",
             "data_format": "NHWC"}

    def grad_grad(g):
        const_x = tf.constant(x)
        y = tf.nn.max_pool(const_x, 2, 2, "SAME")
        return apply_op("MaxPoolGradGrad", [const_x, y, g], attrs)
    check_gradient(grad_grad, [randn(1, 5, 4, 2)], tol=1e-9)


def test_max_pool_gradient_ties_go_to_the_first_max():
    x = tf.constant(np.ones((1, 2, 2, 1)))
    g = run(tf.gradients(tf.nn.max_pool(x, 2, 2, "VALID"), x)[0])
    np.testing.assert_array_equal(g[0, :, :, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_pool_bad_inputs():
    x = tf.placeholder(tf.float32, [2, 5, 6, 3])
    with pytest.raises(ValueError, match="'MaxPool' Op passed string 'same'"):
        tf.nn.max_pool(x, 2, 2, "same")
    with pytest.raises(ValueError, match="AvgPool"):
        tf.nn.avg_pool(x, 2, 2, [[0, 0], [1, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="Negative dimension size(.|\n)*MaxPool"):
        tf.nn.max_pool(x, 6, 1, "VALID")
    with pytest.raises(ValueError, match="rank 4(.|\n)*AvgPool"):
        tf.nn.avg_pool(tf.placeholder(tf.float32, [5, 6, 3]), 2, 2, "VALID")
    with pytest.raises(TypeError, match="AvgPool"):
        tf.nn.avg_pool(tf.placeholder(tf.int32, [1, 2, 2, 1]), 2, 2, "VALID")
    y = tf.nn.max_pool(tf.zeros([2, 4, 4, 2]), [1, 2, 2, 2], [1, 2, 2, 2], "VALID")
    with pytest.raises(tf.errors.UnimplementedError, match="depth(.|\n)*MaxPool"):
        run(y)


# ---------------------------------------------------------------------------------------------
# dropout.

def test_dropout_statistics_and_scaling():
    x = np.ones((200, 500), np.float32)
    for kwargs, keep in [({"keep_prob": 0.3}, 0.3), ({"rate": 0.25}, 0.75)]:
        y = tf.nn.dropout(tf.constant(x), seed=5, **kwargs)
        assert y.shape.as_list() == [200, 500] and y.dtype == tf.float32
        got = run(y)
        kept = got != 0
        assert abs(kept.mean() - keep) < 0.01
        np.testing.assert_allclose(got[kept], np.float32(1 / keep), rtol=1e-6)


def test_dropout_noise_shape_tensor_rate_and_identity():
    x = tf.constant(np.arange(1, 4001, dtype=np.float64).reshape(1000, 4))
    y = run(tf.nn.dropout(x, rate=0.5, noise_shape=[1000, 1], seed=1))
    rows_kept = np.all(y != 0, axis=1)
    rows_dropped = np.all(y == 0, axis=1)
    assert np.all(rows_kept | rows_dropped) and 0.4 < rows_kept.mean() < 0.6
    np.testing.assert_allclose(y[rows_kept], 2 * np.arange(1, 4001).reshape(1000, 4)[rows_kept])
    rate = tf.placeholder(tf.float64, [])
    yt = tf.nn.dropout(x, rate=rate, seed=2)
    got = run(yt, {rate: 0.9})
    assert 0.07 < np.mean(got != 0) < 0.13
    # The TF1 idiom: a keep_prob placeholder, 0.5 to train and 1.0 to evaluate.
    keep_prob = tf.placeholder(tf.float64)
    yk = tf.nn.dropout(x, keep_prob, seed=4)
    np.testing.assert_array_equal(run(yk, {keep_prob: 1.0}), run(x))
    assert 0.4 < np.mean(run(yk, {keep_prob: 0.5}) != 0) < 0.6
    # None entries of noise_shape take x's dimension.
    xu = tf.placeholder(tf.float64, [None, 4])
    yn = run(tf.nn.dropout(xu, rate=0.5, noise_shape=[None, 1], seed=6), {xu: np.ones((500, 4))})
    assert np.all((yn == 0).all(axis=1) | (yn == 2).all(axis=1))
    assert tf.nn.dropout(x, keep_prob=1.0) is x


def test_dropout_gradient_is_the_scaled_mask():
    x = tf.placeholder(tf.float64, [50, 40])
    y = tf.nn.dropout(x, keep_prob=0.5, seed=3)
    g = tf.gradients(tf.reduce_sum(y), x)[0]
    y_v, g_v = run([y, g], {x: np.ones((50, 40))})
    np.testing.assert_allclose(g_v, np.where(y_v != 0, 2.0, 0.0))


def test_dropout_bad_inputs():
    x = tf.placeholder(tf.float32, [2, 3])
    with pytest.raises(ValueError, match="both"):
        tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(ValueError, match="rate"):
        tf.nn.dropout(x)
    with pytest.raises(ValueError, match=r"range \[0, 1\)"):
        tf.nn.dropout(x, keep_prob=0.0)
    with pytest.raises(ValueError, match=r"range \[0, 1\)"):
        tf.nn.dropout(x, rate=1.5)
    with pytest.raises(ValueError, match="floating point"):
        tf.nn.dropout(tf.placeholder(tf.int32, [2]), 0.5)


# ---------------------------------------------------------------------------------------------
# Normalization.

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_moments_forward(dtype):
    x = (randn(4, 3, 5) * 2 + 1).astype(dtype)
    x64 = x.astype(np.float64)
    for axes, keepdims in [([0], False), ([0, 1, 2], False), ([1], True), ([0, 2], True)]:
        mean, var = tf.nn.moments(tf.constant(x), axes, keepdims=keepdims)
        assert mean.dtype == tf.as_dtype(dtype)
        m, v = run([mean, var])
        assert_close(m, x64.mean(axis=tuple(axes), keepdims=keepdims), dtype,
                     rtol=3e-3 if dtype == np.float16 else 1e-5)
        assert_close(v, x64.var(axis=tuple(axes), keepdims=keepdims), dtype,
                     rtol=3e-3 if dtype == np.float16 else 1e-5)
    m, v = tf.nn.moments(tf.constant(x), [0], keep_dims=True)
    assert m.shape.as_list() == [1, 3, 5]


def test_moments_gradients():
    x = randn(4, 3)
    check_gradient(lambda t: tf.nn.moments(t, [0])[0], [x], tol=1e-9)
    check_gradient(lambda t: tf.nn.moments(t, [0, 1])[1], [x], tol=1e-9)
    check_gradient(lambda t: tf.nn.moments(t, [1], keepdims=True)[1], [x], tol=1e-9)


def test_sufficient_statistics_normalize_and_weighted_moments():
    x = randn(4, 3)
    count, m_ss, v_ss, shift = tf.nn.sufficient_statistics(tf.constant(x), [0])
    assert shift is None
    c, m, v = run([count, m_ss, v_ss])
    assert c == 4
    np.testing.assert_allclose(m, x.sum(0))
    np.testing.assert_allclose(v, (x * x).sum(0))
    mean, var = tf.nn.normalize_moments(count, m_ss, v_ss, None)
    got_mean, got_var = run([mean, var])
    np.testing.assert_allclose(got_mean, x.mean(0))
    np.testing.assert_allclose(got_var, x.var(0), rtol=1e-10, atol=1e-12)
    shifted = tf.nn.sufficient_statistics(tf.constant(x), [0], shift=tf.constant(0.5, tf.float64))
    mean_s, var_s = tf.nn.normalize_moments(*shifted)
    np.testing.assert_allclose(run([mean_s, var_s]), [x.mean(0), x.var(0)], rtol=1e-10)
    w = RNG.uniform(0.5, 2.0, size=(4, 1))
    wm, wv = tf.nn.weighted_moments(tf.constant(x), [0], tf.constant(w))
    expected_mean = (w * x).sum(0) / (w.sum() * np.ones(3))
    expected_var = (w * (x - expected_mean) ** 2).sum(0) / w.sum()
    np.testing.assert_allclose(run([wm, wv]), [expected_mean, expected_var], rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_normalization_forward(dtype):
    x = randn(4, 3).astype(dtype)
    mean, var = randn(3).astype(dtype), RNG.uniform(0.5, 2, 3).astype(dtype)
    offset, scale = randn(3).astype(dtype), randn(3).astype(dtype)
    eps = 1e-3
    base = (x.astype(np.float64) - mean) / np.sqrt(var.astype(np.float64) + eps)
    for off, sc, expected in [(offset, scale, base * scale + offset), (None, None, base),
                              (offset, None, base + offset), (None, scale, base * scale)]:
        y = tf.nn.batch_normalization(tf.constant(x), mean, var, off, sc, eps)
        assert y.dtype == tf.as_dtype(dtype)
        assert_close(run(y), expected, dtype, rtol=1e-5)


def test_batch_normalization_gradient():
    check_gradient(lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
                   [randn(4, 3), randn(3), RNG.uniform(0.5, 2, 3), randn(3), randn(3)],
                   tol=1e-8)


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_fused_batch_norm(data_format):
    x = randn(2, 3, 4, 5) * 2 + 1
    scale, offset = randn(5 if data_format == "NHWC" else 3), randn(5 if data_format == "NHWC"
                                                                    else 3)
    axes = (0, 1, 2) if data_format == "NHWC" else (0, 2, 3)
    bshape = [1, 1, 1, -1] if data_format == "NHWC" else [1, -1, 1, 1]
    y, mean, var = tf.nn.fused_batch_norm(tf.constant(x), tf.constant(scale), tf.constant(offset),
                                          epsilon=1e-3, data_format=data_format)
    m, v = x.mean(axis=axes), x.var(axis=axes)
    n = x.size / m.size
    expected = ((x - m.reshape(bshape)) / np.sqrt(v.reshape(bshape) + 1e-3) * scale.reshape(
        bshape) + offset.reshape(bshape))
    got_y, got_m, got_v = run([y, mean, var])
    np.testing.assert_allclose(got_y, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_m, m)
    np.testing.assert_allclose(got_v, v * n / (n - 1))
    y_inf, m_inf, _ = tf.nn.fused_batch_norm(tf.constant(x), scale, offset, mean=m, variance=v,
                                             epsilon=1e-3, data_format=data_format,
                                             is_training=False)
    got_inf, got_m_inf = run([y_inf, m_inf])
    np.testing.assert_allclose(got_inf, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_m_inf, m)
    with pytest.raises(ValueError, match="mean and variance"):
        tf.nn.fused_batch_norm(tf.constant(x), scale, offset, is_training=False)
    small = randn(2, 2, 2, 2)
    check_gradient(lambda t, s, o: tf.nn.fused_batch_norm(t, s, o, data_format=data_format)[0],
                   [small, randn(2), randn(2)], tol=1e-7)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_l2_loss_and_l2_normalize_forward(dtype):
    x = randn(3, 4).astype(dtype)
    x64 = x.astype(np.float64)
    loss = tf.nn.l2_loss(tf.constant(x))
    assert loss.op.type == "L2Loss" and loss.shape.as_list() == []
    assert_close(run(loss), np.sum(x64 ** 2) / 2, dtype, rtol=2e-3 if dtype == np.float16
                 else None)
    for axis in [1, 0, [0, 1]]:
        y = tf.nn.l2_normalize(tf.constant(x), axis)
        norm = np.sqrt(np.sum(x64 ** 2, axis=tuple(np.atleast_1d(axis)), keepdims=True))
        assert_close(run(y), x64 / norm, dtype, rtol=3e-3 if dtype == np.float16 else None)
    if dtype != np.float16:  # (epsilon 1e-12 underflows to 0 in float16, as in TF)
        zeros = tf.nn.l2_normalize(tf.zeros([3], tf.as_dtype(dtype)), dim=0)
        assert run(zeros).tolist() == [0, 0, 0]


def np_lrn(x, radius, bias, alpha, beta):
    squares = np.pad(x.astype(np.float64) ** 2, [(0, 0)] * 3 + [(radius, radius)])
    sqr_sum = sum(squares[..., i:i + x.shape[-1]] for i in range(2 * radius + 1))
    return x / (bias + alpha * sqr_sum) ** beta


def test_local_response_normalization():
    x = randn(2, 3, 4, 7, dtype=np.float32)
    for kwargs in [{}, {"depth_radius": 2, "bias": 2.0, "alpha": 1e-3, "beta": 0.75},
                   {"depth_radius": 0}]:
        y = tf.nn.lrn(tf.constant(x), **kwargs)
        args = dict({"depth_radius": 5, "bias": 1.0, "alpha": 1.0, "beta": 0.5}, **kwargs)
        expected = np_lrn(x, args["depth_radius"], args["bias"], args["alpha"], args["beta"])
        assert y.dtype == tf.float32 and y.shape.as_list() == [2, 3, 4, 7]
        np.testing.assert_allclose(run(y), expected, rtol=1e-5)
    assert tf.nn.local_response_normalization is tf.nn.lrn
    with pytest.raises(ValueError, match="channel"):
        tf.nn.lrn(tf.placeholder(tf.float32, [1, 2, 2, None]))
    with pytest.raises(TypeError, match="LRN"):
        tf.nn.lrn(tf.constant(randn(1, 2, 2, 3)))


def test_local_response_normalization_gradient():
    # LRN is float32 only (as TF's kernel): check the gradient against a float64 numpy
    # finite difference at float32 tolerance.
    x = randn(1, 2, 2, 5, dtype=np.float32)
    xt = tf.placeholder(tf.float32, x.shape)
    g = run(tf.gradients(tf.nn.lrn(xt, 2, 1.0, 0.5, 0.75), xt)[0], {xt: x})
    numeric = np.zeros(x.size)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = 1e-4
        up = np_lrn(x.astype(np.float64) + step.reshape(x.shape), 2, 1.0, 0.5, 0.75).sum()
        down = np_lrn(x.astype(np.float64) - step.reshape(x.shape), 2, 1.0, 0.5, 0.75).sum()
        numeric[i] = (up - down) / 2e-4
    np.testing.assert_allclose(g.reshape(-1), numeric, rtol=1e-4, atol=1e-5)


def test_l2_loss_and_l2_normalize_gradients_and_errors():
    x = randn(3, 4)
    check_gradient(tf.nn.l2_loss, [x], tol=1e-9)
    check_gradient(lambda t: tf.nn.l2_normalize(t, 1), [x], tol=1e-9)
    check_gradient(second_derivative(tf.nn.l2_loss), [x], tol=1e-8)
    with pytest.raises(TypeError, match="L2Loss"):
        tf.nn.l2_loss(tf.constant([1, 2]))


def test_zero_fraction():
    x = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]], np.float32)
    z = tf.nn.zero_fraction(tf.constant(x))
    assert z.dtype == tf.float32 and z.shape.as_list() == []
    np.testing.assert_allclose(run(z), 0.5)
    np.testing.assert_allclose(run(tf.nn.zero_fraction(tf.constant([0, 0, 5]))), 2 / 3)


# ---------------------------------------------------------------------------------------------
# dynamic_partition / dynamic_stitch and embedding_lookup.

def test_dynamic_partition_and_stitch():
    data = randn(6, 2)
    parts = np.array([1, 0, 2, 1, 0, 1], np.int32)
    outs = nn_ops.dynamic_partition(tf.constant(data), tf.constant(parts), 3)
    assert len(outs) == 3 and outs[0].shape.as_list() == [None, 2]
    got = run(outs)
    for i in range(3):
        np.testing.assert_array_equal(got[i], data[parts == i])
    positions = [np.flatnonzero(parts == i).astype(np.int32) for i in range(3)]
    stitched = nn_ops.dynamic_stitch([tf.constant(p) for p in positions],
                                     [tf.constant(g) for g in got])
    assert stitched.shape.as_list() == [6, 2]
    np.testing.assert_array_equal(run(stitched), data)
    def partitioned(d):
        joined = tf.concat(nn_ops.dynamic_partition(d * d, tf.constant(parts), 3), 0)
        joined.set_shape([6, 2])  # partition sizes are only known at run time
        return joined
    check_gradient(partitioned, [data], tol=1e-9)
    check_gradient(lambda a, b: nn_ops.dynamic_stitch([tf.constant([2, 0]), tf.constant([1])],
                                                      [a, b]), [randn(2, 3), randn(1, 3)],
                   tol=1e-9)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"partitions\[2\] = 3 is not in "
                                                              r"\[0, 3\)(.|\n)*DynamicPartition"):
        run(nn_ops.dynamic_partition(tf.constant(data[:3]), tf.constant([0, 1, 3]), 3))


def test_embedding_lookup_single_tensor():
    params = randn(6, 3)
    ids = np.array([[4, 0], [4, 5]], np.int32)
    y = tf.nn.embedding_lookup(tf.constant(params), tf.constant(ids))
    assert y.shape.as_list() == [2, 2, 3] and y.name == "embedding_lookup/Identity:0"
    np.testing.assert_array_equal(run(y), params[ids])
    p = tf.placeholder(tf.float64, [6, 3])
    g = tf.gradients(tf.nn.embedding_lookup(p, tf.constant(ids)), p)[0]
    assert isinstance(g, IndexedSlices)
    check_gradient(lambda t: tf.nn.embedding_lookup(t, tf.constant(ids)), [params], tol=1e-9)


def _full_row(shards, strategy, i):
    num = len(shards)
    if strategy == "mod":
        return shards[i % num][i // num]
    sizes = [len(s) for s in shards]
    start = np.cumsum([0] + sizes)
    shard = int(np.searchsorted(start, i, side="right") - 1)
    return shards[shard][i - start[shard]]


@pytest.mark.parametrize("strategy", ["mod", "div"])
def test_embedding_lookup_sharded(strategy):
    shards = [randn(4, 3), randn(3, 3), randn(3, 3)]  # 10 ids, the first shard one more
    ids = np.array([[9, 0, 3], [4, 4, 7]], np.int64)
    y = tf.nn.embedding_lookup([tf.constant(s) for s in shards], tf.constant(ids),
                               partition_strategy=strategy)
    assert y.shape.as_list() == [2, 3, 3]
    expected = np.array([[_full_row(shards, strategy, i) for i in row] for row in ids])
    np.testing.assert_array_equal(run(y), expected)
    placeholders = [tf.placeholder(tf.float64, s.shape) for s in shards]
    grads = tf.gradients(tf.nn.embedding_lookup(placeholders, tf.constant(ids),
                                                partition_strategy=strategy), placeholders)
    assert all(isinstance(g, IndexedSlices) for g in grads)
    check_gradient(lambda a, b, c: tf.nn.embedding_lookup([a, b, c], tf.constant(ids),
                                                          partition_strategy=strategy) ** 2,
                   shards, tol=1e-9)


def test_embedding_lookup_unknown_id_shape_and_max_norm():
    params = randn(5, 4) * 3
    ids = tf.placeholder(tf.int32, [None])
    shards = [tf.constant(params[0::2]), tf.constant(params[1::2])]
    y = tf.nn.embedding_lookup(shards, ids)
    assert y.shape.as_list() == [None, 4]
    np.testing.assert_array_equal(run(y, {ids: [3, 1, 4]}), params[[3, 1, 4]])
    clipped = tf.nn.embedding_lookup(tf.constant(params), tf.constant([0, 2]), max_norm=1.0)
    rows = params[[0, 2]]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.testing.assert_allclose(run(clipped), rows / np.maximum(norms, 1.0))


def test_embedding_lookup_bad_inputs():
    with pytest.raises(ValueError, match="Need at least one param"):
        tf.nn.embedding_lookup([], tf.constant([0]))
    with pytest.raises(ValueError, match="partition strategy"):
        tf.nn.embedding_lookup([tf.zeros([2, 2]), tf.zeros([2, 2])], tf.constant([0]),
                               partition_strategy="bad")
    y = tf.nn.embedding_lookup([tf.zeros([2, 2]), tf.zeros([2, 2])], tf.constant([0, 7]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        run(y)


# ---------------------------------------------------------------------------------------------
# top_k and in_top_k.

def np_top_k(x, k):
    order = np.argsort(-x.astype(np.float64), axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, -1), order


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
def test_top_k_forward(dtype):
    x = RNG.randint(-5, 5, size=(3, 4, 9)).astype(dtype)  # many ties
    for k in [1, 4, 9, 0]:
        result = tf.nn.top_k(tf.constant(x), k)
        assert result.values.shape.as_list() == [3, 4, k]
        assert result.indices.dtype == tf.int32 and result.values.dtype == tf.as_dtype(dtype)
        values, indices = run(result)
        ev, ei = np_top_k(x, k)
        np.testing.assert_array_equal(values, ev)
        np.testing.assert_array_equal(indices, ei)
    v64, i64 = tf.nn.top_k(tf.constant(x[0, 0]), 2, index_type=tf.int64)
    assert i64.dtype == tf.int64 and run(i64).dtype == np.int64


def test_top_k_gradient_and_its_gradient():
    x = RNG.permutation(24).reshape(2, 3, 4).astype(np.float64)
    check_gradient(lambda t: tf.nn.top_k(t, 2).values, [x], tol=1e-8)
    xt = tf.placeholder(tf.float64, [2, 3, 4])
    g = tf.gradients(tf.nn.top_k(xt, 2).values, xt)[0]
    got = run(g, {xt: x})
    np.testing.assert_array_equal(got.sum(-1), 2 * np.ones((2, 3)))
    indices = np_top_k(x, 2)[1].astype(np.int32)
    check_gradient(lambda u, i: apply_op("ScatterLastAxis", [u, i, tf.constant([2, 3, 4])]),
                   [randn(2, 3, 2), indices], tol=1e-9)
    check_gradient(lambda p, i: apply_op("GatherLastAxis", [p, i]), [randn(2, 3, 4), indices],
                   tol=1e-9)


def test_top_k_bad_inputs():
    with pytest.raises(ValueError, match="last dimension >= k = 6(.|\n)*TopKV2"):
        tf.nn.top_k(tf.placeholder(tf.float32, [2, 5]), 6)
    with pytest.raises(ValueError, match="k >= 0"):
        tf.nn.top_k(tf.placeholder(tf.float32, [2, 5]), -1)
    k = tf.placeholder(tf.int32, [])
    values = tf.nn.top_k(tf.constant([[1.0, 2.0]]), k).values
    assert values.shape.as_list() == [1, None]
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least k columns(.|\n)*TopKV2"):
        run(values, {k: 3})


def test_in_top_k():
    predictions = np.array([[0.1, 0.9, 0.5, 0.5],
                            [0.3, 0.3, 0.3, 0.1],
                            [0.2, np.nan, 0.9, 0.0],
                            [0.2, 0.3, 0.4, 0.5],
                            [0.2, 0.3, 0.4, 0.5]], np.float32)
    targets = np.array([2, 1, 2, 7, 3], np.int32)
    for k, expected in [(1, [False, True, False, False, True]),
                        (2, [True, True, False, False, True])]:
        result = tf.nn.in_top_k(tf.constant(predictions), tf.constant(targets), k)
        assert result.dtype == tf.bool and result.shape.as_list() == [5]
        np.testing.assert_array_equal(run(result), expected)
    k = tf.placeholder(tf.int64, [])
    r64 = tf.nn.in_top_k(predictions, tf.constant(targets.astype(np.int64)), k)
    np.testing.assert_array_equal(run(r64, {k: 4}), [True, True, False, False, True])
    with pytest.raises(TypeError, match="InTopKV2"):
        tf.nn.in_top_k(tf.constant(predictions.astype(np.float64)), targets, 1)
    # numpy predictions are converted to the op's float32, as TF does.
    from_numpy = tf.nn.in_top_k(predictions.astype(np.float64), targets, 1)
    np.testing.assert_array_equal(run(from_numpy), [False, True, False, False, True])
    with pytest.raises(ValueError, match="InTopKV2"):
        tf.nn.in_top_k(predictions, targets[:3], 1)


# ---------------------------------------------------------------------------------------------
# Sharding tags (how the data-parallel runtime splits a batch through these ops).

def test_sharding_tags():
    from hpcflow.framework import registry, sharding
    expected = {"Relu": sharding.ELEMENTWISE, "ReluGrad": sharding.ELEMENTWISE,
                "Softmax": sharding.ROW_WISE, "SoftmaxCrossEntropyWithLogits": sharding.ROW_WISE,
                "SparseSoftmaxCrossEntropyWithLogits": sharding.ROW_WISE,
                "BiasAdd": sharding.ROW_WISE, "BiasAddGrad": sharding.REDUCTION,
                "Conv2D": sharding.ROW_WISE, "Conv2DBackpropFilter": sharding.REDUCTION,
                "MaxPool": sharding.ROW_WISE, "AvgPool": sharding.ROW_WISE,
                "L2Loss": sharding.REDUCTION}
    for op_type, rule in expected.items():
        assert sharding.kind_of(registry.get(op_type).sharding) == rule, op_type
    for op_type in ("Relu6", "Elu", "Selu", "LeakyRelu", "Softplus", "Softsign", "Conv2D",
                    "Conv2DBackpropInput", "MaxPoolGrad", "AvgPoolGrad", "TopKV2",
                    "DynamicStitch"):
        assert sharding.kind_of(registry.get(op_type).sharding) in sharding.ALL
        assert registry.get(op_type).gradient is not None


# ---------------------------------------------------------------------------------------------
# With variables: partitioned embeddings, dropout seeds, and a small CNN that trains.

def test_embedding_lookup_partitioned_variable_and_sparse_update():
    params = np.arange(30, dtype=np.float32).reshape(10, 3)
    with tf.variable_scope("emb"):
        table = tf.get_variable("table", shape=[10, 3], initializer=tf.zeros_initializer(),
                                partitioner=tf.fixed_size_partitioner(3))
    shards = list(table)
    assert [v.shape.as_list()[0] for v in shards] == [4, 3, 3]
    load = [tf.assign(v, part) for v, part in zip(shards, np.split(params, [4, 7]))]
    ids = tf.constant([[9, 0], [4, 4]])
    y = tf.nn.embedding_lookup(table, ids, partition_strategy="div")
    loss = tf.reduce_sum(y)
    grads = tf.gradients(loss, shards)
    assert all(isinstance(g, IndexedSlices) for g in grads)
    train = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(load)
        np.testing.assert_array_equal(sess.run(y), params[[[9, 0], [4, 4]]])
        sess.run(train)
        updated = np.concatenate(sess.run(shards))
    expected = params.copy()
    np.subtract.at(expected, [9, 0, 4, 4], 1.0)
    np.testing.assert_array_equal(updated, expected)
    # A single Variable: its gradient is sparse too, and so is the update.
    single = tf.Variable(params)
    loss_single = tf.reduce_sum(tf.nn.embedding_lookup(single, ids))
    assert isinstance(tf.gradients(loss_single, single)[0], IndexedSlices)
    step = tf.train.GradientDescentOptimizer(1.0).minimize(loss_single)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        np.testing.assert_array_equal(sess.run(single), expected)


def test_dropout_seeds_repeat_across_sessions():
    tf.set_random_seed(7)
    y = tf.nn.dropout(tf.ones([20, 30]), rate=0.5, seed=3)
    with tf.Session() as sess:
        first, second = sess.run(y), sess.run(y)
    with tf.Session() as sess:
        again = sess.run(y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # a new mask on every run


def test_small_cnn_trains():
    rng = np.random.RandomState(0)
    # Two classes of 8x8 images: a bright vertical or horizontal bar, plus noise.
    images = rng.rand(32, 8, 8, 1).astype(np.float32) * 0.3
    labels = rng.randint(0, 2, size=32).astype(np.int32)
    for i, label in enumerate(labels):
        if label:
            images[i, :, rng.randint(8), 0] += 1.0
        else:
            images[i, rng.randint(8), :, 0] += 1.0
    x = tf.placeholder(tf.float32, [None, 8, 8, 1])
    t = tf.placeholder(tf.int32, [None])
    w1 = tf.Variable(rng.randn(3, 3, 1, 8).astype(np.float32) * 0.3)
    b1 = tf.Variable(np.zeros(8, np.float32))
    w2 = tf.Variable(rng.randn(4 * 4 * 8, 2).astype(np.float32) * 0.1)
    h = tf.nn.max_pool(tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, 1, "SAME"), b1)), 2, 2,
                       "SAME")
    logits = tf.matmul(tf.reshape(h, [-1, 4 * 4 * 8]), w2)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t,
                                                                         logits=logits))
    accuracy = tf.reduce_mean(tf.cast(tf.nn.in_top_k(logits, t, 1), tf.float32))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    feed = {x: images, t: labels}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        start = sess.run(loss, feed)
        for _ in range(40):
            sess.run(train, feed)
        end, acc = sess.run([loss, accuracy], feed)
    assert end < start * 0.5 and acc > 0.9, (start, end, acc)


def test_float16_gradients_keep_float16():
    """Every grad kernel computes float16 in float32 and must hand back float16 (the suite
    runs with HPCFLOW_CHECK_KERNELS=1, which fails on any other dtype)."""
    x = tf.constant(randn(2, 6, 5, 3) * 0.1, tf.float16)
    w = tf.constant(randn(3, 3, 3, 9) * 0.1, tf.float16)
    h = tf.nn.bias_add(tf.nn.conv2d(x, w, 2, "SAME"), tf.constant(np.ones(9), tf.float16))
    h = tf.nn.max_pool(tf.nn.elu(h), 2, 1, "SAME") + tf.nn.avg_pool(h, 2, 1, "SAME")
    h = tf.nn.conv2d(tf.nn.lrn(h, 2), tf.constant(randn(2, 2, 9, 4) * 0.1, tf.float16), 1,
                     "VALID")
    logits = tf.reshape(h, [2, -1])
    activations = [fn(logits) for fn, _, _ in ACTIVATIONS.values()]
    loss = (tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 2],
                                                                         logits=logits))
            + tf.nn.l2_loss(w) + tf.reduce_sum(tf.nn.top_k(logits, 3).values)
            + tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits_v2(
                labels=tf.nn.softmax(logits), logits=logits))
            + tf.add_n([tf.reduce_sum(a) for a in activations]))
    grads = tf.gradients(loss, [x, w])
    second = tf.gradients(tf.reduce_sum(grads[1]), w)
    for value in run(grads + second):
        assert value.dtype == np.float16 and np.all(np.isfinite(value))
