"""Summary ops: graph ops whose output is a serialized TensorBoard `Summary` (a string).

`tf.summary.scalar`, `histogram`, `image`, `text`, `merge` and `merge_all` as in TF1: tags
follow the name scope (and `family`), summaries join the SUMMARIES collection, and the
kernels compute what TF1's do (see encoding.py). In a data-parallel job the inputs of a
summary are combined first (a batch mean is all-reduced, batch rows gathered), so every
rank computes the same summary and the one fetched on rank 0 is the one-process value.
"""
import re

import numpy as np

from ..framework import dtypes, errors, registry
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape
from ..ops.op_helpers import apply_op
from . import encoding, protos

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def clean_tag(name):
    """`name` with characters TensorBoard tags cannot hold replaced by '_' (TF1's rule)."""
    if name is None:
        return None
    cleaned = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
    return cleaned


class _SummaryScope:
    """TF1's summary_scope: opens the name scope and yields (tag, scope)."""

    def __init__(self, name, family, values):
        name = clean_tag(name)
        family = clean_tag(family)
        if not name:
            raise ValueError("A summary needs a non-empty name, got %r" % (name,))
        self._family = family
        self._scope = name_scope(name if family is None else "%s/%s" % (family, name),
                                 values=values)

    def __enter__(self):
        scope = self._scope.__enter__()
        tag = scope.rstrip("/")
        if self._family is not None:
            tag = "%s/%s" % (self._family, tag)  # so TensorBoard shows it in the family's tab
        return tag, scope

    def __exit__(self, *exc_info):
        return self._scope.__exit__(*exc_info)


def _string_scalar(op):
    return [(TensorShape([]), dtypes.string)]


def _serialized(summary):
    return np.array(summary.SerializeToString(), dtype=object)


def _collect(tensor, collections):
    for key in (collections if collections is not None else [GraphKeys.SUMMARIES]):
        tensor.graph.add_to_collection(key, tensor)


# -- scalar ------------------------------------------------------------------------------------

def _scalar_shape(op):
    values = op.inputs[0]
    if values.shape.ndims not in (None, 0):
        raise ValueError("tf.summary.scalar needs a scalar, got shape %s" % values.shape)
    if not (values.dtype.is_floating or values.dtype.is_integer or values.dtype == dtypes.bool):
        raise TypeError("tf.summary.scalar needs a real number, got dtype %s" % values.dtype.name)
    return _string_scalar(op)


def _scalar_kernel(values, *, tag):
    if np.ndim(values) != 0:
        raise errors.InvalidArgumentError(
            None, None, "tags and values not the same shape: [] != %s (tag '%s')"
            % (list(np.shape(values)), tag))
    pb = protos.summary_pb2()
    return _serialized(pb.Summary(value=[pb.Summary.Value(tag=tag, simple_value=float(values))]))


registry.register_op("ScalarSummary", shape=_scalar_shape, numpy=_scalar_kernel)


def scalar(name, tensor, collections=None, family=None):
    """A summary holding one real number (TF1 `tf.summary.scalar`).

    Args:
      name: the summary's name; its tag is the name scope plus `name`.
      tensor: a real numeric scalar.
      collections: graph collections to add the summary to (default [SUMMARIES]).
      family: prefix of the tag and the name scope (a TensorBoard tab).

    Returns:
      A scalar string Tensor: the serialized `Summary`.

    Raises:
      ValueError: if `tensor` is not a scalar; TypeError if it is not a real number.
    """
    tensor = convert_to_tensor(tensor)
    with _SummaryScope(name, family, [tensor]) as (tag, scope):
        summary = apply_op("ScalarSummary", [tensor], {"tag": tag}, name=scope)
    _collect(summary, collections)
    return summary


# -- histogram ---------------------------------------------------------------------------------

def _histogram_shape(op):
    values = op.inputs[0]
    if not (values.dtype.is_floating or values.dtype.is_integer):
        raise TypeError("tf.summary.histogram needs real numbers, got dtype %s"
                        % values.dtype.name)
    return _string_scalar(op)


