"""tf.py_func / tf.numpy_function: results, dtypes, arguments, errors as TF reports them,
the process-local function registry, serialization and gradient overrides."""
import gc

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import registry
from hpcflow.ops import math_ops, script_ops
from hpcflow.ops.script_ops import numpy_function, py_func


def _run(fetch, feed=None):
    with tf.Session() as sess:
        return sess.run(fetch, feed)


def test_single_output_list_output_and_no_output():
    x = tf.constant([1.0, 2.0])
    y = py_func(lambda a: a * 2, [x], tf.float32)
    assert isinstance(y, tf.Tensor) and (y.op.type, y.name) == ("PyFunc", "PyFunc:0")
    assert y.dtype == tf.float32 and y.shape.ndims is None
    assert y.op.get_attr("token").startswith("pyfunc_")
    assert y.op.get_attr("Tout") == ["float32"] and y.op.get_attr("Tin") == ["float32"]
    ys = py_func(lambda a: (a, np.int32(a.size)), [x], [tf.float32, tf.int32],
                 stateful=False, name="pf")
    assert isinstance(ys, list) and [t.name for t in ys] == ["pf:0", "pf:1"]
    assert ys[0].op.type == "PyFuncStateless"
    calls = []
    op = py_func(lambda a: calls.append(a.sum()), [x], [])
    assert isinstance(op, tf.Operation) and op.type == "PyFunc"
    with tf.Session() as sess:
        value, (same, size), none = sess.run([y, ys, op])
    np.testing.assert_array_equal(value, [2.0, 4.0])
    assert value.dtype == np.float32 and size == 2 and size.dtype == np.int32
    np.testing.assert_array_equal(same, [1.0, 2.0])
    assert none is None and calls == [3.0]


def test_arguments_are_numpy_values_and_private_copies():
    seen = []

    def record(a, b, s):
        seen.append((type(a), a.dtype, a.flags.writeable, type(b), type(s)))
        a += 100  # must not leak into the graph's values
        return a

    x = tf.constant([1.0, 2.0])
    y = py_func(record, [x, tf.constant(3), tf.constant("s")], tf.float32)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y), [101.0, 102.0])
        np.testing.assert_array_equal(sess.run(x), [1.0, 2.0])
    assert seen[0] == (np.ndarray, np.float32, True, np.int32, bytes)


def test_string_results():
    cases = [(lambda: b"xy", b"xy"), (lambda: "xy", b"xy"),
             (lambda: np.array(["ab", "c"]), [b"ab", b"c"]),
             (lambda: np.array([b"a", b"bb"]), [b"a", b"bb"])]
    for fn, expected in cases:
        out = _run(py_func(fn, [], tf.string))
        if isinstance(expected, list):
            assert out.dtype == object and out.tolist() == expected
        else:
            assert out == expected
    echo = py_func(lambda a: a, [tf.constant(["a", "bb"])], tf.string)
    assert _run(echo).tolist() == [b"a", b"bb"]


def test_stateful_function_runs_every_step():
    counter = []

    def count():
        counter.append(1)
        return np.int64(len(counter) - 1)
    y = py_func(count, [], tf.int64)
    with tf.Session() as sess:
        assert [int(sess.run(y)) for _ in range(3)] == [0, 1, 2]
    assert registry.get("PyFunc").stateful and not registry.get("PyFuncStateless").stateful


def test_py_func_in_a_loop_body_runs_every_iteration():
    from hpcflow.ops import control_flow_ops
    calls = []

    def step(value):
        calls.append(float(value))
        return np.float32(value * 2)
    _, out = control_flow_ops.while_loop(
        lambda i, v: i < 3, lambda i, v: (i + 1, py_func(step, [v], tf.float32)),
        [tf.constant(0), tf.constant(1.0)], shape_invariants=[tf.TensorShape([]),
                                                              tf.TensorShape(None)])
    assert _run(out) == 8.0 and calls == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("fn, tout, message", [
    (lambda a: 1.0, tf.float32, r"^0-th value returned by pyfunc_\d+ is double, but expects "
                                r"float"),
    (lambda a: np.int64(3), tf.int32, r"^0-th value returned by pyfunc_\d+ is int64, but "
                                      r"expects int32"),
    (lambda a: np.float16(1), tf.float32, r"is half, but expects float"),
    (lambda a: (a, a), tf.float32, r"^pyfunc_\d+ returns 2 values, but expects to see 1 values\."),
    (lambda a: [a], [tf.float32, tf.float32], r"returns 1 values, but expects to see 2 values"),
    (lambda a: ["ab", "c"], tf.string, r"returns 2 values, but expects to see 1 values"),
])
def test_result_count_and_dtype_errors(fn, tout, message):
    y = py_func(fn, [tf.constant([1.0, 2.0])], tout, name="checked")
    with pytest.raises(tf.errors.InvalidArgumentError, match=message) as info:
        _run(y)
    assert "checked" in info.value.message  # the executor names the op


