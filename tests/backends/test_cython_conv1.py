"""The one-input-channel direct loops of Conv2D and Conv2DBackpropFilter (cy_kernels/conv.pyx)
against the numpy reference kernels, run in every compiled copy this CPU can run (AVX-512,
AVX2, baseline: `set_single_channel_isa` forces each one in turn).

Shapes are picked for the loops' blocking: output channels that fill no vector, one vector,
or a vector and a bit (1, 5, 16, 17, 32, 33); output rows whose width is not a multiple of
any pixel group; windows wider than the padding and than the input; strides and dilations
(the loops' general walk) next to stride 1 (their constant-offset walk).
"""
import numpy as np
import pytest

from hpcflow.backends import cython_backend
from hpcflow.framework import registry

pytestmark = pytest.mark.skipif(not cython_backend.available(),
                                reason="Cython kernels not built (HPCFLOW_NO_CYTHON=1?)")

ISAS = ["avx512", "avx2", "base"]
FLOATS = [np.float32, np.float64]


def _conv_module():
    from hpcflow._cy import conv
    return conv


@pytest.fixture(params=ISAS)
def isa(request):
    """Runs the test with the one-channel loops forced to one compiled copy."""
    conv = _conv_module()
    if request.param not in conv.single_channel_isas():
        pytest.skip("this CPU does not run the %s copy" % request.param)
    conv.set_single_channel_isa(request.param)
    assert conv.single_channel_isa() == request.param
    yield request.param
    conv.set_single_channel_isa(None)


def _attrs(strides=(1, 1, 1, 1), padding="SAME", dilations=(1, 1, 1, 1),
           explicit_paddings=(), data_format="NHWC"):
    return dict(strides=list(strides), padding=padding, dilations=list(dilations),
                data_format=data_format, explicit_paddings=list(explicit_paddings),
                use_cudnn_on_gpu=True)


# (input NHWC shape, filter shape, attrs)
CASES = [
    ((2, 28, 28, 1), (5, 5, 1, 32), _attrs()),                          # LeNet's conv1
    ((1, 9, 11, 1), (5, 5, 1, 1), _attrs()),                            # one output channel
    ((2, 7, 13, 1), (5, 5, 1, 5), _attrs(padding="VALID")),
    ((1, 10, 17, 1), (3, 3, 1, 16), _attrs()),
    ((2, 9, 15, 1), (5, 5, 1, 17), _attrs()),
    ((1, 11, 23, 1), (5, 5, 1, 33), _attrs(padding="VALID")),
    ((2, 13, 12, 1), (5, 5, 1, 32), _attrs(strides=(1, 2, 2, 1))),
    ((1, 12, 13, 1), (3, 3, 1, 17), _attrs(dilations=(1, 2, 2, 1))),
    ((2, 15, 16, 1), (5, 5, 1, 33), _attrs(strides=(1, 2, 2, 1), padding="VALID")),
    ((1, 11, 14, 1), (3, 5, 1, 20), _attrs(strides=(1, 1, 3, 1), dilations=(1, 2, 1, 1))),
    ((1, 9, 10, 1), (7, 7, 1, 8), _attrs()),                            # 7 taps: 5 + 3
    ((1, 8, 9, 1), (2, 4, 1, 12), _attrs(padding="EXPLICIT",
                                         explicit_paddings=(0, 0, 3, 1, 0, 2, 0, 0))),
    ((1, 6, 7, 1), (1, 1, 1, 3), _attrs(strides=(1, 2, 2, 1))),        # strided 1x1
    ((2, 3, 4, 1), (5, 5, 1, 16), _attrs()),                            # window > input
    ((1, 4, 5, 1), (4, 5, 1, 6), _attrs(padding="VALID")),              # one output pixel
    ((1, 1, 1, 1), (3, 3, 1, 33), _attrs()),                            # one input pixel
]


def _check(op_type, forbid, *args, **attrs):
    """The cython kernel's result against the numpy kernel's on float64 copies of the
    arguments: a float32 reference would add its own rounding (the filter gradient sums
    thousands of products), so float32 results get an error bound relative to the largest
    value instead."""
    kernel = registry.get(op_type).kernels
    expected = kernel["numpy"](*[a.astype(np.float64) if a.dtype.kind == "f" else a
                                 for a in args], **attrs)
    forbid(op_type)
    got = kernel["cython"](*args, **attrs)
    dtype = next(a.dtype for a in args if a.dtype.kind == "f")
    assert got.dtype == dtype and got.shape == expected.shape
    if dtype == np.float32:
        scale = max(np.abs(expected).max(), 1.0)
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6 * scale)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    return got