def _histogram_kernel(values, *, tag):
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise errors.InvalidArgumentError(None, None, "Nan in summary histogram for: %s" % tag)
    pb = protos.summary_pb2()
    histo = pb.HistogramProto(**encoding.histogram(flat))
    return _serialized(pb.Summary(value=[pb.Summary.Value(tag=tag, histo=histo)]))


registry.register_op("HistogramSummary", shape=_histogram_shape, numpy=_histogram_kernel)


def histogram(name, values, collections=None, family=None):
    """A histogram of `values` (TF1 `tf.summary.histogram`; TF's default buckets).

    Args:
      name, collections, family: as for `scalar`.
      values: a real numeric tensor of any shape.

    Returns:
      A scalar string Tensor: the serialized `Summary`. Running it raises
      InvalidArgumentError if `values` holds a NaN or an infinity.
    """
    values = convert_to_tensor(values)
    with _SummaryScope(name, family, [values]) as (tag, scope):
        summary = apply_op("HistogramSummary", [values], {"tag": tag}, name=scope)
    _collect(summary, collections)
    return summary


# -- image -------------------------------------------------------------------------------------

_IMAGE_DTYPES = ("uint8", "float16", "float32", "float64")


def _image_shape(op):
    images = op.inputs[0]
    if images.dtype.name not in _IMAGE_DTYPES:
        raise TypeError("tf.summary.image needs uint8, float16, float32 or float64 images, got %s"
                        % images.dtype.name)
    shape = images.shape
    if shape.ndims is not None:
        if shape.ndims != 4:
            raise ValueError("tf.summary.image needs a 4-D [batch, height, width, channels] "
                             "tensor, got shape %s" % shape)
        channels = shape.as_tuple_or_none()[3]
        if channels is not None and channels not in (1, 3, 4):
            raise ValueError("tf.summary.image needs 1, 3 or 4 channels, got %d" % channels)
    return _string_scalar(op)


def _image_kernel(images, *, tag, max_images):
    if np.ndim(images) != 4 or np.shape(images)[3] not in (1, 3, 4):
        raise errors.InvalidArgumentError(
            None, None, "Tensor must be 4-D with last dim 1, 3, or 4, not %s (tag '%s')"
            % (list(np.shape(images)), tag))
    pb = protos.summary_pb2()
    values = []
    count = min(int(max_images), np.shape(images)[0])
    for i in range(count):
        image = encoding.image_to_uint8(images[i])
        height, width, channels = image.shape
        image_tag = "%s/image" % tag if max_images == 1 else "%s/image/%d" % (tag, i)
        values.append(pb.Summary.Value(tag=image_tag, image=pb.Summary.Image(
            height=height, width=width, colorspace=channels,
            encoded_image_string=encoding.encode_png(image))))
    return _serialized(pb.Summary(value=values))


registry.register_op("ImageSummary", shape=_image_shape, numpy=_image_kernel)


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """Up to `max_outputs` images of a batch as PNGs (TF1 `tf.summary.image`).

    Args:
      name, collections, family: as for `scalar`.
      tensor: a 4-D [batch, height, width, channels] uint8 or float tensor, 1, 3 or 4
        channels. Float images are rescaled per image as TF1 does.
      max_outputs: how many images of the batch to keep.

    Returns:
      A scalar string Tensor: the serialized `Summary` (tags `tag/image/i`, or
      `tag/image` when `max_outputs` is 1).

    Raises:
      ValueError: for a tensor that is not 4-D or has another channel count, or
        `max_outputs` below 1. TypeError: for another dtype.
    """
    if int(max_outputs) < 1:
        raise ValueError("max_outputs must be at least 1, got %r" % (max_outputs,))
    tensor = convert_to_tensor(tensor)
    with _SummaryScope(name, family, [tensor]) as (tag, scope):
        summary = apply_op("ImageSummary", [tensor], {"tag": tag, "max_images": int(max_outputs)},
                           name=scope)
    _collect(summary, collections)
    return summary


