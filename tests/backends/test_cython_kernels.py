"""Every Cython kernel against the numpy reference kernel of the same op.

Each case runs the op's "cython" kernel with the fallback to numpy disabled (so the compiled
loop really ran) and compares with the op's "numpy" kernel: same dtype, same shape, values
equal up to float rounding. Cases cover odd sizes, strides, dilations, SAME/VALID/EXPLICIT
padding, NCHW, non-contiguous inputs, float32 and float64. Inputs the compiled loops do not
handle (float16, integers, unusual attrs) must give exactly the reference's result or error.
"""
import numpy as np
import pytest

from hpcflow.backends import cython_backend
from hpcflow.framework import errors, registry

pytestmark = pytest.mark.skipif(not cython_backend.available(),
                                reason="Cython kernels not built (HPCFLOW_NO_CYTHON=1?)")

FLOATS = [np.float32, np.float64]


def _tolerance(dtype):
    return {"rtol": 2e-5, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-12,
                                                                      "atol": 1e-12}


def _numpy_kernel(op_type):
    return registry.get(op_type).kernels["numpy"]


def check(op_type, *args, forbid=None, **attrs):
    """Runs the cython and numpy kernels of op_type and asserts they agree."""
    expected = _numpy_kernel(op_type)(*args, **attrs)
    if forbid is not None:
        forbid(op_type)
    got = registry.get(op_type).kernels["cython"](*args, **attrs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, np.ndarray)
        assert g.dtype == e.dtype and g.shape == e.shape, (op_type, g.dtype, g.shape, e.shape)
        np.testing.assert_allclose(g, e, **_tolerance(e.dtype))
    return got


def _noncontiguous(x):
    """The same values as x, in a view that is not C-contiguous."""
    padded = np.zeros(x.shape[:-1] + (2 * x.shape[-1] + 1,), dtype=x.dtype)
    padded[..., 1::2] = x
    view = padded[..., 1::2]
    assert not view.flags.c_contiguous or x.shape[-1] == 1  # a length-1 axis has no stride
    return view


def _conv_attrs(strides=(1, 1, 1, 1), padding="SAME", dilations=(1, 1, 1, 1),
                data_format="NHWC", explicit_paddings=()):
    return dict(strides=list(strides), padding=padding, dilations=list(dilations),
                data_format=data_format, explicit_paddings=list(explicit_paddings),
                use_cudnn_on_gpu=True)


# (input NHWC shape, filter shape, attrs): odd sizes, strides, dilations, every padding.
CONV_CASES = [
    ((2, 7, 9, 3), (3, 3, 3, 4), _conv_attrs()),
    ((2, 7, 9, 3), (3, 3, 3, 4), _conv_attrs(padding="VALID")),
    ((1, 11, 8, 2), (5, 3, 2, 5), _conv_attrs(strides=(1, 2, 3, 1))),
    ((3, 10, 10, 1), (5, 5, 1, 6), _conv_attrs(strides=(1, 3, 2, 1), padding="VALID")),
    ((2, 12, 13, 3), (3, 2, 3, 2), _conv_attrs(dilations=(1, 2, 3, 1))),
    ((2, 12, 13, 3), (2, 3, 3, 2), _conv_attrs(strides=(1, 2, 2, 1), dilations=(1, 2, 1, 1),
                                               padding="VALID")),
    ((2, 6, 7, 3), (3, 3, 3, 2), _conv_attrs(padding="EXPLICIT",
                                             explicit_paddings=(0, 0, 2, 1, 0, 3, 0, 0))),
    ((2, 6, 7, 9), (1, 1, 9, 4), _conv_attrs()),                         # pointwise: one GEMM
    ((2, 6, 7, 9), (1, 1, 9, 4), _conv_attrs(strides=(1, 2, 2, 1))),     # strided 1x1
    ((1, 4, 4, 2), (4, 4, 2, 3), _conv_attrs(padding="VALID")),          # 1x1 output
    ((2, 3, 5, 4), (5, 5, 4, 3), _conv_attrs()),                         # window > input
    # One input channel (direct loops): output channels in a full block and a remainder.
    ((2, 9, 11, 1), (5, 5, 1, 20), _conv_attrs()),
    ((2, 9, 11, 1), (3, 2, 1, 17), _conv_attrs(strides=(1, 2, 3, 1), dilations=(1, 1, 1, 1),
                                               padding="EXPLICIT",
                                               explicit_paddings=(0, 0, 1, 2, 3, 0, 0, 0))),
    ((1, 12, 13, 1), (3, 3, 1, 16), _conv_attrs(dilations=(1, 2, 3, 1))),
    ((1, 28, 28, 1), (5, 5, 1, 32), _conv_attrs()),                      # threaded
    ((2, 3, 4, 1), (5, 5, 1, 16), _conv_attrs()),                        # window > input
]


