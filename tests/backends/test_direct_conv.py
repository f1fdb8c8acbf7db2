"""The direct convolution loops (cy_kernels/direct_conv.*, hpcflow/backends/direct_conv.py)
against the numpy reference kernels of Conv2D, Conv2DBackpropInput and
Conv2DBackpropFilter.

Each case runs with im2col disabled (and col2im too where the input gradient's loops apply:
stride 1, input channels a multiple of the vector length), so a passing case is known to
have run the direct loops, and again for every instruction-set copy this CPU can run
(AVX-512, AVX2, baseline), each forced in turn.
"""
import numpy as np
import pytest

from hpcflow.backends import cython_backend
from hpcflow.framework import registry

pytestmark = pytest.mark.skipif(not cython_backend.available(),
                                reason="Cython kernels not built (HPCFLOW_NO_CYTHON=1?)")

if cython_backend.available():
    from hpcflow._cy import direct_conv as loops
    from hpcflow.backends import direct_conv

ISAS = ["avx512", "avx2", "baseline"]


@pytest.fixture(params=ISAS)
def isa(request):
    """Runs the test with the loops of one instruction set (skipped if the CPU lacks it)."""
    got = loops.force_isa(request.param)
    try:
        if got != request.param:
            pytest.skip("this CPU does not run the %s loops" % request.param)
        yield request.param
    finally:
        loops.force_isa(None)


@pytest.fixture
def no_patch_matrix(monkeypatch):
    """`no_patch_matrix(input_gradient)` makes im2col (and col2im if `input_gradient`)
    raise: a passing case ran the direct loops."""
    def forbid(input_gradient):
        def forbidden(*args, **kwargs):
            raise AssertionError("the patch-matrix path ran")
        monkeypatch.setattr(cython_backend._conv, "im2col", forbidden)
        if input_gradient:
            monkeypatch.setattr(cython_backend._conv, "col2im", forbidden)
    return forbid


def _attrs(strides=1, padding="SAME", dilations=1, explicit=()):
    return dict(strides=[1, strides, strides, 1], padding=padding,
                dilations=[1, dilations, dilations, 1], data_format="NHWC",
                explicit_paddings=list(explicit), use_cudnn_on_gpu=True)


def _tolerance(expected):
    """Float rounding of long sums: relative to the result's scale (the reference's own
    float32 sums, in another order, differ from the exact ones by as much)."""
    scale = float(np.abs(expected).max()) if expected.size else 1.0
    eps = 1e-5 if expected.dtype == np.float32 else 1e-12
    return {"rtol": 10 * eps, "atol": eps * scale}


def _run(op_type, backend, *args, **attrs):
    return registry.get(op_type).kernels[backend](*args, **attrs)


def _check_all_three(x, w, attrs):
    """The three ops by the Cython backend equal the numpy reference."""
    y = _run("Conv2D", "numpy", x, w, **attrs)
    dy = np.random.default_rng(9).standard_normal(y.shape).astype(x.dtype)
    cases = [("Conv2D", (x, w)),
             ("Conv2DBackpropInput", (np.array(x.shape, np.int32), w, dy)),
             ("Conv2DBackpropFilter", (x, np.array(w.shape, np.int32), dy))]
    for op_type, args in cases:
        expected = _run(op_type, "numpy", *args, **attrs)
        got = _run(op_type, "cython", *args, **attrs)
        assert got.dtype == expected.dtype and got.shape == expected.shape, op_type
        np.testing.assert_allclose(got, expected, err_msg=op_type, **_tolerance(expected))


def _data(x_shape, w_shape, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(dtype),
            rng.standard_normal(w_shape).astype(dtype))


