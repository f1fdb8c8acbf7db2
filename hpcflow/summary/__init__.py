"""`tf.summary`: summary ops and the FileWriter that writes TensorBoard event files.

    loss_summary = tf.summary.scalar("loss", loss)
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter("logs/run1", sess.graph)
    writer.add_summary(sess.run(merged), global_step)

The protos (`Summary`, `Event`, `SessionLog`...) are TensorBoard's, from the `tensorboard`
package, loaded on first use.
"""
from .summary_ops import clean_tag, histogram, image, merge, merge_all, scalar, text  # noqa: F401
from .writer import FileWriter, FileWriterCache, summary_iterator  # noqa: F401

_PROTO_NAMES = {"Summary": "summary_pb2", "SummaryMetadata": "summary_pb2",
                "HistogramProto": "summary_pb2", "Event": "event_pb2",
                "SessionLog": "event_pb2", "TaggedRunMetadata": "event_pb2",
                "SummaryDescription": "summary_pb2"}


def __getattr__(name):
    # tf.summary.Summary, tf.summary.Event...: TensorBoard's classes, imported when first used.
    if name in _PROTO_NAMES:
        from . import protos
        return getattr(protos.proto_module(_PROTO_NAMES[name]), name)
    raise AttributeError("module 'hpcflow.summary' has no attribute %r" % name)


__all__ = ["FileWriter", "FileWriterCache", "clean_tag", "histogram", "image", "merge",
           "merge_all", "scalar", "summary_iterator", "text"] + sorted(_PROTO_NAMES)