def _conv_data(x_shape, w_shape, attrs, dtype, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    if attrs["data_format"] == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = _numpy_kernel("Conv2D")(x, w, **attrs)
    dy = rng.standard_normal(y.shape).astype(dtype)
    return x, w, dy


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x_shape,w_shape,attrs", CONV_CASES)
def test_conv2d_and_backprops_match_numpy(x_shape, w_shape, attrs, dtype, compiled_only):
    rng = np.random.default_rng(1)
    x, w, dy = _conv_data(x_shape, w_shape, attrs, dtype, rng)
    check("Conv2D", x, w, forbid=compiled_only, **attrs)
    check("Conv2DBackpropInput", np.array(x.shape, np.int32), w, dy, forbid=compiled_only,
          **attrs)
    check("Conv2DBackpropFilter", x, np.array(w.shape, np.int64), dy, forbid=compiled_only,
          **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
def test_conv2d_nchw_and_noncontiguous_inputs(dtype, compiled_only):
    rng = np.random.default_rng(2)
    attrs = _conv_attrs(strides=(1, 1, 2, 1), data_format="NCHW", padding="SAME")
    x, w, dy = _conv_data((2, 7, 9, 3), (3, 2, 3, 4), attrs, dtype, rng)
    check("Conv2D", _noncontiguous(x), _noncontiguous(w), forbid=compiled_only, **attrs)
    check("Conv2DBackpropInput", np.array(x.shape, np.int32), np.asfortranarray(w),
          _noncontiguous(dy), forbid=compiled_only, **attrs)
    check("Conv2DBackpropFilter", np.asfortranarray(x), np.array(w.shape, np.int32),
          _noncontiguous(dy), forbid=compiled_only, **attrs)
    x, w, dy = _conv_data((2, 7, 9, 1), (3, 2, 1, 18), _conv_attrs(), dtype, rng)
    check("Conv2D", x[:, ::-1], _noncontiguous(w), forbid=compiled_only, **_conv_attrs())
    check("Conv2DBackpropFilter", x[:, :, ::-1], np.array(w.shape, np.int32),
          _noncontiguous(dy), forbid=compiled_only, **_conv_attrs())


def test_conv2d_batch_chunks_match_numpy(monkeypatch, compiled_only):
    # A tiny chunk limit makes both implementations walk the batch in pieces.
    from hpcflow.ops import nn_conv_ops
    monkeypatch.setattr(nn_conv_ops, "_IM2COL_CHUNK_ELEMENTS", 300)
    rng = np.random.default_rng(3)
    attrs = _conv_attrs(strides=(1, 2, 1, 1))
    x, w, dy = _conv_data((5, 6, 5, 2), (3, 3, 2, 3), attrs, np.float64, rng)
    check("Conv2D", x, w, forbid=compiled_only, **attrs)
    check("Conv2DBackpropInput", np.array(x.shape), w, dy, forbid=compiled_only, **attrs)
    check("Conv2DBackpropFilter", x, np.array(w.shape), dy, forbid=compiled_only, **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
def test_conv2d_cache_sized_chunks_reuse_one_scratch_buffer(dtype, monkeypatch, compiled_only):
    # A byte limit of two images' patches: three chunks, the last one short, and a scratch
    # buffer left over from the larger cases before must not leak into the results.
    rng = np.random.default_rng(5)
    attrs = _conv_attrs()
    x, w, dy = _conv_data((5, 6, 5, 2), (3, 3, 2, 3), attrs, dtype, rng)
    monkeypatch.setattr(cython_backend, "_CHUNK_BYTES", 2 * 30 * 18 * np.dtype(dtype).itemsize)
    for _ in range(2):
        check("Conv2D", x, w, forbid=compiled_only, **attrs)
        check("Conv2DBackpropInput", np.array(x.shape), w, dy, forbid=compiled_only, **attrs)
        check("Conv2DBackpropFilter", x, np.array(w.shape), dy, forbid=compiled_only, **attrs)


@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_conv2d_other_dtypes_use_the_reference(dtype):
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, (1, 5, 5, 2)).astype(dtype)
    w = rng.integers(-3, 4, (3, 3, 2, 2)).astype(dtype)
    check("Conv2D", x, w, **_conv_attrs())


def test_conv2d_bad_inputs_raise_the_reference_errors():
    x = np.ones((1, 5, 5, 3), np.float32)
    w = np.ones((3, 3, 2, 4), np.float32)     # 2 input channels for a 3-channel input
    kernel = registry.get("Conv2D").kernels["cython"]
    with pytest.raises(errors.InvalidArgumentError, match="input depth"):
        kernel(x, w, **_conv_attrs())
    with pytest.raises(errors.UnimplementedError, match="batch and depth"):
        kernel(x, np.ones((3, 3, 3, 4), np.float32), **_conv_attrs(strides=(2, 1, 1, 1)))
    dy = np.ones((1, 4, 4, 4), np.float32)  # SAME on 5x5 gives 5x5, not 4x4
    with pytest.raises(errors.InvalidArgumentError, match="out_backprop"):
        registry.get("Conv2DBackpropInput").kernels["cython"](
            np.array([1, 5, 5, 3]), np.ones((3, 3, 3, 4), np.float32), dy, **_conv_attrs())
    with pytest.raises(errors.InvalidArgumentError, match="out_backprop"):
        registry.get("Conv2DBackpropFilter").kernels["cython"](
            x, np.array([3, 3, 3, 4]), dy, **_conv_attrs())


# -- Relu, ReluGrad ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(7,), (3, 5, 1), (2, 260, 257)])  # the last: threaded
def test_relu_and_grad_match_numpy(shape, dtype, compiled_only):
    rng = np.random.default_rng(6)
    features = rng.standard_normal(shape).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    check("Relu", features, forbid=compiled_only)
    check("Relu", _noncontiguous(features), forbid=compiled_only)
    check("ReluGrad", grad, features, forbid=compiled_only)
    check("ReluGrad", _noncontiguous(grad), features.T.copy().T, forbid=compiled_only)


@pytest.mark.parametrize("dtype", FLOATS)
def test_relu_and_grad_special_values_bit_for_bit(dtype, compiled_only):
    special = np.array([-0.0, 0.0, np.nan, -np.inf, np.inf, -1.5, 2.5], dtype)
    features = np.repeat(special, len(special))
    grad = np.tile(special, len(special))
    for op_type, args in (("Relu", (features,)), ("ReluGrad", (grad, features))):
        with np.errstate(invalid="ignore"):  # inf * 0, on purpose
            expected = _numpy_kernel(op_type)(*args)
        compiled_only(op_type)
        got = registry.get(op_type).kernels["cython"](*args)
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("args", [
    (np.ones((2, 3), np.float32), np.ones((2, 3), np.float64)),   # mixed dtypes
    (np.ones((2, 3), np.float32), np.ones((3,), np.float32)),     # broadcast
    (np.ones((2, 3), np.int32), np.ones((2, 3), np.int32)),
    (np.ones((0, 3), np.float32), np.ones((0, 3), np.float32))])
def test_relu_grad_other_inputs_use_the_reference(args):
    check("ReluGrad", *args)
    check("Relu", args[0])


# -- pooling ----------------------------------------------------------------------------------

POOL_CASES = [
    ([1, 2, 2, 1], [1, 2, 2, 1], "VALID"),
    ([1, 3, 3, 1], [1, 2, 2, 1], "SAME"),      # overlapping windows, padding
    ([1, 3, 2, 1], [1, 1, 3, 1], "SAME"),
    ([1, 2, 3, 1], [1, 3, 1, 1], "VALID"),
    ([1, 5, 5, 1], [1, 1, 1, 1], "SAME"),      # windows larger than the input's edge
    ([1, 3, 3, 1], [1, 3, 3, 1], "SAME"),      # tiling windows, padding on both sides
    ([1, 2, 4, 1], [1, 2, 4, 1], "VALID"),     # tiling windows, uncovered remainder
    ([1, 2, 2, 1], [1, 2, 2, 1], "SAME"),      # tiling windows, padding after
]


def _pool_attrs(ksize, strides, padding, data_format="NHWC"):
    if data_format == "NCHW":
        ksize = [ksize[0], ksize[3], ksize[1], ksize[2]]
        strides = [strides[0], strides[3], strides[1], strides[2]]
    return dict(ksize=list(ksize), strides=list(strides), padding=padding,
                data_format=data_format)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ksize,strides,padding", POOL_CASES)
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_pooling_matches_numpy(ksize, strides, padding, data_format, dtype, compiled_only):
    rng = np.random.default_rng(5)
    attrs = _pool_attrs(ksize, strides, padding, data_format)
    shape = (2, 7, 6, 3) if data_format == "NHWC" else (2, 3, 7, 6)
    # Few distinct values: ties, where the first maximum must win as in the reference.
    x = rng.integers(-3, 4, shape).astype(dtype)
    y = _numpy_kernel("MaxPool")(x, **attrs)  # MaxPool: tests/backends/test_cython_small_ops.py
    grad = rng.standard_normal(y.shape).astype(dtype)
    check("MaxPoolGrad", x, y, grad, forbid=compiled_only, **attrs)
    check("MaxPoolGradGrad", x, y, rng.standard_normal(x.shape).astype(dtype),
          forbid=compiled_only, **attrs)
    x = rng.standard_normal(shape).astype(dtype)
    check("AvgPool", _noncontiguous(x), forbid=compiled_only, **attrs)
    check("AvgPoolGrad", np.array(x.shape, np.int32), _noncontiguous(grad),
          forbid=compiled_only, **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool_grad_with_nan_and_infinities_as_numpy(dtype, compiled_only):
    x = np.arange(2 * 5 * 4 * 2, dtype=dtype).reshape(2, 5, 4, 2)
    x[0, 0, 0, 0] = np.nan
    x[0, 2, 3, 1] = np.nan
    x[1, :2, :2, :] = -np.inf
    x[1, 4, 3, 0] = np.inf
    for attrs in (_pool_attrs([1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
                  _pool_attrs([1, 3, 3, 1], [1, 1, 1, 1], "SAME")):
        pooled = _numpy_kernel("MaxPool")(x, **attrs)
        check("MaxPoolGrad", x, pooled, np.ones(pooled.shape, dtype), forbid=compiled_only,
              **attrs)
        check("MaxPoolGradGrad", x, pooled, np.arange(x.size, dtype=dtype).reshape(x.shape),
              forbid=compiled_only, **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ksize,strides,padding", [([1, 2, 2, 1], [1, 2, 2, 1], "VALID"),
                                                   ([1, 3, 3, 1], [1, 2, 2, 1], "SAME")])
def test_max_pool_grad_large_enough_for_threads(ksize, strides, padding, dtype, compiled_only):
    # Above the kernels' threshold for running on all OpenMP threads; ties included.
    rng = np.random.default_rng(9)
    attrs = _pool_attrs(ksize, strides, padding)
    x = rng.integers(-2, 3, (3, 30, 31, 40)).astype(dtype)
    y = _numpy_kernel("MaxPool")(x, **attrs)
    check("MaxPoolGrad", x, y, rng.standard_normal(y.shape).astype(dtype),
          forbid=compiled_only, **attrs)


def test_max_pool_grad_integers_use_the_reference():
    x = np.arange(32, dtype=np.int32).reshape(1, 4, 4, 2)
    attrs = _pool_attrs([1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    pooled = _numpy_kernel("MaxPool")(x, **attrs)
    check("MaxPoolGrad", x, pooled, np.ones(pooled.shape, np.int32), **attrs)


def test_pooling_bad_inputs_raise_the_reference_errors():
    x = np.ones((1, 4, 4, 2), np.float32)
    with pytest.raises(errors.UnimplementedError, match="depth"):
        registry.get("MaxPoolGrad").kernels["cython"](
            x, x, x, **_pool_attrs([1, 2, 2, 2], [1, 2, 2, 1], "VALID"))
    with pytest.raises(errors.InvalidArgumentError, match="grad"):
        registry.get("MaxPoolGrad").kernels["cython"](
            x, np.ones((1, 2, 2, 2), np.float32), np.ones((1, 3, 3, 2), np.float32),
            **_pool_attrs([1, 2, 2, 1], [1, 2, 2, 1], "VALID"))
    with pytest.raises(errors.InvalidArgumentError, match="AvgPoolGrad"):
        registry.get("AvgPoolGrad").kernels["cython"](
            np.array([1, 4, 4, 2]), np.ones((1, 3, 3, 2), np.float32),
            **_pool_attrs([1, 2, 2, 1], [1, 2, 2, 1], "VALID"))


# -- softmax and cross-entropies --------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (7, 1001), (2, 3, 17)])
def test_softmax_and_log_softmax_match_numpy(shape, dtype, compiled_only):
    rng = np.random.default_rng(6)
    logits = (rng.standard_normal(shape) * 20).astype(dtype)
    check("Softmax", logits, forbid=compiled_only)
    check("LogSoftmax", _noncontiguous(logits), forbid=compiled_only)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1), (6, 10), (129, 1000)])
def test_cross_entropies_match_numpy(shape, dtype, compiled_only):
    rng = np.random.default_rng(7)
    logits = (rng.standard_normal(shape) * 10).astype(dtype)
    labels = rng.dirichlet(np.ones(shape[1]), shape[0]).astype(dtype)
    check("SoftmaxCrossEntropyWithLogits", logits, labels, forbid=compiled_only)
    check("SoftmaxCrossEntropyWithLogits", _noncontiguous(logits), _noncontiguous(labels),
          forbid=compiled_only)
    for index_dtype in (np.int32, np.int64):
        sparse = rng.integers(0, shape[1], shape[0]).astype(index_dtype)
        check("SparseSoftmaxCrossEntropyWithLogits", logits, sparse, forbid=compiled_only)
    check("SparseSoftmaxCrossEntropyWithLogits", _noncontiguous(logits),
          sparse[::-1], forbid=compiled_only)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_softmax_extreme_logits_as_numpy(compiled_only):
    logits = np.array([[1e30, 0, -1e30], [-np.inf, 0, 1], [np.nan, 0, 1],
                       [-np.inf, -np.inf, -np.inf]], np.float32)
    for op_type in ("Softmax", "LogSoftmax"):
        expected = _numpy_kernel(op_type)(logits)
        compiled_only(op_type)
        got = registry.get(op_type).kernels["cython"](logits)
        np.testing.assert_allclose(got, expected, rtol=1e-6)  # NaN in the same places


def test_softmax_empty_and_float16_use_the_reference():
    check("Softmax", np.zeros((3, 0), np.float32))
    check("Softmax", np.zeros((0, 4), np.float64))
    check("Softmax", np.linspace(-3, 3, 12).astype(np.float16).reshape(3, 4))
    check("SparseSoftmaxCrossEntropyWithLogits", np.zeros((0, 4), np.float32),
          np.zeros(0, np.int32))


def test_sparse_cross_entropy_bad_label_raises_the_reference_error():
    kernel = registry.get("SparseSoftmaxCrossEntropyWithLogits").kernels["cython"]
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"label value of 3 which is outside the valid range of \[0, 3\)"):
        kernel(np.zeros((2, 3), np.float32), np.array([0, 3]))
    with pytest.raises(errors.InvalidArgumentError, match="label value of -1"):
        kernel(np.zeros((2, 3), np.float64), np.array([-1, 0], np.int32))


# -- scatter-add ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_unsorted_segment_sum_matches_numpy(dtype, compiled_only):
    rng = np.random.default_rng(9)
    # Repeated and negative (dropped) ids; rows wide enough to be split between threads.
    for data_shape, ids in (((50, 3), rng.integers(-2, 7, 50)),
                            ((40, 300), rng.integers(0, 5, 40).astype(np.int32)),
                            ((4, 6, 2), rng.integers(-1, 3, (4, 6))),
                            ((200000,), rng.integers(0, 7, 200000))):
        data = rng.standard_normal(data_shape).astype(dtype)
        check("UnsortedSegmentSum", data, ids, np.int32(7), forbid=compiled_only)
        check("UnsortedSegmentSum", _noncontiguous(data), ids, np.int64(9),
              forbid=compiled_only)


def test_unsorted_segment_sum_out_of_range_raises_the_reference_error():
    with pytest.raises(errors.InvalidArgumentError, match=r"segment_ids\[1\] = 5 is out of range"):
        registry.get("UnsortedSegmentSum").kernels["cython"](
            np.ones((3, 2), np.float32), np.array([0, 5, 1]), np.int32(5))
    check("UnsortedSegmentSum", np.ones((3, 2), np.int32), np.array([0, 1, 1]), np.int32(2))


@pytest.mark.parametrize("dtype", FLOATS)
def test_scatter_add_rows_matches_np_add_at(dtype):
    rng = np.random.default_rng(10)
    for var_shape, indices in (((20, 3), rng.integers(0, 20, 30)),
                               ((9, 70, 2), rng.integers(0, 9, (4, 5)).astype(np.int32)),
                               ((100000,), rng.integers(0, 100000, 5000))):
        var = rng.standard_normal(var_shape).astype(dtype)
        updates = rng.standard_normal(indices.shape + var_shape[1:]).astype(dtype)
        expected = var.copy()
        np.add.at(expected, indices.reshape(-1),
                  updates.reshape((indices.size,) + var_shape[1:]))
        got = var.copy()
        cython_backend._scatter_add_at(got, indices.reshape(-1),
                                       updates.reshape((indices.size,) + var_shape[1:]))
        np.testing.assert_allclose(got, expected, **_tolerance(dtype))
    # A scalar update and a non-contiguous variable take np.add.at.
    var = np.zeros((4, 3), dtype)
    cython_backend._scatter_add_at(var, np.array([1, 1]), np.asarray(dtype(2)))
    np.testing.assert_array_equal(var[1], [4, 4, 4])


# -- BiasAdd and BiasAddGrad ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,data_format", [((5, 3), "NHWC"), ((4, 3, 5, 7), "NHWC"),
                                               ((4, 7, 5, 3), "NCHW"), ((5, 3), "NCHW"),
                                               ((300, 20, 17), "NHWC"),
                                               ((30, 17, 20, 8), "NCHW")])
