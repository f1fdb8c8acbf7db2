"""TensorShape and Dimension: partial shapes, merging, compatibility."""
import pytest

import hpcflow as tf


def test_unknown_rank_and_dims():
    s = tf.TensorShape(None)
    assert s.ndims is None
    assert not s.is_fully_defined()
    t = tf.TensorShape([None, 3])
    assert t.ndims == 2 and t[0] is None and t[1] == 3
    assert t.as_list() == [None, 3]
    assert str(t) == "(?, 3)"
    with pytest.raises(ValueError):
        s.as_list()


def test_merge_and_compatibility():
    a = tf.TensorShape([None, 3])
    b = tf.TensorShape([2, None])
    assert a.is_compatible_with(b)
    assert a.merge_with(b).as_list() == [2, 3]
    assert not a.is_compatible_with([2, 4])
    with pytest.raises(ValueError):
        a.merge_with([2, 4])
    assert tf.TensorShape(None).merge_with(a) == a


def test_num_elements_and_concatenate():
    assert tf.TensorShape([2, 3]).num_elements() == 6
    assert tf.TensorShape([2, None]).num_elements() is None
    assert tf.TensorShape([]).num_elements() == 1
    assert (tf.TensorShape([2]) + tf.TensorShape([3])).as_list() == [2, 3]


def test_dimension():
    d = tf.Dimension(3)
    assert d.value == 3 and int(d) == 3
    assert tf.Dimension(None).value is None
    assert (tf.Dimension(None) == 3) is None
    with pytest.raises(ValueError):
        tf.Dimension(-1)
