"""Tests of hpcflow/ops/math_ops.py: forward vs numpy, gradients vs numerical, errors, names."""
import math

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors, registry, sharding
from hpcflow.ops import array_ops
from hpcflow.ops import math_ops as mo
from gradcheck import check_gradient

RNG = np.random.RandomState(42)

# The kernels return inf/nan silently as TF (their module filters numpy's warnings, which
# pytest's own warning capture would show again).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def const(value, dtype=None):
    """A constant; Python values get TF's dtypes (int32, float32), arrays keep theirs."""
    return tf.constant(value if dtype is None else np.asarray(value, dtype))


def check_value(got, want, dtype, rtol=1e-6, atol=1e-6):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    if got.dtype.kind in "biuO":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got.astype(np.float64), np.asarray(want, np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)


def values(shape, dtype, positive=False, nonzero=False):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        v = RNG.uniform(0.5, 3.0, shape) if positive else RNG.uniform(-3.0, 3.0, shape)
        if nonzero:
            v = np.where(np.abs(v) < 0.3, 1.0, v)
        return v.astype(dtype)
    low = 1 if positive else (-5 if dtype.kind == "i" else 0)
    v = RNG.randint(low, 6, size=shape)
    if nonzero:
        v = np.where(v == 0, 2, v)
    return v.astype(dtype)


def tol(dtype):
    return {"float16": 2e-3, "float32": 1e-5, "float64": 1e-10}.get(np.dtype(dtype).name, 0)


BCAST_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 3)),
                ((0, 3), (3,))]


# -- element-wise binary ------------------------------------------------------------------------

BINARY = [
    (mo.add, np.add, ["float16", "float32", "float64", "int8", "uint8", "int32", "int64"], {}),
    (mo.subtract, np.subtract, ["float16", "float32", "float64", "int32", "int64"], {}),
    (mo.multiply, np.multiply, ["float16", "float32", "float64", "int16", "int32", "int64"], {}),
    (mo.realdiv, np.true_divide, ["float16", "float32", "float64"], {"nonzero": True}),
    (mo.floordiv, np.floor_divide, ["float32", "float64", "int32", "int64"], {"nonzero": True}),
    (mo.floormod, np.mod, ["float32", "float64", "int32", "int64"], {"nonzero": True}),
    (mo.truncatediv, lambda x, y: np.trunc(x / y), ["float32", "int32", "int64"],
     {"nonzero": True}),
    (mo.truncatemod, np.fmod, ["float32", "int32", "int64"], {"nonzero": True}),
    (mo.maximum, np.maximum, ["float16", "float32", "float64", "int32", "int64", "uint8"], {}),
    (mo.minimum, np.minimum, ["float16", "float32", "float64", "int32", "int64"], {}),
    (mo.squared_difference, lambda x, y: (x - y) ** 2, ["float32", "float64", "int32"], {}),
    (mo.atan2, np.arctan2, ["float32", "float64"], {}),
]


@pytest.mark.parametrize("fn,ref,dtypes_,kw", BINARY, ids=[b[0].__name__ for b in BINARY])
def test_binary_forward(fn, ref, dtypes_, kw):
    for dtype in dtypes_:
        for sx, sy in BCAST_SHAPES:
            x = values(sx, dtype)
            y = values(sy, dtype, nonzero=kw.get("nonzero", False))
            out = run(fn(const(x), const(y)))
            want = ref(x.astype(np.float64), y.astype(np.float64)) if \
                np.dtype(dtype).kind == "f" else ref(x, y)
            if fn is mo.truncatediv and np.dtype(dtype).kind in "iu":
                want = np.trunc(x / y).astype(dtype)
            check_value(out, np.asarray(want).astype(dtype), dtype,
                        rtol=tol(dtype) * 10, atol=tol(dtype) * 10)


