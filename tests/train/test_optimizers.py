"""Optimizers: trajectories step by step against numpy versions of TF1's update formulas."""
import numpy as np
import pytest

import hpcflow as tf

STEPS = 5


def _problem(dtype=np.float64):
    rng = np.random.RandomState(0)
    w0 = rng.randn(3, 2).astype(dtype)
    x = rng.randn(4, 3).astype(dtype)
    t = rng.randn(4, 2).astype(dtype)
    return w0, x, t


def _numpy_grad(w, x, t):
    # loss = sum((x @ w - t)**2) / 2  ->  dL/dw = x^T (x w - t)
    return x.T @ (x @ w - t)


def _run(optimizer, dtype=np.float64, steps=STEPS):
    w0, x, t = _problem(dtype)
    w = tf.Variable(w0, name="w")
    loss = tf.reduce_sum(tf.square(tf.matmul(tf.constant(x), w) - tf.constant(t))) / 2.0
    train = optimizer.minimize(loss)
    trajectory = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
            trajectory.append(sess.run(w))
    return w, trajectory


def _reference(update, state, dtype=np.float64, steps=STEPS):
    w0, x, t = _problem(dtype)
    w = w0.copy()
    trajectory = []
    for step in range(1, steps + 1):
        g = _numpy_grad(w, x, t)
        w = update(w, g, state, step)
        trajectory.append(w.copy())
    return trajectory


def _assert_close(got, expected, rtol=1e-8):
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg="step %d" % (step + 1))


def test_gradient_descent():
    _, got = _run(tf.train.GradientDescentOptimizer(0.05))
    lr = np.float64(np.float32(0.05))  # TF converts a Python learning rate to float32 first
    _assert_close(got, _reference(lambda w, g, s, k: w - lr * g, {}))


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(nesterov):
    _, got = _run(tf.train.MomentumOptimizer(0.02, 0.9, use_nesterov=nesterov))
    lr, mu = np.float64(np.float32(0.02)), np.float64(np.float32(0.9))

    def update(w, g, s, k):
        s["a"] = s.get("a", np.zeros_like(w)) * mu + g
        if nesterov:
            return w - (g * lr + s["a"] * mu * lr)
        return w - lr * s["a"]
    _assert_close(got, _reference(update, {}))


def test_adagrad():
    _, got = _run(tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.1))
    lr = np.float64(np.float32(0.1))

    def update(w, g, s, k):
        s["acc"] = s.get("acc", np.full_like(w, np.float32(0.1))) + g * g
        return w - lr * g / np.sqrt(s["acc"])
    _assert_close(got, _reference(update, {}))


def test_adam():
    _, got = _run(tf.train.AdamOptimizer(0.01))
    f = lambda v: np.float64(np.float32(v))  # noqa: E731
    lr, b1, b2, eps = f(0.01), f(0.9), f(0.999), f(1e-8)

    def update(w, g, s, k):
        s["m"] = s.get("m", np.zeros_like(w))
        s["v"] = s.get("v", np.zeros_like(w))
        s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
        s["v"] = s["v"] + (g * g - s["v"]) * (1 - b2)
        # TF1 keeps the beta powers in float32 variables whatever the variables' dtype.
        s["p1"] = np.float32(s.get("p1", np.float32(1.0)) * np.float32(0.9))
        s["p2"] = np.float32(s.get("p2", np.float32(1.0)) * np.float32(0.999))
        b1_power, b2_power = np.float64(s["p1"]), np.float64(s["p2"])
        alpha = lr * np.sqrt(1 - b2_power) / (1 - b1_power)
        return w - alpha * s["m"] / (np.sqrt(s["v"]) + eps)
    _assert_close(got, _reference(update, {}), rtol=1e-9)


@pytest.mark.parametrize("centered,momentum", [(False, 0.0), (True, 0.5)])
def test_rmsprop(centered, momentum):
    _, got = _run(tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=momentum, epsilon=1e-10,
                                            centered=centered))
    f = lambda v: np.float64(np.float32(v))  # noqa: E731
    lr, rho, mu, eps = f(0.01), f(0.9), f(momentum), f(1e-10)

    def update(w, g, s, k):
        s["ms"] = s.get("ms", np.ones_like(w))
        s["mom"] = s.get("mom", np.zeros_like(w))
        s["mg"] = s.get("mg", np.zeros_like(w))
        s["ms"] = s["ms"] + (g * g - s["ms"]) * (1 - rho)
        if centered:
            s["mg"] = s["mg"] + (g - s["mg"]) * (1 - rho)
            denominator = s["ms"] - s["mg"] ** 2 + eps
        else:
            denominator = s["ms"] + eps
        s["mom"] = s["mom"] * mu + lr * g / np.sqrt(denominator)
        return w - s["mom"]
    _assert_close(got, _reference(update, {}), rtol=1e-9)


def test_slot_names_and_variables_follow_tf1():
    w = tf.Variable(np.zeros((2, 2), np.float32), name="w")
    b = tf.Variable(np.zeros(2, np.float32), name="b")
    loss = tf.reduce_sum(tf.matmul(tf.ones([1, 2]), w) + b)
    opt = tf.train.AdamOptimizer()
    opt.minimize(loss)
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(w, "m").op.name == "w/Adam"
    assert opt.get_slot(w, "v").op.name == "w/Adam_1"
    assert opt.get_slot(b, "m").op.name == "b/Adam"
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == ["b", "b/Adam", "b/Adam_1", "beta1_power", "beta2_power", "w", "w/Adam",
                     "w/Adam_1"]
    assert opt.get_slot(w, "nope") is None


