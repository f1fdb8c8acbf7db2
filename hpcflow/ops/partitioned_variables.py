"""Partitioned (sharded) variables: partitioners and the PartitionedVariable container.

`get_variable(name, shape, partitioner=p)` splits a large variable (an embedding table)
into shards `name/part_0`, `name/part_1`..., along one axis. When the size does not divide
evenly, the first shards get one extra row, as TF does. Each shard is an ordinary Variable
that a device function (replica_device_setter) can place on its own parameter server;
`embedding_lookup` gathers from the shards directly, and the container converts to the
concatenated Tensor wherever a whole Tensor is needed.
"""
import collections.abc
import math

from ..framework import dtypes
from ..framework.graph import get_default_graph
from ..framework.tensor_conversion import register_tensor_conversion_function
from ..framework.tensor_shape import TensorShape, as_shape


class _PartitionInfo:
    """Where a shard sits in the full variable: passed to initializers as `partition_info`.

    Raises:
      TypeError: if `full_shape` or `var_offset` is not a sequence.
      ValueError: if their lengths differ or an offset is outside the shape.
    """

    def __init__(self, full_shape, var_offset):
        for value, what in ((full_shape, "full_shape"), (var_offset, "var_offset")):
            if not isinstance(value, collections.abc.Sequence) or isinstance(value, str):
                raise TypeError("`%s` must be a sequence (like tuple or list) instead of %s"
                                % (what, type(value).__name__))
        if len(var_offset) != len(full_shape):
            raise ValueError("Expected equal length, but `var_offset` is of length %d while "
                             "full_shape is of length %d." % (len(var_offset), len(full_shape)))
        for offset, size in zip(var_offset, full_shape):
            if offset < 0 or offset >= size:
                raise ValueError("Expected 0 <= offset < shape but found offset=%d, shape=%d for "
                                 "var_offset=%s, full_shape=%s" % (offset, size, var_offset,
                                                                   full_shape))
        self._full_shape = list(full_shape)
        self._var_offset = list(var_offset)

    @property
    def full_shape(self):
        return self._full_shape

    @property
    def var_offset(self):
        return self._var_offset

    def single_offset(self, shape):
        """The offset along the (single) partitioned dimension, 0 if unpartitioned."""
        dim = self.single_slice_dim(shape)
        return 0 if dim is None else self._var_offset[dim]

    def single_slice_dim(self, shape):
        """The dimension along which a shard of `shape` is cut, or None.

        Raises:
          ValueError: if `shape` does not fit, or is cut along more than one dimension.
        """
        shape = list(shape)
        if len(shape) != len(self._full_shape):
            raise ValueError("Expected equal length, but received shape=%s of length %d while "
                             "self.full_shape=%s is of length %d." % (
                                 shape, len(shape), self._full_shape, len(self._full_shape)))
        for i, size in enumerate(shape):
            if self._var_offset[i] + size > self._full_shape[i]:
                raise ValueError("With self.var_offset=%s, a partition of shape=%s would exceed "
                                 "self.full_shape=%s in dimension %d." % (
                                     self._var_offset, shape, self._full_shape, i))
        slice_dim = None
        for i, size in enumerate(shape):
            if size == self._full_shape[i]:
                continue
            if slice_dim is not None:
                raise ValueError("Cannot use single_slice_dim() with shape=%s and "
                                 "self.full_shape=%s since slice dim could be either dimension "
                                 "%d or %d." % (shape, self._full_shape, i, slice_dim))
            slice_dim = i
        return slice_dim


def _iter_slices(full_shape, num_slices, slice_dim):
    """(offset, shape) of each shard: the first `size % num_slices` shards get one more row."""
    with_extra = full_shape[slice_dim] % num_slices
    base = full_shape[slice_dim] // num_slices
    offset = [0] * len(full_shape)
    for i in range(num_slices):
        shape = list(full_shape)
        shape[slice_dim] = base + (1 if i < with_extra else 0)
        yield list(offset), shape
        offset[slice_dim] += shape[slice_dim]


def _call_partitioner(partitioner, shape, dtype):
    """The partitioner's answer for `shape`, validated: >= 1 everywhere, > 1 on one axis.

    Raises:
      ValueError: for a partially known shape, a scalar, or a malformed answer.
    """
    if not shape.is_fully_defined():
        raise ValueError("Shape of a new partitioned variable must be fully defined, but "
                         "instead was %s." % (shape,))
    if shape.ndims < 1:
        raise ValueError("A partitioned Variable must have rank at least 1, shape: %s" % shape)
    slicing = partitioner(shape=shape, dtype=dtype)
    if not isinstance(slicing, collections.abc.Sequence):
        raise ValueError("Partitioner must return a sequence, but saw: %s" % (slicing,))
    if len(slicing) != shape.ndims:
        raise ValueError("Partitioner returned a partition list that does not match the "
                         "Variable's rank: %s vs. %s" % (slicing, shape))
    if any(p < 1 for p in slicing):
        raise ValueError("Partitioner returned zero partitions for some axes: %s" % (slicing,))
    if sum(p > 1 for p in slicing) > 1:
        raise ValueError("Can only slice a variable along one dimension: shape: %s, "
                         "partitioning: %s" % (shape, slicing))
    return list(slicing)