def test_python_semantics_of_floor_division_and_modulo():
    x = const([-7, 7, -7, 7], np.int32)
    y = const([2, 2, -2, -2], np.int32)
    floor, mod, tdiv, tmod = run([x // y, x % y, mo.truncatediv(x, y), mo.truncatemod(x, y)])
    np.testing.assert_array_equal(floor, [-4, 3, 3, -4])
    np.testing.assert_array_equal(mod, [1, 1, -1, -1])
    np.testing.assert_array_equal(tdiv, [-3, 3, 3, -3])
    np.testing.assert_array_equal(tmod, [-1, 1, -1, 1])
    fmod = run(mo.floormod(const([-7.5, 7.5], np.float32), const([2.0, -2.0], np.float32)))
    check_value(fmod, [0.5, -0.5], "float32")


@pytest.mark.parametrize("fn", [mo.floordiv, mo.floormod, mo.truncatediv, mo.truncatemod])
def test_integer_division_by_zero_raises(fn):
    out = fn(const([1, 2], np.int32), const([1, 0], np.int32))
    with pytest.raises(errors.InvalidArgumentError, match="Integer division by zero") as info:
        run(out)
    assert out.op.name in str(info.value)


def test_truediv_dtypes_follow_tf():
    cases = {"int8": "float32", "uint8": "float32", "int16": "float32", "uint16": "float32",
             "int32": "float64", "int64": "float64", "float16": "float16",
             "float32": "float32", "float64": "float64"}
    for src, dst in cases.items():
        x, y = values((3,), src), values((3,), src, positive=True)
        out = mo.truediv(const(x), const(y))
        assert out.dtype.name == dst
        assert out.op.type == "RealDiv" and out.op.name.startswith("truediv")
        check_value(run(out), (x.astype(np.float64) / y).astype(dst), dst, rtol=tol(dst) * 5)
    with pytest.raises(TypeError, match="Invalid dtype bool"):
        mo.truediv(const([True]), const([False]))


def test_div_is_python2_division():
    ints = run(mo.div(const([-7, 7], np.int32), const([2, 2], np.int32)))
    check_value(ints, [-4, 3], "int32")
    floats = run(mo.div(const([-7.0, 7.0], np.float32), const([2.0, 2.0], np.float32)))
    check_value(floats, [-3.5, 3.5], "float32")
    assert mo.div(const([1]), const([1])).op.type == "FloorDiv"


def test_divide_and_div_no_nan():
    x, y = values((2, 3), "float32"), values((3,), "float32", nonzero=True)
    out = mo.divide(const(x), const(y))
    assert out.op.name == "truediv"
    check_value(run(out), x / y, "float32")
    assert mo.divide(const(x), const(y), name="ratio").op.name == "ratio"
    z = run(mo.div_no_nan(const([1.0, 2.0, 0.0], np.float32), const([0.0, 4.0, 0.0], np.float32)))
    check_value(z, [0.0, 0.5, 0.0], "float32")


def test_pow():
    check_value(run(mo.pow(const([2, 3, -2], np.int32), const([3, 0, 3], np.int32))),
                [8, 1, -8], "int32")
    x = values((2, 3), "float64", positive=True)
    check_value(run(mo.pow(const(x), 0.5)), np.sqrt(x), "float64")
    out = mo.pow(const([2], np.int32), const([-1], np.int32))
    with pytest.raises(errors.InvalidArgumentError, match="negative integer powers") as info:
        run(out)
    assert "Pow" in str(info.value)


def test_maximum_minimum_propagate_nan():
    x = const([np.nan, 1.0, 2.0], np.float32)
    y = const([1.0, np.nan, 1.0], np.float32)
    hi, lo = run([mo.maximum(x, y), mo.minimum(x, y)])
    check_value(hi, [np.nan, np.nan, 2.0], "float32")
    check_value(lo, [np.nan, np.nan, 1.0], "float32")


COMPARISONS = [(mo.less, np.less), (mo.less_equal, np.less_equal), (mo.greater, np.greater),
               (mo.greater_equal, np.greater_equal), (mo.equal, np.equal),
               (mo.not_equal, np.not_equal)]


@pytest.mark.parametrize("fn,ref", COMPARISONS, ids=[c[0].__name__ for c in COMPARISONS])
def test_comparisons(fn, ref):
    for dtype in ["float16", "float32", "float64", "int32", "int64", "uint8"]:
        for sx, sy in BCAST_SHAPES[:4]:
            x, y = values(sx, dtype), values(sy, dtype)
            check_value(run(fn(const(x), const(y))), ref(x, y), "bool")
    assert fn(const([1.0]), 2.0).dtype == tf.bool


def test_comparisons_reject_bool_and_equal_accepts_it():
    with pytest.raises(TypeError, match="DataType bool not in list"):
        mo.less(const([True]), const([False]))
    check_value(run(mo.equal(const([True, False]), const([True, True]))), [True, False], "bool")
    strings = run(mo.equal(tf.constant(["a", "b"]), "b"))
    check_value(strings, [False, True], "bool")
    check_value(run(mo.not_equal(tf.constant(["a", "b"]), "b")), [True, False], "bool")


def test_logical_ops():
    a = np.array([[True, True, False, False]])
    b = np.array([[True], [False]])
    outs = run([mo.logical_and(const(a), const(b)), mo.logical_or(const(a), const(b)),
                mo.logical_xor(const(a), const(b)), mo.logical_not(const(a))])
    for got, want in zip(outs, [a & b, a | b, a ^ b, ~a]):
        check_value(got, want, "bool")
    with pytest.raises(TypeError, match="LogicalAnd.*expected type of bool"):
        mo.logical_and(const([1]), const([1]))
    with pytest.raises(TypeError, match="LogicalNot.*expected type of bool"):
        mo.logical_not(const([1.0]))


def test_string_add_concatenates():
    out = mo.add(tf.constant(["a", "bc"]), "d")
    assert out.op.type == "Add" and out.dtype == tf.string
    np.testing.assert_array_equal(run(out), np.array([b"ad", b"bcd"], dtype=object))


def test_binary_dtype_checks():
    with pytest.raises(TypeError, match="Input 'y' of 'AddV2' Op has type float32 that does not "
                                        "match type int32"):
        mo.add(const([1], np.int32), const([1.0], np.float32))
    with pytest.raises(TypeError, match="Input 'y' of 'Mul'"):
        const([1], np.int64) * const([1], np.int32)
    with pytest.raises(TypeError, match="DataType bool not in list"):
        mo.add(const([True]), const([False]))
    with pytest.raises(TypeError, match="DataType int32 not in list"):
        mo.realdiv(const([1]), const([1]))
    with pytest.raises(TypeError):
        const([1], np.int32) + 2.5  # a float cannot become int32
    # Python and numpy operands take the Tensor's dtype.
    assert (const([1], np.int64) + 2).dtype == tf.int64
    assert (2.0 + const([1.0], np.float16)).dtype == tf.float16
    assert (np.float64(2) * const([1.0], np.float32)).dtype == tf.float32
    assert (np.array([1, 2]) + const([1.0, 2.0], np.float32)).dtype == tf.float32


def test_broadcast_static_shapes():
    p = tf.placeholder(tf.float32, [None, 3])
    q = tf.placeholder(tf.float32, [None, 1])
    u = tf.placeholder(tf.float32)
    assert (p + const(np.ones(3, np.float32))).shape.as_list() == [None, 3]
    assert (q + const(np.ones((1, 4), np.float32))).shape.as_list() == [None, 4]
    assert (p + q).shape.as_list() == [None, 3]
    assert (p * u).shape.ndims is None
    assert mo.less(p, q).shape.as_list() == [None, 3]
    assert mo.broadcast_static_shape([None, 1, 5], [4, None]).as_list() == [None, 4, 5]
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3.*'add"):
        const(np.ones(2, np.float32)) + const(np.ones(3, np.float32))


def test_broadcast_runtime_error_names_op():
    p = tf.placeholder(tf.float32, [None])
    q = tf.placeholder(tf.float32, [None])
    out = mo.add(p, q, name="my_add")
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"Incompatible shapes: \[2\] vs. \[3\]") as info:
        run(out, {p: np.ones(2), q: np.ones(3)})
    assert "my_add" in str(info.value)


def test_broadcast_gradient_args_op():
    r0, r1 = run(mo.broadcast_gradient_args(const([2, 1, 3], np.int32), const([4, 3], np.int32)))
    check_value(r0, [1], "int32")
    check_value(r1, [0], "int32")
    r0, r1 = run(mo.broadcast_gradient_args(const([5], np.int64), const([2, 1], np.int64)))
    check_value(r0, [0], "int64")
    check_value(r1, [1], "int64")
    bad = mo.broadcast_gradient_args(const([2], np.int32), const([3], np.int32))
    with pytest.raises(errors.InvalidArgumentError, match="Incompatible shapes"):
        run(bad)


# -- element-wise unary -------------------------------------------------------------------------

def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


UNARY = [
    (mo.negative, np.negative, ["float16", "float32", "float64", "int8", "int32", "int64"], None),
    (mo.abs, np.abs, ["float16", "float32", "float64", "int16", "int32", "int64"], None),
    (mo.sign, np.sign, ["float32", "float64", "int32", "int64"], None),
    (mo.square, np.square, ["float16", "float32", "float64", "int32", "int64"], None),
    (mo.sqrt, np.sqrt, ["float16", "float32", "float64"], "positive"),
    (mo.rsqrt, lambda x: 1 / np.sqrt(x), ["float32", "float64"], "positive"),
    (mo.reciprocal, np.reciprocal, ["float32", "float64"], "nonzero"),
    (mo.exp, np.exp, ["float16", "float32", "float64"], None),
    (mo.expm1, np.expm1, ["float32", "float64"], None),
    (mo.log, np.log, ["float16", "float32", "float64"], "positive"),
    (mo.log1p, np.log1p, ["float32", "float64"], "positive"),
    (mo.sin, np.sin, ["float32", "float64"], None),
    (mo.cos, np.cos, ["float32", "float64"], None),
    (mo.tan, np.tan, ["float32", "float64"], None),
    (mo.asin, np.arcsin, ["float32", "float64"], "unit"),
    (mo.acos, np.arccos, ["float32", "float64"], "unit"),
    (mo.atan, np.arctan, ["float32", "float64"], None),
    (mo.sinh, np.sinh, ["float32", "float64"], None),
    (mo.cosh, np.cosh, ["float32", "float64"], None),
    (mo.asinh, np.arcsinh, ["float32", "float64"], None),
    (mo.acosh, np.arccosh, ["float32", "float64"], "above_one"),
    (mo.atanh, np.arctanh, ["float32", "float64"], "unit"),
    (mo.tanh, np.tanh, ["float16", "float32", "float64"], None),
    (mo.sigmoid, lambda x: 1 / (1 + np.exp(-x)), ["float16", "float32", "float64"], None),
    (mo.erf, _erf, ["float32", "float64"], None),
    (mo.erfc, lambda x: 1 - _erf(x), ["float32", "float64"], None),
    (mo.floor, np.floor, ["float16", "float32", "float64"], None),
    (mo.ceil, np.ceil, ["float32", "float64"], None),
    (mo.rint, np.rint, ["float32", "float64"], None),
    (mo.round, np.round, ["float32", "float64"], None),
]


def _unary_input(domain, dtype, shape=(3, 4)):
    if domain == "positive":
        return values(shape, dtype, positive=True)
    if domain == "nonzero":
        return values(shape, dtype, nonzero=True)
    if domain == "unit":
        return RNG.uniform(-0.9, 0.9, shape).astype(dtype)
    if domain == "above_one":
        return RNG.uniform(1.1, 3.0, shape).astype(dtype)
    return values(shape, dtype)


@pytest.mark.parametrize("fn,ref,dtypes_,domain", UNARY, ids=[u[0].__name__ for u in UNARY])
def test_unary_forward(fn, ref, dtypes_, domain):
    for dtype in dtypes_:
        for shape in [(3, 4), (), (0, 2)]:
            x = _unary_input(domain, dtype, shape)
            out = fn(const(x))
            assert out.shape.as_list() == list(shape)
            want = ref(x.astype(np.float64)) if np.dtype(dtype).kind == "f" else ref(x)
            check_value(run(out), np.asarray(want).astype(dtype), dtype,
                        rtol=tol(dtype) * 10, atol=tol(dtype) * 10)


def test_unary_dtype_errors_name_parameter():
    with pytest.raises(TypeError, match="DataType int32 not in list of allowed values: float16"):
        mo.exp(const([1], np.int32))
    with pytest.raises(TypeError, match="DataType int32 not in list"):
        mo.floor(const([1], np.int32))
    with pytest.raises(TypeError, match="DataType uint8 not in list") as info:
        mo.abs(const([1], np.uint8))
    assert "Abs" in str(info.value)
    with pytest.raises(TypeError, match="DataType uint8"):
        mo.negative(const([1], np.uint8))


def test_round_is_bankers_rounding_and_keeps_ints():
    x = const([0.5, 1.5, 2.5, -0.5, -1.5, 2.6], np.float32)
    check_value(run(mo.round(x)), [0.0, 2.0, 2.0, -0.0, -2.0, 3.0], "float32")
    ints = const([1, 2], np.int32)
    assert mo.round(ints) is ints


def test_sign_and_predicates_on_special_values():
    x = const([np.nan, -0.0, 2.0, -np.inf, np.inf], np.float32)
    check_value(run(mo.sign(x)), [np.nan, 0.0, 1.0, -1.0, 1.0], "float32")
    nan, inf, finite = run([mo.is_nan(x), mo.is_inf(x), mo.is_finite(x)])
    check_value(nan, [True, False, False, False, False], "bool")
    check_value(inf, [False, False, False, True, True], "bool")
    check_value(finite, [False, True, True, False, False], "bool")
    with pytest.raises(TypeError, match="DataType int32"):
        mo.is_nan(const([1]))


def test_sigmoid_is_stable_at_extremes():
    out = run(mo.sigmoid(const([-100.0, -20.0, 0.0, 20.0, 100.0], np.float32)))
    want = 1 / (1 + np.exp(-np.array([-100.0, -20.0, 0.0, 20.0, 100.0])))
    check_value(out, want.astype(np.float32), "float32", rtol=1e-6, atol=1e-37)


def test_unary_accepts_python_values_with_tf_names():
    out = mo.exp(1.0)
    assert out.op.name == "Exp"
    assert [op.name for op in tf.get_default_graph().get_operations()] == ["Exp/x", "Exp"]
    check_value(run(out), np.float32(np.e), "float32")


# -- cast ---------------------------------------------------------------------------------------

def test_cast():
    x = np.array([-1.7, -0.5, 0.0, 1.7, 2.5], np.float32)
    check_value(run(mo.cast(const(x), tf.int32)), [-1, 0, 0, 1, 2], "int32")
    check_value(run(mo.cast(const(x), tf.bool)), x != 0, "bool")
    check_value(run(mo.cast(const(x), tf.float16)), x.astype(np.float16), "float16")
    check_value(run(mo.cast(const([True, False]), tf.float64)), [1.0, 0.0], "float64")
    check_value(run(mo.cast(const([300], np.int32), tf.int64)), [300], "int64")
    t = const(x)
    assert mo.cast(t, tf.float32) is t
    out = mo.cast(t, "float64")
    assert out.op.type == "Cast" and out.op.get_attr("DstT") == "float64"
    check_value(run(mo.cast([1, 2], tf.float32)), [1.0, 2.0], "float32")
    bad = mo.cast(tf.constant(["1"]), tf.int32)  # builds, as TF; fails when run
    with pytest.raises(errors.UnimplementedError, match="Cast string to int32") as info:
        run(bad)
    assert bad.op.name in str(info.value)


def test_cast_aliases_and_saturate_cast():
    i = const([1, 2], np.int32)
    f = const([1.5, -2.5], np.float32)
    assert mo.to_float(i).op.name == "ToFloat" and mo.to_float(i).dtype == tf.float32
    assert mo.to_double(i).dtype == tf.float64
    assert mo.to_int32(f).dtype == tf.int32
    assert mo.to_int64(f).op.name == "ToInt64"
    out = run(mo.saturate_cast(const([-300.0, 3.7, 300.0], np.float32), tf.uint8))
    check_value(out, [0, 3, 255], "uint8")
    out = run(mo.saturate_cast(const([-70000, 5, 70000], np.int32), tf.int16))
    check_value(out, [-32768, 5, 32767], "int16")
    # float32 cannot hold 2**31 - 1: the bound is the largest float32 below it, not 2**31.
    out = run(mo.saturate_cast(const([1e10, -1e10, 3.5], np.float32), tf.int32))
    check_value(out, [2147483520, -2147483648, 3], "int32")
    out = run(mo.saturate_cast(const([1e30, -1e30], np.float64), tf.int64))
    check_value(out, [9223372036854774784, -2 ** 63], "int64")
    check_value(run(mo.saturate_cast(const([1e300], np.float64), tf.float32)),
                [np.finfo(np.float32).max], "float32")


def test_scalar_mul():
    x = values((2, 3), "int32")
    out = mo.scalar_mul(3, const(x))
    assert out.op.type == "Mul"
    check_value(run(out), 3 * x, "int32")
    with pytest.raises(ValueError, match="Only scalar multiply"):
        mo.scalar_mul(const([1, 2]), const(x))


def test_clip_by_value():
    x = values((3, 4), "float32")
    out = mo.clip_by_value(const(x), -1.0, 1.5)
    assert out.op.name == "clip_by_value" and out.op.type == "Maximum"
    check_value(run(out), np.clip(x, -1.0, 1.5), "float32")
    lo = values((4,), "float32")
    check_value(run(mo.clip_by_value(const(x), const(lo), 2.0)),
                np.maximum(np.minimum(x, 2.0), lo), "float32")
    check_value(run(mo.clip_by_value(const([1, 5, 9], np.int32), 2, 6)), [2, 5, 6], "int32")
    with pytest.raises(ValueError):
        mo.clip_by_value(const(np.ones(3, np.float32)), const(np.zeros((2, 3), np.float32)), 1.0)


def test_add_n_and_accumulate_n():
    xs = [values((2, 3), "float32") for _ in range(4)]
    out = mo.add_n([const(x) for x in xs])
    assert out.op.type == "AddN" and out.op.get_attr("N") == 4
    check_value(run(out), sum(xs), "float32", rtol=1e-6)
    check_value(run(mo.accumulate_n([const(x) for x in xs[:2]])), xs[0] + xs[1], "float32")
    check_value(run(mo.add_n([const([1, 2], np.int64)] * 3)), [3, 6], "int64")
    single = const(xs[0])
    assert mo.add_n([single]) is single
    assert mo.add_n([single], name="total").op.name == "total"
    with pytest.raises(ValueError, match="at least one"):
        mo.add_n([])
    with pytest.raises(TypeError, match="don't all match"):
        mo.add_n([const([1.0]), const([1])])
    with pytest.raises(ValueError, match="AddN"):
        mo.add_n([const([1.0, 2.0]), const([1.0])])
    p = tf.placeholder(tf.float32, [None])
    with pytest.raises(errors.InvalidArgumentError, match="same size and shape") as info:
        run(mo.add_n([p, const([1.0, 2.0], np.float32)]), {p: np.ones(3)})
    assert "AddN" in str(info.value)
    with pytest.raises(TypeError, match="tensor_dtype"):
        mo.accumulate_n([const([1.0])], tensor_dtype=tf.float64)


# -- reductions ---------------------------------------------------------------------------------

REDUCTIONS = [
    (mo.reduce_sum, np.sum, ["float16", "float32", "float64", "int32", "int64"]),
    (mo.reduce_mean, np.mean, ["float16", "float32", "float64"]),
    (mo.reduce_prod, np.prod, ["float32", "float64", "int32", "int64"]),
    (mo.reduce_max, np.max, ["float16", "float32", "float64", "int32", "int64"]),
    (mo.reduce_min, np.min, ["float32", "float64", "int32", "uint8"]),
]
AXES = [None, 0, 1, -1, [0, 2], [-1, 0], []]


@pytest.mark.parametrize("fn,ref,dtypes_", REDUCTIONS, ids=[r[0].__name__ for r in REDUCTIONS])
def test_reductions_forward(fn, ref, dtypes_):
    for dtype in dtypes_:
        x = values((2, 3, 4), dtype)
        if fn is mo.reduce_prod and np.dtype(dtype).kind == "f":
            x = (x / 2).astype(dtype)
        for axis in AXES:
            for keepdims in (False, True):
                out = fn(const(x), axis=axis, keepdims=keepdims)
                np_axis = tuple(axis) if isinstance(axis, list) else axis
                want = ref(x.astype(np.float64) if np.dtype(dtype).kind == "f" else x,
                           axis=np_axis, keepdims=keepdims)
                assert out.shape.as_list() == list(np.shape(want))
                check_value(run(out), np.asarray(want).astype(dtype), dtype,
                            rtol=tol(dtype) * 20, atol=tol(dtype) * 20)


def test_reductions_deprecated_arguments_and_names():
    x = const(values((2, 3), "float32"))
    a = mo.reduce_sum(x, reduction_indices=[1], keep_dims=True)
    assert a.shape.as_list() == [2, 1]
    assert mo.reduce_sum(x).op.name == "Sum_1"  # after "Sum"
    ops = [op.name for op in tf.get_default_graph().get_operations()]
    assert ops[-2:] == ["Const_1", "Sum_1"] and "Sum/reduction_indices" in ops
    with pytest.raises(ValueError, match="Cannot specify both 'axis' and 'reduction_indices'"):
        mo.reduce_sum(x, axis=0, reduction_indices=0)
    with pytest.raises(ValueError, match="Cannot specify both 'keepdims' and 'keep_dims'"):
        mo.reduce_mean(x, keepdims=True, keep_dims=True)


def test_reduce_mean_of_integers_truncates_toward_zero():
    x = np.array([[-7, 0], [7, 0], [-1, -2], [3, 2]], np.int32)
    check_value(run(mo.reduce_mean(const(x), 1)), [-3, 3, -1, 2], "int32")
    check_value(run(mo.reduce_mean(const([-7, 0], np.int64))), -3, "int64")


def test_empty_reductions_give_identities():
    empty = const(np.zeros((0, 3), np.float32))
    outs = run([mo.reduce_sum(empty, 0), mo.reduce_prod(empty, 0), mo.reduce_max(empty, 0),
                mo.reduce_min(empty, 0), mo.reduce_mean(empty, 0)])
    for got, want in zip(outs, [0.0, 1.0, -np.inf, np.inf, np.nan]):
        check_value(got, np.full(3, want, np.float32), "float32")
    check_value(run(mo.reduce_max(const(np.zeros(0, np.int32)))), np.iinfo(np.int32).min,
                "int32")


def test_bool_reductions():
    x = RNG.rand(3, 4) > 0.5
    for fn, ref in ((mo.reduce_any, np.any), (mo.reduce_all, np.all)):
        for axis in (None, 0, [1], -1):
            check_value(run(fn(const(x), axis)), ref(x, axis=tuple(np.atleast_1d(axis))
                                                     if axis is not None else None), "bool")
    with pytest.raises(TypeError, match="DataType float32 not in list"):
        mo.reduce_any(const([1.0]))
    with pytest.raises(TypeError, match="parameter 'input' has DataType bool"):
        mo.reduce_sum(const([True]))


def test_reduction_static_shapes_with_unknowns():
    p = tf.placeholder(tf.float32, [None, 3, 4])
    assert mo.reduce_sum(p, 1).shape.as_list() == [None, 4]
    assert mo.reduce_max(p, [0, 2], keepdims=True).shape.as_list() == [1, 3, 1]
    assert mo.reduce_mean(p).shape.as_list() == []
    u = tf.placeholder(tf.float32)
    assert mo.reduce_sum(u, 0).shape.ndims is None
    axis = tf.placeholder(tf.int32, [1])
    assert mo.reduce_sum(p, axis).shape.ndims is None
    assert mo.reduce_sum(p, axis, keepdims=True).shape.as_list() == [None, None, None]
    x = values((2, 3, 4), "float32")
    got = run(mo.reduce_sum(u, axis), {u: x, axis: [1]})
    check_value(got, x.sum(1), "float32", rtol=1e-6)
    check_value(run(mo.reduce_prod(u), {u: x}), np.prod(x.astype(np.float64)), "float32",
                rtol=1e-5)


def test_reduction_axis_errors():
    x = const(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="Invalid reduction dimension 2 for input with 2 "
                                         "dimensions.*Sum"):
        mo.reduce_sum(x, 2)
    with pytest.raises(ValueError, match="duplicate dimension: 1"):
        mo.reduce_sum(x, [1, -1])
    axis = tf.placeholder(tf.int32)
    out = mo.reduce_max(x, axis)
    with pytest.raises(errors.InvalidArgumentError, match="Invalid reduction dimension") as info:
        run(out, {axis: 5})
    assert "Max" in str(info.value)
    with pytest.raises(errors.InvalidArgumentError, match="duplicate dimension"):
        run(out, {axis: [0, 0]})
    with pytest.raises(TypeError, match="reduction_indices"):
        mo.reduce_sum(x, const([0.5], np.float32))


def test_reduce_logsumexp_is_stable():
    x = values((3, 4), "float64") * 300
    for axis, keepdims in ((None, False), (1, False), (0, True)):
        got = run(mo.reduce_logsumexp(const(x), axis, keepdims=keepdims))
        m = x.max(axis=axis, keepdims=True)
        want = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
        want = want if keepdims else np.squeeze(want, axis)
        check_value(got, want, "float64", rtol=1e-12)
    inf = run(mo.reduce_logsumexp(const([[-np.inf, -np.inf], [np.inf, 1.0]], np.float32), 1))
    check_value(inf, [-np.inf, np.inf], "float32")
    with tf.Graph().as_default():
        assert mo.reduce_logsumexp(const(x)).op.name == "ReduceLogSumExp"


def test_reduce_variance_std_and_count_nonzero():
    x = values((3, 4), "float32")
    var, std = run([mo.reduce_variance(const(x), 0, keepdims=True), mo.reduce_std(const(x), 1)])
    check_value(var, x.astype(np.float64).var(0, keepdims=True), "float32", rtol=1e-5)
    check_value(std, x.astype(np.float64).std(1), "float32", rtol=1e-5)
    with pytest.raises(TypeError):
        mo.reduce_variance(const([1, 2]))
    x = x.copy()  # tf.constant(x) above made x read-only
    x[0, :2] = 0
    check_value(run(mo.count_nonzero(const(x), 1)), (x != 0).sum(1), "int64")
    check_value(run(mo.count_nonzero(const(x), keepdims=True, dtype=tf.int32)),
                [[np.count_nonzero(x)]], "int32")
    check_value(run(mo.count_nonzero(input=const([0, 3, 0, 1], np.int32))), 2, "int64")


# -- argmax / argmin ----------------------------------------------------------------------------

def test_argmax_argmin():
    x = values((3, 4, 5), "float32")
    for fn, ref in ((mo.argmax, np.argmax), (mo.argmin, np.argmin)):
        out = fn(const(x))  # TF1: axis defaults to 0
        check_value(run(out), ref(x, axis=0), "int64")
        out = fn(const(x), -1, output_type=tf.int32)
        assert out.shape.as_list() == [3, 4]
        check_value(run(out), ref(x, axis=-1).astype(np.int32), "int32")
        check_value(run(fn(const(x), dimension=1)), ref(x, axis=1), "int64")
    check_value(run(mo.argmax(const([True, False, True]))), 0, "int64")
    ints = values((4, 3), "int64")
    check_value(run(mo.argmax(ints, 1)), np.argmax(ints, 1), "int64")
    assert mo.argmax(tf.placeholder(tf.float32, [None, 3]), 1).shape.as_list() == [None]


def test_argmax_errors():
    with pytest.raises(ValueError, match=r"Dimension \(2\) must be in the range \[-2, 2\).*"
                                         "ArgMax"):
        mo.argmax(const(np.ones((2, 2), np.float32)), 2)
    with pytest.raises(TypeError, match="output_type"):
        mo.argmax(const([1.0]), output_type=tf.float32)
    with pytest.raises(ValueError, match="Cannot specify both"):
        mo.argmin(const([1.0]), axis=0, dimension=0)
    p = tf.placeholder(tf.float32, [None])
    with pytest.raises(errors.InvalidArgumentError, match="Reduction axis 0 is empty") as info:
        run(mo.argmax(p), {p: np.zeros(0)})
    assert "ArgMax" in str(info.value)


# -- cumsum / cumprod ---------------------------------------------------------------------------

def _np_cum(fn, x, axis, exclusive, reverse, identity):
    if reverse:
        x = np.flip(x, axis)
    out = fn(x, axis=axis)
    if exclusive:
        out = np.concatenate([np.full_like(np.take(out, [0], axis), identity),
                              np.take(out, range(x.shape[axis] - 1), axis)], axis)
    return np.flip(out, axis) if reverse else out


def test_cumsum_cumprod():
    for dtype in ("float32", "float64", "int32", "int64"):
        x = values((3, 4), dtype, nonzero=True)
        for axis in (0, 1, -1):
            for exclusive in (False, True):
                for reverse in (False, True):
                    got = run([mo.cumsum(const(x), axis, exclusive, reverse),
                               mo.cumprod(const(x), axis, exclusive, reverse)])
                    check_value(got[0], _np_cum(np.cumsum, x, axis, exclusive, reverse, 0)
                                .astype(dtype), dtype, rtol=1e-5)
                    check_value(got[1], _np_cum(np.cumprod, x, axis, exclusive, reverse, 1)
                                .astype(dtype), dtype, rtol=1e-5)
    with tf.Graph().as_default():
        assert mo.cumsum(const([1, 2])).op.name == "Cumsum"
    with pytest.raises(ValueError, match="out of range"):
        mo.cumsum(const([1, 2]), 1)
    check_value(run(mo.cumsum(const(np.zeros((0, 2), np.float32)), 0, exclusive=True)),
                np.zeros((0, 2)), "float32")


# -- matmul / tensordot -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64"])
def test_matmul_2d_flags(dtype):
    a, b = values((3, 4), dtype), values((4, 5), dtype)
    want = (a.astype(np.float64) @ b).astype(dtype)
    for ta in (False, True):
        for tb in (False, True):
            x = a.T.copy() if ta else a
            y = b.T.copy() if tb else b
            out = mo.matmul(const(x), const(y), transpose_a=ta, transpose_b=tb)
            assert out.op.type == "MatMul" and out.shape.as_list() == [3, 5]
            check_value(run(out), want, dtype, rtol=tol(dtype) * 10, atol=tol(dtype) * 40)
            out = mo.matmul(const(x), const(y), adjoint_a=ta, adjoint_b=tb)
            check_value(run(out), want, dtype, rtol=tol(dtype) * 10, atol=tol(dtype) * 40)


def test_matmul_batched_broadcasts():
    a, b = values((3, 1, 2, 4), "float32"), values((5, 4, 6), "float32")
    out = mo.matmul(const(a), const(b))
    assert out.op.type == "BatchMatMulV2" and out.shape.as_list() == [3, 5, 2, 6]
    check_value(run(out), np.matmul(a, b), "float32", rtol=1e-5)
    out = mo.matmul(const(np.swapaxes(a, -1, -2)), const(b), adjoint_a=True)
    check_value(run(out), np.matmul(a, b), "float32", rtol=1e-5)
    out = mo.matmul(const(a), const(np.swapaxes(b, -1, -2)), transpose_b=True)
    check_value(run(out), np.matmul(a, b), "float32", rtol=1e-5)
    c = values((4, 6), "float32")
    check_value(run(mo.matmul(const(a), const(c))), np.matmul(a, c), "float32", rtol=1e-5)
    u = tf.placeholder(tf.float32)
    out = mo.matmul(u, const(c))
    assert out.op.type == "BatchMatMulV2" and out.shape.ndims is None
    check_value(run(out, {u: a[0, 0]}), a[0, 0] @ c, "float32", rtol=1e-5)
    p = tf.placeholder(tf.float32, [None, None, 4])
    assert mo.matmul(p, const(b)).shape.as_list() == [5, None, 6]


def test_matmul_errors():
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 3 and 4.*MatMul"):
        mo.matmul(const(np.ones((2, 3), np.float32)), const(np.ones((4, 5), np.float32)))
    with pytest.raises(ValueError, match="rank 2 but is rank 1"):
        mo.matmul(const(np.ones(3, np.float32)), const(np.ones((3, 5), np.float32)))
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 3 and 5.*MatMul"):
        mo.matmul(const(np.ones((3, 2, 4), np.float32)), const(np.ones((5, 4, 6), np.float32)))
    with pytest.raises(ValueError, match="Only one of transpose_a and adjoint_a"):
        mo.matmul(const(np.ones((2, 2))), const(np.ones((2, 2))), transpose_a=True,
                  adjoint_a=True)
    with pytest.raises(TypeError, match="Input 'b' of 'MatMul' Op has type int32"):
        mo.matmul(const(np.ones((2, 2), np.float32)), const(np.ones((2, 2), np.int32)))
    with pytest.raises(TypeError, match="DataType bool"):
        mo.matmul(const(np.ones((2, 2), bool)), const(np.ones((2, 2), bool)))
    p = tf.placeholder(tf.float32, [None, None])
    out = mo.matmul(p, const(np.ones((3, 2), np.float32)), name="mm")
    with pytest.raises(errors.InvalidArgumentError, match="Matrix size-incompatible") as info:
        run(out, {p: np.ones((2, 4))})
    assert "mm" in str(info.value)
    q = tf.placeholder(tf.float32, [None, 2, 2])
    out = mo.matmul(q, tf.placeholder_with_default(np.ones((3, 2, 2), np.float32),
                                                   [None, 2, 2]))
    with pytest.raises(errors.InvalidArgumentError, match="batch dimensions"):
        run(out, {q: np.ones((2, 2, 2))})


def test_matmul_python_values():
    out = mo.matmul([[1.0, 2.0]], [[3.0], [4.0]])
    check_value(run(out), [[11.0]], "float32")
    assert [op.name for op in tf.get_default_graph().get_operations()] == \
        ["MatMul/a", "MatMul/b", "MatMul"]


def test_tensordot():
    a, b = values((2, 3, 4), "float64"), values((4, 3, 5), "float64")
    out = mo.tensordot(const(a), const(b), [[1, 2], [1, 0]])
    assert out.shape.as_list() == [2, 5]
    check_value(run(out), np.tensordot(a, b, [[1, 2], [1, 0]]), "float64", rtol=1e-12)
    c = values((4, 5), "float64")
    check_value(run(mo.tensordot(const(a), const(c), 1)), np.tensordot(a, c, 1), "float64",
                rtol=1e-12)
    check_value(run(mo.tensordot(const(a[0, 0]), const(c[:, 0]), 0)),
                np.tensordot(a[0, 0], c[:, 0], 0), "float64")
    p = tf.placeholder(tf.float64, [None, 3, 4])
    out = mo.tensordot(p, const(c), [[2], [0]])
    assert out.shape.as_list() == [None, 3, 5]
    check_value(run(out, {p: a}), np.tensordot(a, c, [[2], [0]]), "float64", rtol=1e-12)
    q = tf.placeholder(tf.float64, [None, None])
    out = mo.tensordot(q, const(c), [[1], [0]])
    check_value(run(out, {q: c.T}), c.T @ c, "float64", rtol=1e-12)
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        mo.tensordot(const(a), const(c), [[1], [0]])
    with pytest.raises(ValueError, match="known rank"):
        mo.tensordot(tf.placeholder(tf.float64), const(c), 1)


# -- operators ----------------------------------------------------------------------------------

def test_operator_names_match_tf():
    g = tf.get_default_graph()
    a = tf.placeholder(tf.float32, [2], name="a")
    b = tf.placeholder(tf.float32, [2], name="b")
    i = tf.placeholder(tf.int32, [2], name="i")
    bo = tf.placeholder(tf.bool, [2], name="bo")
    m = tf.placeholder(tf.float32, [2, 2], name="m")
    outs = [mo.add(a, b), a + b, a + 1.0, 1.0 + a, a - b, a * b, a / b, i / i, a // b, a % b,
            a ** b, -a, abs(a), ~bo, bo & bo, bo | bo, bo ^ bo, a < b, a <= b, a > b, a >= b,
            m @ m, 2.0 - a, 3.0 * a, 2.0 / a, 2.0 // a, 2.0 % a, 2.0 ** a, mo.less(a, 2.0)]
    got = ["%s|%s|%s" % (o.op.name, o.op.type, o.dtype.name) for o in outs]
    assert got == [
        "Add|AddV2|float32", "add_1|AddV2|float32", "add_2|AddV2|float32",
        "add_3|AddV2|float32", "sub|Sub|float32", "mul|Mul|float32", "truediv|RealDiv|float32",
        "truediv_1|RealDiv|float64", "floordiv|FloorDiv|float32", "mod|FloorMod|float32",
        "pow|Pow|float32", "Neg|Neg|float32", "Abs|Abs|float32", "LogicalNot|LogicalNot|bool",
        "and|LogicalAnd|bool", "or|LogicalOr|bool", "xor|LogicalAnd|bool", "Less|Less|bool",
        "LessEqual|LessEqual|bool", "Greater|Greater|bool", "GreaterEqual|GreaterEqual|bool",
        "matmul|MatMul|float32", "sub_1|Sub|float32", "mul_1|Mul|float32",
        "truediv_2|RealDiv|float32", "floordiv_1|FloorDiv|float32", "mod_1|FloorMod|float32",
        "pow_1|Pow|float32", "Less_1|Less|bool"]
    names = [op.name for op in g.get_operations()]
    for expected in ("add_2/y", "add_3/x", "truediv_1/Cast", "truediv_1/Cast_1", "xor/LogicalOr",
                     "sub_1/x", "Less_1/y"):
        assert expected in names


def test_operator_values_and_reflected_forms():
    x, y = values((2, 3), "float64"), values((3,), "float64", nonzero=True)
    a, b = const(x), const(y)
    outs = run([a + b, a - b, a * b, a / b, a // b, a % b, abs(a) ** b, -a, abs(a),
                a @ mo.matmul(a, a, transpose_a=True), 2 + a, 2 - a, 2 * a, 2 / b, 2 // b,
                2 % b, 2 ** a, y + a, y - a])
    wants = [x + y, x - y, x * y, x / y, x // y, x % y, np.abs(x) ** y, -x, np.abs(x),
             x @ (x.T @ x), 2 + x, 2 - x, 2 * x, 2 / y, 2 // y, 2 % y, 2 ** x, y + x, y - x]
    for got, want in zip(outs, wants):
        check_value(got, want, "float64", rtol=1e-12, atol=1e-12)
    m = values((3, 3), "float32")
    check_value(run(m @ const(m)), m @ m, "float32", rtol=1e-5)
    check_value(run(const(m) @ m), m @ m, "float32", rtol=1e-5)
    p = const([True, False])
    check_value(run([True & p, True | p, True ^ p]), [[True, False], [True, True],
                                                      [False, True]], "bool")


def test_comparison_operators_and_identity_semantics():
    a = const([1.0, 2.0, 3.0])
    lt, le, gt, ge = run([a < 2.0, a <= 2.0, a > 2.0, a >= 2.0])
    check_value(lt, [True, False, False], "bool")
    check_value(le, [True, True, False], "bool")
    check_value(gt, [False, False, True], "bool")
    check_value(ge, [False, True, True], "bool")
    assert (2.0 < a).op.type == "Greater"  # Python reflects to a > 2.0
    b = const([1.0, 2.0, 3.0])
    assert (a == b) is False and (a != b) is True and a == a
    assert len({a, b, a}) == 2


def test_operators_defer_to_foreign_reflected_operands():
    class Foreign:
        def __radd__(self, other):
            return "radd"

        def __rmul__(self, other):
            return "rmul"

    a = const([1.0])
    assert a + Foreign() == "radd"
    assert a * Foreign() == "rmul"
    with pytest.raises(TypeError):
        a - object()


# -- gradients ----------------------------------------------------------------------------------

GRAD_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3))]