def test_bias_add_and_grad_match_numpy(shape, data_format, dtype, compiled_only, monkeypatch):
    # Small inputs go to numpy by design; lower the threshold so these run compiled.
    monkeypatch.setattr(cython_backend, "_BIAS_GRAD_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(11)
    value = rng.standard_normal(shape).astype(dtype)
    channels = shape[1] if data_format == "NCHW" and len(shape) >= 3 else shape[-1]
    bias = rng.standard_normal(channels).astype(dtype)
    check("BiasAdd", value, bias, data_format=data_format, forbid=compiled_only)
    check("BiasAdd", _noncontiguous(value), bias, data_format=data_format,
          forbid=compiled_only)
    check("BiasAddGrad", value, data_format=data_format, forbid=compiled_only)
    check("BiasAddGrad", _noncontiguous(value), data_format=data_format, forbid=compiled_only)


def test_bias_add_bad_bias_raises_the_reference_error():
    with pytest.raises(errors.InvalidArgumentError, match="as many biases"):
        registry.get("BiasAdd").kernels["cython"](np.ones((2, 3), np.float32),
                                                  np.ones(4, np.float32), data_format="NHWC")
    check("BiasAdd", np.ones((2, 3), np.int32), np.arange(3, dtype=np.int32),
          data_format="NHWC")
