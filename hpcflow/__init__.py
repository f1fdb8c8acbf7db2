"""hpcflow: TensorFlow 1.x graph mode (`tf.compat.v1`) rebuilt as an MPI batch runtime.

Use it as TensorFlow: `import hpcflow as tf`.
"""
from .framework import dtypes as _dtypes
from .framework import errors
from .framework.dtypes import (DType, as_dtype, bool, complex64, complex128, double, float16,  # noqa: A004
                               float32, float64, half, int8, int16, int32, int64, string, uint8,
                               uint16, uint32, uint64, variant)
from .framework.device import DeviceSpec
from .framework.graph import (Graph, GraphKeys, Operation, Tensor, add_to_collection,
                              add_to_collections, colocate_with, control_dependencies, device,
                              get_collection, get_collection_ref, get_default_graph, name_scope,
                              reset_default_graph)
from .framework.tensor_conversion import convert_to_tensor, register_tensor_conversion_function
from .framework.tensor_shape import Dimension, TensorShape
from .ops.constant_op import constant, placeholder, placeholder_with_default
from .runtime.config import (ConfigProto, GPUOptions, GraphOptions, RunMetadata, RunOptions)
from .runtime.session import InteractiveSession, Session, get_default_session

__version__ = "0.1.0"

from . import testing as test  # noqa: E402
from .autodiff import NoGradient, NotDifferentiable, RegisterGradient, gradients, hessians  # noqa: E402
from .framework.indexed_slices import IndexedSlices  # noqa: E402
from .framework.graph_io import GraphDef, import_graph_def  # noqa: E402
from .ops import transfer_ops as _transfer_ops  # noqa: E402,F401 - registers _Send/_Recv
from .ops import math_ops as _math_ops  # noqa: E402,F401 - temporary until the namespace lands
from .distributed import dp_ops as _dp_ops  # noqa: E402,F401 - registers the data-parallel ops
# Every rank must know every op type: import all op families (temporary list, see namespace).
from .ops import (array_ops as _a, nn_ops as _n, state_ops as _s, variables as _v,  # noqa: E402,F401
                  random_ops as _r, training_ops as _t, segment_ops as _seg,
                  control_flow_ops as _cf, data_flow_ops as _df, logging_ops as _lo,
                  check_ops as _ch, script_ops as _sc, linalg_ops as _li)
