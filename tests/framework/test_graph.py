"""Graph construction: names, scopes, collections, control dependencies, devices, lookup."""
import numpy as np
import pytest

import hpcflow as tf


def test_unique_names_and_name_scopes():
    with tf.name_scope("outer"):
        with tf.name_scope("inner"):
            c = tf.constant(1, name="c")
    d = tf.constant(1, name="d")
    d1 = tf.constant(1, name="d")
    assert c.name == "outer/inner/c:0"
    assert c.op.name == "outer/inner/c"
    assert (d.name, d1.name) == ("d:0", "d_1:0")
    with tf.name_scope("outer") as scope:
        assert scope == "outer_1/"
        e = tf.constant(2, name="e")
    assert e.op.name == "outer_1/e"


def test_name_scope_absolute_and_reset():
    with tf.name_scope("a"):
        with tf.name_scope("b/") as scope:  # trailing slash re-enters an absolute scope
            assert scope == "b/"
            x = tf.constant(0, name="x")
        with tf.name_scope(None):
            y = tf.constant(0, name="y")
    assert x.op.name == "b/x"
    assert y.op.name == "y"


def test_default_names_follow_op_type():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    assert (a.op.name, b.op.name) == ("Const", "Const_1")
    p = tf.placeholder(tf.float32)
    assert p.op.name == "Placeholder"


def test_lookup_by_name():
    with tf.name_scope("s"):
        c = tf.constant([1.0, 2.0], name="c")
    g = tf.get_default_graph()
    assert g.get_tensor_by_name("s/c:0") is c
    assert g.get_operation_by_name("s/c") is c.op
    with pytest.raises(KeyError, match="does not exist"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(ValueError, match="looks a like an Operation name"):
        g.get_tensor_by_name("s/c")
    with pytest.raises(KeyError, match="only has 1 outputs"):
        g.get_tensor_by_name("s/c:1")
    with pytest.raises(KeyError):
        g.get_operation_by_name("missing")


def test_tensor_properties_and_bool_refused():
    c = tf.constant(np.zeros((2, 3), np.float32), name="z")
    assert c.dtype == tf.float32
    assert c.shape.as_list() == [2, 3]
    assert c.get_shape() == tf.TensorShape([2, 3])
    assert c.graph is tf.get_default_graph()
    assert c.op.outputs == [c]
    assert c.value_index == 0
    with pytest.raises(TypeError, match="as a Python `bool`"):
        bool(c)
    with pytest.raises(TypeError):
        if c:
            pass
    with pytest.raises(TypeError, match="iterable"):
        iter(c)


def test_set_shape_merges_and_refuses_incompatible():
    p = tf.placeholder(tf.float32, [None, 3])
    p.set_shape([4, None])
    assert p.shape.as_list() == [4, 3]
    with pytest.raises(ValueError):
        p.set_shape([5, 3])


def test_control_dependencies():
    a = tf.constant(1.0, name="a")
    b = tf.constant(2.0, name="b")
    with tf.control_dependencies([a, b.op]):
        c = tf.constant(3.0, name="c")
        with tf.control_dependencies(None):
            d = tf.constant(4.0, name="d")
    assert c.op.control_inputs == [a.op, b.op]
    assert d.op.control_inputs == []


def test_collections():
    g = tf.get_default_graph()
    tf.add_to_collection("things", 1)
    tf.add_to_collections(["things", "others"], 2)
    assert tf.get_collection("things") == [1, 2]
    assert tf.get_collection("others") == [2]
    ref = tf.get_collection_ref("things")
    ref.append(3)
    assert g.get_collection("things") == [1, 2, 3]
    with tf.name_scope("layer"):
        c = tf.constant(1.0, name="w")
    tf.add_to_collection("tensors", c)
    tf.add_to_collection("tensors", tf.constant(2.0, name="other"))
    assert tf.get_collection("tensors", scope="layer") == [c]
    assert tf.get_collection("missing") == []


def test_graph_as_default_and_reset():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1)
        assert tf.get_default_graph() is g
    assert c.graph is g
    assert tf.get_default_graph() is not g
    with g.as_default():
        with pytest.raises(AssertionError):
            tf.reset_default_graph()
    old = tf.get_default_graph()
    tf.reset_default_graph()
    assert tf.get_default_graph() is not old


def test_finalize_refuses_new_ops():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1)
        g.finalize()
        assert g.finalized
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(2)


def test_cross_graph_inputs_refused():
    g1, g2 = tf.Graph(), tf.Graph()
    with g1.as_default():
        a = tf.constant(1.0)
    with g2.as_default():
        with pytest.raises(ValueError, match="same graph"):
            tf.placeholder_with_default(a, [])


def test_device_scopes_are_recorded_and_merged():
    with tf.device("/job:worker/task:1"):
        a = tf.constant(1.0)
        with tf.device("/gpu:0"):
            b = tf.constant(2.0)
        with tf.device(None):
            c = tf.constant(3.0)
    with tf.device("/cpu:0"):
        d = tf.constant(4.0)
    with tf.device(lambda op: "/job:ps/task:0" if op.type == "Const" else ""):
        e = tf.constant(5.0)
    assert a.device == "/job:worker/task:1"
    assert b.device == "/job:worker/task:1/device:GPU:0"
    assert c.device == ""
    assert d.device == "/device:CPU:0"
    assert e.device == "/job:ps/task:0"
    with pytest.raises(ValueError, match="Unknown attribute"):
        with tf.device("/bogus:1"):
            pass


def test_shape_inference_error_names_the_op():
    p = tf.placeholder(tf.float32, [None, 3], name="feed")
    with pytest.raises(ValueError, match="not compatible"):
        tf.placeholder_with_default(tf.constant([[1.0, 2.0]]), [None, 3], name="bad")
    assert p.shape.as_list() == [None, 3]


def test_dtypes():
    assert tf.as_dtype("float32") is tf.float32
    assert tf.as_dtype(np.float64) == tf.float64
    assert tf.as_dtype(np.dtype("int64")) == tf.int64
    assert tf.float32.is_floating and not tf.int32.is_floating
    assert tf.int32.is_integer and tf.uint8.is_unsigned
    assert tf.bool.is_bool
    assert tf.float32.as_numpy_dtype is np.float32
    assert tf.float32.max == np.finfo(np.float32).max
    assert tf.int8.min == -128
    assert tf.string.name == "string"
    assert tf.float32 != tf.float64
    with pytest.raises(TypeError):
        tf.as_dtype("float33")