# -- text --------------------------------------------------------------------------------------

def _text_shape(op):
    if op.inputs[0].dtype != dtypes.string:
        raise TypeError("tf.summary.text needs a string tensor, got %s" % op.inputs[0].dtype.name)
    return _string_scalar(op)


def _text_kernel(text, *, tag):
    pb = protos.summary_pb2()
    tensor_pb2 = protos.proto_module("tensor_pb2")
    shape_pb2 = protos.proto_module("tensor_shape_pb2")
    types_pb2 = protos.proto_module("types_pb2")
    array = np.asarray(text, dtype=object)
    strings = [s if isinstance(s, bytes) else str(s).encode("utf-8") for s in array.reshape(-1)]
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, string_val=strings,
        tensor_shape=shape_pb2.TensorShapeProto(
            dim=[shape_pb2.TensorShapeProto.Dim(size=d) for d in array.shape]))
    metadata = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(plugin_name="text"))
    return _serialized(pb.Summary(value=[pb.Summary.Value(tag=tag, tensor=tensor,
                                                          metadata=metadata)]))


registry.register_op("TextSummary", shape=_text_shape, numpy=_text_kernel)


def text(name, tensor, collections=None):
    """A string tensor shown in TensorBoard's Text tab (TF1 `tf.summary.text`; Markdown).

    Returns:
      A scalar string Tensor: the serialized `Summary`.

    Raises:
      TypeError: if `tensor` is not a string tensor.
    """
    tensor = convert_to_tensor(tensor)
    with _SummaryScope(name, None, [tensor]) as (tag, scope):
        summary = apply_op("TextSummary", [tensor], {"tag": tag}, name=scope)
    _collect(summary, collections)
    return summary


# -- merge -------------------------------------------------------------------------------------

def _merge_shape(op):
    for t in op.inputs:
        if t.dtype != dtypes.string:
            raise TypeError("tf.summary.merge needs serialized summaries (strings), got %s %s"
                            % (t.name, t.dtype.name))
    return _string_scalar(op)


def _merge_kernel(*summaries):
    pb = protos.summary_pb2()
    merged = pb.Summary()
    seen = set()
    for serialized in summaries:
        for item in np.asarray(serialized, dtype=object).reshape(-1):
            try:
                part = pb.Summary.FromString(bytes(item))
            except Exception as e:  # protobuf's DecodeError and friends
                raise errors.InvalidArgumentError(
                    None, None, "Could not parse one of the summary inputs: %s" % e) from None
            for value in part.value:
                if value.tag in seen:
                    raise errors.InvalidArgumentError(
                        None, None, "Duplicate tag %s found in summary inputs" % value.tag)
                seen.add(value.tag)
                merged.value.add().CopyFrom(value)
    return _serialized(merged)


registry.register_op("MergeSummary", shape=_merge_shape, numpy=_merge_kernel)
registry.not_differentiable("ScalarSummary", "HistogramSummary", "ImageSummary", "TextSummary",
                            "MergeSummary")


def merge(inputs, collections=None, name=None):
    """One summary holding every value of `inputs` (TF1 `tf.summary.merge`).

    Args:
      inputs: string tensors holding serialized summaries.
      collections: collections to add the merged summary to (default none).

    Returns:
      A scalar string Tensor. Running it raises InvalidArgumentError if two inputs share a tag.

    Raises:
      ValueError: if `inputs` is empty.
    """
    inputs = [convert_to_tensor(t) for t in inputs]
    if not inputs:
        raise ValueError("tf.summary.merge needs at least one summary")
    with name_scope(name, "Merge", inputs):
        merged = apply_op("MergeSummary", inputs, name="MergeSummary")
    for key in collections or ():
        merged.graph.add_to_collection(key, merged)
    return merged


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """Merges every summary in collection `key` (TF1 `tf.summary.merge_all`).

    Returns:
      The merged summary tensor, or None if the collection is empty.
    """
    summaries = get_default_graph().get_collection(key, scope)
    if not summaries:
        return None
    return merge(summaries, name=name)
