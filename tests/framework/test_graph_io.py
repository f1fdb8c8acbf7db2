"""Graph serialization: round trips, function attrs, and malformed input."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import graph_io


def _build_model():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.device("/job:ps/task:0"):
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
    with tf.name_scope("layer"):
        y = tf.nn.relu(tf.matmul(x, w) + tf.constant([0.5, -10.0]), name="y")
    words = tf.constant(["hello", "wörld"], name="words")
    return x, w, y, words


def test_round_trip_preserves_nodes_and_results():
    x, w, y, words = _build_model()
    g = tf.get_default_graph()
    blob = g.as_graph_def().SerializeToString()
    assert blob[:8] == b"HPCFGRPH"
    restored = graph_io.graph_from_bytes(blob)
    assert [op.name for op in restored.get_operations()] == [op.name for op in g.get_operations()]
    for op in g.get_operations():
        other = restored.get_operation_by_name(op.name)
        assert other.type == op.type and other.device == op.device
        assert [t.name for t in other.inputs] == [t.name for t in op.inputs]
        assert [c.name for c in other.control_inputs] == [c.name for c in op.control_inputs]
        assert [t.shape for t in other.outputs] == [t.shape for t in op.outputs]
        assert [t.dtype for t in other.outputs] == [t.dtype for t in op.outputs]
    feed = np.ones((2, 3), np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        expected = sess.run(y, {x: feed})
    with tf.Session(graph=restored) as sess:
        sess.run(restored.get_operation_by_name("w/Assign"))
        got = sess.run("layer/y:0", {"x:0": feed})
        assert list(sess.run("words:0")) == [b"hello", "wörld".encode()]
    np.testing.assert_array_equal(got, expected)
    # Serializing the restored graph gives the same bytes: the format is canonical.
    assert restored.as_graph_def().SerializeToString() == blob


def test_import_with_prefix_input_map_and_return_elements():
    with tf.Graph().as_default() as g1:
        a = tf.placeholder(tf.float32, name="a")
        tf.multiply(a, 3.0, name="out")
    blob = g1.as_graph_def().SerializeToString()
    replacement = tf.constant(2.0)
    out, = tf.import_graph_def(blob, input_map={"a:0": replacement}, return_elements=["out:0"])
    assert out.name == "import/out:0"
    with tf.Session() as sess:
        assert sess.run(out) == 6.0
    again = tf.import_graph_def(blob, return_elements=["out"])
    assert again[0].name == "import_1/out"


@pytest.mark.parametrize("mangle", [
    lambda b: b[:5],
    lambda b: b[:30],
    lambda b: b"NOTAGRPH" + b[8:],
    lambda b: b[:-1],
    lambda b: b[:20] + b"X" + b[21:],
])
def test_malformed_blobs_raise_clear_errors(mangle):
    c = tf.constant(np.arange(10, dtype=np.float32))  # noqa: F841 - gives the blob an array
    blob = tf.get_default_graph().as_graph_def().SerializeToString()
    with pytest.raises(graph_io.GraphDefError):
        graph_io.graph_from_bytes(mangle(blob))


def test_future_version_and_unknown_op_are_refused():
    tf.constant(1.0)
    blob = bytearray(tf.get_default_graph().as_graph_def().SerializeToString())
    blob[8] = 99
    with pytest.raises(graph_io.GraphDefError, match="format version 99"):
        graph_io.graph_from_bytes(bytes(blob))
    graph_def = tf.get_default_graph().as_graph_def()
    graph_def.node[0]["op"] = "NoSuchOp"
    with pytest.raises(graph_io.GraphDefError, match="NoSuchOp"):
        graph_io.graph_from_bytes(graph_def.SerializeToString())


def test_object_arrays_are_never_unpickled():
    graph_def = graph_io.GraphDef([{"name": "c", "op": "Const", "input": [], "device": "",
                                    "attr": {"value": np.zeros(2), "dtype": "float64"},
                                    "outputs": [["float64", [2]]]}])
    blob = graph_def.SerializeToString().replace(b'"<f8"', b'"|O8"')
    with pytest.raises(graph_io.GraphDefError):
        graph_io.graph_from_bytes(blob)
