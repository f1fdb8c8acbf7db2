"""Every CUDA source of the GPU backend compiles for a GPU (NVRTC, else nvcc) and, built as
C++ for the host, computes what the numpy reference kernels compute.

No GPU is needed: NVRTC compiles without a device (pip package `nvidia-cuda-nvrtc` with
CuPy's bindings, or the CUDA toolkit's nvcc), and the host build runs each kernel's
grid-stride loop on one thread over numpy buffers.
"""
import numpy as np
import pytest

from hpcflow.backends import cuda_kernels as ck
from hpcflow.backends import gpu_kernels
from hpcflow.ops import nn_ops
from hpcflow.runtime.rewrites import fused_elementwise

from . import cuda_host

UNARY = sorted(k for k in ck.FUSED_EXPRESSIONS if k < 32)
BINARY = sorted(k for k in ck.FUSED_EXPRESSIONS if k >= 32)


def _fused_sources():
    sources = []
    for opcode in UNARY:
        sources.append(ck.fused_source(((opcode, 1, 0, -1, 0.25),), 2, 1))
    for opcode in BINARY:
        sources.append(ck.fused_source(((opcode, 2, 0, 1, 0.25),), 3, 2))
    # a chain reusing registers, as the fusion pass builds them
    sources.append(ck.fused_source(((34, 2, 0, 1, 0.0), (32, 3, 2, 0, 0.0), (16, 2, 3, -1, 0.0),
                                    (15, 3, 0, -1, 0.0), (34, 2, 2, 3, 0.0)), 4, 2))
    return sources


FUSED = _fused_sources()


def _all_instantiations():
    items = []
    for source in list(ck.all_sources()) + FUSED:
        for types in source.instantiations():
            items.append((source, types))
    return items


def test_every_source_compiles_for_a_gpu():
    if cuda_host.nvrtc_module() is None and cuda_host.nvcc_path() is None:
        pytest.skip("neither NVRTC (pip install nvidia-cuda-nvrtc cupy-cuda13x) nor nvcc found")
    tool, failures = cuda_host.compile_all_for_gpu(_all_instantiations())
    assert not failures, "%s:\n%s" % (tool, "\n".join(failures))


def test_a_broken_source_is_reported():
    if cuda_host.nvrtc_module() is None and cuda_host.nvcc_path() is None:
        pytest.skip("no CUDA compiler")
    broken = ck.ElementwiseSource("broken", "T x", "T y", "y = x * undefined_name")
    _, log = cuda_host.compile_for_gpu(broken.source({"T": np.float32}), "broken")
    assert log is not None and "undefined_name" in log


@pytest.fixture(scope="module")
def host():
    library = cuda_host.HostLibrary(_all_instantiations())
    yield library
    library.close()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_programs_match_the_numpy_steps(host, dtype):
    rng = np.random.default_rng(0)
    for source in FUSED:
        num_inputs = len(source._names(source.in_params))
        inputs = [rng.uniform(-3, 3, 257).astype(dtype) for _ in range(num_inputs)]
        if num_inputs == 2:
            inputs[1][::7] = 0  # DivNoNan's zero divisors
            inputs[1][::5] = 6  # Relu6Grad's upper edge
        out = np.empty(257, dtype)
        host.call(source, {"T": dtype}, *inputs, out, out.size)
        program = _program_of(source)
        with np.errstate(all="ignore"):
            expected = gpu_kernels.fused_elementwise_xp(np, inputs, program["program"],
                                                        program["num_registers"],
                                                        np.dtype(dtype).name)
            reference = fused_elementwise.numpy_kernel(*inputs, T=np.dtype(dtype).name, **program)
        rtol = 2e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, reference, rtol=rtol, atol=rtol, equal_nan=True,
                                   err_msg=source.operation)
        np.testing.assert_allclose(expected, reference, rtol=rtol, atol=rtol, equal_nan=True,
                                   err_msg=source.operation)


