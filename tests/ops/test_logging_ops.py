"""tf.Print, tf.print and tf.strings.format: values, TF's summary formats, streams, gradients.

The expected strings were produced by TensorFlow (tf.compat.v1) on the same programs.
"""
import logging
import sys

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import registry
from hpcflow.ops import array_ops, logging_ops
from hpcflow.ops.logging_ops import Print, print_v2, string_format, summarize_value

from gradcheck import check_gradient


def _run(op):
    with tf.Session() as sess:
        return sess.run(op)


# -- summaries --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, summarize, expected", [
    (np.array([1.0, 2.5, 1 / 3, 4.0], np.float32), 3, "1 2.5 0.333333343..."),
    (np.array(1 / 3), 3, "0.33333333333333331"),
    (np.array([[1, 2], [3, 4]], np.int32), 3, "[1 2][3...]..."),
    (np.array([True, False]), 3, "1 0"),
    (np.array([b"ab", b"c"], dtype=object), 3, "ab c"),
    (np.arange(12).reshape(2, 2, 3), 3, "[[0 1 2]]..."),
    (np.array(np.float16(0.1)), 3, "0.0999755859"),
    (np.array([1e10, 1e-7, -0.0, np.nan, np.inf], np.float32), 3, "1e+10 1e-07 -0..."),
    (np.array([-3], np.int8), 3, "-3"),
    (np.zeros((2, 0)), 3, ""),
    (np.arange(10), 5, "0 1 2 3 4..."),
    (np.array(5, np.int32), 0, "..."),
    (np.arange(6).reshape(2, 3), -1, "[0 1 2][3 4 5]"),
    (np.array([b'a"b\n\x01'], dtype=object), 3, 'a\\"b\\n\\001'),
    (np.array([1 + 2j], np.complex64), 3, "?"),
])
def test_summarize_v1(value, summarize, expected):
    assert summarize_value(value, summarize) == expected


@pytest.mark.parametrize("value, summarize, expected", [
    (np.arange(20), 3, "[0 1 2 ... 17 18 19]"),
    (np.arange(30).reshape(5, 6), 2,
     "[[0 1 ... 4 5]\n [6 7 ... 10 11]\n ...\n [18 19 ... 22 23]\n [24 25 ... 28 29]]"),
    (np.arange(24).reshape(2, 3, 4), 3,
     "[[[0 1 2 3]\n  [4 5 6 7]\n  [8 9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n"
     "  [20 21 22 23]]]"),
    (np.array([b"a", b"b"], dtype=object), 3, '["a" "b"]'),
    (np.zeros((0, 3)), 3, "[]"),
    (np.zeros((2, 0)), 3, "[\n ...]"),
    (np.array([0.1, 123456789.0, 1e-5, 100000.0, 1234567.0], np.float32), 3,
     "[0.1 123456792 1e-05 100000 1234567]"),
    (np.array(True), 3, "1"),
])
def test_summarize_v2(value, summarize, expected):
    assert summarize_value(value, summarize, print_v2=True) == expected


# -- tf.Print -----------------------------------------------------------------------------------

def test_print_is_identity_and_prints_message_and_data(capfd):
    x = tf.constant([1.0, 2.5, 1 / 3, 4.0])
    out = Print(x, [x, tf.constant([[1, 2], [3, 4]]), "text"], "msg: ")
    assert (out.op.type, out.name, out.dtype, out.shape.as_list()) == (
        "Print", "Print:0", tf.float32, [4])
    value = _run(out)
    np.testing.assert_array_equal(value, np.array([1.0, 2.5, 1 / 3, 4.0], np.float32))
    assert value.dtype == np.float32
    assert capfd.readouterr().err == "msg: [1 2.5 0.333333343...][[1 2][3...]...][text]\n"


def test_print_first_n_and_summarize(capfd):
    x = tf.constant([1.0, 2.5, 1 / 3, 4.0])
    out = Print(x, [x, tf.constant(np.arange(10))], summarize=5, first_n=2, message="m2 ")
    with tf.Session() as sess:
        for _ in range(3):
            sess.run(out)
    with tf.Session() as sess:  # the count is per session, as TF's per-kernel counter
        sess.run(out)
    line = "m2 [1 2.5 0.333333343 4][0 1 2 3 4...]\n"
    assert capfd.readouterr().err == line * 3


def test_print_default_message_and_name():
    out = Print(tf.constant(1), [tf.constant(2)], name="show")
    assert out.op.name == "show" and out.op.get_attr("summarize") == 3
    assert out.op.get_attr("first_n") == -1 and out.op.get_attr("message") == ""
    assert registry.get("Print").stateful


