"""`tf.debugging`: run-time assertions and numeric checks (the TF1 names)."""
from .ops.check_ops import (Assert, assert_all_finite, assert_equal, assert_greater,  # noqa: F401
                            assert_greater_equal, assert_integer, assert_less, assert_less_equal,
                            assert_near, assert_negative, assert_non_negative,
                            assert_non_positive, assert_none_equal, assert_positive,
                            assert_proper_iterable, assert_rank, assert_rank_at_least,
                            assert_same_float_dtype, assert_scalar, assert_type, check_numerics,
                            is_non_decreasing, is_numeric_tensor, is_strictly_increasing)
from .ops.math_ops import is_finite, is_inf, is_nan  # noqa: F401

__all__ = [
    "Assert", "assert_all_finite", "assert_equal", "assert_greater", "assert_greater_equal",
    "assert_integer", "assert_less", "assert_less_equal", "assert_near", "assert_negative",
    "assert_non_negative", "assert_non_positive", "assert_none_equal", "assert_positive",
    "assert_proper_iterable", "assert_rank", "assert_rank_at_least", "assert_same_float_dtype",
    "assert_scalar", "assert_type", "check_numerics", "is_finite", "is_inf", "is_nan",
    "is_non_decreasing", "is_numeric_tensor", "is_strictly_increasing",
]
