"""Printing from a running graph: `tf.Print` (an identity that logs), `tf.print` and
`tf.strings.format`, with TensorFlow's tensor summaries ("[1 2 3...]", "[0 1 ... 8 9]").

Output goes to the Python streams current when the op runs (`sys.stderr` by default, as
TF's C++ std::cerr), so notebooks and pytest's capture see it.
"""
import logging
import pprint
import random
import sys
import threading
import weakref

import numpy as np

from ..framework import dtypes, errors, registry, sharding
from ..framework.graph import Tensor, graph_for_inputs  # noqa: F401 - re-exported
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape

_logger = logging.getLogger("hpcflow")


# -- TensorFlow's value summaries (Tensor::SummarizeValue) ------------------------------------

def _c_escape(raw):
    """absl's Utf8SafeCEscape: quotes, backslashes and control bytes escaped, UTF-8 kept."""
    out = []
    for byte in raw:
        char = chr(byte)
        if char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char in "\"'\\":
            out.append("\\" + char)
        elif byte < 0x20 or byte == 0x7F:
            out.append("\\%03o" % byte)
        else:
            out.append(None)  # kept as is (decoded below, so multi-byte UTF-8 survives)
    kept = bytearray()
    text = []
    for byte, escaped in zip(raw, out):
        if escaped is None:
            kept.append(byte)
        else:
            if kept:
                text.append(kept.decode("utf-8", "replace"))
                kept = bytearray()
            text.append(escaped)
    if kept:
        text.append(kept.decode("utf-8", "replace"))
    return "".join(text)


def _float_text(value, digits, retry_digits, np_type):
    # tsl's FloatToBuffer/DoubleToBuffer: %g with FLT_DIG (DBL_DIG) digits, more if the
    # short form does not read back as the same value.
    value = np_type(value)
    if np.isnan(value):
        return "-nan" if np.signbit(value) else "nan"
    text = "%.*g" % (digits, value)
    if np_type(float(text)) != value:
        text = "%.*g" % (retry_digits, value)
    return text


def _element_text(value, dtype, v2):
    kind = dtype.kind
    if kind == "O":
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        escaped = _c_escape(raw)
        return '"%s"' % escaped if v2 else escaped
    if kind == "b":
        return "1" if value else "0"
    if kind == "f":
        if dtype.itemsize == 8:
            return _float_text(value, 15, 17, np.float64)
        return _float_text(value, 6, 9, np.float32)  # float16 prints as float, like TF
    if kind in "iu":
        return str(int(value))
    return "?"  # TF has no summary for complex values


def summarize_value(array, max_entries=3, print_v2=False):
    """TF's `Tensor::SummarizeValue`: the first `max_entries` elements (all if negative).

    Args:
      array: a numpy array (strings as object arrays of bytes).
      max_entries: how many elements to show; -1 shows all.
      print_v2: tf.print's style (nested brackets with first and last elements of each
        dimension, quoted strings) instead of tf.Print/Assert's (the first elements only).

    Returns:
      The summary string, e.g. "1 2 3..." (v1) or "[1 2 3 ... 8 9 10]" (v2).
    """
    array = np.asarray(array)
    num = array.size
    if max_entries < 0:
        max_entries = num
    limit = min(max_entries, num)
    flat = array.reshape(-1)
    dtype = array.dtype

    def text(i):
        return _element_text(flat[i], dtype, print_v2)

    if array.ndim == 0:
        result = " ".join(text(i) for i in range(limit))
        return result + "..." if num > limit else result
    shape = array.shape
    parts = []
    if print_v2:
        _one_dim_v2(0, shape, limit, array.ndim, text, 0, parts)
        return "".join(parts)
    index = [0]
    _one_dim_v1(0, shape, limit, array.ndim, text, index, parts)
    if num > limit:
        parts.append("...")
    return "".join(parts)


def _one_dim_v1(dim, shape, limit, ndims, text, index, out):
    # tensorflow/core/framework/tensor.cc PrintOneDim, kept step by step.
    if index[0] >= limit:
        return
    count = shape[dim]
    if dim == ndims - 1:
        for i in range(count):
            if index[0] >= limit:
                if dim != 0:
                    out.append("...")
                return
            if i > 0:
                out.append(" ")
            out.append(text(index[0]))
            index[0] += 1
        return
    for _ in range(count):
        opened = False
        if index[0] < limit:
            out.append("[")
            opened = True
        _one_dim_v1(dim + 1, shape, limit, ndims, text, index, out)
        if index[0] < limit or opened:
            out.append("]")


def _dim_spacing(dim, ndims, out):
    if dim == ndims - 1:
        out.append(" ")
        return
    out.append("\n" * (ndims - dim - 1))
    out.append(" " * (dim + 1))