def _data(x_shape, w_shape, attrs, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    y = registry.get("Conv2D").kernels["numpy"](x, w, **attrs)
    dy = rng.standard_normal(y.shape).astype(dtype)
    return x, w, dy


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("x_shape,w_shape,attrs", CASES)
def test_one_channel_conv_matches_numpy(x_shape, w_shape, attrs, dtype, isa, compiled_only):
    x, w, dy = _data(x_shape, w_shape, attrs, dtype)
    _check("Conv2D", compiled_only, x, w, **attrs)
    _check("Conv2DBackpropFilter", compiled_only, x, np.array(w.shape, np.int32), dy, **attrs)


@pytest.mark.parametrize("dtype", FLOATS)
def test_one_channel_conv_threaded_and_noncontiguous(dtype, isa, compiled_only):
    """A batch big enough for every thread, given as strided views (and NCHW)."""
    attrs = _attrs()
    x, w, dy = _data((9, 28, 27, 1), (5, 5, 1, 24), attrs, dtype, seed=1)
    _check("Conv2D", compiled_only, x[:, :, ::-1], w[..., ::-1], **attrs)
    _check("Conv2DBackpropFilter", compiled_only, x[:, ::-1], np.array(w.shape, np.int32),
           dy[..., ::-1], **attrs)
    nchw = _attrs(data_format="NCHW")
    _check("Conv2D", compiled_only, x.transpose(0, 3, 1, 2), w, **nchw)
    _check("Conv2DBackpropFilter", compiled_only, x.transpose(0, 3, 1, 2),
           np.array(w.shape, np.int32), dy.transpose(0, 3, 1, 2), **nchw)


@pytest.mark.parametrize("batch,seed", [(64, 2), (1, 3), (1, 4)])
def test_one_channel_filter_gradient_beats_a_float32_gemm(batch, seed, isa):
    """The float32 filter gradient of LeNet's conv1 is at least as close to the float64
    result as float32 im2col + GEMM: each task's sum over a few output rows is formed in
    float32, the sum of those in float64. For a batch, pixels in [0, 1] (so no cancellation
    hides rounding); for one image, the normal data of the other tests."""
    rng = np.random.default_rng(seed)
    attrs = _attrs()
    if batch > 1:
        x = rng.random((batch, 28, 28, 1))
        dy = rng.standard_normal((batch, 28, 28, 32)) * 1e-2 + 1e-2
    else:
        x = rng.standard_normal((batch, 28, 28, 1))
        dy = rng.standard_normal((batch, 28, 28, 32))
    x32, dy32 = x.astype(np.float32), dy.astype(np.float32)
    sizes = np.array((5, 5, 1, 32), np.int32)
    kernels = registry.get("Conv2DBackpropFilter").kernels
    exact = kernels["numpy"](x32.astype(np.float64), sizes, dy32.astype(np.float64), **attrs)
    # The float32 GEMM on the same float32 inputs: patches [N*OH*OW, 25] (SAME, pad 2).
    padded = np.pad(x32[..., 0], ((0, 0), (2, 2), (2, 2)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (5, 5), axis=(1, 2))
    gemm = windows.reshape(-1, 25).T @ dy32.reshape(-1, 32)
    got = kernels["cython"](x32, sizes, dy32, **attrs)
    assert got.dtype == np.float32
    scale = np.abs(exact).max()
    err_gemm = np.abs(gemm.reshape(exact.shape) - exact).max() / scale
    err_got = np.abs(got - exact).max() / scale
    assert err_got <= err_gemm, (err_got, err_gemm)


def test_single_channel_isa_choice():
    conv = _conv_module()
    supported = conv.single_channel_isas()
    assert supported[0] == "base" and set(supported) <= set(ISAS)
    assert conv.single_channel_isa() in supported
    with pytest.raises(ValueError):
        conv.set_single_channel_isa("sse9")
    try:
        conv.set_single_channel_isa("base")
        assert conv.single_channel_isa() == "base"
    finally:
        conv.set_single_channel_isa(None)
    assert conv.single_channel_isa() == supported[-1]