def _slice_dim_and_num_slices(slicing):
    for dim, num in enumerate(slicing):
        if num > 1:
            return dim, num
    return 0, 1


# -- partitioners --------------------------------------------------------------------------------

def fixed_size_partitioner(num_shards, axis=0):
    """A partitioner cutting `axis` into `num_shards` shards (fewer if the axis is shorter).

    Returns:
      A function `(shape, dtype) -> partitions` for `get_variable(partitioner=...)`.
    """
    def _partitioner(shape, **unused_args):
        partitions = [1] * len(shape)
        partitions[axis] = min(num_shards, shape[axis])
        return partitions
    return _partitioner


def variable_axis_size_partitioner(max_shard_bytes, axis=0, bytes_per_string_element=16,
                                   max_shards=None):
    """A partitioner keeping each shard under `max_shard_bytes` (at least one slice each).

    Raises:
      ValueError: if a byte count or `max_shards` is not positive.
    """
    if max_shard_bytes < 1 or bytes_per_string_element < 1:
        raise ValueError("Both max_shard_bytes and bytes_per_string_element must be positive.")
    if max_shards and max_shards < 1:
        raise ValueError("max_shards must be positive.")

    def _partitioner(shape, dtype):
        if not isinstance(shape, TensorShape):
            raise ValueError("shape is not a TensorShape: %s" % (shape,))
        if not shape.is_fully_defined():
            raise ValueError("shape is not fully defined: %s" % shape)
        dtype = dtypes.as_dtype(dtype)
        element_size = bytes_per_string_element if dtype == dtypes.string else dtype.size
        partitions = [1] * shape.ndims
        bytes_per_slice = 1.0 * (shape.num_elements() / shape[axis]) * element_size
        slices_per_shard = max(1, math.floor(max_shard_bytes / bytes_per_slice))
        axis_shards = int(math.ceil(1.0 * shape[axis] / slices_per_shard))
        if max_shards:
            axis_shards = min(max_shards, axis_shards)
        partitions[axis] = axis_shards
        return partitions
    return _partitioner


def min_max_variable_partitioner(max_partitions=1, axis=0, min_slice_size=256 << 10,
                                 bytes_per_string_element=16):
    """A partitioner giving each shard at least `min_slice_size` bytes, at most
    `max_partitions` shards.

    Raises (when called):
      ValueError: if the variable has no axis `axis`.
    """
    def _partitioner(shape, dtype):
        if axis >= len(shape):
            raise ValueError("Can not partition variable along axis %d when shape is only %s"
                             % (axis, shape))
        dtype = dtypes.as_dtype(dtype)
        element_size = bytes_per_string_element if dtype == dtypes.string else dtype.size
        total_bytes = shape.num_elements() * element_size
        partitions = [1] * len(shape)
        partitions[axis] = max(1, min(shape[axis], max_partitions,
                                      int(math.ceil(total_bytes / min_slice_size))))
        return partitions
    return _partitioner


# -- the container ------------------------------------------------------------------------------