def _positive(shape):
    return RNG.uniform(0.5, 2.0, shape)


def _signed(shape):
    v = RNG.uniform(-2.0, 2.0, shape)
    return np.where(np.abs(v) < 0.2, v + np.where(v < 0, -0.5, 0.5), v)  # away from 0


BINARY_GRADS = [
    ("add", lambda x, y: x + y, _signed, _signed),
    ("sub", lambda x, y: x - y, _signed, _signed),
    ("mul", lambda x, y: x * y, _signed, _signed),
    ("truediv", lambda x, y: x / y, _signed, _signed),
    ("realdiv", mo.realdiv, _signed, _signed),
    ("div_no_nan", mo.div_no_nan, _signed, _signed),
    ("pow", mo.pow, _positive, _signed),
    ("maximum", mo.maximum, _signed, _signed),
    ("minimum", mo.minimum, _signed, _signed),
    ("squared_difference", mo.squared_difference, _signed, _signed),
    ("atan2", mo.atan2, _signed, _signed),
    ("floormod", mo.floormod, _positive, lambda s: RNG.uniform(0.3, 0.45, s)),
    ("truncatemod", mo.truncatemod, _positive, lambda s: RNG.uniform(0.3, 0.45, s)),
]


@pytest.mark.parametrize("name,fn,gx,gy", BINARY_GRADS, ids=[b[0] for b in BINARY_GRADS])
def test_binary_gradients(name, fn, gx, gy):
    for sx, sy in GRAD_SHAPES:
        check_gradient(fn, [gx(sx), gy(sy)], tol=1e-6)
        check_gradient(lambda x, y: fn(y, x), [gx(sx), gy(sy)], tol=1e-6)