def _raise(exception):
    def fn(a):
        raise exception
    return fn


@pytest.mark.parametrize("exception, error_class", [
    (ValueError("boom"), tf.errors.InvalidArgumentError),
    (TypeError("boom"), tf.errors.InvalidArgumentError),
    (StopIteration(), tf.errors.OutOfRangeError),
    (MemoryError(), tf.errors.ResourceExhaustedError),
    (NotImplementedError("later"), tf.errors.UnimplementedError),
    (KeyError("kk"), tf.errors.UnknownError),
    (IndexError("ie"), tf.errors.UnknownError),
    (tf.errors.NotFoundError(None, None, "nf"), tf.errors.UnknownError),
])
def test_function_exceptions_map_like_tensorflow(exception, error_class):
    y = py_func(_raise(exception), [tf.constant([1.0])], tf.float32, name="failing")
    with pytest.raises(error_class) as info:
        _run(y)
    message = info.value.message
    assert type(info.value) is error_class
    assert message.startswith("%s: %s" % (type(exception).__name__, exception))
    assert "Traceback (most recent call last)" in message and "in fn" in message
    assert "failing" in message


def test_function_missing_in_this_process_is_a_clear_error():
    y = py_func(lambda a: a, [tf.constant([1.0])], tf.float32, name="remote")
    token = y.op.get_attr("token")
    func = script_ops._functions.pop(token)
    try:
        with pytest.raises(tf.errors.FailedPreconditionError) as info:
            _run(y)
    finally:
        script_ops._functions[token] = func
    message = info.value.message
    assert "remote" in message and token in message
    assert "only in the process that built the graph" in message


def test_graph_serializes_the_token_not_the_function():
    graph = tf.Graph()
    with graph.as_default():
        y = py_func(lambda a: a + 1, [tf.constant([1, 2])], tf.int32, name="inc")
    data = graph.as_graph_def().SerializeToString()
    assert y.op.get_attr("token").encode() in data and b"lambda" not in data
    restored = tf.Graph()
    with restored.as_default():
        tf.import_graph_def(tf.GraphDef.FromString(data), name="")
        np.testing.assert_array_equal(_run(restored.get_tensor_by_name("inc:0")), [2, 3])


def test_registry_entry_leaves_with_its_graph():
    graph = tf.Graph()
    with graph.as_default():
        token = py_func(lambda: np.int32(1), [], tf.int32).op.get_attr("token")
    assert token in script_ops._functions
    del graph
    gc.collect()
    assert token not in script_ops._functions


def test_no_gradient_by_default_and_override_map():
    x = tf.constant([1.0, 2.0, 3.0])
    y = py_func(lambda a: np.square(a), [x], tf.float32)
    assert tf.gradients(y, x) == [None]

    @tf.RegisterGradient("TestSquarePyFuncGrad")
    def _square_grad(op, grad):
        return [grad * 2.0 * op.inputs[0]]

    graph = tf.get_default_graph()
    with graph.gradient_override_map({"PyFunc": "TestSquarePyFuncGrad"}):
        z = py_func(lambda a: np.square(a), [x], tf.float32)
    z.set_shape([3])
    # The override was recorded when the op was created: it applies out of the scope too.
    grad = tf.gradients(math_ops.reduce_sum(z), x)[0]
    np.testing.assert_allclose(_run(grad), [2.0, 4.0, 6.0])


def test_numpy_function_and_inputs_conversion():
    y = numpy_function(lambda a, b: (a + b).astype(np.float64), [np.array([1.0]), 2.0],
                       tf.float64)
    assert y.op.type == "PyFunc"
    np.testing.assert_array_equal(_run(y), [3.0])
    p = tf.placeholder(tf.int64, [None])
    doubled = numpy_function(lambda a: a * 2, [p], [tf.int64], stateful=False)
    np.testing.assert_array_equal(_run(doubled, {p: [1, 5]})[0], [2, 10])
