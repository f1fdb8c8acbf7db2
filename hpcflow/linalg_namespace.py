"""`tf.linalg`: linear algebra under its `tf.linalg.*` names."""
from .ops.array_ops import eye, matrix_transpose as transpose  # noqa: F401
from .ops.linalg_ops import (adjoint, band_part, cholesky, cholesky_solve, det, inv,  # noqa: F401
                             logdet, norm, slogdet, solve, trace, triangular_solve)
from .ops.math_ops import matmul, tensordot  # noqa: F401
