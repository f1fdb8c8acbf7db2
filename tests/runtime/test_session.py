"""Session.run: nested fetches, feeds, pruning, partial execution, errors, default sessions."""
import collections
import threading

import numpy as np
import pytest

import hpcflow as tf


def test_seed_example_d_b_c():
    # The seeds' first graph: d = b + c, e = c + 2, a = d * e.
    b = tf.constant(1.0)
    c = tf.constant(2.0)
    d = tf.add(b, c)
    e = tf.add(c, 2.0)
    a = tf.multiply(d, e)
    with tf.Session() as sess:
        assert sess.run(a) == pytest.approx(12.0)


def test_nested_fetch_structures():
    a = tf.constant(1.0)
    b = tf.constant([2, 3])
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        result = sess.run({"a": a, "nested": [b, (a, {"deep": b})], "pair": Pair(a, b)})
    assert isinstance(result, dict)
    assert result["a"] == 1.0 and isinstance(result["a"], np.float32)
    assert isinstance(result["nested"], list) and isinstance(result["nested"][1], tuple)
    np.testing.assert_array_equal(result["nested"][1][1]["deep"], [2, 3])
    assert isinstance(result["pair"], Pair)
    np.testing.assert_array_equal(result["pair"].y, [2, 3])


def test_fetch_by_name_operation_and_duplicates():
    a = tf.constant(5.0, name="five")
    noop = tf.no_op(name="nothing")
    with tf.Session() as sess:
        assert sess.run("five:0") == 5.0
        assert sess.run(noop) is None
        assert sess.run("nothing") is None
        assert sess.run([a, a, "five:0"]) == [5.0, 5.0, 5.0]


def test_bad_fetches():
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="None"):
            sess.run(None)
        with pytest.raises(TypeError, match="invalid type"):
            sess.run(3)
        with pytest.raises(ValueError, match="cannot be interpreted"):
            sess.run("nope:0")


def test_feeds_by_tensor_and_name_and_shape_check():
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    y = x * 2.0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [[1, 2]]}), [[2, 4]])
        np.testing.assert_allclose(sess.run(y, {"x:0": [[3, 4], [5, 6]]}), [[6, 8], [10, 12]])
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            sess.run(y, {x: [1, 2, 3]})
        with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
            sess.run(y, {x: tf.constant([[1.0, 2.0]])})


def test_unfed_placeholder_is_named():
    x = tf.placeholder(tf.float32, shape=[3], name="images")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="placeholder tensor 'images'"):
            sess.run(x + 1.0)


def test_intermediate_feed_cuts_the_graph():
    x = tf.placeholder(tf.float32, name="never_fed")
    hidden = x * 3.0
    out = hidden + 1.0
    with tf.Session() as sess:
        # Feeding `hidden` means the unfed placeholder upstream never runs.
        assert sess.run(out, {hidden: 10.0}) == 11.0


def test_pruning_skips_unneeded_ops():
    x = tf.placeholder(tf.float32, name="unused")
    unrelated = x * 2.0  # noqa: F841 - would fail if it ran
    wanted = tf.constant(3.0) + 1.0
    with tf.Session() as sess:
        assert sess.run(wanted) == 4.0


def test_seed_assign_accumulates():
    # The seeds' example: y = start.assign(start + x), fed 1, 0.5, 2.2 -> 1, 1.5, 3.7.
    start = tf.Variable(0.0)
    x = tf.placeholder(tf.float32)
    y = start.assign(start + x)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = [sess.run(y, {x: v}) for v in (1.0, 0.5, 2.2)]
    np.testing.assert_allclose(got, [1.0, 1.5, 3.7], rtol=1e-6)


def test_uninitialized_variable_read_fails():
    v = tf.Variable([1.0, 2.0], name="weights")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="weights"):
            sess.run(v)


def test_fetched_variable_is_a_copy():
    v = tf.Variable([1.0, 2.0])
    inc = v.assign_add([1.0, 1.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        before = sess.run(v)
        sess.run(inc)
        np.testing.assert_array_equal(before, [1.0, 2.0])
        before[0] = 100.0
        np.testing.assert_array_equal(sess.run(v), [2.0, 3.0])


def test_closed_session_and_context_manager_default():
    c = tf.constant(2.0)
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        assert c.eval() == 2.0
    assert tf.get_default_session() is None
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)


def test_eval_without_session_raises():
    c = tf.constant(1.0)
    with pytest.raises(ValueError, match="No default session"):
        c.eval()


def test_interactive_session_is_default():
    c = tf.constant(4.0)
    sess = tf.InteractiveSession()
    try:
        assert c.eval() == 4.0
    finally:
        sess.close()
    assert tf.get_default_session() is None


def test_session_on_another_graph():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(7)
    with tf.Session(graph=g) as sess:
        assert sess.run(c) == 7
    with tf.Session() as sess:
        with pytest.raises(ValueError):
            sess.run(c)


def test_kernel_error_names_op_and_rank():
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.placeholder(tf.float32, [None], name="y")
    z = tf.add(x, y, name="the_sum")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(z, {x: [1, 2], y: [1, 2, 3]})
    assert "the_sum" in str(info.value) and "rank 0" in str(info.value)


def test_session_stays_usable_after_error():
    x = tf.placeholder(tf.float32, name="x")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(x)
        assert sess.run(x, {x: 2.0}) == 2.0


def test_full_trace_fills_step_stats():
    x = tf.constant([1.0, 2.0]) * 2.0
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    metadata = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(x, options=options, run_metadata=metadata)
    stats = metadata.step_stats.dev_stats
    assert stats and stats[0].device.endswith("CPU:0")
    assert {n.node_name for n in stats[0].node_stats} >= {x.op.name}


def test_two_sessions_have_independent_variables():
    v = tf.Variable(1.0)
    inc = v.assign_add(1.0)
    s1, s2 = tf.Session(), tf.Session()
    s1.run(v.initializer)
    s2.run(v.initializer)
    s1.run(inc)
    assert s1.run(v) == 2.0 and s2.run(v) == 1.0
    s1.close()
    s2.close()


def test_concurrent_runs_from_threads():
    x = tf.placeholder(tf.float32, [None])
    y = tf.reduce_sum(x * 2.0)
    results = {}
    with tf.Session() as sess:
        def work(i):
            results[i] = sess.run(y, {x: np.full(100, i, np.float32)})
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == {i: pytest.approx(200.0 * i) for i in range(8)}


def test_feed_dtype_conversion_and_overflow():
    x = tf.placeholder(tf.int32, name="i")
    with tf.Session() as sess:
        assert sess.run(x, {x: 3}) == 3
        with pytest.raises(TypeError, match="not compatible"):
            sess.run(x, {x: 2**40})


def test_make_callable():
    x = tf.placeholder(tf.float32, [], name="x")
    y = x * 3.0
    with tf.Session() as sess:
        triple = sess.make_callable(y, [x])
        assert triple(2.0) == 6.0
        with pytest.raises(TypeError):
            triple()


def test_gradient_override_map_is_recorded_when_the_op_is_created():
    @tf.RegisterGradient("DoubleSquareGrad")
    def _double(op, grad):
        return [grad * 4.0 * op.inputs[0]]
    x = tf.constant(3.0)
    with tf.get_default_graph().gradient_override_map({"Square": "DoubleSquareGrad"}):
        y = tf.square(x)
    # tf.gradients is called outside the block: the override still applies (as TF).
    grad, = tf.gradients(y, x)
    with tf.Session() as sess:
        assert sess.run(grad) == 12.0