def test_print_gradient_passes_through():
    check_gradient(lambda x: Print(x, [x]), [np.array([1.0, -2.0])])
    x = tf.constant([1.0, 2.0], tf.float64)
    y = Print(x, [x])
    grad = tf.gradients(y, x)[0]
    np.testing.assert_array_equal(_run(grad), [1.0, 1.0])


# -- tf.print / StringFormat ----------------------------------------------------------------------

@pytest.mark.parametrize("build, expected", [
    (lambda x: print_v2(x), "[1 2.5 0.333333343 4]\n"),
    (lambda x: print_v2("hello", x, 5, "world", tf.constant(7)),
     "hello [1 2.5 0.333333343 4] 5 world 7\n"),
    (lambda x: print_v2(tf.constant("str scalar")), "str scalar\n"),
    (lambda x: print_v2([x, 3, "s"], {"b": tf.constant(1), "a": 2}),
     "[[1 2.5 0.333333343 4], 3, 's'] {'a': 2, 'b': 1}\n"),
    (lambda x: print_v2("a", "b", sep="-", end="!\n"), "a-b!\n"),
    (lambda x: print_v2((x, 1)), "([1 2.5 0.333333343 4], 1)\n"),
    (lambda x: print_v2("x", tf.constant("s\"q\n"), tf.constant(["a\tb"])),
     'x "s\\"q\\n" ["a\\tb"]\n'),
    (lambda x: print_v2("{}", tf.constant(1.0)), "{} 1\n"),
    (lambda x: print_v2(tf.constant(np.arange(20)), summarize=-1),
     "[%s]\n" % " ".join(str(i) for i in range(20))),
    (lambda x: print_v2(tf.constant(np.arange(8).reshape(2, 4)), summarize=1),
     "[[0 ... 3]\n [4 ... 7]]\n"),
])
def test_tf_print_output_matches_tensorflow(capfd, build, expected):
    x = tf.constant([1.0, 2.5, 1 / 3, 4.0])
    op = build(x)
    assert isinstance(op, tf.Operation) and op.type == "PrintV2"
    assert _run(op) is None
    assert capfd.readouterr().err == expected


def test_tf_print_graph_structure_and_names():
    x = tf.constant([1.0])
    op = print_v2(x)
    assert op.name == "PrintV2" and op.get_attr("output_stream") == "stderr"
    assert op.get_attr("end") == "\n"
    fmt = op.inputs[0].op
    assert (fmt.type, fmt.name, fmt.get_attr("template")) == ("StringFormat", "StringFormat", "{}")
    named = print_v2(x, name="show")
    assert named.name == "show" and named.inputs[0].op.name == "show_format"


def test_tf_print_streams(capfd, tmp_path, caplog):
    x = tf.constant([1, 2])
    _run(print_v2(x, output_stream=sys.stdout))
    captured = capfd.readouterr()
    assert captured.out == "[1 2]\n" and captured.err == ""
    path = tmp_path / "log.txt"
    _run(print_v2("first", output_stream="file://%s" % path))
    _run(print_v2(x, output_stream="file://%s" % path))
    assert path.read_text() == "first\n[1 2]\n"
    with caplog.at_level(logging.INFO, logger="hpcflow"):
        _run(print_v2("to the log", output_stream=logging.INFO))
    assert "to the log" in caplog.text
    with pytest.raises(ValueError, match="Unsupported output stream"):
        print_v2("x", output_stream="bad")
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        print_v2("x", colour="red")


def test_tf_print_under_control_dependencies(capfd):
    x = tf.constant(3.0)
    with tf.control_dependencies([print_v2("value:", x)]):
        y = array_ops.identity(x)
    assert _run(y) == 3.0
    assert capfd.readouterr().err == "value: 3\n"


def test_string_format():
    out = string_format("x={} y={}", [tf.constant([1, 2]), tf.constant(0.5)])
    assert out.dtype == tf.string and out.shape.as_list() == []
    assert _run(out) == b"x=[1 2] y=0.5"
    assert _run(string_format("<>", tf.constant(1), placeholder="<>")) == b"1"
    with pytest.raises(ValueError, match="num placeholders in template and num inputs must "
                                         "match: 2 vs 1"):
        string_format("{} {}", [tf.constant(1)])
    assert registry.get("StringFormat").gradient == registry.NOT_DIFFERENTIABLE


def test_module_exports():
    assert logging_ops.Print is Print and callable(logging_ops.print_v2)
