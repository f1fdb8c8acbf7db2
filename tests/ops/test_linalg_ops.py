"""Tests of hpcflow/ops/linalg_ops.py: forward vs numpy, gradients vs numerical, errors."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors, registry, sharding
from hpcflow.ops import linalg_ops as lo
from hpcflow.ops import math_ops as mo

from gradcheck import check_gradient

RNG = np.random.RandomState(7)


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def check_value(got, want, dtype, rtol=1e-6, atol=1e-6):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(want, np.float64),
                               rtol=rtol, atol=atol)


def well_conditioned(shape, dtype=np.float64):
    """Random matrices with a dominant diagonal (invertible, modest condition number)."""
    n = shape[-1]
    return (RNG.uniform(-1, 1, shape) + 2 * n * np.eye(n) * RNG.choice([-1, 1], shape[:-1] +
                                                                    (1,))).astype(dtype)


def spd(shape, dtype=np.float64):
    a = RNG.uniform(-1, 1, shape)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def tol(dtype):
    return {"float16": 1e-2, "float32": 1e-4, "float64": 1e-10}[np.dtype(dtype).name]


# -- forward ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_inverse_determinant_forward(dtype):
    for shape in [(3, 3), (2, 4, 4), (0, 2, 2)]:
        a = well_conditioned(shape).astype(dtype)
        inv, inv_adj, det = run([lo.matrix_inverse(tf.constant(a)),
                                 lo.matrix_inverse(tf.constant(a), adjoint=True),
                                 lo.matrix_determinant(tf.constant(a))])
        a64 = a.astype(np.float64)
        check_value(inv, np.linalg.inv(a64), dtype, rtol=tol(dtype), atol=tol(dtype))
        check_value(inv_adj, np.linalg.inv(np.swapaxes(a64, -1, -2)), dtype, rtol=tol(dtype),
                    atol=tol(dtype))
        check_value(det, np.linalg.det(a64), dtype, rtol=tol(dtype) * 5)


def test_log_matrix_determinant_and_logdet():
    a = np.array([[[1.0, 2.0], [3.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]])
    sign, logabs = run(lo.log_matrix_determinant(tf.constant(a)))
    want_sign, want_log = np.linalg.slogdet(a)
    check_value(sign, want_sign, "float64")
    check_value(logabs, want_log, "float64")
    assert lo.slogdet is lo.log_matrix_determinant
    s = spd((3, 4, 4))
    out = lo.logdet(tf.constant(s))
    assert out.shape.as_list() == [3]
    check_value(run(out), np.linalg.slogdet(s)[1], "float64", rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_solves_forward(dtype):
    a = well_conditioned((2, 3, 3)).astype(dtype)
    b = RNG.uniform(-1, 1, (2, 3, 2)).astype(dtype)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    at = np.swapaxes(a64, -1, -2)
    got = run([lo.matrix_solve(tf.constant(a), tf.constant(b)),
               lo.matrix_solve(tf.constant(a), tf.constant(b), adjoint=True),
               lo.matrix_triangular_solve(tf.constant(a), tf.constant(b)),
               lo.matrix_triangular_solve(tf.constant(a), tf.constant(b), lower=False),
               lo.matrix_triangular_solve(tf.constant(a), tf.constant(b), adjoint=True),
               lo.matrix_triangular_solve(tf.constant(a), tf.constant(b), lower=False,
                                          adjoint=True)])
    wants = [np.linalg.solve(a64, b64), np.linalg.solve(at, b64),
             np.linalg.solve(np.tril(a64), b64), np.linalg.solve(np.triu(a64), b64),
             np.linalg.solve(np.swapaxes(np.tril(a64), -1, -2), b64),
             np.linalg.solve(np.swapaxes(np.triu(a64), -1, -2), b64)]
    for g, w in zip(got, wants):
        check_value(g, w, dtype, rtol=tol(dtype), atol=tol(dtype))


def test_cholesky_and_cholesky_solve():
    for dtype in ("float32", "float64"):
        s = spd((2, 3, 3)).astype(dtype)
        upper_garbage = s + np.triu(np.full((3, 3), 100.0, dtype), 1)  # upper triangle unread
        chol, chol2 = run([lo.cholesky(tf.constant(s)), lo.cholesky(tf.constant(upper_garbage))])
        want = np.linalg.cholesky(s.astype(np.float64))
        check_value(chol, want, dtype, rtol=tol(dtype), atol=tol(dtype))
        check_value(chol2, want, dtype, rtol=tol(dtype), atol=tol(dtype))
    s = spd((4, 4))
    b = RNG.uniform(-1, 1, (4, 3))
    x = run(lo.cholesky_solve(lo.cholesky(tf.constant(s)), tf.constant(b)))
    check_value(x, np.linalg.solve(s, b), "float64", rtol=1e-10, atol=1e-12)


def test_band_part():
    x = np.arange(1.0, 25.0).reshape(2, 3, 4)
    for lower, upper in [(0, 0), (-1, 0), (0, -1), (1, 2), (-1, -1), (3, 4)]:
        rows, cols = np.indices((3, 4))
        keep = ((lower < 0) | (rows - cols <= lower)) & ((upper < 0) | (cols - rows <= upper))
        got = run(lo.band_part(tf.constant(x), lower, upper))
        check_value(got, np.where(keep, x, 0.0), "float64")
    ints = run(lo.matrix_band_part(tf.constant(np.ones((2, 2), np.int32)), 0, 0))
    np.testing.assert_array_equal(ints, np.eye(2, dtype=np.int32))
    lower = tf.placeholder(tf.int64, [])
    out = lo.band_part(tf.constant(x), lower, 0)
    assert out.shape.as_list() == [2, 3, 4]
    with pytest.raises(errors.InvalidArgumentError, match="num_lower must be negative") as info:
        run(out, {lower: 5})
    assert "MatrixBandPart" in str(info.value)


def test_trace_transpose_adjoint_eye():
    x = np.arange(24.0).reshape(2, 3, 4)
    out = lo.trace(tf.constant(x))
    assert out.shape.as_list() == [2]
    check_value(run(out), np.trace(x, axis1=-2, axis2=-1), "float64")
    check_value(run(lo.trace(tf.constant(np.eye(3, dtype=np.float32)))), 3.0, "float32")
    check_value(run(lo.matrix_transpose(tf.constant(x))), np.swapaxes(x, -1, -2), "float64")
    check_value(run(lo.adjoint(tf.constant(x))), np.swapaxes(x, -1, -2), "float64")
    check_value(run(lo.eye(2, 3, batch_shape=[2])), np.broadcast_to(np.eye(2, 3), (2, 2, 3)),
                "float32")


def test_norm():
    x = RNG.uniform(-2, 2, (3, 4))
    cases = [
        ({}, np.linalg.norm(x)),
        ({"axis": 1}, np.linalg.norm(x, axis=1)),
        ({"ord": 1, "axis": 0}, np.abs(x).sum(0)),
        ({"ord": np.inf, "axis": -1}, np.abs(x).max(-1)),
        ({"ord": 3, "axis": 0}, (np.abs(x) ** 3).sum(0) ** (1 / 3)),
        ({"ord": 1}, np.abs(x).sum()),
        ({"ord": "fro", "axis": [0, 1]}, np.linalg.norm(x, "fro")),
        ({"ord": 1, "axis": (0, 1)}, np.linalg.norm(x, 1)),
        ({"ord": np.inf, "axis": [0, 1]}, np.linalg.norm(x, np.inf)),
        ({"axis": 1, "keepdims": True}, np.linalg.norm(x, axis=1, keepdims=True)),
        ({"ord": 1, "axis": [0, 1], "keep_dims": True}, [[np.linalg.norm(x, 1)]]),
    ]
    for kw, want in cases:
        check_value(run(lo.norm(tf.constant(x), **kw)), want, "float64", rtol=1e-12)
    with pytest.raises(ValueError, match="supported matrix norm"):
        lo.norm(tf.constant(x), ord=2, axis=[0, 1])
    with pytest.raises(ValueError, match="supported vector norm"):
        lo.norm(tf.constant(x), ord=-1)
    with pytest.raises(ValueError, match="'axis' must be"):
        lo.norm(tf.constant(x), axis=[0, 0])


def test_static_shapes():
    p = tf.placeholder(tf.float32, [None, 3, None])
    assert lo.matrix_inverse(p).shape.as_list() == [None, 3, 3]
    assert lo.matrix_determinant(p).shape.as_list() == [None]
    rhs = tf.placeholder(tf.float32, [None, None, 2])
    assert lo.matrix_solve(p, rhs).shape.as_list() == [None, 3, 2]
    u = tf.placeholder(tf.float32)
    assert lo.cholesky(u).shape.ndims is None
    assert lo.matrix_solve(u, rhs).shape.as_list() == [None, None, 2]


# -- errors -------------------------------------------------------------------------------------

def test_build_time_errors_name_the_op():
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3.*"
                                         "MatrixInverse"):
        lo.matrix_inverse(tf.constant(np.ones((2, 3))))
    with pytest.raises(ValueError, match="at least rank 2.*Cholesky"):
        lo.cholesky(tf.constant(np.ones(3)))
    with pytest.raises(ValueError, match="Shapes must be equal rank, but are 3 and 2.*"
                                         "MatrixSolve"):
        lo.matrix_solve(tf.constant(np.ones((3, 2, 2))), tf.constant(np.ones((2, 1))))
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3"):
        lo.matrix_solve(tf.constant(np.eye(2)), tf.constant(np.ones((3, 1))))
    with pytest.raises(TypeError, match="Input 'rhs' of 'MatrixSolve' Op has type float32"):
        lo.matrix_solve(tf.constant(np.eye(2)), tf.constant(np.ones((2, 1), np.float32)))
    with pytest.raises(TypeError, match="DataType int32 not in list"):
        lo.matrix_determinant(tf.constant(np.eye(2, dtype=np.int32)))


def test_run_time_errors_name_the_op():
    p = tf.placeholder(tf.float64, [None, None])
    cases = [(lo.matrix_inverse(p), np.zeros((2, 2)), "Input is not invertible."),
             (lo.matrix_solve(p, tf.constant(np.ones((2, 1)))), np.zeros((2, 2)),
              "Input matrix is not invertible."),
             (lo.cholesky(p), -np.eye(2), "Cholesky decomposition was not successful"),
             (lo.matrix_determinant(p), np.ones((2, 3)), "square")]
    for out, value, message in cases:
        with pytest.raises(errors.InvalidArgumentError, match=message) as info:
            run(out, {p: value})
        assert out.op.name in str(info.value)


# -- gradients ----------------------------------------------------------------------------------

def test_inverse_gradients():
    for adjoint in (False, True):
        check_gradient(lambda a: lo.matrix_inverse(a, adjoint=adjoint),
                       [well_conditioned((2, 3, 3))], tol=1e-7)


def test_determinant_gradients():
    check_gradient(lo.matrix_determinant, [well_conditioned((2, 3, 3)) / 3], tol=1e-6)
    check_gradient(lambda a: lo.log_matrix_determinant(a)[1], [well_conditioned((3, 3))],
                   tol=1e-7)
    check_gradient(lambda a: lo.logdet(mo.matmul(a, a, transpose_b=True) + 3.0),
                   [well_conditioned((3, 3))], tol=1e-6)


def test_solve_gradients():
    for adjoint in (False, True):
        check_gradient(lambda a, b: lo.matrix_solve(a, b, adjoint=adjoint),
                       [well_conditioned((2, 3, 3)), RNG.uniform(-1, 1, (2, 3, 2))], tol=1e-7)


def test_triangular_solve_gradients():
    for lower in (True, False):
        for adjoint in (False, True):
            check_gradient(lambda a, b: lo.matrix_triangular_solve(a, b, lower=lower,
                                                                   adjoint=adjoint),
                           [well_conditioned((3, 3)), RNG.uniform(-1, 1, (3, 2))], tol=1e-7)


def test_cholesky_gradients():
    # Cholesky reads one triangle; differentiate through a symmetric input, as TF's test does.
    def build(x):
        return lo.cholesky(0.5 * (x + lo.matrix_transpose(x)))
    check_gradient(build, [spd((2, 3, 3))], tol=1e-7)
    check_gradient(lambda x, b: lo.cholesky_solve(lo.cholesky(mo.matmul(x, x, transpose_b=True)
                                                              + 3.0 * np.eye(3)), b),
                   [well_conditioned((3, 3)), RNG.uniform(-1, 1, (3, 2))], tol=1e-6)


def test_band_part_trace_norm_gradients():
    check_gradient(lambda x: lo.band_part(x, 1, 0), [RNG.uniform(-1, 1, (2, 3, 4))])
    check_gradient(lo.trace, [RNG.uniform(-1, 1, (2, 3, 4))])
    check_gradient(lambda x: lo.norm(x, axis=1), [RNG.uniform(0.5, 1, (2, 3))])
    check_gradient(lambda x: lo.norm(x, ord=1, axis=[0, 1]), [RNG.uniform(0.5, 1, (2, 3))])
    check_gradient(lambda x: lo.norm(x, ord=3), [RNG.uniform(0.5, 1, (2, 3))])


def test_registry_records():
    for op_type in ("MatrixInverse", "MatrixDeterminant", "LogMatrixDeterminant", "MatrixSolve",
                    "MatrixTriangularSolve", "Cholesky", "MatrixBandPart"):
        record = registry.get(op_type)
        assert callable(record.gradient), op_type
        assert sharding.kind_of(record.sharding) == sharding.GATHER