def test_floordiv_and_piecewise_constant_ops_have_no_gradient():
    x = tf.placeholder(tf.float64, [3])
    y = tf.placeholder(tf.float64, [3])
    assert tf.gradients(mo.floordiv(x, y), [x, y]) == [None, None]
    assert tf.gradients(mo.truncatediv(x, y), [x, y]) == [None, None]
    for fn in (mo.floor, mo.ceil, mo.round, mo.rint):
        assert tf.gradients(fn(x), x) == [None]
    zero = tf.gradients(mo.sign(x), x)[0]
    check_value(run(zero, {x: [1.0, -2.0, 0.0]}), np.zeros(3), "float64")


def test_comparisons_logicals_and_argmax_are_not_differentiable():
    for op_type in ("Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual",
                    "LogicalAnd", "LogicalOr", "LogicalNot", "ArgMax", "ArgMin", "IsNan",
                    "IsInf", "IsFinite", "Any", "All", "BroadcastGradientArgs", "ReducedShape"):
        assert registry.get(op_type).gradient == registry.NOT_DIFFERENTIABLE, op_type


UNARY_GRADS = [
    (mo.negative, _signed), (mo.abs, _signed), (mo.square, _signed), (mo.sqrt, _positive),
    (mo.rsqrt, _positive), (mo.reciprocal, _signed), (mo.exp, _signed), (mo.expm1, _signed),
    (mo.log, _positive), (mo.log1p, _positive), (mo.sin, _signed), (mo.cos, _signed),
    (mo.tan, lambda s: RNG.uniform(-1.2, 1.2, s)), (mo.asin, lambda s: RNG.uniform(-.9, .9, s)),
    (mo.acos, lambda s: RNG.uniform(-.9, .9, s)), (mo.atan, _signed), (mo.sinh, _signed),
    (mo.cosh, _signed), (mo.asinh, _signed), (mo.acosh, lambda s: RNG.uniform(1.2, 3, s)),
    (mo.atanh, lambda s: RNG.uniform(-.9, .9, s)), (mo.tanh, _signed), (mo.sigmoid, _signed),
    (mo.erf, _signed), (mo.erfc, _signed),
]


