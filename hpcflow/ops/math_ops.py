"""TF1 math ops: element-wise arithmetic, comparisons, casts, reductions, matmul, operators.

The ops live in one module per family; this module gathers their public names (and the few
helpers other modules use) under TF's module name, and importing it installs the
arithmetic, comparison and logical operators on `Tensor` (math_operators):

- math_broadcast_ops: broadcast shapes, BroadcastGradientArgs
- math_binary_ops: element-wise arithmetic, comparisons and logical ops
- math_unary_ops: element-wise functions (neg, exp, log, trigonometry, rounding...)
- math_cast_ops: Cast, saturate_cast, scalar_mul, clip_by_value
- math_reduction_ops: AddN, reduce_*, ArgMax/ArgMin, Cumsum/Cumprod
- math_matmul_ops: MatMul, BatchMatMulV2, tensordot

Every op is one registry record (shape function, numpy kernel, gradient, sharding rule) next
to its TF1-named wrapper, registered once when its module is first imported. Wrappers
reproduce TF1's default op names and name scopes: `tf.add` makes op "Add" (type AddV2),
`a + b` makes "add", `a / b` makes "truediv", and Python operands are converted inside the
op's scope ("add/y").

Complex dtypes are refused (TypeError at build time) rather than half supported: TF's
complex gradients need conjugation rules that these gradients do not implement.
"""
from .math_helpers import (  # noqa: F401,A004
    _apply, _check_dtype, _dense_grad, _FLOATS, _INDEX, _op_scope)
from .math_broadcast_ops import (  # noqa: F401,A004
    _reduce_to_shape, broadcast_gradient_args, broadcast_static_shape)
from .math_binary_ops import (  # noqa: F401,A004
    add, atan2, div, div_no_nan, divide, equal, floordiv, floormod, greater, greater_equal, less,
    less_equal, logical_and, logical_or, logical_xor, maximum, minimum, mod, multiply, not_equal,
    pow, realdiv, squared_difference, subtract, truediv, truncatediv, truncatemod)
from .math_unary_ops import (  # noqa: F401,A004
    abs, acos, acosh, asin, asinh, atan, atanh, ceil, conj, cos, cosh, erf, erfc, exp, expm1,
    floor, is_finite, is_inf, is_nan, log, log1p, logical_not, negative, real, reciprocal, rint,
    round, rsqrt, sigmoid, sign, sin, sinh, sqrt, square, tan, tanh)
from .math_cast_ops import (  # noqa: F401,A004
    cast, clip_by_value, saturate_cast, scalar_mul, to_double, to_float, to_int32, to_int64)
from .math_reduction_ops import (  # noqa: F401,A004
    _deprecated_lookup, accumulate_n, add_n, argmax, argmin, count_nonzero, cumprod, cumsum,
    reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod,
    reduce_std, reduce_sum, reduce_variance, reduced_shape)
from .math_matmul_ops import (  # noqa: F401,A004
    _convert_pair, matmul, tensordot)
from . import math_operators  # noqa: F401 - installs the operators on Tensor