def _program_of(source):
    for opcode in UNARY:
        if source is FUSED[UNARY.index(opcode)]:
            return {"program": ((opcode, 1, 0, -1, 0.25),), "num_registers": 2}
    for i, opcode in enumerate(BINARY):
        if source is FUSED[len(UNARY) + i]:
            return {"program": ((opcode, 2, 0, 1, 0.25),), "num_registers": 3}
    return {"program": ((34, 2, 0, 1, 0.0), (32, 3, 2, 0, 0.0), (16, 2, 3, -1, 0.0),
                        (15, 3, 0, -1, 0.0), (34, 2, 2, 3, 0.0)), "num_registers": 4}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_rows(host, dtype):
    rng = np.random.default_rng(1)
    logits = (rng.normal(size=(13, 7)) * 30).astype(dtype)
    labels = rng.dirichlet(np.ones(7), size=13).astype(dtype)
    loss, backprop = np.empty(13, dtype), np.empty((13, 7), dtype)
    host.call(ck.SOFTMAX_XENT, {"T": dtype}, logits, labels, loss, backprop, 13, 7)
    ref_loss, ref_backprop = nn_ops._softmax_xent_kernel(logits, labels)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    np.testing.assert_allclose(backprop, ref_backprop, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
def test_sparse_softmax_cross_entropy_rows(host, label_dtype):
    rng = np.random.default_rng(2)
    logits = (rng.normal(size=(11, 5)) * 10).astype(np.float32)
    labels = rng.integers(0, 5, 11).astype(label_dtype)
    loss, backprop = np.empty(11, np.float32), np.empty((11, 5), np.float32)
    host.call(ck.SPARSE_XENT, {"T": np.float32, "I": label_dtype}, logits, labels, loss,
              backprop, 11, 5)
    ref_loss, ref_backprop = nn_ops._sparse_xent_kernel(logits, labels)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    np.testing.assert_allclose(backprop, ref_backprop, rtol=1e-5, atol=1e-6)


POOLS = [((2, 7, 6, 3), (1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
         ((1, 5, 5, 2), (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
         ((3, 6, 9, 1), (1, 3, 2, 1), (1, 1, 3, 1), "SAME"),
         ((2, 4, 4, 2), (1, 4, 4, 1), (1, 1, 1, 1), "SAME")]


def _pool_args(shape, ksize, strides, padding):
    g = nn_ops._pool_geometry(shape, list(ksize), list(strides), padding, "NHWC", "x")
    return g, (shape[1], shape[2], shape[3], g.out_h, g.out_w, g.kernel_h, g.kernel_w,
               g.stride_h, g.stride_w, g.pad_top, g.pad_left)


@pytest.mark.parametrize("shape,ksize,strides,padding", POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_and_its_gradients(host, shape, ksize, strides, padding, dtype):
    rng = np.random.default_rng(3)
    # Small integers make ties: the gradient must go to the first maximum, as TF's does.
    x = rng.integers(-3, 4, size=shape).astype(dtype)
    attrs = {"ksize": list(ksize), "strides": list(strides), "padding": padding,
             "data_format": "NHWC"}
    g, scalars = _pool_args(shape, ksize, strides, padding)
    out_shape = (shape[0], g.out_h, g.out_w, shape[3])
    grad = rng.normal(size=out_shape).astype(dtype)
    types = {"T": dtype}

    y = np.empty(out_shape, dtype)
    host.call(ck.MAX_POOL, types, x, y, y.size, *scalars)
    np.testing.assert_array_equal(y, nn_ops._max_pool_kernel(x, **attrs))

    dx = np.empty(shape, dtype)
    host.call(ck.MAX_POOL_GRAD, types, x, grad, dx, dx.size, *scalars)
    np.testing.assert_allclose(dx, nn_ops._max_pool_grad_kernel(x, y, grad, **attrs), rtol=1e-6)

    avg = np.empty(out_shape, dtype)
    host.call(ck.AVG_POOL, types, x, avg, avg.size, *scalars)
    np.testing.assert_allclose(avg, nn_ops._avg_pool_kernel(x, **attrs), rtol=1e-6)

    davg = np.empty(shape, dtype)
    host.call(ck.AVG_POOL_GRAD, types, grad, davg, davg.size, *scalars)
    np.testing.assert_allclose(
        davg, nn_ops._avg_pool_grad_kernel(np.array(shape, np.int32), grad, **attrs),
        rtol=1e-5, atol=1e-6)

    # The array-module reference code the stand-in device runs agrees too.
    np.testing.assert_array_equal(gpu_kernels.max_pool_xp(np, x, g), y)
    np.testing.assert_allclose(gpu_kernels.max_pool_grad_xp(np, x, grad, g), dx, rtol=1e-6)
    np.testing.assert_allclose(gpu_kernels.avg_pool_xp(np, x, g), avg, rtol=1e-6)
    np.testing.assert_allclose(gpu_kernels.avg_pool_grad_xp(np, grad, g, shape), davg,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_scatter_add_rows_accumulates_duplicates_and_skips_negatives(host, index_dtype):
    rng = np.random.default_rng(4)
    indices = np.array([3, 0, 3, -1, 5, 3, 0], index_dtype)
    updates = rng.normal(size=(7, 4)).astype(np.float64)
    out = np.zeros((6, 4), np.float64)
    host.call(ck.SCATTER_ADD, {"T": np.float64, "I": index_dtype}, updates, indices, out,
              updates.size, 4, 6)
    expected = np.zeros((6, 4))
    keep = indices >= 0
    np.add.at(expected, indices[keep], updates[keep])
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_update_matches_the_numpy_kernel_formula(host, dtype):
    rng = np.random.default_rng(5)
    n = 100
    g = rng.normal(size=n).astype(dtype)
    var, m, v = (rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype),
                 rng.uniform(0, 1, n).astype(dtype))
    alpha, b1, b2, eps = dtype(0.01), dtype(0.9), dtype(0.999), dtype(1e-8)
    ref_var, ref_m, ref_v = var.copy(), m.copy(), v.copy()
    ref_m += (g - ref_m) * (1 - b1)
    ref_v += (g * g - ref_v) * (1 - b2)
    ref_var -= (alpha * ref_m) / (np.sqrt(ref_v) + eps)
    scalars = [np.full(n, s, dtype) for s in (alpha, b1, b2, eps)]
    host.call(ck.ADAM_UPDATE, {"T": dtype}, g, *scalars, var, m, v, n)
    np.testing.assert_allclose(m, ref_m, rtol=1e-6)
    np.testing.assert_allclose(v, ref_v, rtol=1e-6)
    np.testing.assert_allclose(var, ref_var, rtol=1e-6)
