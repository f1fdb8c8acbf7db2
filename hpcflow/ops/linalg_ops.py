"""TF1 linear algebra ops (`tf.linalg`): inverse, determinants, solves, Cholesky, norms.

All ops work on batches of matrices (the last two dims), have numpy (LAPACK) kernels and
TF's gradients, and run whole on one rank (GATHER). Composites (trace, norm, logdet,
cholesky_solve) are built from primitives, so their gradients come for free.
"""
import builtins

import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import unknown_shape
from . import array_ops, math_ops
from .math_ops import (_FLOATS, _INDEX, _apply, _check_dtype, _convert_pair, _dense_grad,
                       _op_scope)

# -- shape helpers ------------------------------------------------------------------------------


def _matrix_shape(shape, param, square=True):
    """`shape` checked to be a (batch of) matrices: rank >= 2, and square unless told not.

    For a square matrix with one unknown dim, the other decides it.
    """
    if shape.ndims is None:
        return shape
    if shape.ndims < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d (input '%s')"
                         % (shape.ndims, param))
    rows, cols = shape[-2], shape[-1]
    if square and rows is not None and cols is not None and rows != cols:
        raise ValueError("Dimensions must be equal, but are %d and %d (input '%s' must be a "
                         "square matrix)" % (rows, cols, param))
    if square and (rows is None) != (cols is None):
        n = rows if rows is not None else cols
        return shape[:-2].concatenate([n, n])
    return shape


def _square_shape(op):
    x = op.inputs[0]
    _check_dtype(x, _FLOATS, "input")
    return [(_matrix_shape(x.shape, "input"), x.dtype)]


def _batch_shape(shape):
    return unknown_shape() if shape.ndims is None else shape[:-2]


def _as_float_for_lapack(x):
    # LAPACK has no float16: compute in float32 and round the result back.
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _solve_shape(op):
    matrix, rhs = op.inputs
    _check_dtype(matrix, _FLOATS, "matrix")
    if rhs.dtype != matrix.dtype:
        raise TypeError("Input 'rhs' of '%s' Op has type %s that does not match type %s of "
                        "argument 'matrix'." % (op.type, rhs.dtype.name, matrix.dtype.name))
    ms = _matrix_shape(matrix.shape, "matrix")
    rs = _matrix_shape(rhs.shape, "rhs", square=False)
    if ms.ndims is None or rs.ndims is None:
        return [(rs if rs.ndims is not None else unknown_shape(), matrix.dtype)]
    if ms.ndims != rs.ndims:
        raise ValueError("Shapes must be equal rank, but are %d and %d" % (ms.ndims, rs.ndims))
    # TF1's solvers do not broadcast: batch dims and the row count must match.
    batch = _batch_shape(ms).merge_with(_batch_shape(rs))
    m = ms[-1]
    if m is not None and rs[-2] is not None and m != rs[-2]:
        raise ValueError("Dimensions must be equal, but are %d and %d" % (m, rs[-2]))
    return [(batch.concatenate([m if m is not None else rs[-2], rs[-1]]), matrix.dtype)]


def _check_batch_match(matrix, rhs, op_type):
    if matrix.shape[:-2] != rhs.shape[:-2] or matrix.shape[-1] != rhs.shape[-2]:
        raise errors.InvalidArgumentError(
            None, None, "%s: incompatible shapes of matrix %s and rhs %s"
            % (op_type, list(matrix.shape), list(rhs.shape)))


def _check_square(x, op_type):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise errors.InvalidArgumentError(None, None, "%s: input must be a (batch of) square "
                                          "matrices, got shape %s" % (op_type, list(x.shape)))


# -- MatrixInverse ------------------------------------------------------------------------------

def _matrix_inverse_kernel(x, *, adjoint):
    _check_square(x, "MatrixInverse")
    a = _as_float_for_lapack(x)
    if adjoint:
        a = np.swapaxes(a, -1, -2)
    try:
        return np.linalg.inv(a).astype(x.dtype, copy=False)
    except np.linalg.LinAlgError:
        raise errors.InvalidArgumentError(None, None, "Input is not invertible.") from None