@pytest.mark.parametrize("fn,gen", UNARY_GRADS, ids=[u[0].__name__ for u in UNARY_GRADS])
def test_unary_gradients(fn, gen):
    check_gradient(fn, [gen((2, 3))], tol=1e-6)


def test_cast_gradients():
    # Cast is linear: a large step keeps float32 rounding out of the numerical derivative.
    check_gradient(lambda x: mo.cast(x, tf.float32), [_signed((2, 3))], tol=1e-4, delta=1e-2)
    x = tf.placeholder(tf.float64, [3])
    w = const([1.0, -2.0, 0.5], np.float32)
    g = tf.gradients(mo.reduce_sum(mo.cast(x, tf.float32) * w), x)[0]
    assert g.dtype == tf.float64
    check_value(run(g, {x: np.zeros(3)}), [1.0, -2.0, 0.5], "float64")
    assert tf.gradients(mo.to_float(mo.cast(x, tf.int64)), x) == [None]


def test_clip_add_n_scalar_mul_gradients():
    x = np.array([[-2.0, -0.5, 0.3], [0.9, 1.7, 3.0]])
    check_gradient(lambda t: mo.clip_by_value(t, -1.0, 1.5), [x])
    check_gradient(lambda t, lo: mo.clip_by_value(t, lo, 1.5), [x, np.array([-1.0, 0.0, 0.5])])
    check_gradient(lambda a, b, c: mo.add_n([a, b, c * a]), [_signed((2, 2)) for _ in range(3)])
    check_gradient(lambda t: mo.scalar_mul(3.0, t), [_signed((2, 2))])