def _one_dim_v2(dim, shape, at_ends, ndims, text, offset, out):
    # tensorflow/core/framework/tensor.cc PrintOneDimV2.
    if dim == ndims:
        out.append(text(offset))
        return
    out.append("[")
    count = shape[dim]
    start_of_end = max(at_ends, count - at_ends)
    per_item = 1
    for d in shape[dim + 1:]:
        per_item *= d
    for i in range(min(at_ends, count)):
        if i > 0:
            _dim_spacing(dim, ndims, out)
        _one_dim_v2(dim + 1, shape, at_ends, ndims, text, offset + per_item * i, out)
    if count > 2 * at_ends:
        _dim_spacing(dim, ndims, out)
        out.append("...")
    for i in range(start_of_end, count):
        _dim_spacing(dim, ndims, out)
        _one_dim_v2(dim + 1, shape, at_ends, ndims, text, offset + per_item * i, out)
    out.append("]")


# -- tf.Print ---------------------------------------------------------------------------------

# first_n counts calls per op per session, as TF's kernel instance does.
_print_counts = weakref.WeakKeyDictionary()
_print_counts_lock = threading.Lock()


def _op_key(ctx):
    # Ops of function graphs (loop bodies) may share a name with a top-level op.
    graph = ctx.op.graph
    return ctx.op_name if getattr(graph, "outer_graph", None) is None else (id(graph), ctx.op_name)


def _write(stream, text):
    stream.write(text)
    stream.flush()


def _print_shape(op):
    return [(op.inputs[0].shape, op.inputs[0].dtype)]


def _print_kernel(ctx, input_, *data, message, first_n, summarize):
    if first_n >= 0:
        with _print_counts_lock:
            counts = _print_counts.setdefault(ctx.state, {})
            key = _op_key(ctx)
            if counts.get(key, 0) >= first_n:
                return input_
            counts[key] = counts.get(key, 0) + 1
    text = message + "".join("[%s]" % summarize_value(d, summarize) for d in data)
    _write(sys.stderr, text + "\n")
    return input_


def _print_grad(op, grad):
    return [grad] + [None] * (len(op.inputs) - 1)


registry.register_op("Print", shape=_print_shape, numpy=_print_kernel, gradient=_print_grad,
                     context=True, stateful=True, sharding=sharding.GATHER)


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802
    """Prints `data` when evaluated and returns `input_` unchanged (TF1 `tf.Print`).

    The line written to stderr is `message` followed by each tensor's summary in brackets:
    `msg[1 2 3...][4]`.

    Args:
      input_: the tensor passed through (its gradient too).
      data: a list of tensors to print.
      message: a prefix string.
      first_n: print only the first `first_n` times the op runs (per session); -1 or
        None means always.
      summarize: how many elements of each tensor to print (default 3; -1 all).
      name: op name (default "Print").

    Returns:
      A Tensor equal to `input_`.
    """
    input_ = convert_to_tensor(input_, name="input")
    graph = graph_for_inputs([input_])
    with graph.name_scope(name or "Print") as scope:
        data = [convert_to_tensor(d, name="data") for d in (data or [])]
        op = graph.create_op("Print", [input_] + data, {
            "message": "" if message is None else str(message),
            "first_n": -1 if first_n is None else int(first_n),
            "summarize": 3 if summarize is None else int(summarize)}, name=scope)
    return op.outputs[0]


# -- tf.strings.format and tf.print -------------------------------------------------------------

def _string_format_shape(op):
    pieces = op.get_attr("template").split(op.get_attr("placeholder"))
    if len(pieces) - 1 != len(op.inputs):
        raise ValueError("num placeholders in template and num inputs must match: %d vs. %d"
                         % (len(pieces) - 1, len(op.inputs)))
    return [(TensorShape([]), dtypes.string)]


def _string_format_kernel(*inputs, template, placeholder, summarize):
    pieces = template.split(placeholder)
    text = [pieces[0]]
    for value, piece in zip(inputs, pieces[1:]):
        text.append(summarize_value(value, summarize, print_v2=True))
        text.append(piece)
    result = np.empty((), dtype=object)
    result[()] = "".join(text).encode("utf-8")
    return result


registry.register_op("StringFormat", shape=_string_format_shape, numpy=_string_format_kernel,
                     sharding=sharding.GATHER)


def string_format(template, inputs, placeholder="{}", summarize=3, name=None):
    """Formats tensors into a scalar string (TF `tf.strings.format`).

    Each `placeholder` in `template` is replaced by the summary of the next input, in
    tf.print's style.

    Raises:
      ValueError: if the number of placeholders differs from the number of inputs.
    """
    if isinstance(inputs, Tensor) or hasattr(inputs, "_as_graph_element"):
        inputs = [inputs]
    pieces = template.split(placeholder)
    if len(inputs) != len(pieces) - 1:
        raise ValueError("num placeholders in template and num inputs must match: {} vs {}"
                         .format(len(pieces) - 1, len(inputs)))
    inputs = [convert_to_tensor(t) for t in inputs]
    graph = graph_for_inputs(inputs)
    op = graph.create_op("StringFormat", inputs, {
        "template": template, "placeholder": placeholder,
        "summarize": 3 if summarize is None else int(summarize)}, name=name or "StringFormat")
    return op.outputs[0]


def _stream_for(name):
    if name == "stderr":
        return sys.stderr
    if name == "stdout":
        return sys.stdout
    return None