def test_global_step_and_train_op_name():
    w = tf.Variable(1.0, name="w")
    step = tf.train.get_or_create_global_step()
    assert step.op.name == "global_step" and step.dtype == tf.int64
    assert tf.train.get_global_step() is step
    train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.square(w), global_step=step)
    assert isinstance(train, tf.Operation) and train.name == "GradientDescent"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert sess.run(step) == 3
        assert tf.train.global_step(sess, step) == 3
        assert sess.run(w) == pytest.approx(0.8 ** 3, rel=1e-5)
    with pytest.raises(ValueError, match="already exists"):
        tf.train.create_global_step()


def test_minimize_errors():
    with pytest.raises(ValueError, match="No variables to optimize"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.constant(1.0) * 2.0)
    w = tf.Variable(1.0)
    unrelated = tf.constant(2.0) * 3.0
    with pytest.raises(ValueError, match="No gradients provided"):
        tf.train.GradientDescentOptimizer(0.1).minimize(unrelated, var_list=[w])


def test_learning_rate_tensor_and_var_list():
    lr = tf.placeholder(tf.float32, [], name="lr")
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(1.0, name="b")
    train = tf.train.GradientDescentOptimizer(lr).minimize(a * a + b * b, var_list=[a])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, {lr: 0.25})
        assert sess.run([a, b]) == [pytest.approx(0.5), 1.0]


@pytest.mark.parametrize("make", [
    lambda: tf.train.GradientDescentOptimizer(0.5),
    lambda: tf.train.AdagradOptimizer(0.5),
    lambda: tf.train.MomentumOptimizer(0.5, 0.9),
    lambda: tf.train.AdamOptimizer(0.5),
    lambda: tf.train.RMSPropOptimizer(0.5),
])
def test_sparse_updates_touch_only_gathered_rows(make):
    table = np.arange(12, dtype=np.float64).reshape(6, 2)
    emb = tf.Variable(table, name="emb")
    ids = tf.constant([4, 1, 4])
    loss = tf.reduce_sum(tf.gather(emb, ids) ** 2)
    opt = make()
    grads_and_vars = opt.compute_gradients(loss, [emb])
    assert isinstance(grads_and_vars[0][0], tf.IndexedSlices)
    train = opt.apply_gradients(grads_and_vars)
    # The same step with the gradient densified: the sparse path must match it.
    emb_dense = tf.Variable(table, name="emb_dense")
    loss_dense = tf.reduce_sum(tf.gather(emb_dense, ids) ** 2)
    opt_dense = make()
    (g, v), = opt_dense.compute_gradients(loss_dense, [emb_dense])
    train_dense = opt_dense.apply_gradients([(tf.convert_to_tensor(g), v)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(2):
            sess.run([train, train_dense])
        sparse_result, dense_result = sess.run([emb, emb_dense])
    np.testing.assert_allclose(sparse_result, dense_result, rtol=1e-12)
    # Rows never gathered keep their values (Adam decays their zero moments: no move either).
    untouched = [0, 2, 3, 5]
    np.testing.assert_array_equal(sparse_result[untouched], table[untouched])


def test_sparse_update_is_in_place():
    emb = tf.Variable(np.zeros((1000, 4), np.float32), name="big")
    loss = tf.reduce_sum(tf.gather(emb, [3, 7]))
    train = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    with tf.Session() as sess:
        sess.run(emb.initializer)
        storage = sess._state.read_variable("big")
        sess.run(train)
        assert sess._state.read_variable("big") is storage
        assert storage[3, 0] == -1.0 and storage[0, 0] == 0.0


def test_clip_by_global_norm():
    a = tf.constant([3.0, 4.0])
    b = tf.constant([[0.0, 12.0]])
    (ca, cb), norm = tf.clip_by_global_norm([a, b, None][:2], 6.5)
    clipped_none, _ = tf.clip_by_global_norm([a, None], 1.0)
    with tf.Session() as sess:
        ca_v, cb_v, n = sess.run([ca, cb, norm])
    assert n == pytest.approx(13.0)
    np.testing.assert_allclose(ca_v, [1.5, 2.0])
    np.testing.assert_allclose(cb_v, [[0.0, 6.0]])
    assert clipped_none[1] is None
    small, _ = tf.clip_by_global_norm([a], 100.0)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(small[0]), [3.0, 4.0])


def test_clip_by_norm():
    t = tf.constant([[3.0, 4.0], [0.0, 0.0]])
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(t, 1.0)), [[0.6, 0.8], [0, 0]])
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(t, 1.0, axes=[1])),
                                   [[0.6, 0.8], [0, 0]])


def test_learning_rate_schedules():
    step = tf.placeholder(tf.int64, [])
    decayed = tf.train.exponential_decay(0.1, step, 10, 0.5)
    stair = tf.train.exponential_decay(0.1, step, 10, 0.5, staircase=True)
    pieces = tf.train.piecewise_constant(step, [5, 10], [1.0, 0.5, 0.1])
    poly = tf.train.polynomial_decay(1.0, step, 10, end_learning_rate=0.0, power=1.0)
    with tf.Session() as sess:
        for s in (0, 5, 10, 15, 25):
            d, st, p, po = sess.run([decayed, stair, pieces, poly], {step: s})
            assert d == pytest.approx(0.1 * 0.5 ** (s / 10), rel=1e-6)
            assert st == pytest.approx(0.1 * 0.5 ** (s // 10), rel=1e-6)
            assert p == (1.0 if s <= 5 else 0.5 if s <= 10 else 0.1)
            assert po == pytest.approx(max(0.0, 1 - min(s, 10) / 10), abs=1e-6)
    with pytest.raises(ValueError):
        tf.train.piecewise_constant(step, [1], [1.0])