def test_broadcast_gradients_with_unknown_shapes():
    # Shapes only known at run time: the gradient reduces with BroadcastGradientArgs.
    x = tf.placeholder(tf.float64, [None, None])
    y = tf.placeholder(tf.float64, [None])
    z = tf.placeholder(tf.float64)
    out = mo.reduce_sum(x * y + z * x)
    gx, gy, gz = tf.gradients(out, [x, y, z])
    xv, yv, zv = _signed((2, 3)), _signed((3,)), _signed((1, 1))
    got = run([gx, gy, gz], {x: xv, y: yv, z: zv})
    check_value(got[0], np.broadcast_to(yv + zv, (2, 3)), "float64")
    check_value(got[1], xv.sum(0), "float64")
    check_value(got[2], [[xv.sum()]], "float64")
    err = tf.test.compute_gradient_error([x, y], [(2, 3), (3,)], x * y, [2, 3],
                                         x_init_value=[xv, yv], delta=1e-6)
    assert err < 1e-8


def test_reduce_to_shape_uses_static_shapes():
    # A bias added to a [batch, n] activation needs no run-time shape ops.
    h = tf.placeholder(tf.float64, [None, 4])
    b = tf.placeholder(tf.float64, [4])
    gh, gb = tf.gradients(mo.reduce_sum(h + b), [h, b])
    types = {op.type for op in tf.get_default_graph().get_operations()}
    assert "BroadcastGradientArgs" not in types
    assert gb.shape.as_list() == [4] and gh.shape.as_list() == [None, 4]
    got = run([gh, gb], {h: np.ones((3, 4)), b: np.ones(4)})
    check_value(got[1], np.full(4, 3.0), "float64")
    g = tf.placeholder(tf.float64, [None, 2, 3])
    x = tf.placeholder(tf.float64, [2, 1])
    check_value(run(mo._reduce_to_shape(g, x), {g: np.ones((4, 2, 3))}), np.full((2, 1), 12.0),
                "float64")