def _matrix_inverse_grad(op, grad):
    # d(A^-1) = -A^-1 dA A^-1, transposed as the adjoint attr says (TF's formula).
    ainv = op.outputs[0]
    adjoint = op.get_attr("adjoint")
    return [math_ops.negative(math_ops.matmul(
        ainv, math_ops.matmul(grad, ainv, adjoint_a=adjoint, adjoint_b=not adjoint),
        adjoint_a=not adjoint))]


registry.register_op("MatrixInverse", shape=_square_shape, numpy=_matrix_inverse_kernel,
                     gradient=_dense_grad(_matrix_inverse_grad), sharding=sharding.GATHER)


def matrix_inverse(input, adjoint=False, name=None):  # noqa: A002 - TF's argument name
    """The inverse of each square matrix in `input` (op MatrixInverse).

    Args:
      input: float Tensor of shape [..., M, M].
      adjoint: if true, invert the (conjugate) transpose instead.
      name: optional op name.

    Returns:
      A Tensor of input's shape and dtype.

    Raises:
      ValueError: if the matrices are statically not square.
      InvalidArgumentError: at run time, if a matrix is singular ("Input is not invertible.").
    """
    with _op_scope(name, "MatrixInverse", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return _apply("MatrixInverse", [x], {"adjoint": builtins.bool(adjoint)}, name=scope)


# -- MatrixDeterminant, LogMatrixDeterminant ----------------------------------------------------

def _determinant_shape(op):
    x = op.inputs[0]
    _check_dtype(x, _FLOATS, "input")
    return [(_batch_shape(_matrix_shape(x.shape, "input")), x.dtype)]


def _matrix_determinant_kernel(x):
    _check_square(x, "MatrixDeterminant")
    return np.asarray(np.linalg.det(_as_float_for_lapack(x)), dtype=x.dtype)


def _expand_last_two(t):
    return array_ops.expand_dims(array_ops.expand_dims(t, -1), -1)


def _matrix_determinant_grad(op, grad):
    # d det(A) / dA = det(A) * A^-T.
    a, c = op.inputs[0], op.outputs[0]
    return [math_ops.multiply(_expand_last_two(math_ops.multiply(grad, c)),
                              matrix_inverse(a, adjoint=True))]


def _log_determinant_shape(op):
    (batch, dtype), = _determinant_shape(op)
    return [(batch, dtype), (batch, dtype)]


def _log_matrix_determinant_kernel(x):
    _check_square(x, "LogMatrixDeterminant")
    sign, logdet = np.linalg.slogdet(_as_float_for_lapack(x))
    return np.asarray(sign, dtype=x.dtype), np.asarray(logdet, dtype=x.dtype)


def _log_matrix_determinant_grad(op, unused_sign_grad, grad):
    # d log|det(A)| / dA = A^-T; the sign is piecewise constant.
    return [math_ops.multiply(_expand_last_two(grad),
                              matrix_inverse(op.inputs[0], adjoint=True))]


registry.register_op("MatrixDeterminant", shape=_determinant_shape,
                     numpy=_matrix_determinant_kernel,
                     gradient=_dense_grad(_matrix_determinant_grad), sharding=sharding.GATHER)
registry.register_op("LogMatrixDeterminant", shape=_log_determinant_shape,
                     numpy=_log_matrix_determinant_kernel,
                     gradient=_dense_grad(_log_matrix_determinant_grad), sharding=sharding.GATHER)


def matrix_determinant(input, name=None):  # noqa: A002
    """The determinant of each square matrix in `input` (op MatrixDeterminant).

    Args:
      input: float Tensor of shape [..., M, M].
      name: optional op name.

    Returns:
      A Tensor of shape [...].

    Raises:
      ValueError: if the matrices are statically not square.
    """
    with _op_scope(name, "MatrixDeterminant", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return _apply("MatrixDeterminant", [x], name=scope)


def log_matrix_determinant(input, name=None):  # noqa: A002
    """Sign and log of the absolute determinant of each matrix (op LogMatrixDeterminant).

    Args:
      input: float Tensor of shape [..., M, M].
      name: optional op name.

    Returns:
      (sign, log_abs_determinant), two Tensors of shape [...]; the determinant is
      sign * exp(log_abs_determinant), computed without overflow.

    Raises:
      ValueError: if the matrices are statically not square.
    """
    with _op_scope(name, "LogMatrixDeterminant", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        sign, log_abs_det = _apply("LogMatrixDeterminant", [x], name=scope)
    return sign, log_abs_det


def logdet(matrix, name=None):
    """log(det(matrix)) of Hermitian positive-definite matrices, via Cholesky (stable).

    Returns:
      A Tensor of shape [...].
    """
    with _op_scope(name, "logdet", [matrix]):
        chol = cholesky(matrix)
        return math_ops.multiply(2.0, math_ops.reduce_sum(
            math_ops.log(array_ops.matrix_diag_part(chol)), axis=[-1]))


# -- MatrixSolve, MatrixTriangularSolve ---------------------------------------------------------

def _solve(a, matrix, rhs, adjoint):
    """Solves a x = rhs (a^H x = rhs if `adjoint`) in `matrix`'s dtype.

    Raises:
      InvalidArgumentError: if `a` is singular.
    """
    a = _as_float_for_lapack(a)
    if adjoint:
        a = np.swapaxes(a, -1, -2)
    try:
        return np.linalg.solve(a, _as_float_for_lapack(rhs)).astype(matrix.dtype, copy=False)
    except np.linalg.LinAlgError:
        raise errors.InvalidArgumentError(None, None, "Input matrix is not invertible.") from None


def _matrix_solve_kernel(matrix, rhs, *, adjoint):
    _check_square(matrix, "MatrixSolve")
    _check_batch_match(matrix, rhs, "MatrixSolve")
    return _solve(matrix, matrix, rhs, adjoint)


def _matrix_solve_grad(op, grad):
    a = op.inputs[0]
    adjoint = op.get_attr("adjoint")
    c = op.outputs[0]
    grad_b = matrix_solve(a, grad, adjoint=not adjoint)
    if adjoint:
        grad_a = math_ops.negative(math_ops.matmul(c, grad_b, adjoint_b=True))
    else:
        grad_a = math_ops.negative(math_ops.matmul(grad_b, c, adjoint_b=True))
    return [grad_a, grad_b]


def _triangular_solve_kernel(matrix, rhs, *, lower, adjoint):
    _check_square(matrix, "MatrixTriangularSolve")
    _check_batch_match(matrix, rhs, "MatrixTriangularSolve")
    # Only the named triangle is read, as TF.
    return _solve(np.tril(matrix) if lower else np.triu(matrix), matrix, rhs, adjoint)


def _triangular_solve_grad(op, grad):
    a = op.inputs[0]
    adjoint, lower = op.get_attr("adjoint"), op.get_attr("lower")
    c = op.outputs[0]
    grad_b = matrix_triangular_solve(a, grad, lower=lower, adjoint=not adjoint)
    if adjoint:
        grad_a = math_ops.negative(math_ops.matmul(c, grad_b, adjoint_b=True))
    else:
        grad_a = math_ops.negative(math_ops.matmul(grad_b, c, adjoint_b=True))
    grad_a = band_part(grad_a, -1, 0) if lower else band_part(grad_a, 0, -1)
    return [grad_a, grad_b]


registry.register_op("MatrixSolve", shape=_solve_shape, numpy=_matrix_solve_kernel,
                     gradient=_dense_grad(_matrix_solve_grad), sharding=sharding.GATHER)
registry.register_op("MatrixTriangularSolve", shape=_solve_shape, numpy=_triangular_solve_kernel,
                     gradient=_dense_grad(_triangular_solve_grad), sharding=sharding.GATHER)


def matrix_solve(matrix, rhs, adjoint=False, name=None):
    """Solves matrix @ X = rhs for each matrix of the batch (op MatrixSolve).

    Args:
      matrix: float Tensor [..., M, M].
      rhs: Tensor [..., M, K] of the same dtype and batch dims (no broadcasting, as TF1).
      adjoint: if true, solve adjoint(matrix) @ X = rhs.
      name: optional op name.

    Returns:
      X, a Tensor [..., M, K].

    Raises:
      ValueError: if shapes are statically incompatible (ranks, batch dims, M).
      TypeError: if the dtypes differ.
      InvalidArgumentError: at run time, if a matrix is singular.
    """
    with _op_scope(name, "MatrixSolve", [matrix, rhs]) as scope:
        matrix, rhs = _convert_pair(matrix, rhs, "MatrixSolve", ("matrix", "rhs"))
        return _apply("MatrixSolve", [matrix, rhs], {"adjoint": builtins.bool(adjoint)},
                      name=scope)


def matrix_triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None):
    """Solves triangular systems (op MatrixTriangularSolve); reads only one triangle.

    Args:
      matrix: float Tensor [..., M, M]; its lower (or upper) triangle is used.
      rhs: Tensor [..., M, K] of the same dtype and batch dims.
      lower: whether matrix is lower (True) or upper triangular.
      adjoint: if true, solve adjoint(matrix) @ X = rhs.
      name: optional op name.

    Returns:
      X, a Tensor [..., M, K].

    Raises:
      ValueError / TypeError: as matrix_solve.
    """
    with _op_scope(name, "MatrixTriangularSolve", [matrix, rhs]) as scope:
        matrix, rhs = _convert_pair(matrix, rhs, "MatrixTriangularSolve", ("matrix", "rhs"))
        return _apply("MatrixTriangularSolve", [matrix, rhs],
                      {"lower": builtins.bool(lower), "adjoint": builtins.bool(adjoint)},
                      name=scope)


# -- Cholesky -----------------------------------------------------------------------------------

def _cholesky_kernel(x):
    _check_square(x, "Cholesky")
    try:
        # numpy reads only the lower triangle, as TF.
        return np.linalg.cholesky(_as_float_for_lapack(x)).astype(x.dtype, copy=False)
    except np.linalg.LinAlgError:
        raise errors.InvalidArgumentError(
            None, None, "Cholesky decomposition was not successful. The input might not be "
            "valid.") from None


def _cholesky_grad(op, grad):
    # TF's formula (Murray 2016): Phi(L^H grad) with the diagonal halved, then symmetrized.
    l = op.outputs[0]  # noqa: E741 - the usual name of a Cholesky factor
    l_inverse = matrix_inverse(l)
    middle = math_ops.matmul(l, grad, adjoint_a=True)
    middle = math_ops.subtract(band_part(middle, -1, 0),
                               math_ops.multiply(band_part(middle, 0, 0), 0.5))
    grad_a = math_ops.matmul(math_ops.matmul(l_inverse, middle, adjoint_a=True), l_inverse)
    grad_a = math_ops.add(grad_a, matrix_transpose(grad_a))
    return [math_ops.multiply(grad_a, 0.5)]


registry.register_op("Cholesky", shape=_square_shape, numpy=_cholesky_kernel,
                     gradient=_dense_grad(_cholesky_grad), sharding=sharding.GATHER)


def cholesky(input, name=None):  # noqa: A002
    """The lower-triangular Cholesky factor L (A = L L^H) of each matrix (op Cholesky).

    Only the lower triangle of `input` is read; the gradient assumes a symmetric input.

    Raises:
      ValueError: if the matrices are statically not square.
      InvalidArgumentError: at run time, if a matrix is not positive definite.
    """
    with _op_scope(name, "Cholesky", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return _apply("Cholesky", [x], name=scope)


def cholesky_solve(chol, rhs, name=None):
    """Solves A X = rhs given chol = cholesky(A), with two triangular solves.

    Returns:
      X, a Tensor shaped like rhs.
    """
    with _op_scope(name, "cholesky_solve", [chol, rhs]):
        y = matrix_triangular_solve(chol, rhs, adjoint=False, lower=True)
        return matrix_triangular_solve(chol, y, adjoint=True, lower=True)


# -- MatrixBandPart -----------------------------------------------------------------------------

def _band_part_shape(op):
    x, lower, upper = op.inputs
    for t, param in ((lower, "num_lower"), (upper, "num_upper")):
        _check_dtype(t, _INDEX, param)
        t.shape.assert_has_rank(0)
    return [(_matrix_shape(x.shape, "input", square=False), x.dtype)]


def _band_part_kernel(x, num_lower, num_upper):
    if x.ndim < 2:
        raise errors.InvalidArgumentError(None, None, "input must be at least 2-dim, received "
                                          "shape: %s" % list(x.shape))
    rows, cols = x.shape[-2], x.shape[-1]
    num_lower, num_upper = int(num_lower), int(num_upper)
    if num_lower > rows:
        raise errors.InvalidArgumentError(None, None, "num_lower must be negative or less or "
                                          "equal to number of rows (%d) got: %d"
                                          % (rows, num_lower))
    if num_upper > cols:
        raise errors.InvalidArgumentError(None, None, "num_upper must be negative or less or "
                                          "equal to number of columns (%d) got: %d"
                                          % (cols, num_upper))
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]  # j - i
    keep = np.ones((rows, cols), dtype=bool)
    if num_lower >= 0:
        keep &= -offset <= num_lower
    if num_upper >= 0:
        keep &= offset <= num_upper
    return np.where(keep, x, np.zeros((), dtype=x.dtype))


def _band_part_grad(op, grad):
    return [band_part(grad, op.inputs[1], op.inputs[2]), None, None]


# TF's MatrixBandPart lives in array_ops; register it here unless array_ops (imported above,
# so always first) already does.
if registry.lookup("MatrixBandPart") is None:
    registry.register_op("MatrixBandPart", shape=_band_part_shape, numpy=_band_part_kernel,
                         gradient=_dense_grad(_band_part_grad), sharding=sharding.GATHER)


def band_part(input, num_lower, num_upper, name=None):  # noqa: A002
    """Keeps a band of each matrix: num_lower subdiagonals and num_upper superdiagonals.

    A negative count keeps the whole triangle: band_part(x, -1, 0) is the lower triangle,
    band_part(x, 0, 0) the diagonal (op MatrixBandPart).

    Args:
      input: Tensor of rank >= 2.
      num_lower, num_upper: int scalars (or int32/int64 scalar Tensors).
      name: optional op name.

    Returns:
      A Tensor like input with entries outside the band set to 0.

    Raises:
      InvalidArgumentError: at run time, if a count exceeds the matrix size.
    """
    with _op_scope(name, "MatrixBandPart", [input, num_lower, num_upper]) as scope:
        x = convert_to_tensor(input, name="input")
        lower, upper = _convert_pair(num_lower, num_upper, "MatrixBandPart",
                                     ("num_lower", "num_upper"))
        return _apply("MatrixBandPart", [x, lower, upper], name=scope)


matrix_band_part = band_part


# -- Composites ---------------------------------------------------------------------------------

def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Transposes the last two dims of `a` (array_ops.matrix_transpose; `tf.linalg.transpose`)."""
    return array_ops.matrix_transpose(a, name=name, conjugate=conjugate)


def adjoint(matrix, name=None):
    """The conjugate transpose of the last two dims (the transpose for real matrices)."""
    with _op_scope(name, "adjoint", [matrix]):
        return matrix_transpose(matrix, conjugate=True)


def trace(x, name=None):
    """The sum of the main diagonal of each matrix in x (shape [..., M, N] -> [...]).

    Raises:
      ValueError: if x has a known rank below 2.
    """
    with _op_scope(name, "Trace", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        return math_ops.reduce_sum(array_ops.matrix_diag_part(x), [-1], name=scope)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None,  # noqa: A002
         keep_dims=None):
    """Vector and matrix norms (TF1 `tf.norm`).

    Args:
      tensor: a float Tensor.
      ord: 'euclidean' (=2 for vectors, Frobenius for matrices), 'fro', 1, 2 (vectors only
        here), np.inf, or any p > 0 for vector norms.
      axis: None (the whole tensor as a vector), an int (vector norm), or a pair of ints
        (matrix norm).
      keepdims: keep the reduced dimensions with length 1.
      name: optional name (default "norm").
      keep_dims: deprecated alias of keepdims.

    Returns:
      A Tensor of the norms.

    Raises:
      ValueError: for an unsupported ord/axis combination (the matrix 2-norm needs an SVD,
        which hpcflow does not provide).
    """
    keepdims = math_ops._deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims)
    keepdims = builtins.bool(keepdims)
    is_matrix_norm = isinstance(axis, (tuple, list)) and len(axis) == 2
    if is_matrix_norm:
        axis = tuple(axis)
        if (not isinstance(axis[0], int) or not isinstance(axis[1], int)
                or axis[0] == axis[1]):
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers, "
                             "got %s" % (axis,))
        supported = ["euclidean", "fro", 1, np.inf]
        if ord not in supported:
            raise ValueError("'ord' must be a supported matrix norm in %s, got %s (the matrix "
                             "2-norm needs an SVD, not available in hpcflow)" % (supported, ord))
    else:
        if not (isinstance(axis, int) or axis is None):
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers, "
                             "got %s" % (axis,))
        if ord not in ("euclidean", 1, 2, np.inf) and (
                isinstance(ord, str) or not np.isreal(ord) or ord <= 0):
            raise ValueError("'ord' must be a supported vector norm, got %s" % (ord,))
        if axis is not None:
            axis = (axis,)
    with _op_scope(name, "norm", [tensor]):
        tensor = convert_to_tensor(tensor)
        if ord in ("fro", "euclidean", 2, 2.0):
            result = math_ops.sqrt(math_ops.reduce_sum(
                math_ops.multiply(tensor, tensor), axis, keepdims=True))
        else:
            result = math_ops.abs(tensor)
            if ord == 1:
                result = math_ops.reduce_sum(result, None if axis is None else axis[0],
                                             keepdims=True)
                if is_matrix_norm:
                    result = math_ops.reduce_max(result, axis[-1], keepdims=True)
            elif ord == np.inf:
                if is_matrix_norm:
                    result = math_ops.reduce_sum(result, axis[1], keepdims=True)
                result = math_ops.reduce_max(result, None if axis is None else axis[0],
                                             keepdims=True)
            else:
                result = math_ops.pow(
                    math_ops.reduce_sum(math_ops.pow(result, ord), axis, keepdims=True),
                    1.0 / ord)
        if not keepdims:
            result = array_ops.squeeze(result, None if axis is None else list(axis))
        return result


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    """An identity matrix (or a batch of them): array_ops.eye (`tf.linalg.eye`)."""
    return array_ops.eye(num_rows, num_columns=num_columns, batch_shape=batch_shape,
                         dtype=dtype, name=name)


# `tf.linalg` names.
det = matrix_determinant
inv = matrix_inverse
solve = matrix_solve
slogdet = log_matrix_determinant
triangular_solve = matrix_triangular_solve
matmul = math_ops.matmul
tensordot = math_ops.tensordot
diag = array_ops.matrix_diag
diag_part = array_ops.matrix_diag_part
set_diag = array_ops.matrix_set_diag
transpose = matrix_transpose
