"""Array ops (TF1 `array_ops`): shapes, reordering, joining, slicing, gathering, padding,
creation and selection.

The ops live in one module per family; this module gathers their public names (and the few
helpers other modules use) under TF's module name:

- array_shape_ops: Identity, Shape, Size, Rank, Reshape, ExpandDims, Squeeze, BroadcastTo...
- array_reorder_ops: Transpose, InvertPermutation, ReverseV2, ReverseSequence
- array_join_ops: ConcatV2, Split, SplitV, Pack (stack), Unpack (unstack)
- array_slice_ops: Slice, StridedSlice, `Tensor.__getitem__`
- array_gather_ops: GatherV2, GatherNd, ScatterNd, TensorScatterUpdate/Add/Sub
- array_pad_ops: Tile, Pad, PadV2, MirrorPad
- array_creation_ops: Fill, zeros/ones, eye and diagonals, Range, LinSpace, OneHot, meshgrid
- array_select_ops: Where, Select, boolean_mask, Unique

Every op is one registry record (shape function, numpy kernel, gradient, sharding tag) next
to its TF1-named Python wrapper, registered once when its module is first imported.
"""
from .array_helpers import _as_index_list, _invalid, _kernel_axis  # noqa: F401
from .array_shape_ops import (  # noqa: F401
    broadcast_dynamic_shape, broadcast_static_shape, broadcast_to, ensure_shape, expand_dims,
    identity, identity_n, rank, reshape, shape, shape_internal, shape_n, size, squeeze,
    stop_gradient)
from .array_reorder_ops import (  # noqa: F401
    invert_permutation, matrix_transpose, reverse, reverse_sequence, reverse_v2, transpose)
from .array_join_ops import (  # noqa: F401
    _autopacking, _split_v_sizes, concat, parallel_stack, split, stack, unstack)
from .array_slice_ops import (  # noqa: F401
    _numpy_index, _strided_slice_plan, newaxis, slice, strided_slice, strided_slice_grad)
from .array_gather_ops import (  # noqa: F401
    batch_gather, gather, gather_nd, scatter_nd, tensor_scatter_add, tensor_scatter_nd_add,
    tensor_scatter_nd_sub, tensor_scatter_nd_update, tensor_scatter_sub, tensor_scatter_update)
from .array_pad_ops import (  # noqa: F401
    _mirror_pad_grad_op, pad, tile)
from .array_creation_ops import (  # noqa: F401
    diag, diag_part, eye, fill, lin_space, linspace, matrix_diag, matrix_diag_part,
    matrix_set_diag, meshgrid, one_hot, ones, ones_like, range, sequence_mask, zeros, zeros_like)
from .array_select_ops import (  # noqa: F401
    boolean_mask, unique, UniqueOutput, where, where_v2)