REDUCTION_GRADS = [
    ("sum", lambda x: mo.reduce_sum(x, 1)),
    ("sum_all", lambda x: mo.reduce_sum(x)),
    ("sum_keep", lambda x: mo.reduce_sum(x, [0, 2], keepdims=True)),
    ("mean", lambda x: mo.reduce_mean(x, -1)),
    ("mean_all", lambda x: mo.reduce_mean(x)),
    ("prod", lambda x: mo.reduce_prod(x, [1, 2])),
    ("max", lambda x: mo.reduce_max(x, 0)),
    ("min", lambda x: mo.reduce_min(x, [0, 2], keepdims=True)),
    ("logsumexp", lambda x: mo.reduce_logsumexp(x, 1)),
    ("logsumexp_all", lambda x: mo.reduce_logsumexp(x)),
    ("variance", lambda x: mo.reduce_variance(x, 1)),
    ("std", lambda x: mo.reduce_std(x, 0)),
    ("cumsum", lambda x: mo.cumsum(x, 1, exclusive=True)),
    ("cumsum_rev", lambda x: mo.cumsum(x, 2, reverse=True)),
    ("cumprod", lambda x: mo.cumprod(x, 1)),
    ("cumprod_excl_rev", lambda x: mo.cumprod(x, 0, exclusive=True, reverse=True)),
]