# (x shape, filter shape, attrs): output channels of one block, several blocks and a short
# last block; input channels not a multiple of the filter gradient's block of 4; pixel
# counts not a multiple of the forward's block of 6 pixels.
STRIDE_ONE_CASES = [
    ((2, 7, 9, 3), (3, 3, 3, 16), _attrs()),
    ((1, 5, 5, 2), (5, 5, 2, 32), _attrs()),                           # window = input
    ((3, 9, 7, 5), (3, 2, 5, 48), _attrs(padding="VALID")),
    ((2, 6, 8, 6), (3, 3, 6, 80), _attrs(dilations=2)),                # blocks of 64 + 16
    ((2, 6, 6, 4), (2, 3, 4, 112), _attrs(padding="EXPLICIT",          # blocks of 64 + 48
                                          explicit=(0, 0, 2, 1, 0, 3, 0, 0))),
    # Input channels a multiple of 16: the input gradient runs direct too.
    ((2, 7, 5, 16), (3, 3, 16, 16), _attrs()),
    ((2, 9, 6, 48), (3, 2, 48, 32), _attrs(padding="VALID")),
    ((1, 8, 9, 16), (3, 3, 16, 80), _attrs(dilations=2)),
    ((2, 6, 6, 32), (2, 3, 32, 16), _attrs(padding="EXPLICIT", explicit=(0, 0, 1, 1, 2, 0, 0, 0))),
    ((4, 14, 14, 32), (5, 5, 32, 64), _attrs()),                       # the CNN's conv2
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,attrs", STRIDE_ONE_CASES)
def test_stride_one_convolutions_run_direct_and_match_numpy(x_shape, w_shape, attrs, dtype,
                                                            isa, no_patch_matrix):
    no_patch_matrix(input_gradient=x_shape[3] % 16 == 0)
    x, w = _data(x_shape, w_shape, dtype)
    _check_all_three(x, w, attrs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,attrs", [
    ((2, 11, 10, 6), (3, 3, 6, 48), _attrs(strides=2)),
    ((2, 8, 9, 16), (3, 3, 16, 16), _attrs(strides=2, dilations=2, padding="VALID")),
    ((1, 9, 9, 3), (4, 4, 3, 32), _attrs(strides=3, padding="SAME")),
])
def test_strided_convolutions_match_numpy(x_shape, w_shape, attrs, dtype, isa):
    # The forward and filter-gradient loops take any stride; the input gradient of a
    # strided convolution goes to col2im.
    x, w = _data(x_shape, w_shape, dtype)
    _check_all_three(x, w, attrs)
    g = direct_conv_geometry(x.shape, w.shape, attrs)
    assert direct_conv.forward(x, w, g) is not None
    assert direct_conv.input_gradient(np.zeros((x.shape[0], g.out_h, g.out_w, w.shape[3]),
                                               dtype), w, g, x.shape) is None


def direct_conv_geometry(x_shape, w_shape, attrs):
    from hpcflow.ops import nn_ops
    return nn_ops._conv_geometry_from(x_shape, w_shape, attrs, "test input")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_channels_off_the_vector_length_fall_back_to_im2col(dtype):
    x, w = _data((2, 6, 6, 4), (3, 3, 4, 12), dtype)
    g = direct_conv_geometry(x.shape, w.shape, _attrs())
    assert direct_conv.forward(x, w, g) is None
    assert direct_conv.filter_gradient(x, np.zeros((2, 6, 6, 12), dtype), g, w.shape) is None
    _check_all_three(x, w, _attrs())


def test_noncontiguous_and_nchw_inputs_match_numpy(no_patch_matrix):
    no_patch_matrix(input_gradient=False)
    x, w = _data((2, 8, 7, 4), (3, 3, 4, 32), np.float32)
    _check_all_three(x[:, ::-1], np.asfortranarray(w), _attrs())
    nchw = dict(_attrs(), data_format="NCHW")
    _check_all_three(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), w, nchw)


def test_filter_gradient_is_deterministic_and_scratch_is_not_leaked(no_patch_matrix):
    no_patch_matrix(input_gradient=False)
    # A larger call first leaves a big scratch buffer; the smaller call must not read it.
    big_x, big_w = _data((8, 12, 12, 8), (3, 3, 8, 32), np.float32, seed=2)
    _check_all_three(big_x, big_w, _attrs())
    x, w = _data((2, 5, 5, 3), (3, 3, 3, 16), np.float32, seed=3)
    g = direct_conv_geometry(x.shape, w.shape, _attrs())
    dy = np.random.default_rng(4).standard_normal((2, 5, 5, 16)).astype(np.float32)
    first = direct_conv.filter_gradient(x, dy, g, w.shape)
    direct_conv.forward(big_x, big_w, direct_conv_geometry(big_x.shape, big_w.shape,
                                                           _attrs()))
    second = direct_conv.filter_gradient(x, dy, g, w.shape)
    np.testing.assert_array_equal(first, second)
    _check_all_three(x, w, _attrs())


