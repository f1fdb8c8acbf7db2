"""TensorBoard's protocol buffers (Summary, Event, GraphDef...), from the `tensorboard` package.

hpcflow writes event files with TensorBoard's own protos and writer rather than its own
framing, so anything TensorBoard reads, it reads. The import is deferred until a summary
is built or written, and fails with an instruction if the package is missing.
"""
import importlib

_MODULES = {}


def proto_module(name):
    """`tensorboard.compat.proto.<name>` (e.g. "summary_pb2").

    Raises:
      ImportError: naming the package to install if TensorBoard is not installed.
    """
    module = _MODULES.get(name)
    if module is None:
        try:
            module = importlib.import_module("tensorboard.compat.proto." + name)
        except ImportError as e:
            raise ImportError("hpcflow.summary writes TensorBoard files with the `tensorboard` "
                              "package, which is not installed: pip install tensorboard (%s)"
                              % e) from None
        _MODULES[name] = module
    return module


def summary_pb2():
    return proto_module("summary_pb2")


def event_pb2():
    return proto_module("event_pb2")
