"""hpcflow: TensorFlow 1.x graph mode (`tf.compat.v1`) rebuilt as an MPI batch runtime.

Use it as TensorFlow: `import hpcflow as tf`. The names below are TF1's; every ops module is
imported here so that every MPI rank knows every op type a serialized graph can name.
"""
import sys as _sys

# Before anything imports numpy (and so loads OpenBLAS): see _openblas_env.
from . import _openblas_env
_openblas_env.shorten_openblas_thread_spin()

from .framework import dtypes  # noqa: F401
from .framework import errors  # noqa: F401
from .framework.device import DeviceSpec  # noqa: F401
from .framework.dtypes import (DType, as_dtype, bool, complex64, complex128, double,  # noqa: F401,A004
                               float16, float32, float64, half, int8, int16, int32, int64, string,
                               uint8, uint16, uint32, uint64, variant)
from .framework.graph import (Graph, GraphKeys, Operation, Tensor, add_to_collection,  # noqa: F401
                              add_to_collections, colocate_with, control_dependencies, device,
                              get_collection, get_collection_ref, get_default_graph, name_scope,
                              reset_default_graph)
from .framework.graph_io import GraphDef, import_graph_def  # noqa: F401
from .framework.indexed_slices import IndexedSlices, IndexedSlicesValue  # noqa: F401
from .framework.registry import register_op  # noqa: F401 - the extension API
from .framework.tensor_conversion import (convert_to_tensor,  # noqa: F401
                                          register_tensor_conversion_function)
from .framework.tensor_shape import Dimension, TensorShape  # noqa: F401
from .framework.tensor_util import constant_value as _constant_value
from .runtime.config import (ConfigProto, GPUOptions, GraphOptions, RunMetadata,  # noqa: F401
                             RunOptions)
from .runtime.session import InteractiveSession, Session, get_default_session  # noqa: F401

from .autodiff import (NoGradient, NotDifferentiable, RegisterGradient, gradients,  # noqa: F401
                       hessians)

from .ops.constant_op import constant, placeholder, placeholder_with_default  # noqa: F401
from .ops.math_ops import (  # noqa: F401,A004
    abs, accumulate_n, acos, acosh, add, add_n, argmax, argmin, asin, asinh, atan, atan2, atanh,
    broadcast_static_shape, cast, ceil, clip_by_value, conj, cos, cosh, count_nonzero, cumprod,
    cumsum, div, div_no_nan, divide, equal, erf, erfc, exp, expm1, floor, floordiv, floormod,
    greater, greater_equal, is_finite, is_inf, is_nan, less, less_equal, log, log1p,
    logical_and, logical_not, logical_or, logical_xor, matmul, maximum, minimum, mod, multiply,
    negative, not_equal, pow, real, realdiv, reciprocal, reduce_all, reduce_any,
    reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum,
    reduce_variance, rint, round, rsqrt, saturate_cast, scalar_mul, sigmoid, sign, sin, sinh,
    sqrt, square, squared_difference, subtract, tan, tanh, tensordot, to_double, to_float,
    to_int32, to_int64, truediv, truncatediv, truncatemod)
from .ops.array_ops import (  # noqa: F401,A004
    batch_gather, boolean_mask, broadcast_dynamic_shape, broadcast_to, concat, diag, diag_part,
    ensure_shape, expand_dims, eye, fill, gather, gather_nd, identity, identity_n,
    invert_permutation, lin_space, linspace, matrix_diag, matrix_diag_part, matrix_set_diag,
    matrix_transpose, meshgrid, one_hot, ones, ones_like, pad, parallel_stack, range, rank,
    reshape, reverse, reverse_sequence, reverse_v2, scatter_nd, sequence_mask, shape, shape_n,
    size, slice, split, squeeze, stack, stop_gradient, strided_slice, tensor_scatter_add,
    tensor_scatter_nd_add, tensor_scatter_nd_sub, tensor_scatter_nd_update, tensor_scatter_sub,
    tensor_scatter_update, tile, transpose, unique, unstack, where, where_v2, zeros, zeros_like)
from .ops.linalg_ops import (cholesky, cholesky_solve, log_matrix_determinant,  # noqa: F401
                             matrix_band_part, matrix_determinant, matrix_inverse, matrix_solve,
                             matrix_triangular_solve, norm, trace)
from .ops.segment_ops import unsorted_segment_sum  # noqa: F401
from .ops.clip_ops import (clip_by_average_norm, clip_by_global_norm, clip_by_norm,  # noqa: F401
                           global_norm)