def test_large_batch_uses_threads_and_matches_numpy(no_patch_matrix):
    no_patch_matrix(input_gradient=True)
    x, w = _data((16, 14, 14, 32), (5, 5, 32, 64), np.float32)
    assert loops.thread_count(16 * 14 * 14 * 25 * 32 * 64) >= 1
    _check_all_three(x, w, _attrs())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pad_into_places_the_input_and_zeroes_the_rest(dtype):
    x = np.arange(2 * 3 * 4 * 3, dtype=dtype).reshape(2, 3, 4, 3) + 1
    dst = np.full((2, 5, 6, 4), np.nan, dtype)
    loops.pad_into(x, dst, 1, 2)
    expected = np.zeros_like(dst)
    expected[:, 1:4, 2:6, :3] = x
    np.testing.assert_array_equal(dst, expected)
    # Rows and columns past the destination are dropped (a VALID walk that leaves some).
    small = np.full((2, 2, 3, 3), np.nan, dtype)
    loops.pad_into(x, small, 0, 0)
    np.testing.assert_array_equal(small, x[:, :2, :3])


def test_bad_offsets_and_shapes_raise_clear_errors():
    x = np.zeros(100, np.float32)
    pixels = np.array([0, 50], np.intp)
    taps = np.array([0, 10], np.intp)
    packed = np.zeros(2 * 4 * 16, np.float32)
    out = np.zeros((2, 16), np.float32)
    with pytest.raises(ValueError, match="direct_conv.forward: window offsets reach outside"):
        loops.forward(x, np.array([0, 90], np.intp), taps, 4, packed, out)
    with pytest.raises(ValueError, match="direct_conv.forward: output"):
        loops.forward(x, pixels, taps, 4, packed, np.zeros((2, 12), np.float32))
    partials = np.zeros((1, 8, 16), np.float32)
    with pytest.raises(ValueError, match="direct_conv.filter_grad: gradient"):
        loops.filter_grad(x, pixels, taps, 3, out, partials)
    with pytest.raises(ValueError, match="pad_into"):
        loops.pad_into(np.zeros((1, 2, 2, 3), np.float32), np.zeros((1, 2, 2, 2), np.float32),
                       0, 0)


def test_isa_names_and_forcing():
    best = loops.isa()
    assert best in ISAS
    try:
        assert loops.force_isa("baseline") == "baseline"
        assert loops.isa() == "baseline"
    finally:
        assert loops.force_isa(None) == best


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_in_cache_sized_chunks_match_numpy(dtype, monkeypatch, no_patch_matrix):
    # A limit of two padded images: chunks of 2, 2 and 1 images, for all three ops (the
    # filter gradient adds every chunk into the same partial sums).
    no_patch_matrix(input_gradient=True)
    x, w = _data((5, 6, 7, 16), (3, 3, 16, 32), dtype)
    padded_image = 8 * 9 * 16 * np.dtype(dtype).itemsize
    monkeypatch.setattr(direct_conv, "_CHUNK_BYTES", 2 * padded_image)
    assert direct_conv._chunks(5, 8, 9, 16, np.dtype(dtype).itemsize) == [(0, 2), (2, 4), (4, 5)]
    _check_all_three(x, w, _attrs())
    _check_all_three(x, w, _attrs(dilations=2, padding="VALID"))


def test_filter_gradient_of_large_filters_goes_to_gemm_and_runs_are_any_length():
    # Per-thread sums over half a megabyte (3x3, 128 -> 128 float32) no longer stay in cache.
    x, w = _data((1, 4, 4, 128), (3, 3, 128, 128), np.float32)
    g = direct_conv_geometry(x.shape, w.shape, _attrs())
    assert direct_conv.filter_gradient(x, np.zeros((1, 4, 4, 128), np.float32), g,
                                       w.shape) is None
    _check_all_three(x, w, _attrs())
    # The loops give the same sums whatever the run length.
    x, w = _data((2, 6, 5, 8), (3, 3, 8, 16), np.float32)
    g = direct_conv_geometry(x.shape, w.shape, _attrs(padding="VALID"))
    dy = np.random.default_rng(5).standard_normal((2, 4, 3, 16)).astype(np.float32)
    xp = np.ascontiguousarray(x)
    pixels = direct_conv._pixel_offsets(2, 4, 3, 6, 5, 8, 1, 1)
    taps = direct_conv._tap_offsets(3, 3, 5, 8, 1, 1)
    sums = []
    for run in (1, 5, 96):
        partials = np.zeros((1, 9 * 8, 16), np.float32)
        loops.filter_grad(xp.reshape(-1), pixels, taps, 8, dy.reshape(-1, 16), partials, run)
        sums.append(partials[0])
    np.testing.assert_allclose(sums[0], sums[2], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sums[1], sums[2], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="filter_grad"):
        loops.filter_grad(xp.reshape(-1), pixels, taps, 8, dy.reshape(-1, 16), partials, 0)