def _print_v2_kernel(value, *, output_stream, end):
    raw = value[()] if isinstance(value, np.ndarray) else value
    text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)) + end
    stream = _stream_for(output_stream)
    if stream is not None:
        _write(stream, text)
    elif output_stream.startswith("log("):
        level = {"log(info)": logging.INFO, "log(warning)": logging.WARNING,
                 "log(error)": logging.ERROR}[output_stream]
        _logger.log(level, text.rstrip("\n"))
    elif output_stream.startswith("file://"):
        with open(output_stream[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text)
    else:
        raise errors.InvalidArgumentError(None, None, "Unknown output stream %r"
                                          % output_stream)


registry.register_op("PrintV2", shape=lambda op: [], numpy=_print_v2_kernel, stateful=True,
                     sharding=sharding.GATHER)
registry.not_differentiable("StringFormat", "PrintV2")


def _output_stream_name(output_stream):
    if isinstance(output_stream, str) and output_stream.startswith("file://"):
        return output_stream
    known = [(sys.stdout, "stdout"), (sys.stderr, "stderr"), (sys.__stdout__, "stdout"),
             (sys.__stderr__, "stderr"), (logging.INFO, "log(info)"),
             (logging.WARNING, "log(warning)"), (logging.ERROR, "log(error)"),
             (logging.info, "log(info)"), (logging.warning, "log(warning)"),
             (logging.error, "log(error)"), (_logger.info, "log(info)"),
             (_logger.warning, "log(warning)"), (_logger.error, "log(error)")]
    for stream, text in known:
        if output_stream is stream or (isinstance(output_stream, int) and
                                       not isinstance(output_stream, bool) and
                                       output_stream == stream):
            return text
    raise ValueError("Unsupported output stream, logging level, or file." + str(output_stream)
                     + ". Supported streams are sys.stdout, sys.stderr, tf.logging.info, "
                     "tf.logging.warning, tf.logging.error. File needs to be in the form of "
                     "'file://<filepath>'.")


def _is_tensor_like(value):
    return isinstance(value, Tensor) or hasattr(value, "_as_graph_element")


def _placeholder_for(text, default="{}"):
    # TF's _generate_placeholder_string: a marker that does not occur in the template.
    placeholder = default
    rng = random.Random(5)
    while placeholder in text:
        placeholder = placeholder + str(rng.randint(0, 9))
    return placeholder


def print_v2(*inputs, **kwargs):
    """Prints its inputs when run (TF `tf.print`); returns the PrintV2 Operation.

    Inputs may be tensors, Python values and nested lists/tuples/dicts of them; they are
    printed separated by `sep` and followed by `end`. A single scalar string tensor is
    printed as is.

    Args:
      *inputs: what to print.
      output_stream: sys.stderr (default), sys.stdout, a logging level or function
        (logging.INFO, logging.info...), or "file://<path>" (appended to).
      summarize: elements shown at each end of every dimension (default 3; -1 all).
      sep: separator between inputs (default " ").
      end: written after the last input (default "\\n").
      name: op name (default "PrintV2").

    Returns:
      The PrintV2 Operation; run it, or make other ops depend on it.

    Raises:
      ValueError: for an unsupported output stream or unknown keyword argument.
    """
    from ..util import nest
    output_stream = kwargs.pop("output_stream", sys.stderr)
    name = kwargs.pop("name", None)
    summarize = kwargs.pop("summarize", 3)
    sep = kwargs.pop("sep", " ")
    end = kwargs.pop("end", "\n")
    if kwargs:
        raise ValueError("Unrecognized keyword arguments for tf.print: %s" % kwargs)
    stream_name = _output_stream_name(output_stream)
    format_name = name + "_format" if name else None

    if (len(inputs) == 1 and _is_tensor_like(inputs[0]) and
            convert_to_tensor(inputs[0]).shape.ndims == 0 and
            convert_to_tensor(inputs[0]).dtype == dtypes.string):
        formatted = convert_to_tensor(inputs[0])
    else:
        ordered = []
        for input_ in inputs:
            if isinstance(input_, dict) and type(input_) is not dict:  # OrderedDict & co
                input_ = type(input_)(sorted(input_.items()))
            ordered.append(input_)
        tensor_free = nest.map_structure(lambda x: "" if _is_tensor_like(x) else x, ordered)
        placeholder = _placeholder_for(" ".join(pprint.pformat(x) for x in tensor_free))
        templates, tensors = [], []
        for input_ in inputs:
            marks = []
            for x in nest.flatten(input_):
                if _is_tensor_like(x):
                    tensors.append(convert_to_tensor(x))
                    marks.append(placeholder)
                else:
                    marks.append(x)
            if isinstance(input_, str):
                templates.append(input_)
            else:
                templates.append(pprint.pformat(nest.pack_sequence_as(input_, marks)))
        template = sep.join(templates).replace("'" + placeholder + "'", placeholder)
        formatted = string_format(template, tensors, placeholder=placeholder,
                                  summarize=summarize, name=format_name)
    graph = graph_for_inputs([formatted])
    return graph.create_op("PrintV2", [formatted], {"output_stream": stream_name, "end": end},
                           name=name or "PrintV2")
