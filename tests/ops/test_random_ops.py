"""Random ops: shapes, dtypes, distributions, seeding rules and errors."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors
from hpcflow.ops import array_ops, random_ops

FLOATS = [tf.float16, tf.float32, tf.float64]


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


# -- forward: shapes, dtypes, distributions -----------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_random_uniform_default_range(dtype):
    t = random_ops.random_uniform([400, 50], dtype=dtype, seed=1)
    assert t.dtype == dtype and t.shape.as_list() == [400, 50]
    assert t.op.type == "RandomUniform" and t.op.name == "random_uniform/RandomUniform"
    x = run(t)
    assert x.dtype == dtype.np_dtype and x.shape == (400, 50)
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.astype(np.float64).mean() - 0.5) < 0.02
    assert abs(x.astype(np.float64).var() - 1 / 12) < 0.01


def test_random_uniform_range_and_tensor_bounds():
    lo = tf.placeholder(tf.float64, [])
    t = random_ops.random_uniform([20000], minval=lo, maxval=5.0, dtype=tf.float64, seed=2)
    x = run(t, {lo: -3.0})
    assert x.dtype == np.float64 and x.min() >= -3 and x.max() < 5
    assert abs(x.mean() - 1.0) < 0.1
    assert abs(x.std() - 8 / np.sqrt(12)) < 0.1
    # Only maxval: multiply, no add (as TF).
    assert t.op.name == "random_uniform" and t.op.inputs[0].op.name == "random_uniform/mul"
    t2 = random_ops.random_uniform([5000], maxval=4.0, seed=3)
    assert t2.op.type in ("Mul", "Multiply") and t2.op.name == "random_uniform_1"
    assert 0 <= run(t2).min() and run(t2).max() < 4


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_random_uniform_int(dtype):
    t = random_ops.random_uniform([3000], minval=-2, maxval=3, dtype=dtype, seed=4)
    assert t.op.type == "RandomUniformInt" and t.dtype == dtype
    x = run(t)
    assert x.dtype == dtype.np_dtype
    assert set(np.unique(x).tolist()) == {-2, -1, 0, 1, 2}
    counts = np.bincount(x + 2)
    assert counts.min() > 450  # each of 5 values ~600 times


def test_random_shape_from_tensor_and_unknown_dims():
    n = tf.placeholder(tf.int32, [])
    shape = array_ops.stack([n, 3])
    t = random_ops.random_normal(shape, seed=5)
    assert t.shape.as_list() == [None, 3]
    assert run(t, {n: 4}).shape == (4, 3)
    t2 = random_ops.random_uniform(tf.TensorShape([2, 0]))
    assert t2.shape.as_list() == [2, 0] and run(t2).shape == (2, 0)
    t3 = random_ops.random_normal([], seed=1)
    assert t3.shape.as_list() == [] and np.shape(run(t3)) == ()


@pytest.mark.parametrize("dtype", FLOATS)
def test_random_normal(dtype):
    t = random_ops.random_normal([20000], mean=2.0, stddev=3.0, dtype=dtype, seed=6)
    assert t.dtype == dtype and t.op.name == "random_normal"
    x = run(t).astype(np.float64)
    assert run(t).dtype == dtype.np_dtype
    assert abs(x.mean() - 2.0) < 0.1 and abs(x.std() - 3.0) < 0.1
    assert np.abs(x - 2).max() > 6  # not truncated


@pytest.mark.parametrize("dtype", FLOATS)
def test_truncated_normal(dtype):
    t = random_ops.truncated_normal([20000], mean=1.0, stddev=2.0, dtype=dtype, seed=7)
    assert t.op.name == "truncated_normal" and t.dtype == dtype
    x = run(t).astype(np.float64)
    assert np.abs(x - 1.0).max() <= 4.0 + 1e-2
    assert abs(x.mean() - 1.0) < 0.05
    # The stddev of a unit normal truncated at +-2 is 0.8796.
    assert abs(x.std() - 2 * 0.87962566) < 0.05


def test_random_shuffle_permutes_rows():
    value = np.arange(60, dtype=np.int64).reshape(20, 3)
    t = random_ops.random_shuffle(value, seed=8)
    assert t.op.name == "RandomShuffle" and t.shape.as_list() == [20, 3]
    with tf.Session() as sess:
        a, b = sess.run(t), sess.run(t)
    for x in (a, b):
        assert x.dtype == np.int64
        assert sorted(map(tuple, x)) == sorted(map(tuple, value))  # rows intact
    assert not np.array_equal(a, b)  # the stream advances
    assert run(random_ops.random_shuffle(5.0)) == 5.0


def test_multinomial_frequencies():
    with np.errstate(divide="ignore"):
        logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]]))
    t = random_ops.multinomial(tf.constant(logits, tf.float32), 20000, seed=9)
    assert t.dtype == tf.int64 and t.shape.as_list() == [2, 20000]
    assert t.op.name == "multinomial/Multinomial"
    x = run(t)
    freq0 = np.bincount(x[0], minlength=3) / 20000
    np.testing.assert_allclose(freq0, [0.1, 0.2, 0.7], atol=0.02)
    assert not np.any(x[1] == 2)  # zero probability (-inf logit) never drawn
    c = random_ops.categorical(tf.constant([[0.0, 0.0]]), 5, dtype=tf.int32, seed=1)
    assert c.dtype == tf.int32 and run(c).dtype == np.int32 and run(c).shape == (1, 5)


def test_random_gamma_and_poisson():
    g = random_ops.random_gamma([20000], alpha=[1.0, 4.0], beta=2.0, seed=10)
    assert g.shape.as_list() == [20000, 2] and g.dtype == tf.float32
    x = run(g)
    np.testing.assert_allclose(x.mean(axis=0), [0.5, 2.0], rtol=0.05)
    assert x.min() > 0
    p = random_ops.random_poisson([3.0, 10.0], [20000], seed=11)
    assert p.shape.as_list() == [20000, 2] and p.dtype == tf.float32
    np.testing.assert_allclose(run(p).mean(axis=0), [3.0, 10.0], rtol=0.05)
    pi = random_ops.random_poisson(2.0, [10], dtype=tf.int64, seed=1)
    assert run(pi).dtype == np.int64


# -- seeds --------------------------------------------------------------------------------------

def test_seeded_op_repeats_across_sessions_and_advances_within():
    t = random_ops.random_uniform([4], seed=123)
    with tf.Session() as s1:
        a1, a2 = s1.run(t), s1.run(t)
    with tf.Session() as s2:
        b1, b2 = s2.run(t), s2.run(t)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)


def test_graph_seed_gives_distinct_repeatable_ops():
    def build():
        g = tf.Graph()
        with g.as_default():
            random_ops.set_random_seed(42)
            a = random_ops.random_normal([5])
            b = random_ops.random_normal([5])
        return g, a, b

    g1, a, b = build()
    g2, c, d = build()
    assert a.op.inputs[0].op.graph is g1
    with tf.Session(graph=g1) as s:
        va, vb = s.run([a, b])
    with tf.Session(graph=g2) as s:
        vc, vd = s.run([c, d])
    assert not np.allclose(va, vb)  # op seeds differ (graph op count)
    np.testing.assert_array_equal(va, vc)
    np.testing.assert_array_equal(vb, vd)


def test_different_op_seeds_differ_same_seed_equal():
    a = random_ops.random_uniform([6], seed=1)
    b = random_ops.random_uniform([6], seed=2)
    c = random_ops.random_uniform([6], seed=1)
    va, vb, vc = run([a, b, c])
    assert not np.allclose(va, vb)
    np.testing.assert_array_equal(va, vc)


def test_unseeded_ops_are_nondeterministic():
    t = random_ops.random_uniform([8])
    assert t.op.get_attr("seed") == 0 and t.op.get_attr("seed2") == 0
    assert not np.array_equal(run(t), run(t))


def test_get_seed_rules():
    assert random_ops.get_seed(None) == (None, None)
    assert random_ops.get_seed(7) == (random_ops.DEFAULT_GRAPH_SEED, 7)
    t = random_ops.random_uniform([2], seed=3)
    assert (t.op.get_attr("seed"), t.op.get_attr("seed2")) == (87654321, 3)
    random_ops.set_random_seed(5)
    assert tf.get_default_graph().seed == 5
    n_ops = len(tf.get_default_graph().get_operations())
    assert random_ops.get_seed(None) == (5, n_ops)
    assert random_ops.get_seed(9) == (5, 9)
    random_ops.set_random_seed(0)
    assert random_ops.get_seed(0) == (0, 2**31 - 1)  # (0, 0) would mean "random"
    random_ops.set_random_seed(-1)
    assert random_ops.get_seed(2**40)[0] >= 0  # truncated to non-negative int32


# -- gradients ----------------------------------------------------------------------------------

def test_gradient_flows_to_mean_and_stddev_not_through_sampler():
    # out = mean + stddev * z with z drawn per run, so the gradient is checked against the z
    # of the same run (a numerical difference would see a new z at every evaluation).
    mean = tf.placeholder(tf.float64, [])
    stddev = tf.placeholder(tf.float64, [])
    out = random_ops.truncated_normal([3, 2], mean=mean, stddev=stddev, dtype=tf.float64, seed=1)
    g_mean, g_std = tf.gradients(out, [mean, stddev])
    x, gm, gs = run([out, g_mean, g_std], {mean: 0.5, stddev: 2.0})
    assert gm == pytest.approx(6.0)
    assert gs == pytest.approx(((x - 0.5) / 2.0).sum())
    m = tf.placeholder(tf.float32, [])
    g = tf.gradients(random_ops.random_uniform([4], minval=m, maxval=m + 2.0, seed=1), [m])[0]
    assert run(g, {m: 1.0}) == pytest.approx(4.0)
    assert tf.gradients(random_ops.random_normal([2]), [mean])[0] is None


# -- errors ------------------------------------------------------------------------------------

def test_errors_at_build_time():
    with pytest.raises(ValueError, match="Must specify maxval for integer dtype"):
        random_ops.random_uniform([2], dtype=tf.int32)
    with pytest.raises(ValueError, match="Invalid dtype"):
        random_ops.random_uniform([2], dtype=tf.bool)
    with pytest.raises(TypeError, match="random_normal"):
        random_ops.random_normal([2], dtype=tf.int32)
    with pytest.raises(ValueError, match="partially known"):
        random_ops.random_normal([2, None])
    with pytest.raises(TypeError, match="int32 or int64"):
        random_ops.random_normal(tf.constant([2.0]))
    with pytest.raises(ValueError, match="RandomStandardNormal"):
        random_ops.random_normal(tf.constant([[2]]))
    with pytest.raises(ValueError, match="logits should be a matrix"):
        random_ops.multinomial(tf.constant([1.0, 2.0]), 3)


def test_errors_at_run_time_name_the_op():
    t = random_ops.random_uniform([3], minval=5, maxval=5, dtype=tf.int32, name="bad_range")
    with pytest.raises(errors.InvalidArgumentError, match="Need minval < maxval, got 5 >= 5") as e:
        run(t)
    assert "bad_range" in str(e.value)
    n = tf.placeholder(tf.int32, [2])
    t2 = random_ops.random_normal(n, name="neg_dim")
    with pytest.raises(errors.InvalidArgumentError, match="must be >= 0") as e:
        run(t2, {n: [2, -1]})
    assert "neg_dim" in str(e.value)
    k = tf.placeholder(tf.int32, [])
    t3 = random_ops.multinomial(tf.constant([[1.0, 2.0]]), k)
    with pytest.raises(errors.InvalidArgumentError, match="num_samples should be nonnegative"):
        run(t3, {k: -1})
