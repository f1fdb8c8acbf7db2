"""The Cython kernels of a CNN step's small ops against the numpy reference: MaxPool, the
exactly tiling 2x2 MaxPoolGrad, and AddV2 / Sum where they are a bias add and its gradient.

Max pooling must equal the reference exactly (ties go to the first maximum, NaN as numpy);
the bias add exactly (one float add per element); the bias-gradient Sum to float rounding,
and at least as close to the exact sum as numpy's float32 sum. Every input outside the
compiled pattern must reach the numpy kernel unchanged.
"""
import math

import numpy as np
import pytest

from hpcflow.backends import cython_backend
from hpcflow.framework import errors, registry

pytestmark = pytest.mark.skipif(not cython_backend.available(),
                                reason="Cython kernels not built (HPCFLOW_NO_CYTHON=1?)")

FLOATS = [np.float32, np.float64]


def _numpy_kernel(op_type):
    return registry.get(op_type).kernels["numpy"]


def _cython_kernel(op_type):
    return registry.get(op_type).kernels["cython"]


def _check_equal(op_type, *args, forbid=None, exact=True, **attrs):
    """The cython kernel (fallback forbidden if `forbid`) gives the reference's array:
    exactly, or with `exact=False` up to the rounding of sums in another order."""
    expected = _numpy_kernel(op_type)(*args, **attrs)
    if forbid is not None:
        forbid(op_type)
    got = _cython_kernel(op_type)(*args, **attrs)
    assert type(got) is type(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    return got


def _overlapping(k, s):
    """Whether windows overlap: MaxPoolGrad then adds several gradients into one cell, in
    another order than the reference."""
    return any(np.atleast_1d(k) > np.atleast_1d(s))


@pytest.fixture
def fallbacks(monkeypatch):
    """`fallbacks(op_type)` -> a list that records each call of the op's numpy fallback."""
    def spy(op_type):
        calls = []
        reference = cython_backend._NUMPY[op_type]

        def recording(*args, **kwargs):
            calls.append(args)
            return reference(*args, **kwargs)
        monkeypatch.setitem(cython_backend._NUMPY, op_type, recording)
        return calls
    return spy


def _noncontiguous(x):
    """The same values as x in a view that is not C-contiguous."""
    padded = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
    padded[..., ::2] = x
    return padded[..., ::2]


# -- MaxPool and MaxPoolGrad ------------------------------------------------------------------

def _pool_attrs(k, s, padding, data_format="NHWC"):
    kh, kw = (k, k) if np.isscalar(k) else k
    sh, sw = (s, s) if np.isscalar(s) else s
    if data_format == "NCHW":
        return dict(ksize=[1, 1, kh, kw], strides=[1, 1, sh, sw], padding=padding,
                    data_format=data_format)
    return dict(ksize=[1, kh, kw, 1], strides=[1, sh, sw, 1], padding=padding,
                data_format=data_format)


# (NHWC shape, window, stride, padding): exact 2x2 tilings (the dedicated loops) and
# everything else (the general window walk and the tiled gradient).
POOL_CASES = [
    ((2, 6, 8, 3), 2, 2, "VALID"),
    ((1, 4, 4, 17), 2, 2, "SAME"),        # even sizes: SAME pads nothing
    ((3, 10, 2, 1), 2, 2, "VALID"),
    ((2, 7, 9, 5), 2, 2, "VALID"),        # odd: an uncovered last row and column
    ((2, 7, 9, 5), 2, 2, "SAME"),         # odd: padding after
    ((1, 9, 8, 3), 3, 2, "SAME"),         # overlapping windows
    ((2, 5, 7, 4), (3, 2), (1, 3), "VALID"),
    ((1, 4, 5, 2), 5, 1, "SAME"),         # windows wider than the input
    ((2, 9, 9, 6), 3, 3, "SAME"),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,k,s,padding", POOL_CASES)
def test_max_pool_and_grad_equal_numpy(shape, k, s, padding, dtype, compiled_only):
    rng = np.random.default_rng(3)
    attrs = _pool_attrs(k, s, padding)
    # Few distinct values: many ties, where the first maximum must get the gradient.
    x = rng.integers(-3, 4, shape).astype(dtype)
    pooled = _check_equal("MaxPool", x, forbid=compiled_only, **attrs)
    grad = rng.standard_normal(pooled.shape).astype(dtype)
    exact = not _overlapping(k, s)
    _check_equal("MaxPoolGrad", x, pooled, grad, forbid=compiled_only, exact=exact, **attrs)
    x = rng.standard_normal(shape).astype(dtype)
    pooled = _check_equal("MaxPool", x, forbid=compiled_only, **attrs)
    _check_equal("MaxPoolGrad", x, pooled, grad, forbid=compiled_only, exact=exact, **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("k,s,padding", [(2, 2, "VALID"), (3, 2, "SAME")])
def test_max_pool_nchw_and_noncontiguous_inputs(k, s, padding, dtype, compiled_only):
    rng = np.random.default_rng(4)
    x = rng.integers(-2, 3, (2, 8, 6, 5)).astype(dtype)
    attrs = _pool_attrs(k, s, padding)
    pooled = _check_equal("MaxPool", _noncontiguous(x), forbid=compiled_only, **attrs)
    grad = rng.standard_normal(pooled.shape).astype(dtype)
    _check_equal("MaxPoolGrad", _noncontiguous(x), pooled, _noncontiguous(grad),
                 forbid=compiled_only, exact=not _overlapping(k, s), **attrs)
    nchw = _pool_attrs(k, s, padding, "NCHW")
    x_nchw = np.transpose(x, (0, 3, 1, 2))  # a transposed view
    pooled = _check_equal("MaxPool", x_nchw, forbid=compiled_only, **nchw)
    _check_equal("MaxPoolGrad", x_nchw, pooled, np.ones(pooled.shape, dtype),
                 forbid=compiled_only, **nchw)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,k,s,padding", [((2, 6, 4, 3), 2, 2, "VALID"),
                                               ((2, 5, 4, 3), 2, 2, "SAME"),
                                               ((2, 6, 5, 3), 3, 1, "SAME")])
def test_max_pool_and_grad_nan_and_infinities_as_numpy(shape, k, s, padding, dtype,
                                                       compiled_only):
    x = np.arange(np.prod(shape), dtype=dtype).reshape(shape) % 5
    x[0, 0, 0, 0] = np.nan          # first cell of its window: NaN out, gets the gradient
    x[0, 0, 3, 1] = np.nan          # a later cell: NaN out, the gradient stays earlier
    x[0, 3, 1, 2] = np.nan
    x[1, :2, :2, :] = -np.inf       # a whole window of -inf
    x[1, 2, 2, 0] = np.inf
    x[1, 3, 3, 2] = np.inf
    x[1, 3, 2, 2] = np.inf          # tied infinities
    attrs = _pool_attrs(k, s, padding)
    pooled = _check_equal("MaxPool", x, forbid=compiled_only, **attrs)
    assert np.isnan(pooled).any() and np.isneginf(pooled).any()
    grad = np.arange(1, pooled.size + 1, dtype=dtype).reshape(pooled.shape)
    exact = not _overlapping(k, s)
    _check_equal("MaxPoolGrad", x, pooled, grad, forbid=compiled_only, exact=exact, **attrs)
    grad[0, 0, 0, 0] = np.nan       # a NaN gradient lands on one cell, zeros elsewhere
    grad[1, 1, 1, 2] = np.inf
    _check_equal("MaxPoolGrad", x, pooled, grad, forbid=compiled_only, exact=exact, **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool_and_grad_large_enough_for_threads(dtype, compiled_only):
    rng = np.random.default_rng(8)
    x = rng.integers(-2, 3, (3, 30, 32, 40)).astype(dtype)
    for attrs in (_pool_attrs(2, 2, "VALID"), _pool_attrs(3, 2, "SAME")):
        pooled = _check_equal("MaxPool", x, forbid=compiled_only, **attrs)
        _check_equal("MaxPoolGrad", x, pooled,
                     rng.standard_normal(pooled.shape).astype(dtype),
                     forbid=compiled_only, exact=attrs["ksize"] == attrs["strides"], **attrs)


def test_exact_2x2_tilings_take_the_dedicated_loops(monkeypatch):
    def general(*args):
        raise AssertionError("the general loop ran")
    monkeypatch.setattr(cython_backend._pooling, "max_pool", general)
    monkeypatch.setattr(cython_backend._pooling, "max_pool_grad_tiled", general)
    monkeypatch.setattr(cython_backend._pooling, "max_pool_grad", general)
    x = np.random.default_rng(1).standard_normal((2, 4, 6, 3)).astype(np.float32)
    for padding in ("VALID", "SAME"):
        attrs = _pool_attrs(2, 2, padding)
        pooled = _check_equal("MaxPool", x, **attrs)
        _check_equal("MaxPoolGrad", x, pooled, np.ones(pooled.shape, np.float32), **attrs)


def test_2x2_loops_reject_shapes_that_do_not_tile():
    x = np.zeros((1, 5, 4, 2), np.float32)
    with pytest.raises(ValueError, match="twice"):
        cython_backend._pooling.max_pool_2x2(x, np.zeros((1, 2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="twice"):
        cython_backend._pooling.max_pool_grad_2x2(x, np.zeros((1, 2, 2, 2), np.float32),
                                                  np.zeros_like(x))


def test_max_pool_other_dtypes_and_bad_attrs_use_the_reference(fallbacks):
    calls = fallbacks("MaxPool")
    attrs = _pool_attrs(2, 2, "VALID")
    for dtype in (np.int32, np.float16):
        x = np.arange(32).astype(dtype).reshape(1, 4, 4, 2)
        _check_equal("MaxPool", x, **attrs)
    assert len(calls) == 2
    x = np.ones((1, 4, 4, 2), np.float32)
    with pytest.raises(errors.UnimplementedError, match="depth"):
        _cython_kernel("MaxPool")(x, ksize=[1, 2, 2, 2], strides=[1, 2, 2, 1],
                                  padding="VALID", data_format="NHWC")


# -- AddV2 of a bias vector -------------------------------------------------------------------

@pytest.fixture
def small_is_compiled(monkeypatch):
    """Lets small inputs take the compiled loops (numpy takes them by design)."""
    monkeypatch.setattr(cython_backend, "_BIAS_GRAD_MIN_ELEMENTS", 1)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(5, 3), (2, 7, 5, 17), (1, 3, 3, 1), (4, 1, 9)])
def test_add_v2_of_a_bias_vector_equals_numpy(shape, dtype, small_is_compiled, compiled_only):
    rng = np.random.default_rng(6)
    value = rng.standard_normal(shape).astype(dtype)
    bias = rng.standard_normal(shape[-1]).astype(dtype)
    _check_equal("AddV2", value, bias, forbid=compiled_only)
    _check_equal("AddV2", bias, value, forbid=compiled_only)
    _check_equal("AddV2", value, bias.reshape((1,) * (len(shape) - 1) + (-1,)),
                 forbid=compiled_only)
    _check_equal("AddV2", value, bias.reshape(1, -1), forbid=compiled_only)
    _check_equal("AddV2", value, np.repeat(bias, 2)[::2], forbid=compiled_only)  # strided


@pytest.mark.parametrize("dtype", FLOATS)
def test_add_v2_of_a_bias_vector_large_enough_for_threads(dtype, compiled_only):
    rng = np.random.default_rng(7)
    value = rng.standard_normal((16, 28, 28, 32)).astype(dtype)
    bias = rng.standard_normal(32).astype(dtype)
    value[0, 0, 0, :3] = [np.nan, np.inf, -np.inf]
    _check_equal("AddV2", value, bias, forbid=compiled_only)
    _check_equal("AddV2", bias, value, forbid=compiled_only)


def _other_adds():
    """x + y pairs that are not a bias add the compiled loop takes."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    return [
        (x, x),                                        # same shapes
        (x, b.astype(np.float64)),                     # mixed dtypes
        (x.astype(np.float16), b.astype(np.float16)),
        (x.astype(np.int32), b.astype(np.int32)),
        (_noncontiguous(x), b),
        (x, rng.standard_normal((6, 1)).astype(np.float32)),  # not along the last axis
        (x, b.reshape(1, 1, 1, 5)),                    # a bias of higher rank
        (x, np.float32(2)),                            # a numpy scalar
        (np.array(1.5, np.float32), np.array(2.5, np.float32)),
        (np.zeros((0, 5), np.float32), b),
        (np.zeros((3, 0), np.float32), np.zeros(0, np.float32)),
        (b, b),
    ]


@pytest.mark.parametrize("index", range(len(_other_adds())))
def test_add_v2_other_inputs_reach_numpy_unchanged(index, small_is_compiled, fallbacks):
    x, y = _other_adds()[index]
    calls = fallbacks("AddV2")
    _check_equal("AddV2", x, y)
    assert len(calls) == 1 and calls[0][0] is x and calls[0][1] is y


def test_add_v2_below_the_size_threshold_reaches_numpy(fallbacks):
    calls = fallbacks("AddV2")
    x = np.ones((64, 10), np.float32)
    _check_equal("AddV2", x, np.arange(10, dtype=np.float32))
    assert len(calls) == 1


def test_add_v2_bad_shapes_raise_the_reference_error():
    with pytest.raises(errors.InvalidArgumentError):
        _cython_kernel("AddV2")(np.ones((300, 300), np.float32), np.ones(4, np.float32))


# -- Sum over all axes but the last (the bias gradient) ---------------------------------------

def _assert_sum_close(got, x, keep_dims, axes):
    """got is shaped as numpy's sum; float32 is within a few float32 roundings of the exact
    sum (its double partial sums add no error at float32's precision) and at least as close
    as numpy's; float64 (summed row by row in double, as numpy does) agrees with numpy's to
    1e-12 of the magnitudes summed."""
    expected = _numpy_kernel("Sum")(x, axes, keep_dims=keep_dims)
    assert type(got) is np.ndarray
    assert got.dtype == expected.dtype and got.shape == expected.shape
    columns = x.reshape(-1, x.shape[-1]).astype(np.float64).T
    exact = np.array([math.fsum(column) for column in columns]).reshape(got.shape)
    scale = np.abs(columns).sum(axis=1).reshape(got.shape)
    eps = np.finfo(x.dtype).eps
    error = np.abs(got - exact)
    if x.dtype == np.float32:
        assert np.all(error <= 4 * eps * scale)
        assert np.all(error <= np.abs(expected - exact) + 4 * eps * scale)
    else:
        assert np.all(np.abs(got - expected) <= 1e-12 * scale)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,axes", [
    ((5, 3), [0]),
    ((5, 3), 0),
    ((2, 7, 5, 17), [0, 1, 2]),
    ((2, 7, 5, 17), np.array([2, 0, 1], np.int64)),
    ((2, 7, 5, 17), (-4, -3, -2)),
    ((1, 3, 3, 1), np.array([0, 1, 2], np.int32)),
    ((9, 13, 6), [1, 0]),
])
@pytest.mark.parametrize("keep_dims", [False, True])
def test_sum_over_all_but_the_last_axis_matches_numpy(shape, axes, keep_dims, dtype,
                                                      small_is_compiled, compiled_only):
    x = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    compiled_only("Sum")
    got = _cython_kernel("Sum")(x, axes, keep_dims=keep_dims)
    _assert_sum_close(got, x, keep_dims, axes)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sum_large_enough_for_threads_is_accurate(dtype, compiled_only):
    rng = np.random.default_rng(12)
    # An offset mean makes numpy's float32 row-by-row sum drift measurably.
    x = (rng.standard_normal((64, 28, 28, 32)) + 3).astype(dtype)
    x[5, 3, 7, :] *= 1e4
    axes = np.array([0, 1, 2], np.int32)
    compiled_only("Sum")
    for keep_dims in (False, True):
        _assert_sum_close(_cython_kernel("Sum")(x, axes, keep_dims=keep_dims), x, keep_dims,
                          axes)
    # 8 leftover rows per thread and one odd row count (no multiple of 8).
    y = x.reshape(-1, 32)[:50001]
    _assert_sum_close(_cython_kernel("Sum")(y, [0], keep_dims=False), y, False, [0])


def test_sum_special_values_as_numpy(small_is_compiled, compiled_only):
    x = np.ones((20, 4), np.float32)
    x[3, 0], x[5, 1], x[6, 2], x[7, 2] = np.nan, np.inf, np.inf, -np.inf
    compiled_only("Sum")
    got = _cython_kernel("Sum")(x, [0], keep_dims=False)
    np.testing.assert_array_equal(got, [np.nan, np.inf, np.nan, 20])


def _other_sums():
    """(x, axes) pairs the compiled loop does not take."""
    x = np.random.default_rng(9).standard_normal((4, 6, 5)).astype(np.float32)
    return [
        (x, [0, 1, 2]),                       # all axes
        (x, [1, 2]),                          # not all but the last
        (x, [0]),
        (x, []),
        (x, np.array([0.0, 1.0])),            # float axes: the reference's business
        (_noncontiguous(x), [0, 1]),
        (x.astype(np.float16), [0, 1]),
        (x.astype(np.int32), [0, 1]),
        (np.zeros((0, 5), np.float32), [0]),
        (np.float32(3), []),
    ]


@pytest.mark.parametrize("index", range(len(_other_sums())))
@pytest.mark.parametrize("keep_dims", [False, True])
def test_sum_other_inputs_reach_numpy_unchanged(index, keep_dims, small_is_compiled,
                                                fallbacks):
    x, axes = _other_sums()[index]
    calls = fallbacks("Sum")
    try:
        expected = _numpy_kernel("Sum")(x, axes, keep_dims=keep_dims)
    except Exception as error:  # the cython kernel must raise the same
        with pytest.raises(type(error)):
            _cython_kernel("Sum")(x, axes, keep_dims=keep_dims)
    else:
        got = _cython_kernel("Sum")(x, axes, keep_dims=keep_dims)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    assert len(calls) == 1 and calls[0][0] is x


@pytest.mark.parametrize("axes,message", [([0, 0], "duplicate"), ([0, 5], "Invalid reduction"),
                                          ([-5, 1], "Invalid reduction")])
def test_sum_bad_axes_raise_the_reference_error(axes, message, small_is_compiled):
    x = np.ones((4, 6, 5), np.float32)
    with pytest.raises(errors.InvalidArgumentError, match=message):
        _cython_kernel("Sum")(x, axes, keep_dims=False)


def test_sum_below_the_size_threshold_reaches_numpy(fallbacks):
    calls = fallbacks("Sum")
    x = np.ones((128, 256), np.float32)  # the MLP's bias gradient: numpy's is as fast
    np.testing.assert_array_equal(_cython_kernel("Sum")(x, [0], keep_dims=False),
                                  np.full(256, 128, np.float32))
    assert len(calls) == 1


def test_conv_plus_bias_graph_gradients_match_the_numpy_backend(monkeypatch):
    """`conv2d(x, w) + b`, relu, 2x2 max pool, summed: the step's small ops in a graph."""
    import hpcflow as tf
    rng = np.random.default_rng(0)
    x_value = rng.standard_normal((8, 16, 16, 3)).astype(np.float32)  # 131072 conv outputs
    w_value = rng.standard_normal((3, 3, 3, 64)).astype(np.float32)
    results = {}
    for backend in ("numpy", "cython"):
        monkeypatch.setenv("HPCFLOW_BACKEND", backend)
        graph = tf.Graph()
        with graph.as_default():
            x = tf.placeholder(tf.float32, [None, 16, 16, 3])
            b = tf.constant(np.linspace(-1, 1, 64).astype(np.float32))
            conv = tf.nn.conv2d(x, tf.constant(w_value), strides=[1, 1, 1, 1], padding="SAME")
            pooled = tf.nn.max_pool(tf.nn.relu(conv + b), ksize=[1, 2, 2, 1],
                                    strides=[1, 2, 2, 1], padding="VALID")
            grads = tf.gradients(tf.reduce_sum(pooled * pooled), [x, b])
            with tf.Session(graph=graph) as sess:
                results[backend] = sess.run([pooled] + grads, {x: x_value})
    for got, expected in zip(results["cython"], results["numpy"]):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