from .ops.state_ops import (assign, assign_add, assign_sub, count_up_to,  # noqa: F401
                            is_variable_initialized, scatter_add, scatter_div, scatter_max,
                            scatter_min, scatter_mul, scatter_nd_add, scatter_nd_sub,
                            scatter_nd_update, scatter_sub, scatter_update)
from .ops.variables import (Variable, VariableAggregation, VariableSynchronization,  # noqa: F401
                            all_variables, assert_variables_initialized, global_variables,
                            global_variables_initializer, initialize_all_variables,
                            initialize_local_variables, initialize_variables, local_variables,
                            local_variables_initializer, model_variables,
                            moving_average_variables, report_uninitialized_variables,
                            trainable_variables, variables_initializer)
from .ops.variable_scope import (AUTO_REUSE, VariableScope, get_local_variable,  # noqa: F401
                                 get_variable, get_variable_scope, no_regularizer,
                                 variable_op_scope, variable_scope)
from .ops.init_ops import (constant_initializer, glorot_normal_initializer,  # noqa: F401
                           glorot_uniform_initializer, identity_initializer, ones_initializer,
                           orthogonal_initializer, random_normal_initializer,
                           random_uniform_initializer, truncated_normal_initializer,
                           uniform_unit_scaling_initializer, variance_scaling_initializer,
                           zeros_initializer)
from .ops.random_ops import (multinomial, random_gamma, random_normal,  # noqa: F401
                             random_poisson, random_shuffle, random_uniform, set_random_seed,
                             truncated_normal)
from .ops.partitioned_variables import (PartitionedVariable,  # noqa: F401
                                        create_partitioned_variables, fixed_size_partitioner,
                                        min_max_variable_partitioner,
                                        variable_axis_size_partitioner)
from .ops.control_flow_ops import (case, cond, group, map_fn, no_op, tuple,  # noqa: F401,A004
                                   while_loop, with_dependencies)
from .ops.data_flow_ops import (FIFOQueue, PaddingFIFOQueue, QueueBase,  # noqa: F401
                                RandomShuffleQueue)
from .ops.logging_ops import Print, print_v2 as print, string_format  # noqa: F401,A004
from .ops.check_ops import (Assert, assert_equal, assert_greater,  # noqa: F401
                            assert_greater_equal, assert_integer, assert_less, assert_less_equal,
                            assert_negative, assert_non_negative, assert_non_positive,
                            assert_none_equal, assert_positive, assert_proper_iterable,
                            assert_rank, assert_rank_at_least, assert_scalar, assert_type,
                            check_numerics, is_non_decreasing, is_numeric_tensor,
                            is_strictly_increasing, verify_tensor_all_finite)
from .ops.script_ops import numpy_function, py_func  # noqa: F401
from .ops.nn_ops import dynamic_partition, dynamic_stitch  # noqa: F401
from .ops import init_ops as initializers  # noqa: F401 - tf.initializers.zeros() etc.
from .ops import (segment_ops as _segment_ops, training_ops as _training_ops,  # noqa: F401
                  transfer_ops as _transfer_ops)
from .distributed import dp_ops as _dp_ops  # noqa: F401 - data-parallel rewrite ops
from .backends import cython_backend as _cython_backend  # noqa: F401 - compiled CPU kernels

from . import data, debugging, nn, summary, timeline, train  # noqa: F401,E402
from . import testing as test  # noqa: F401,E402
from . import math_namespace as math  # noqa: F401,E402
from . import random_namespace as random  # noqa: F401,E402
from . import linalg_namespace as linalg  # noqa: F401,E402
from . import mpi  # noqa: F401,E402

newaxis = None
get_static_value = _constant_value


class _Compat:
    """`tf.compat.v1` is this module itself: `import hpcflow as tf` replaces it directly."""

    @property
    def v1(self):
        return _sys.modules[__name__]

    def as_bytes(self, value, encoding="utf-8"):
        return value if isinstance(value, bytes) else value.encode(encoding)

    def as_text(self, value, encoding="utf-8"):
        return value.decode(encoding) if isinstance(value, bytes) else value


compat = _Compat()


def __getattr__(name):
    # tf.Summary, tf.Event...: TensorBoard's protos, loaded on first use (as tf.summary's).
    if name in ("Summary", "SummaryMetadata", "HistogramProto", "Event", "SessionLog"):
        return getattr(summary, name)
    raise AttributeError("module 'hpcflow' has no attribute %r" % name)


def disable_eager_execution():
    """Accepted for compatibility: hpcflow is always in graph mode."""


def disable_v2_behavior():
    """Accepted for compatibility: hpcflow always behaves as TF1."""


def executing_eagerly():
    return False


__version__ = "0.1.0"
VERSION = __version__