@pytest.mark.parametrize("name,fn", REDUCTION_GRADS, ids=[r[0] for r in REDUCTION_GRADS])
def test_reduction_gradients(name, fn):
    check_gradient(fn, [RNG.permutation(24).reshape(2, 3, 4) / 10.0 + 0.5], tol=1e-6)


def test_prod_gradient_with_zeros_is_exact():
    x = np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [2.0, 3.0, 4.0], [0.0, 5.0, 7.0]])
    check_gradient(lambda t: mo.reduce_prod(t, 1), [x], tol=1e-8)
    check_gradient(lambda t: mo.reduce_prod(t), [np.array([2.0, 0.0, 3.0])], tol=1e-8)


def test_max_gradient_splits_ties_evenly():
    x = tf.placeholder(tf.float64, [2, 3])
    g = tf.gradients(mo.reduce_max(x, 1), x)[0]
    got = run(g, {x: [[3.0, 3.0, 3.0], [1.0, 5.0, 5.0]]})
    check_value(got, [[1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5]], "float64")
    check_gradient(lambda t: mo.reduce_min(t, 1), [np.array([[1.0, 1.0, 3.0], [2.0, 0.0, 4.0]])])


def test_reduction_gradients_with_unknown_shapes():
    x = tf.placeholder(tf.float64)  # unknown rank
    axis = tf.placeholder(tf.int32)
    xv = RNG.permutation(24).reshape(2, 3, 4) / 10.0 + 0.5
    feed = {x: xv, axis: [0, 2]}
    for fn, want in ((mo.reduce_sum, np.ones_like(xv)),
                     (mo.reduce_mean, np.full_like(xv, 1 / 8)),
                     (mo.reduce_prod, xv.prod((0, 2), keepdims=True) / xv),
                     (mo.reduce_max, (xv == xv.max((0, 2), keepdims=True)).astype(float))):
        g = tf.gradients(fn(x, axis), x)[0]
        check_value(run(g, feed), want, "float64", rtol=1e-10)
    p = tf.placeholder(tf.float64, [None, 3])
    err = tf.test.compute_gradient_error(p, [2, 3], mo.reduce_mean(p, 0), [3],
                                         x_init_value=xv[0, :2, :3], delta=1e-6)
    assert err < 1e-8


MATMUL_GRADS = [
    ("plain", {}, (2, 3), (3, 4)),
    ("ta", {"transpose_a": True}, (3, 2), (3, 4)),
    ("tb", {"transpose_b": True}, (2, 3), (4, 3)),
    ("ta_tb", {"transpose_a": True, "transpose_b": True}, (3, 2), (4, 3)),
    ("adj", {"adjoint_a": True, "adjoint_b": True}, (3, 2), (4, 3)),
    ("batch", {}, (2, 2, 3), (2, 3, 4)),
    ("batch_bcast", {}, (2, 1, 2, 3), (3, 3, 4)),
    ("batch_rank2", {"transpose_b": True}, (2, 2, 3), (4, 3)),
    ("batch_adj_x", {"adjoint_a": True}, (2, 3, 2), (1, 3, 4)),
    ("batch_adj_both", {"adjoint_a": True, "adjoint_b": True}, (3, 2), (2, 4, 3)),
]


@pytest.mark.parametrize("name,kw,sa,sb", MATMUL_GRADS, ids=[m[0] for m in MATMUL_GRADS])
def test_matmul_gradients(name, kw, sa, sb):
    check_gradient(lambda a, b: mo.matmul(a, b, **kw), [_signed(sa), _signed(sb)], tol=1e-6)


def test_tensordot_gradient():
    check_gradient(lambda a, b: mo.tensordot(a, b, [[1, 2], [1, 0]]),
                   [_signed((2, 3, 2)), _signed((2, 3, 2))], tol=1e-6)


def test_gradients_through_gather_are_densified():
    # gather's gradient is an IndexedSlices; math gradients upstream receive it densified.
    x = tf.placeholder(tf.float64, [3, 2])
    y = tf.placeholder(tf.float64, [2])
    picked = array_ops.gather(mo.exp(x) * y, [0, 2, 0])
    gx, gy = tf.gradients(mo.reduce_sum(picked), [x, y])
    xv, yv = _signed((3, 2)), _signed((2,))
    counts = np.array([2.0, 0.0, 1.0])[:, None]
    got = run([gx, gy], {x: xv, y: yv})
    check_value(got[0], counts * np.exp(xv) * yv, "float64", rtol=1e-12)
    check_value(got[1], (counts * np.exp(xv)).sum(0), "float64", rtol=1e-12)


def test_math_ops_inside_cond_branches_capture_outer_tensors():
    from hpcflow.ops import control_flow_ops
    x = tf.placeholder(tf.float64, [3])
    pred = tf.placeholder(tf.bool, [])
    out = control_flow_ops.cond(
        pred, lambda: x * 2.0 + mo.reduce_sum(x),
        lambda: mo.reduce_sum(mo.matmul(array_ops.reshape(x, [1, 3]),
                                        array_ops.reshape(x, [3, 1]))) - x)
    xv = np.array([1.0, 2.0, 3.0])
    check_value(run(out, {x: xv, pred: True}), xv * 2 + 6, "float64")
    check_value(run(out, {x: xv, pred: False}), 14 - xv, "float64")
    g = tf.gradients(mo.reduce_sum(out), x)[0]
    check_value(run(g, {x: xv, pred: True}), np.full(3, 5.0), "float64")


def test_second_derivatives():
    x = tf.placeholder(tf.float64, [3])
    y = mo.reduce_sum(mo.tanh(x) * x ** 3 + mo.sigmoid(x) / (1.0 + mo.square(x)))
    g = tf.gradients(y, x)[0]
    h = tf.gradients(mo.reduce_sum(g), x)[0]
    xv = np.array([-0.7, 0.2, 1.3])
    eps = 1e-5
    numeric = (run(g, {x: xv + eps}) - run(g, {x: xv - eps})) / (2 * eps)
    check_value(run(h, {x: xv}), numeric, "float64", rtol=1e-6, atol=1e-7)
    m = tf.placeholder(tf.float64, [2, 2])
    hm = tf.hessians(mo.reduce_prod(m) + mo.reduce_sum(mo.matmul(m, m)), m)[0]
    assert run(hm, {m: np.array([[1.0, 2.0], [3.0, 4.0]])}).shape == (2, 2, 2, 2)


# -- registry and sharding ----------------------------------------------------------------------

def test_every_math_op_has_a_gradient_rule_and_sharding_tag():
    mine = [rec for rec in registry.all_records().values()
            if rec.defined_at.startswith("math_") and "_ops.py:" in rec.defined_at]
    assert len(mine) > 60
    for rec in mine:
        assert rec.gradient is not None, rec.type
        assert sharding.kind_of(rec.sharding) in sharding.ALL, rec.type
    assert sharding.kind_of(registry.get("AddV2").sharding) == sharding.ELEMENTWISE
    assert sharding.kind_of(registry.get("Sum").sharding) == sharding.REDUCTION
    assert sharding.kind_of(registry.get("MatMul").sharding) == sharding.ROW_WISE


def test_reduced_shape_op():
    out = run(mo.reduced_shape(const([2, 3, 4], np.int32), const([0, -1], np.int32)))
    check_value(out, [1, 3, 1], "int32")
