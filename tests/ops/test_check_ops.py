"""check_numerics, Assert and the assert_* family: passing, failing (at run and build time),
messages as TensorFlow writes them, op names, gradients, and the tf.debugging module."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow import debugging
from hpcflow.framework import registry
from hpcflow.ops import check_ops, math_ops
from hpcflow.ops.check_ops import Assert, check_numerics

from gradcheck import check_gradient


def _run(fetch, feed=None):
    with tf.Session() as sess:
        return sess.run(fetch, feed)


# -- check_numerics -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64])
def test_check_numerics_passes_finite_values(dtype):
    p = tf.placeholder(dtype, [None])
    out = check_numerics(p, "bad p")
    assert (out.op.type, out.op.name, out.dtype, out.shape.as_list()) == (
        "CheckNumerics", "CheckNumerics", dtype, [None])
    value = np.array([1.5, -2.0, 0.0], dtype.np_dtype)
    got = _run(out, {p: value})
    np.testing.assert_array_equal(got, value)
    assert got.dtype == dtype.np_dtype
    assert _run(out, {p: np.zeros(0)}).shape == (0,)


@pytest.mark.parametrize("value, status", [([1.0, np.nan], "NaN"), ([1.0, np.inf], "Inf"),
                                           ([-np.inf, np.nan], "Inf and NaN")])
def test_check_numerics_failures(value, status):
    p = tf.placeholder(tf.float32)
    out = check_numerics(p, "bad p", name="checked")
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(out, {p: value})
    assert info.value.message.startswith("bad p : Tensor had %s values" % status)
    assert "checked" in info.value.message


def test_check_numerics_rejects_integers_at_build_time():
    with pytest.raises(TypeError, match="DataType int32 not in list of allowed values") as info:
        check_numerics(tf.constant([1, 2]), "x")
    assert "CheckNumerics" in str(info.value)


def test_check_numerics_gradient():
    check_gradient(lambda x: check_numerics(x * x, "fwd"), [np.array([1.0, -2.0, 0.5])])
    p = tf.placeholder(tf.float64)
    grad = tf.gradients(math_ops.sqrt(check_numerics(p, "fwd")), p)[0]
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Not a number \(NaN\) or infinity \(Inf\) values detected in "
                             r"gradient. fwd : Tensor had Inf values"):
        with np.errstate(divide="ignore"):  # sqrt's gradient at 0 is inf, on purpose
            _run(grad, {p: [0.0]})


def test_verify_tensor_all_finite():
    p = tf.placeholder(tf.float32)
    out = check_ops.verify_tensor_all_finite(p, "vf")
    assert out.name == "VerifyFinite/control_dependency:0" and out.op.type == "Identity"
    np.testing.assert_array_equal(_run(out, {p: [1.0]}), [1.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="vf : Tensor had NaN values"):
        _run(out, {p: [np.nan]})
    same = debugging.assert_all_finite(x=p, message="m2")
    with pytest.raises(tf.errors.InvalidArgumentError, match="m2 : Tensor had Inf"):
        _run(same, {p: [np.inf]})


# -- Assert -------------------------------------------------------------------------------------

def test_assert_passes_and_fails_with_tensorflow_message():
    pi = tf.placeholder(tf.int32)
    a = Assert(math_ops.less(pi, 0), ["x is", pi, tf.constant([1, 2, 3, 4])])
    assert isinstance(a, tf.Operation) and (a.name, a.type) == ("Assert/Assert", "Assert")
    assert a.get_attr("summarize") == 3
    assert _run(a, {pi: -3}) is None
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(a, {pi: 3})
    assert info.value.message.startswith("assertion failed: [x is] [3] [1 2 3...]")
    assert "Assert/Assert" in info.value.message


def test_assert_summarize_and_name():
    p = tf.placeholder(tf.float32)
    a = Assert(math_ops.reduce_all(math_ops.less(p, 0.0)), [p], summarize=1, name="my")
    assert a.name == "my/Assert"
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed: \[3\.5\.\.\.\]"):
        _run(a, {p: [3.5, 4.0]})
    a0 = Assert(tf.constant(False), [tf.constant(7)], summarize=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed: \[\.\.\.\]"):
        _run(a0)


def test_assert_condition_must_be_a_bool_scalar():
    with pytest.raises(TypeError, match="Input 'condition' of 'Assert' Op has type int32"):
        Assert(tf.constant(1), [])
    a = Assert(tf.constant([True, True]), [tf.constant(1)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"In\[0\] should be a scalar: \[2\]"):
        _run(a)


def test_assert_guards_other_ops_through_control_dependencies():
    from hpcflow.ops import array_ops
    x = tf.placeholder(tf.float32)
    with tf.control_dependencies([Assert(math_ops.reduce_all(math_ops.greater(x, 0.0)),
                                        ["x must be positive", x])]):
        y = array_ops.identity(x)
    np.testing.assert_array_equal(_run(y, {x: [1.0]}), [1.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[x must be positive\] \[-1\]"):
        _run(y, {x: [-1.0]})
    assert registry.get("Assert").stateful
    assert registry.get("Assert").gradient == registry.NOT_DIFFERENTIABLE


# -- binary and sign asserts ----------------------------------------------------------------------

def test_assert_equal_runtime_message_and_names():
    pi = tf.placeholder(tf.int32)
    e = check_ops.assert_equal(pi, 3)
    assert (e.name, e.type) == ("assert_equal_1/Assert/Assert", "Assert")
    assert _run(e, {pi: 3}) is None
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(e, {pi: 4})
    assert info.value.message.startswith(
        "assertion failed: [Condition x == y did not hold element-wise:] "
        "[x (Placeholder:0) = ] [4] [y (assert_equal_1/y:0) = ] [3]")
    e2 = check_ops.assert_equal(pi, 3, message="hello", summarize=2)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"^assertion failed: \[hello\] \[Condition x == y did not hold "
                             r"element-wise:\] \[x \(Placeholder:0\) = \] \[4 4\.\.\.\]"):
        _run(e2, {pi: [4, 4, 4, 4]})
    assert check_ops.assert_equal(pi, pi).type == "NoOp"


@pytest.mark.parametrize("fn, x, y, sym", [
    (check_ops.assert_equal, [1, 2], [1, 3], "=="),
    (check_ops.assert_none_equal, [1, 2], [1, 3], "!="),
    (check_ops.assert_less, [1, 2], [1, 3], "<"),
    (check_ops.assert_less_equal, [2, 4], [2, 3], "<="),
    (check_ops.assert_greater, [2, 4], [1, 4], ">"),
    (check_ops.assert_greater_equal, [2, 4], [2, 5], ">="),
])
def test_binary_asserts_fail_statically_on_constants(fn, x, y, sym):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(tf.constant(x), tf.constant(y), message="mm")
    lines = info.value.message.split("\n")
    assert lines[0] == "mm" and lines[1] == "Condition x %s y did not hold element-wise:" % sym
    assert lines[2] == "x (Const:0) = " and lines[3] == str(np.array(x))


@pytest.mark.parametrize("fn, good, bad", [
    (check_ops.assert_equal, ([1, 2], [1, 2]), ([1, 2], [1, 3])),
    (check_ops.assert_none_equal, ([1, 2], [2, 1]), ([1, 2], [1, 3])),
    (check_ops.assert_less, ([1, 2], [2, 3]), ([1, 2], [1, 3])),
    (check_ops.assert_less_equal, ([1, 2], [1, 3]), ([2, 4], [2, 3])),
    (check_ops.assert_greater, ([2, 4], [1, 3]), ([2, 4], [1, 4])),
    (check_ops.assert_greater_equal, ([2, 4], [2, 4]), ([2, 4], [2, 5])),
])
def test_binary_asserts_at_run_time_with_broadcasting(fn, good, bad):
    x = tf.placeholder(tf.float32)
    y = tf.placeholder(tf.float32)
    op = fn(x, y)
    assert _run(op, {x: good[0], y: good[1]}) is None
    assert _run(op, {x: [good[0]] * 2, y: good[1]}) is None  # broadcasting
    with pytest.raises(tf.errors.InvalidArgumentError, match="assertion failed"):
        _run(op, {x: bad[0], y: bad[1]})


@pytest.mark.parametrize("fn, good, bad, text", [
    (check_ops.assert_positive, [1.0, 2.0], [1.0, 0.0], "x > 0"),
    (check_ops.assert_negative, [-1.0], [-1.0, 0.0], "x < 0"),
    (check_ops.assert_non_negative, [0.0, 2.0], [-1.0], "x >= 0"),
    (check_ops.assert_non_positive, [0.0, -2.0], [1.0], "x <= 0"),
])
def test_sign_asserts(fn, good, bad, text):
    p = tf.placeholder(tf.float32)
    op = fn(p)
    assert _run(op, {p: good}) is None
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"assertion failed: \[\] \[Condition %s did not hold" % text):
        _run(op, {p: bad})
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(tf.constant(bad), message="nn")
    assert info.value.message.split("\n")[:2] == ["nn.  ", "Condition %s did not hold "
                                                           "element-wise:" % text]


def test_sign_assert_names():
    op = check_ops.assert_positive(tf.placeholder(tf.float32))
    assert op.name == "assert_positive/assert_less/Assert/Assert"


def test_assert_near():
    p = tf.placeholder(tf.float32)
    op = check_ops.assert_near(p, 1.0)
    assert op.name == "assert_near/Assert/Assert"
    assert _run(op, {p: [1.0, 1.0000001]}) is None
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(op, {p: [1.0, -1.0]})
    assert info.value.message.startswith(
        'assertion failed: [] [x and y not equal to tolerance rtol = Tensor(\\"assert_near/rtol:0'
        '\\", shape=(), dtype=float32), atol = Tensor(\\"assert_near/atol:0\\", shape=(), '
        'dtype=float32)] [x (Placeholder:0) = ] [1 -1] [y (assert_near/y:0) = ] [1]')
    loose = check_ops.assert_near(p, 1.0, rtol=0.1, atol=0.0, message="near")
    assert _run(loose, {p: [1.05, 0.95]}) is None
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[near\.  \]"):
        _run(loose, {p: [1.05, 0.8]})


# -- rank, type, scalar ---------------------------------------------------------------------------

def test_assert_rank_static():
    with pytest.raises(ValueError, match=r"^Tensor Const:0 must have rank 2\.  Received rank 1, "
                                         r"shape \(2,\)$"):
        check_ops.assert_rank(tf.constant([1, 2]), 2)
    with pytest.raises(ValueError, match=r"^mm\.  Tensor Const_1:0 must have rank 2\."):
        check_ops.assert_rank(tf.constant([1, 2]), 2, message="mm")
    with pytest.raises(ValueError, match=r"must have rank at least 2\.  Received rank 1"):
        check_ops.assert_rank_at_least(tf.constant([1, 2]), 2)
    ok = check_ops.assert_rank(tf.constant([1, 2]), 1)
    assert (ok.name, ok.type) == ("assert_rank_2/static_checks_determined_all_ok", "NoOp")
    assert check_ops.assert_rank_at_least(tf.constant([[1]]), 1).type == "NoOp"
    with pytest.raises(TypeError, match="must be of type tf.int32; got tf.int64"):
        check_ops.assert_rank(tf.constant(1), tf.constant(0, tf.int64))
    with pytest.raises(ValueError, match="Rank must be a scalar"):
        check_ops.assert_rank(tf.constant(1), [0])


def test_assert_rank_dynamic():
    p = tf.placeholder(tf.float32)
    op = check_ops.assert_rank(p, 2)
    assert op.name == "assert_rank/Assert/Assert"
    assert _run(op, {p: [[1.0, -1.0]]}) is None
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(op, {p: [1.0, -1.0]})
    assert info.value.message.startswith("assertion failed: [] [Tensor Placeholder:0 must have "
                                         "rank] [2] [Received shape: ] [2]")
    at_least = check_ops.assert_rank_at_least(p, 2)
    assert _run(at_least, {p: [[[1.0]]]}) is None
    with pytest.raises(tf.errors.InvalidArgumentError, match="must have rank at least"):
        _run(at_least, {p: [1.0]})
    r = tf.placeholder(tf.int32)
    op = check_ops.assert_rank(p, r)
    assert _run(op, {p: [1.0], r: 1}) is None
    with pytest.raises(tf.errors.InvalidArgumentError, match="Rank must be a scalar. Received"):
        _run(op, {p: [1.0], r: [1]})


def test_assert_type_integer_scalar():
    pi = tf.placeholder(tf.int32)
    pf = tf.placeholder(tf.float32)
    with pytest.raises(TypeError, match=r"^Placeholder:0 must be of type tf.float32; got "
                                        r"tf.int32$"):
        check_ops.assert_type(pi, tf.float32)
    ok = check_ops.assert_type(pi, tf.int32)
    assert (ok.name, ok.type) == ("assert_type_1/statically_determined_correct_type", "NoOp")
    with pytest.raises(TypeError, match=r'^Expected "x" to be integer type.  Found: '
                                        r"Placeholder_1:0 of dtype <dtype: 'float32'>$"):
        check_ops.assert_integer(pf)
    ok = check_ops.assert_integer(pi)
    assert ok.name == "assert_integer_1/statically_determined_was_integer"
    with pytest.raises(ValueError, match=r"Expected scalar shape for Const:0, saw shape: \(1,\)"):
        check_ops.assert_scalar(tf.constant([1]))
    scalar = tf.constant(1)
    assert check_ops.assert_scalar(scalar) is scalar


def test_float_dtype_and_iterable_helpers():
    a = tf.constant(1.0)
    assert check_ops.assert_same_float_dtype([a, tf.constant(2.0)]) == tf.float32
    assert check_ops.assert_same_float_dtype() == tf.float32
    with pytest.raises(ValueError, match="must be of the same type"):
        check_ops.assert_same_float_dtype([a, tf.constant(2.0, tf.float64)])
    with pytest.raises(ValueError, match="Expected floating point type"):
        check_ops.assert_same_float_dtype([tf.constant(1)])
    check_ops.assert_proper_iterable([1, 2])
    for bad in (a, np.zeros(2), "abc", 3):
        with pytest.raises(TypeError):
            check_ops.assert_proper_iterable(bad)


def test_monotonic_predicates_and_is_numeric():
    results = _run([check_ops.is_non_decreasing([1, 1, 2]), check_ops.is_non_decreasing([2, 1]),
                    check_ops.is_strictly_increasing([1, 1, 2]),
                    check_ops.is_strictly_increasing([1, 3]),
                    check_ops.is_strictly_increasing(tf.constant([], tf.float32)),
                    check_ops.is_non_decreasing([[1, 2], [3, 4]]),
                    check_ops.is_non_decreasing(tf.constant([5], tf.uint8))])
    assert [bool(r) for r in results] == [True, False, False, True, True, True, True]
    assert isinstance(results[0], np.bool_)
    pi, pf = tf.placeholder(tf.int32), tf.placeholder(tf.float32)
    assert [check_ops.is_numeric_tensor(x) for x in
            (pi, pf, tf.constant(True), tf.constant("s"), 3)] == [True, True, False, False,
                                                                   False]
    with pytest.raises(TypeError, match="Expected x to be numeric"):
        check_ops.is_non_decreasing(tf.constant(["a"]))


def test_debugging_namespace():
    for name in ("Assert", "assert_equal", "assert_none_equal", "assert_less",
                 "assert_less_equal", "assert_greater", "assert_greater_equal",
                 "assert_positive", "assert_negative", "assert_non_negative",
                 "assert_non_positive", "assert_near", "assert_rank", "assert_rank_at_least",
                 "assert_type", "assert_integer", "assert_scalar", "assert_all_finite",
                 "check_numerics", "is_numeric_tensor", "is_non_decreasing",
                 "is_strictly_increasing", "assert_same_float_dtype", "assert_proper_iterable"):
        assert getattr(debugging, name) is getattr(check_ops, name), name
    for name in ("is_finite", "is_inf", "is_nan"):
        assert getattr(debugging, name) is getattr(math_ops, name)