class PartitionedVariable:
    """A variable stored as shards along one axis; iterable over its shard Variables.

    Converts to the concatenation of its shards wherever a Tensor is expected.

    Raises:
      TypeError: if `variable_list` is not a non-empty list of Variables.
      ValueError: if `partitions` does not match the shape or the number of shards.
    """

    def __init__(self, name, shape, dtype, variable_list, partitions):
        from .variables import Variable
        if not isinstance(variable_list, (list, tuple)) or not variable_list:
            raise TypeError("variable_list is not a non-empty list or tuple: %s"
                            % (variable_list,))
        if not all(isinstance(v, Variable) for v in variable_list):
            raise TypeError("Not all entries in variable_list are variables: %s"
                            % (variable_list,))
        if not isinstance(partitions, (list, tuple)):
            raise TypeError("partitions is not a list or tuple: %s" % (partitions,))
        shape = as_shape(shape)
        if len(partitions) != shape.ndims:
            raise ValueError("len(partitions) != rank of shape: %s vs. %s" % (partitions, shape))
        if not all(p >= 1 for p in partitions):
            raise ValueError("partitions is not all >= 1: %s" % (partitions,))
        num = 1
        for p in partitions:
            num *= p
        if num != len(variable_list):
            raise ValueError("product of partitions (%s) != number of shards (%d)"
                             % (partitions, len(variable_list)))
        self._name = name
        self._shape = shape
        self._dtype = dtypes.as_dtype(dtype)
        self._variable_list = sorted(variable_list, key=lambda v: v._get_save_slice_info()
                                     .var_offset if v._get_save_slice_info() else [0])
        self._partitions = list(partitions)
        self._as_tensor = None

    def __iter__(self):
        return iter(self._variable_list)

    def __len__(self):
        axes = self._partition_axes()
        if len(axes) > 1:
            raise ValueError("Cannot get a length for %d > 1 partition axes" % len(axes))
        return len(self._variable_list)

    def _partition_axes(self):
        if all(p == 1 for p in self._partitions):
            return [0]
        return [i for i, p in enumerate(self._partitions) if p > 1]

    def _concat(self):
        from . import array_ops
        graph = self._variable_list[0].graph
        if len(self._variable_list) == 1:
            with graph.name_scope(None):
                return array_ops.identity(self._variable_list[0], name=self._name)
        axes = self._partition_axes()
        if len(axes) > 1:
            raise NotImplementedError("Cannot concatenate along more than one dimension: %s. "
                                      "Multi-axis partition concat is not supported" % axes)
        with graph.name_scope(self._name + "/ConcatPartitions/"):
            concatenated = array_ops.concat(self._variable_list, axes[0])
        with graph.name_scope(None):
            return array_ops.identity(concatenated, name=self._name)

    def as_tensor(self):
        """The shards concatenated into one Tensor (built with no control dependencies)."""
        with get_default_graph().control_dependencies(None):
            return self._concat()

    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    @property
    def graph(self):
        return self._variable_list[0].graph

    def _get_variable_list(self):
        return self._variable_list

    def _get_partitions(self):
        return self._partitions

    def _apply_assign_fn(self, assign_fn, value):
        from . import array_ops
        axes = self._partition_axes()
        if len(axes) > 1:
            raise NotImplementedError("Cannot do assign action along more than one dimension: "
                                      "%s. Multi-axis partition assign action is not supported"
                                      % axes)
        if isinstance(value, list):
            if len(value) != len(self._variable_list):
                raise ValueError("Assigning %d values to a variable of %d shards"
                                 % (len(value), len(self._variable_list)))
            parts = value
        elif isinstance(value, PartitionedVariable):
            parts = list(value)
        else:
            sizes = [v.shape[axes[0]] for v in self._variable_list]
            parts = array_ops.split(value, sizes, axis=axes[0])
        return [assign_fn(var, parts[i]) for i, var in enumerate(self._variable_list)]

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Assigns `value` (split along the partition axis); returns the shards' new values."""
        return self._apply_assign_fn(
            lambda var, part: var.assign(part, use_locking=use_locking, name=name,
                                         read_value=read_value), value)

    def assign_add(self, value, use_locking=False, name=None, read_value=True):
        return self._apply_assign_fn(
            lambda var, part: var.assign_add(part, use_locking=use_locking, name=name,
                                             read_value=read_value), value)

    def assign_sub(self, value, use_locking=False, name=None, read_value=True):
        return self._apply_assign_fn(
            lambda var, part: var.assign_sub(part, use_locking=use_locking, name=name,
                                             read_value=read_value), value)

    def __repr__(self):
        return "<PartitionedVariable '%s' shape=%s dtype=%s shards=%d>" % (
            self._name, self._shape, self._dtype.name, len(self._variable_list))


def _partitioned_to_tensor(value, dtype=None, name=None, as_ref=False):
    if as_ref:
        raise NotImplementedError("PartitionedVariable doesn't support being used as a "
                                  "reference.")
    return value.as_tensor()


register_tensor_conversion_function(PartitionedVariable, _partitioned_to_tensor)


def create_partitioned_variables(shape, slicing, initializer, dtype=dtypes.float32,
                                 trainable=True, collections=None, name=None, reuse=None):
    """Deprecated TF1 API: the list of shard Variables of a partitioned variable.

    Args:
      shape: the full shape (list of ints).
      slicing: number of shards per dimension (only one entry may exceed 1).
      initializer: a Tensor of shape `shape`, or an initializer called per shard.
      dtype, trainable, collections: as `get_variable`.
      name: the full variable's name (default "PartitionedVariable", made unique).
      reuse: as `variable_scope`.

    Returns:
      A list of Variables.

    Raises:
      ValueError: if `shape` and `slicing` differ in length or `shape` is a scalar.
    """
    from . import variable_scope
    if len(shape) != len(slicing):
        raise ValueError("The 'shape' and 'slicing' of a partitioned Variable must have the "
                         "length: shape: %s, slicing: %s" % (shape, slicing))
    if len(shape) < 1:
        raise ValueError("A partitioned Variable must have rank at least 1: shape: %s" % shape)
    partitioner = lambda **unused_kwargs: slicing  # noqa: E731 - the legacy API's fixed answer
    with variable_scope.variable_scope(name, "PartitionedVariable", reuse=reuse):
        return list(variable_scope._get_partitioned_variable(
            name=None, shape=shape, dtype=dtype, initializer=initializer, trainable=trainable,
            partitioner=partitioner, collections=collections))
