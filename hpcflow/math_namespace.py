"""`tf.math`: the math ops under their TF 1.15 `tf.math.*` names."""
from .ops.math_ops import (  # noqa: F401,A004
    abs, acos, acosh, add, add_n, argmax, argmin, asin, asinh, atan, atan2, atanh, ceil, conj, cos,
    cosh, count_nonzero, cumprod, cumsum, divide, div_no_nan, equal, erf, erfc,
    exp, expm1, floor, floordiv, floormod, greater, greater_equal, is_finite, is_inf, is_nan,
    less, less_equal, log, log1p, logical_and, logical_not, logical_or, logical_xor, maximum,
    minimum, multiply, negative, not_equal, pow, real, reciprocal, reduce_all, reduce_any,
    reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum,
    reduce_variance, rint, round, rsqrt, sigmoid, sign, sin, sinh, sqrt, square,
    squared_difference, subtract, tan, tanh, truediv, truncatediv, truncatemod)
from .ops.math_ops import floormod as mod  # noqa: F401
from .ops.segment_ops import unsorted_segment_sum  # noqa: F401
from .ops.nn_ops import l2_normalize, softplus, top_k, in_top_k  # noqa: F401
from .ops.nn_ops import log_softmax, softmax  # noqa: F401
