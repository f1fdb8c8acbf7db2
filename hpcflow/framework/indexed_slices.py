"""IndexedSlices: a sparse gradient (rows `indices` of a dense tensor, holding `values`).

The gradient of `gather`/`embedding_lookup` w.r.t. its params is one: optimizers apply it
to the touched rows only, so a 1M-row embedding is never densified on a training step.
"""
import collections

from .tensor_conversion import register_tensor_conversion_function

IndexedSlicesValue = collections.namedtuple("IndexedSlicesValue",
                                            ["values", "indices", "dense_shape"])


class IndexedSlices:
    """`dense[indices[i]] += values[i]` for each i; `dense_shape` is the full shape (a Tensor)."""

    def __init__(self, values, indices, dense_shape=None):
        self._values = values
        self._indices = indices
        self._dense_shape = dense_shape

    @property
    def values(self):
        return self._values

    @property
    def indices(self):
        return self._indices

    @property
    def dense_shape(self):
        return self._dense_shape

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def name(self):
        return self._values.name

    @property
    def op(self):
        return self._values.op

    @property
    def graph(self):
        return self._values.graph

    @property
    def device(self):
        return self._values.device

    @property
    def shape(self):
        from .tensor_util import constant_value_as_shape
        if self._dense_shape is None:
            return self._values.shape[:1].concatenate(self._values.shape[1:]) \
                if self._values.shape.ndims else self._values.shape
        return constant_value_as_shape(self._dense_shape)

    def get_shape(self):
        return self.shape

    def _fetch_components(self):
        tensors = [self._values, self._indices]
        if self._dense_shape is not None:
            tensors.append(self._dense_shape)

        def rebuild(values):
            return IndexedSlicesValue(values[0], values[1],
                                      values[2] if len(values) > 2 else None)
        return tensors, rebuild

    def __repr__(self):
        return "IndexedSlices(indices=%s, values=%s%s)" % (
            self._indices, self._values,
            "" if self._dense_shape is None else ", dense_shape=%s" % self._dense_shape)


def to_dense(slices, name=None):
    """The dense Tensor an IndexedSlices stands for (duplicate indices summed)."""
    from ..ops import segment_ops
    if slices.dense_shape is None:
        raise ValueError("Cannot densify IndexedSlices %s without a dense_shape." % slices.name)
    from ..ops import array_ops
    num_rows = array_ops.gather(slices.dense_shape, 0)
    return segment_ops.unsorted_segment_sum(slices.values, slices.indices, num_rows,
                                            name=name or "IndexedSlicesToDense")


def _convert(value, dtype=None, name=None, as_ref=False):
    return to_dense(value, name=name)


register_tensor_conversion_function(IndexedSlices, _convert)
