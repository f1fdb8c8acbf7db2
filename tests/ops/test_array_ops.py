"""Array ops: forward against numpy (values, dtypes, shapes), static shape inference with
unknown dims, gradients against numerical differences in float64, and bad inputs raising
TF's error classes with messages naming the op."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors, registry, sharding
from hpcflow.framework.indexed_slices import IndexedSlices
from hpcflow.framework.tensor_conversion import convert_to_tensor
from hpcflow.ops import array_ops as A
from hpcflow.ops import math_ops as M

from gradcheck import check_gradient

RNG = np.random.RandomState(7)
X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def randn(*shape):
    return RNG.randn(*shape)


def check(tensor, expected, feed_dict=None):
    """Runs `tensor` and compares value, dtype and shape (static shape must be compatible)."""
    expected = np.asarray(expected)
    value = run(tensor, feed_dict)
    assert value.dtype == expected.dtype, (value.dtype, expected.dtype)
    assert value.shape == expected.shape, (value.shape, expected.shape)
    assert tensor.shape.is_compatible_with(value.shape), (tensor.shape, value.shape)
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(value, expected)
    return value


# -- forward: each case builds a tensor from constants and gives the numpy result -----------

def _x():
    return tf.constant(X)


def _np_mirror(x, pads, mode):
    return np.pad(x, pads, mode="reflect" if mode == "REFLECT" else "symmetric")


def _np_where_rows(cond, x, y):
    return np.where(cond.reshape(cond.shape + (1,) * (x.ndim - 1)), x, y)


FORWARD = {
    "identity": (lambda: A.identity(_x()), X),
    "stop_gradient": (lambda: A.stop_gradient(_x()), X),
    "shape": (lambda: A.shape(_x()), np.array([2, 3, 4], np.int32)),
    "shape_int64": (lambda: A.shape(_x(), out_type=tf.int64), np.array([2, 3, 4], np.int64)),
    "shape_n": (lambda: A.shape_n([_x(), tf.constant([1, 2])])[1], np.array([2], np.int32)),
    "size": (lambda: A.size(_x()), np.array(24, np.int32)),
    "rank": (lambda: A.rank(_x()), np.array(3, np.int32)),
    "reshape": (lambda: A.reshape(_x(), [4, -1]), X.reshape(4, 6)),
    "reshape_scalar": (lambda: A.reshape(tf.constant([5]), []), np.array(5, np.int32)),
    "reshape_empty": (lambda: A.reshape(tf.constant(np.zeros((0, 6))), [-1, 3]),
                      np.zeros((0, 3))),
    "reshape_int64_shape": (lambda: A.reshape(_x(), tf.constant([6, 4], tf.int64)),
                            X.reshape(6, 4)),
    "transpose_default": (lambda: A.transpose(_x()), X.transpose()),
    "transpose_perm": (lambda: A.transpose(_x(), [1, 0, 2]), X.transpose(1, 0, 2)),
    "transpose_conj": (lambda: A.transpose(tf.constant(np.array([[1 + 2j, 3j]], np.complex64)),
                                           conjugate=True),
                       np.array([[1 - 2j], [-3j]], np.complex64)),
    "matrix_transpose": (lambda: A.matrix_transpose(_x()), X.transpose(0, 2, 1)),
    "expand_dims_0": (lambda: A.expand_dims(_x(), 0), X[None]),
    "expand_dims_neg": (lambda: A.expand_dims(_x(), -1), X[..., None]),
    "expand_dims_dim_kwarg": (lambda: A.expand_dims(_x(), dim=3), X[..., None]),
    "squeeze_all": (lambda: A.squeeze(tf.constant(np.ones((1, 2, 1, 3)))), np.ones((2, 3))),
    "squeeze_axis": (lambda: A.squeeze(tf.constant(np.ones((1, 2, 1))), axis=[-1]),
                     np.ones((1, 2))),
    "squeeze_dims_kwarg": (lambda: A.squeeze(tf.constant(np.ones((1, 2))), squeeze_dims=0),
                           np.ones(2)),
    "concat_0": (lambda: A.concat([_x(), _x()[:1]], 0), np.concatenate([X, X[:1]], 0)),
    "concat_neg": (lambda: A.concat([_x(), _x()], -1), np.concatenate([X, X], -1)),
    "concat_one": (lambda: A.concat([_x()], 1), X),
    "concat_empty": (lambda: A.concat([tf.constant(np.zeros((0, 2), np.int32)),
                                       tf.constant([[1, 2]])], 0),
                     np.array([[1, 2]], np.int32)),
    "concat_strings": (lambda: A.concat([tf.constant(["a"]), tf.constant(["b", "c"])], 0),
                       np.array([b"a", b"b", b"c"], object)),
    "split_count": (lambda: A.split(_x(), 3, axis=1)[2], X[:, 2:3]),
    "split_sizes": (lambda: A.split(_x(), [1, -1, 2], axis=-1)[1], X[..., 1:2]),
    "slice": (lambda: A.slice(_x(), [0, 1, 1], [-1, 2, 2]), X[:, 1:3, 1:3]),
    "slice_int64": (lambda: A.slice(_x(), tf.constant([1, 0, 0], tf.int64), [1, 3, -1]),
                    X[1:2]),
    "stack_0": (lambda: A.stack([_x(), _x() * 2]), np.stack([X, X * 2])),
    "stack_neg": (lambda: A.stack([_x(), _x()], axis=-1), np.stack([X, X], -1)),
    "stack_python": (lambda: A.stack([1, 2, 3]), np.array([1, 2, 3], np.int32)),
    "unstack": (lambda: A.unstack(_x(), axis=1)[2], X[:, 2]),
    "unstack_neg": (lambda: A.unstack(_x(), axis=-1)[3], X[..., 3]),
    "tile": (lambda: A.tile(_x(), [1, 2, 3]), np.tile(X, [1, 2, 3])),
    "tile_zero": (lambda: A.tile(_x(), [0, 1, 1]), np.zeros((0, 3, 4), np.float32)),
    "pad_constant": (lambda: A.pad(_x(), [[0, 1], [2, 0], [1, 1]]),
                     np.pad(X, [[0, 1], [2, 0], [1, 1]])),
    "pad_value": (lambda: A.pad(tf.constant([[1, 2]]), [[1, 0], [0, 2]], constant_values=9),
                  np.pad(np.array([[1, 2]], np.int32), [[1, 0], [0, 2]], constant_values=9)),
    "pad_reflect": (lambda: A.pad(_x(), [[1, 1], [2, 1], [3, 0]], mode="reflect"),
                    _np_mirror(X, [[1, 1], [2, 1], [3, 0]], "REFLECT")),
    "pad_symmetric": (lambda: A.pad(_x(), [[2, 1], [3, 3], [0, 4]], mode="SYMMETRIC"),
                      _np_mirror(X, [[2, 1], [3, 3], [0, 4]], "SYMMETRIC")),
    "gather_0": (lambda: A.gather(_x(), [1, 0, 1]), X[[1, 0, 1]]),
    "gather_axis": (lambda: A.gather(_x(), [[2, 0], [1, 1]], axis=-1), X[..., [[2, 0], [1, 1]]]),
    "gather_int64": (lambda: A.gather(_x(), tf.constant([2], tf.int64), axis=1), X[:, [2]]),
    "gather_scalar_index": (lambda: A.gather(_x(), 1, axis=1), X[:, 1]),
    "gather_batch_dims": (lambda: A.gather(_x(), [[0, 2], [1, 1]], axis=1, batch_dims=1),
                          np.stack([X[0][[0, 2]], X[1][[1, 1]]])),
    "gather_batch_dims_axis2": (
        lambda: A.gather(_x(), [[3, 0], [1, 2]], axis=2, batch_dims=1),
        np.stack([X[0][:, [3, 0]], X[1][:, [1, 2]]])),
    "batch_gather": (lambda: A.batch_gather(tf.constant([[1, 2, 3], [4, 5, 6]]), [[2], [0]]),
                     np.array([[3], [4]], np.int32)),
    "gather_nd": (lambda: A.gather_nd(_x(), [[0, 1], [1, 2]]), X[[0, 1], [1, 2]]),
    "gather_nd_full": (lambda: A.gather_nd(_x(), [[[1, 2, 3]]]), np.array([[X[1, 2, 3]]])),
    "gather_nd_empty_coords": (lambda: A.gather_nd(tf.constant([[1, 2]]),
                                                   np.zeros((2, 0), np.int32)),
                               np.array([[[1, 2]], [[1, 2]]], np.int32)),
    "scatter_nd": (lambda: A.scatter_nd([[1], [3], [1]], [[1., 2.], [3., 4.], [5., 6.]], [5, 2]),
                   np.array([[0, 0], [6, 8], [0, 0], [3, 4], [0, 0]], np.float32)),
    "one_hot": (lambda: A.one_hot([0, 2, -1, 5], 3),
                np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], np.float32)),
    "one_hot_axis0_values": (lambda: A.one_hot([[1, 0]], 2, on_value=5, off_value=-1, axis=0),
                             np.array([[[-1, 5]], [[5, -1]]], np.int32)),
    "one_hot_dtype": (lambda: A.one_hot([1], 2, dtype=tf.float64), np.array([[0., 1.]])),
    "one_hot_bool": (lambda: A.one_hot([1], 2, on_value=True, off_value=False),
                     np.array([[False, True]])),
    "reverse": (lambda: A.reverse(_x(), [0, -1]), X[::-1, :, ::-1]),
    "reverse_none": (lambda: A.reverse(_x(), tf.constant([], tf.int32)), X),
    "boolean_mask": (lambda: A.boolean_mask(_x(), [True, False]), X[[True, False]]),
    "boolean_mask_2d": (lambda: A.boolean_mask(_x(), [[True, False, True], [False] * 3]),
                        X[np.array([[True, False, True], [False] * 3])]),
    "boolean_mask_axis": (lambda: A.boolean_mask(_x(), [True, False, False, True], axis=2),
                          X[:, :, [True, False, False, True]]),
    "where_coordinates": (lambda: A.where([[True, False], [False, True]]),
                          np.array([[0, 0], [1, 1]], np.int64)),
    "where_numeric": (lambda: A.where(tf.constant([0., 1.5, 0., -2.])),
                      np.array([[1], [3]], np.int64)),
    "where_empty": (lambda: A.where(tf.constant(np.zeros((2, 3), bool))),
                    np.zeros((0, 2), np.int64)),
    "select_same_shape": (lambda: A.where(X > 10, _x(), -_x()), np.where(X > 10, X, -X)),
    "select_vector": (lambda: A.where([True, False], _x(), -_x()),
                      _np_where_rows(np.array([True, False]), X, -X)),
    "select_scalar": (lambda: A.where(False, _x(), -_x()), -X),
    "select_python_y": (lambda: A.where([True, False], [1., 2.], [3., 4.]),
                        np.array([1., 4.], np.float32)),
    "where_v2": (lambda: A.where_v2([True, False, True], 1.0, tf.constant([[2.0], [3.0]])),
                 np.where([True, False, True], 1.0, np.array([[2.0], [3.0]])).astype(np.float32)),
    "zeros": (lambda: A.zeros([2, 3]), np.zeros((2, 3), np.float32)),
    "zeros_int64": (lambda: A.zeros((2,), dtype=tf.int64), np.zeros(2, np.int64)),
    "zeros_bool": (lambda: A.zeros([2], dtype=tf.bool), np.zeros(2, bool)),
    "zeros_string": (lambda: A.zeros([2], dtype=tf.string), np.array([b"", b""], object)),
    "zeros_large": (lambda: A.zeros([40, 30]), np.zeros((40, 30), np.float32)),
    "zeros_tensor_shape": (lambda: A.zeros(A.shape(_x()), dtype=tf.int32),
                           np.zeros((2, 3, 4), np.int32)),
    "zeros_mixed_shape": (lambda: A.zeros([A.shape(_x())[1], 2]), np.zeros((3, 2), np.float32)),
    "zeros_scalar_shape": (lambda: A.zeros(tf.constant(3)), np.zeros(3, np.float32)),
    "zeros_tensorshape": (lambda: A.zeros(tf.TensorShape([2])), np.zeros(2, np.float32)),
    "ones": (lambda: A.ones([3], dtype=tf.int32), np.ones(3, np.int32)),
    "ones_bool": (lambda: A.ones([1], dtype=tf.bool), np.ones(1, bool)),
    "ones_empty": (lambda: A.ones([0, 2]), np.ones((0, 2), np.float32)),
    "zeros_like": (lambda: A.zeros_like(_x()), np.zeros_like(X)),
    "zeros_like_dtype": (lambda: A.zeros_like(_x(), dtype=tf.int64), np.zeros(X.shape, np.int64)),
    "ones_like": (lambda: A.ones_like(tf.constant([1, 2])), np.ones(2, np.int32)),
    "fill": (lambda: A.fill([2, 2], 7), np.full((2, 2), 7, np.int32)),
    "fill_float": (lambda: A.fill(tf.constant([3], tf.int64), 0.5), np.full(3, 0.5, np.float32)),
    "eye": (lambda: A.eye(3), np.eye(3, dtype=np.float32)),
    "eye_rect_batch": (lambda: A.eye(2, 4, batch_shape=[3], dtype=tf.int32),
                       np.tile(np.eye(2, 4, dtype=np.int32), [3, 1, 1])),
    "eye_tensor_rows": (lambda: A.eye(tf.constant(2), dtype=tf.float64), np.eye(2)),
    "range_limit": (lambda: A.range(5), np.arange(5, dtype=np.int32)),
    "range_steps": (lambda: A.range(3, 18, 4), np.arange(3, 18, 4, dtype=np.int32)),
    "range_negative": (lambda: A.range(10, 2, -3), np.arange(10, 2, -3, dtype=np.int32)),
    "range_float": (lambda: A.range(1, 2, 0.25), np.arange(1, 2, 0.25, dtype=np.float32)),
    "range_dtype": (lambda: A.range(0, 3, dtype=tf.float64), np.arange(3, dtype=np.float64)),
    "range_int64_tensor": (lambda: A.range(tf.constant(2, tf.int64), 5),
                           np.arange(2, 5, dtype=np.int64)),
    "range_empty": (lambda: A.range(0), np.zeros(0, np.int32)),
    "linspace": (lambda: A.linspace(-1.0, 1.0, 5), np.linspace(-1, 1, 5, dtype=np.float32)),
    "linspace_one": (lambda: A.linspace(2.0, 5.0, 1), np.array([2.0], np.float32)),
    "linspace_float64": (lambda: A.linspace(tf.constant(0., tf.float64), 9., 4),
                         np.linspace(0, 9, 4)),
    "broadcast_to": (lambda: A.broadcast_to(tf.constant([[1], [2]]), [3, 2, 4]),
                     np.broadcast_to(np.array([[1], [2]], np.int32), (3, 2, 4))),
    "broadcast_dynamic_shape": (lambda: A.broadcast_dynamic_shape([2, 1, 3], [4, 1]),
                                np.array([2, 4, 3], np.int32)),
    "sequence_mask": (lambda: A.sequence_mask([1, 3, 0], 4),
                      np.arange(4)[None, :] < np.array([1, 3, 0])[:, None]),
    "sequence_mask_default_len": (
        lambda: A.sequence_mask(tf.constant([[1, 2], [3, 0]]), dtype=tf.float32),
        (np.arange(3) < np.array([[1, 2], [3, 0]])[..., None]).astype(np.float32)),
    "unique_y": (lambda: A.unique([4, 4, 1, 7, 1]).y, np.array([4, 1, 7], np.int32)),
    "unique_idx": (lambda: A.unique([4, 4, 1, 7, 1], out_idx=tf.int64).idx,
                   np.array([0, 0, 1, 2, 1], np.int64)),
    "invert_permutation": (lambda: A.invert_permutation([2, 0, 3, 1]),
                           np.argsort([2, 0, 3, 1]).astype(np.int32)),
    "matrix_diag": (lambda: A.matrix_diag(tf.constant([[1., 2.], [3., 4.]])),
                    np.array([np.diag([1., 2.]), np.diag([3., 4.])], np.float32)),
    "matrix_diag_part": (lambda: A.matrix_diag_part(_x()),
                         np.diagonal(X, axis1=1, axis2=2).copy()),
    "matrix_set_diag": (lambda: A.matrix_set_diag(_x(), tf.constant(np.ones((2, 3), np.float32))),
                        np.where(np.eye(3, 4, dtype=bool), 1, X).astype(np.float32)),
    "diag": (lambda: A.diag(tf.constant([[1, 2], [3, 4]])),
             np.diag([1, 2, 3, 4]).reshape(2, 2, 2, 2).astype(np.int32)),
    "diag_part": (lambda: A.diag_part(tf.constant(np.arange(16).reshape(2, 2, 2, 2))),
                  np.array([[0, 5], [10, 15]])),
    "ensure_shape": (lambda: A.ensure_shape(_x(), [2, None, 4]), X),
    "identity_n": (lambda: A.identity_n([_x(), tf.constant([1, 2])])[1],
                   np.array([1, 2], np.int32)),
    "reverse_sequence": (lambda: A.reverse_sequence(_x(), [2, 3], seq_axis=1, batch_axis=0),
                         np.stack([X[0][[1, 0, 2]], X[1][::-1]])),
    "reverse_sequence_dims": (lambda: A.reverse_sequence(_x(), [0, 4, 1], seq_dim=2,
                                                         batch_dim=1),
                              np.stack([X[:, 0], X[:, 1, ::-1], X[:, 2]], axis=1)),
    "meshgrid_xy": (lambda: A.meshgrid([1, 2, 3], [4, 5])[0],
                    np.meshgrid([1, 2, 3], [4, 5])[0].astype(np.int32)),
    "meshgrid_ij": (lambda: A.meshgrid([1., 2.], [3., 4., 5.], indexing="ij")[1],
                    np.meshgrid([1., 2.], [3., 4., 5.], indexing="ij")[1].astype(np.float32)),
    "tensor_scatter_update": (
        lambda: A.tensor_scatter_update(_x(), [[0, 1], [1, 2]],
                                        tf.constant(np.ones((2, 4), np.float32))),
        np.where(np.isin(np.arange(6).reshape(2, 3, 1), [1, 5]), 1., X).astype(np.float32)),
    "tensor_scatter_add": (lambda: A.tensor_scatter_add(_x(), [[0], [0]],
                                                        tf.constant(np.ones((2, 3, 4),
                                                                            np.float32))),
                           X + np.array([2., 0.], np.float32).reshape(2, 1, 1)),
    "tensor_scatter_sub": (lambda: A.tensor_scatter_sub(_x(), [[1, 2, 3]], [100.]),
                           X - np.float32(100.) * (np.arange(24).reshape(2, 3, 4) == 23)),
}


@pytest.mark.parametrize("case", sorted(FORWARD))
def test_forward_matches_numpy(case):
    build, expected = FORWARD[case]
    check(build(), expected)


STRIDED_SPECS = {
    "int": lambda v: v[1],
    "negative_int": lambda v: v[-1, -2],
    "step": lambda v: v[:, ::2],
    "negative_step": lambda v: v[::-1, 2:0:-1],
    "ellipsis": lambda v: v[..., 1:-1:2],
    "ellipsis_last": lambda v: v[..., -1],
    "newaxis": lambda v: v[:, None, 2, ::-1],
    "newaxis_after_ellipsis": lambda v: v[..., None],
    "newaxis_front": lambda v: v[None, ..., 0],
    "out_of_range_slices": lambda v: v[5:, -100:100],
    "empty_range": lambda v: v[:, 10:-10],
    "reverse_past_start": lambda v: v[:, :, 3:-6:-1],
    "all_ints": lambda v: v[1, 2, 3],
    "full": lambda v: v[:],
    "mixed": lambda v: v[..., None, 1, None],
    "step_overshoot": lambda v: v[::5, ::-7, 1::3],
}


@pytest.mark.parametrize("spec", sorted(STRIDED_SPECS))
def test_getitem_matches_numpy(spec):
    f = STRIDED_SPECS[spec]
    expected = f(X)
    result = check(f(_x()), np.asarray(expected))
    # Unknown leading dim: the static shape keeps what is known and stays compatible.
    p = tf.placeholder(tf.float32, [None, 3, 4])
    sliced = f(p)
    assert sliced.shape.is_compatible_with(result.shape)
    assert sliced.shape.as_list()[1:] == list(result.shape)[1:] or \
        sliced.shape.ndims == result.ndim


def test_getitem_static_shapes_with_unknown_dims():
    p = tf.placeholder(tf.float32, [None, 4, 5])
    assert p[:, None, 2, ::-1].shape.as_list() == [None, 1, 5]
    assert p[::-2, -3:, None].shape.as_list() == [None, 3, 1, 5]
    assert p[None, ..., 0].shape.as_list() == [1, None, 4]
    assert p[1].shape.as_list() == [4, 5]
    assert p[:, 10:-10].shape.as_list() == [None, 0, 5]
    i = tf.placeholder(tf.int32, [])
    t = tf.constant(np.zeros((3, 4, 5), np.float32))
    assert t[i, 1:i].shape.as_list() == [None, 5]
    assert tf.placeholder(tf.float32)[0].shape.ndims is None


def test_getitem_tensor_indices_and_names():
    t = _x()
    i = tf.placeholder(tf.int32, [])
    j = tf.placeholder(tf.int64, [])
    a = t[i, 1:i + 2]
    b = t[j, ..., j]
    assert a.op.type == "StridedSlice" and a.op.name == "strided_slice"
    assert b.op.name == "strided_slice_1"
    assert b.op.inputs[1].dtype == tf.int64  # int64 indices make the packed vectors int64
    va, vb = run([a, b], {i: 1, j: 1})
    np.testing.assert_array_equal(va, X[1, 1:3])
    np.testing.assert_array_equal(vb, X[1, ..., 1])
    assert a.shape.as_list() == [None, 4]
    assert A.newaxis is None


def test_getitem_boolean_mask():
    mask = np.array([True, False])
    check(_x()[mask], X[mask])
    check(_x()[tf.constant(mask)], X[mask])


def test_strided_slice_raw_masks():
    t = _x()
    cases = [
        (A.strided_slice(t, [0, 3], [2, 0], [1, -1], begin_mask=1, end_mask=2),
         X[:2, ::-1]),
        (A.strided_slice(t, [1, 0, 0], [2, 0, 3], [1, 1, 1], ellipsis_mask=2,
                         shrink_axis_mask=1), X[1, ..., 0:3]),
        (A.strided_slice(t, [0, 1], [0, 3], [1, 1], new_axis_mask=1), X[None, 1:3]),
        (A.strided_slice(t, [1], [2]), X[1:2]),  # strides default to ones
        (A.strided_slice(t, [0, 0, 0], [0, 0, 0], [1, 1, 1], begin_mask=7, end_mask=7), X),
    ]
    for tensor, expected in cases:
        check(tensor, expected)


# -- static shape inference -----------------------------------------------------------------

def test_reshape_shape_inference():
    p = tf.placeholder(tf.float32, [None, 28, 28])
    assert A.reshape(p, [-1, 784]).shape.as_list() == [None, 784]
    assert A.reshape(_x(), [-1, 2]).shape.as_list() == [12, 2]
    q = tf.placeholder(tf.float32, [None, 3])
    assert A.reshape(p, A.shape(q)).shape.as_list() == [None, 3]
    assert A.reshape(p, [A.shape(p)[0], -1]).shape.as_list() == [None, None]
    assert A.reshape(p, tf.placeholder(tf.int32, [3])).shape.as_list() == [None] * 3
    assert A.reshape(p, tf.placeholder(tf.int32)).shape.ndims is None
    assert A.reshape(tf.placeholder(tf.float32), [2, -1]).shape.as_list() == [2, None]


def test_shape_inference_unknown_dims():
    p = tf.placeholder(tf.float32, [None, 3])
    q = tf.placeholder(tf.float32, [2, None])
    assert A.concat([p, q], 0).shape.as_list() == [None, 3]
    assert A.concat([p, q], 1).shape.as_list() == [2, None]
    assert A.concat([p, p], tf.placeholder(tf.int32, [])).shape.as_list() == [None, None]
    assert A.stack([p, q]).shape.as_list() == [2, 2, 3]
    assert [t.shape.as_list() for t in A.split(p, [1, 2], axis=1)] == [[None, 1], [None, 2]]
    assert A.split(p, 3, axis=1)[0].shape.as_list() == [None, 1]
    assert A.unstack(p, axis=1)[0].shape.as_list() == [None]
    assert A.transpose(p).shape.as_list() == [3, None]
    assert A.expand_dims(p, 1).shape.as_list() == [None, 1, 3]
    assert A.squeeze(p).shape.ndims is None  # the unknown dim may be 1
    assert A.squeeze(tf.placeholder(tf.float32, [None, 1]), [1]).shape.as_list() == [None]
    assert A.slice(p, [0, 1], [-1, 2]).shape.as_list() == [None, 2]
    assert A.tile(p, [2, 2]).shape.as_list() == [None, 6]
    assert A.pad(p, [[1, 1], [0, 2]]).shape.as_list() == [None, 5]
    assert A.gather(p, tf.placeholder(tf.int32, [None, 5]), axis=1).shape.as_list() == \
        [None, None, 5]
    assert A.gather_nd(p, [[0, 1]]).shape.as_list() == [1]
    assert A.one_hot(tf.placeholder(tf.int32, [None]), 4).shape.as_list() == [None, 4]
    assert A.one_hot(tf.placeholder(tf.int32, [None]), 4, axis=0).shape.as_list() == [4, None]
    assert A.where(p > 0).shape.as_list() == [None, 2]
    assert A.where_v2(tf.placeholder(tf.bool, [None, 1]), p, 0.).shape.as_list() == [None, 3]
    assert A.fill(A.shape(p), 1.).shape.as_list() == [None, 3]
    assert A.zeros_like(p).shape.as_list() == [None, 3]
    assert A.broadcast_to(1., A.shape(p)).shape.as_list() == [None, 3]
    assert A.boolean_mask(p, tf.placeholder(tf.bool, [None])).shape.as_list() == [None, 3]
    assert A.range(tf.placeholder(tf.int32, [])).shape.as_list() == [None]
    assert A.range(2, 11, 3).shape.as_list() == [3]
    assert A.matrix_diag(p).shape.as_list() == [None, 3, 3]
    assert A.gather(_x(), [[0, 1], [1, 2]], axis=1, batch_dims=1).shape.as_list() == [2, 2, 4]


def test_shape_inference_unknown_rank():
    u = tf.placeholder(tf.float32)
    i = tf.placeholder(tf.int32)
    built = [A.reshape(u, i), A.transpose(u), A.expand_dims(u, 0), A.squeeze(u, [0]),
             A.concat([u, u], 0), A.split(u, 2)[0], A.slice(u, i, i), u[1:],
             A.stack([u, u]), A.tile(u, i), A.pad(u, [[1, 1]]), A.gather(u, i),
             A.gather_nd(u, i), A.one_hot(i, 3), A.reverse(u, [0]), A.where(u > 0),
             A.where(tf.placeholder(tf.bool), u, u), A.fill(i, 1.), A.zeros_like(u),
             A.broadcast_to(u, i), A.identity(u), A.shape(u), A.size(u), A.rank(u),
             A.matrix_diag(u), A.matrix_diag_part(u), A.diag(u), A.diag_part(u)]
    for t in built:
        assert isinstance(t, tf.Tensor)
    assert A.rank(u).op.type == "Rank" and A.size(u).op.type == "Size"
    assert A.shape(u).shape.as_list() == [None]
    assert A.transpose(tf.placeholder(tf.float32, [None, 2, 3])).shape.as_list() == \
        [3, 2, None]


def test_transpose_of_unknown_rank_reverses_at_run_time():
    u = tf.placeholder(tf.float32)
    check(A.transpose(u), X.transpose(), {u: X})


def test_shape_size_rank_of_partially_known_tensors_run():
    p = tf.placeholder(tf.float32, [None, 3])
    value = np.ones((5, 3), np.float32)
    s, n, r = run([A.shape(p), A.size(p), A.rank(p)], {p: value})
    np.testing.assert_array_equal(s, [5, 3])
    assert n == 15 and r == 2
    assert A.shape(p).op.type == "Shape" and A.shape(_x()).op.type == "Const"
    assert A.size(_x()).op.type == "Const"


def test_reshape_runtime_inference():
    p = tf.placeholder(tf.float32, [None, 4])
    out = A.reshape(p, [-1, 2, 2])
    check(out, X.reshape(6, 4).reshape(-1, 2, 2), {p: X.reshape(6, 4)})


def test_zeros_ones_like_of_unknown_shape_use_like_ops():
    p = tf.placeholder(tf.float32, [None, 2])
    z, o, zi = A.zeros_like(p), A.ones_like(p), A.zeros_like(p, dtype=tf.int32)
    assert z.op.type == "ZerosLike" and o.op.type == "OnesLike"
    value = np.ones((3, 2), np.float32)
    vz, vo, vzi = run([z, o, zi], {p: value})
    np.testing.assert_array_equal(vz, np.zeros((3, 2), np.float32))
    np.testing.assert_array_equal(vo, np.ones((3, 2), np.float32))
    assert vzi.dtype == np.int32 and vzi.shape == (3, 2)


def test_default_op_names_follow_tf():
    x = _x()
    assert A.transpose(x).op.name == "transpose"
    assert A.transpose(x).op.name == "transpose_1"
    assert A.reshape(x, [-1]).op.inputs[1].op.name == "Reshape/shape"
    assert A.zeros([2]).op.name == "zeros"
    assert A.range(3).op.name == "range"
    assert A.concat([x], 0).op.name == "concat/concat"
    assert A.one_hot([1], 2).op.name == "one_hot"
    assert A.stack([A.shape(x)[0], 1]).op.name == "stack"
    assert A.split(x, 2)[0].op.name == "split"
    assert A.where(x > 1).op.name == "Where"
    assert A.gather(x, [0]).op.name == "GatherV2"


# -- autopacking -----------------------------------------------------------------------------

def test_autopacking_nested_lists():
    t = tf.placeholder(tf.int32, [])
    packed = convert_to_tensor([[t, 1], [2, 3]])
    assert packed.op.type == "Pack" and packed.op.name == "packed"
    assert packed.dtype == tf.int32 and packed.shape.as_list() == [2, 2]
    np.testing.assert_array_equal(run(packed, {t: 9}), [[9, 1], [2, 3]])
    f = tf.constant(2.5)
    mixed = A._autopacking([1, f], name="mix")
    assert mixed.dtype == tf.float32 and mixed.op.name == "mix"
    np.testing.assert_allclose(run(mixed), [1, 2.5])
    with pytest.raises(TypeError, match="Cannot convert a list containing a tensor"):
        convert_to_tensor([t, 1], dtype=tf.float32)


def test_stack_of_shape_parts_feeds_reshape():
    p = tf.placeholder(tf.float32, [None, 6])
    out = A.reshape(p, A.stack([A.shape(p)[0], 2, 3]))
    assert out.shape.as_list() == [None, 2, 3]
    check(out, X.reshape(4, 6).reshape(4, 2, 3), {p: X.reshape(4, 6)})


# -- gradients -------------------------------------------------------------------------------

def _w(*shape):
    # A fixed random weighting so every output element contributes differently.
    return tf.constant(RNG.randn(*shape))


GRADIENTS = {
    "identity": (lambda x: A.identity(x) * 2., [randn(3)]),
    "ensure_shape": (lambda x: A.ensure_shape(x, [None, 2]) * 2., [randn(3, 2)]),
    "reshape": (lambda x: A.reshape(x, [3, -1]), [randn(2, 3, 2)]),
    "transpose": (lambda x: A.transpose(x, [2, 0, 1]), [randn(2, 3, 2)]),
    "transpose_default": (lambda x: A.transpose(x), [randn(2, 3)]),
    "expand_dims": (lambda x: A.expand_dims(x, 1), [randn(2, 3)]),
    "squeeze": (lambda x: A.squeeze(x, [0]), [randn(1, 2, 3)]),
    "concat": (lambda a, b: A.concat([a, b], 1), [randn(2, 2), randn(2, 3)]),
    "concat_neg_axis": (lambda a, b: A.concat([a, b], -1), [randn(2, 1), randn(2, 2)]),
    "split": (lambda x: A.split(x, 2, axis=1)[1] * 3. + A.split(x, 2, axis=1)[0],
              [randn(2, 4)]),
    "split_sizes": (lambda x: A.concat([t * float(i + 1) for i, t in
                                        enumerate(A.split(x, [1, -1, 2], axis=-1))], -1),
                    [randn(2, 5)]),
    "split_unused_output": (lambda x: A.split(x, 3)[1], [randn(3, 2)]),
    "slice": (lambda x: A.slice(x, [1, 0], [2, -1]), [randn(3, 3)]),
    "strided_slice": (lambda x: x[1:, ::-2], [randn(3, 4)]),
    "strided_slice_masks": (lambda x: x[..., None, 1, ::2], [randn(2, 3, 4)]),
    "strided_slice_shrink": (lambda x: x[-1, 2], [randn(2, 3, 2)]),
    "strided_slice_raw": (lambda x: A.strided_slice(x, [0, 3], [2, 0], [1, -1], begin_mask=1,
                                                    end_mask=2, new_axis_mask=0), [randn(3, 4)]),
    "stack": (lambda a, b: A.stack([a, b], axis=1), [randn(2, 3), randn(2, 3)]),
    "unstack": (lambda x: A.unstack(x, axis=1)[1] * 2. + A.unstack(x, axis=1)[2],
                [randn(2, 3)]),
    "tile": (lambda x: A.tile(x, [2, 3]) * _w(4, 6), [randn(2, 2)]),
    "tile_dynamic": (lambda x: A.tile(tf.placeholder_with_default(x, [None, 2]),
                                      tf.constant([1, 2])) * _w(2, 4), [randn(2, 2)]),
    "concat_unknown_sizes": (lambda a, b: A.concat([tf.placeholder_with_default(a, [2, None]),
                                                    b], 1) * _w(2, 4),
                             [randn(2, 1), randn(2, 3)]),
    "gather_dynamic_axis": (lambda x: A.gather(x, [1, 0, 1], axis=tf.placeholder_with_default(
        1, [])) * _w(2, 3, 2), [randn(2, 2, 2)]),
    "slice_unknown_shape": (lambda x: A.slice(tf.placeholder_with_default(x, None), [1, 0],
                                              [1, 2]) * _w(1, 2), [randn(3, 3)]),
    "pad": (lambda x: A.pad(x, [[1, 0], [2, 1]]), [randn(2, 2)]),
    "pad_v2": (lambda x: A.pad(x, [[1, 1], [0, 1]], constant_values=3.), [randn(2, 2)]),
    "pad_reflect": (lambda x: A.pad(x, [[1, 2], [2, 1]], mode="REFLECT") * _w(6, 6),
                    [randn(3, 3)]),
    "pad_symmetric": (lambda x: A.pad(x, [[2, 1], [0, 3]], mode="SYMMETRIC") * _w(5, 6),
                      [randn(2, 3)]),
    "gather_axis0": (lambda x: A.gather(x, [2, 0, 2]) * _w(3, 2), [randn(3, 2)]),
    "gather_axis0_matrix_indices": (lambda x: A.gather(x, [[1, 1], [0, 2]]) * _w(2, 2, 2),
                                    [randn(3, 2)]),
    "gather_axis1": (lambda x: A.gather(x, [1, 1, 0], axis=1) * _w(2, 3, 2), [randn(2, 2, 2)]),
    "gather_axis_neg": (lambda x: A.gather(x, [[2], [0]], axis=-1) * _w(2, 2, 1),
                        [randn(2, 3)]),
    "gather_batch_dims": (lambda x: A.gather(x, [[0, 0], [2, 1]], axis=1, batch_dims=1) *
                          _w(2, 2, 2), [randn(2, 3, 2)]),
    "gather_nd": (lambda x: A.gather_nd(x, [[0, 1], [2, 0], [0, 1]]) * _w(3), [randn(3, 2)]),
    "gather_nd_rows": (lambda x: A.gather_nd(x, [[1], [1]]) * _w(2, 2), [randn(3, 2)]),
    "scatter_nd": (lambda u: A.scatter_nd([[1], [0], [1]], u, [3, 2]) * _w(3, 2),
                   [randn(3, 2)]),
    "reverse": (lambda x: A.reverse(x, [1]) * _w(2, 3), [randn(2, 3)]),
    "boolean_mask": (lambda x: A.boolean_mask(x, [True, False, True]) * _w(2, 2),
                     [randn(3, 2)]),
    "boolean_mask_2d": (lambda x: A.boolean_mask(x, [[True, False], [True, True]]) * _w(3),
                        [randn(2, 2)]),
    "select": (lambda a, b: A.where(tf.constant([[True, False], [False, True]]), a, b),
               [randn(2, 2), randn(2, 2)]),
    "select_vector_condition": (lambda a, b: A.where([False, True], a, b) * _w(2, 3),
                                [randn(2, 3), randn(2, 3)]),
    "where_v2_broadcast": (lambda a, b: A.where_v2([True, False, True], a, b) * _w(2, 3),
                           [randn(2, 1), randn(3)]),
    "broadcast_to": (lambda x: A.broadcast_to(x, [2, 3, 2]) * _w(2, 3, 2), [randn(3, 1)]),
    "fill_value": (lambda v: A.fill([2, 3], v) * _w(2, 3), [randn()]),
    "matrix_diag": (lambda d: A.matrix_diag(d) * _w(2, 3, 3), [randn(2, 3)]),
    "matrix_diag_part": (lambda x: A.matrix_diag_part(x) * _w(2, 2), [randn(2, 2, 3)]),
    "matrix_diag_part_square": (lambda x: A.matrix_diag_part(x), [randn(3, 3)]),
    "matrix_set_diag": (lambda x, d: A.matrix_set_diag(x, d) * _w(2, 3), [randn(2, 3),
                                                                          randn(2)]),
    "diag": (lambda d: A.diag(d) * _w(2, 2), [randn(2)]),
    "diag_part": (lambda x: A.diag_part(x) * _w(2, 3), [randn(2, 3, 2, 3)]),
    "identity_n": (lambda a, b: A.identity_n([a, b])[0] * 2. + A.identity_n([a, b])[1],
                   [randn(2), randn(2)]),
    "reverse_sequence": (lambda x: A.reverse_sequence(x, [1, 3], seq_axis=1) * _w(2, 3, 2),
                         [randn(2, 3, 2)]),
    "tensor_scatter_update": (lambda t, u: A.tensor_scatter_update(t, [[2], [0]], u) *
                              _w(3, 2), [randn(3, 2), randn(2, 2)]),
    "tensor_scatter_add": (lambda t, u: A.tensor_scatter_add(t, [[1, 1], [1, 1]], u) *
                           _w(3, 2), [randn(3, 2), randn(2)]),
    "tensor_scatter_sub": (lambda t, u: A.tensor_scatter_sub(t, [[0]], u) * _w(3, 2),
                           [randn(3, 2), randn(1, 2)]),
    "meshgrid": (lambda a, b: A.meshgrid(a, b)[0] * _w(3, 2) + A.meshgrid(a, b)[1],
                 [randn(2), randn(3)]),
    "strided_slice_grad_op": (lambda dy: A.strided_slice_grad([3, 4], [0, 1], [3, 4], [2, 2],
                                                              dy) * _w(3, 4), [randn(2, 2)]),
    "mirror_pad_grad_op": (lambda g: A._mirror_pad_grad_op(g, tf.constant([[1, 1], [2, 0]]),
                                                           "REFLECT") * _w(2, 3),
                           [randn(4, 5)]),
}


@pytest.mark.parametrize("case", sorted(GRADIENTS))
def test_gradient_matches_numerical(case):
    build, inputs = GRADIENTS[case]
    check_gradient(build, inputs, tol=1e-6)


def test_second_derivative_through_strided_slice_and_pad_grads():
    # d/dx of (d/dx sum((x[1:] ** 2))) goes through StridedSliceGrad's own gradient.
    def build(x):
        g = tf.gradients(M.reduce_sum(A.pad(x[1:], [[0, 1], [1, 0]], mode="SYMMETRIC") ** 3),
                         x)[0]
        return g * _w(3, 2)
    check_gradient(build, [randn(3, 2)], tol=1e-5)


def test_gather_gradient_is_indexed_slices():
    params = tf.placeholder(tf.float32, [4, 2])
    indices = tf.constant([[3, 1], [3, 0]])
    y = M.reduce_sum(A.gather(params, indices) * tf.constant(np.arange(8.,
                                                                        dtype=np.float32)
                                                             .reshape(2, 2, 2)))
    grad = tf.gradients(y, params)[0]
    assert isinstance(grad, IndexedSlices)
    assert grad.values.shape.as_list() == [4, 2] and grad.indices.shape.as_list() == [4]
    value = run(grad, {params: np.zeros((4, 2), np.float32)})
    np.testing.assert_array_equal(value.indices, [3, 1, 3, 0])
    np.testing.assert_array_equal(value.dense_shape, [4, 2])
    dense = run(convert_to_tensor(grad), {params: np.zeros((4, 2), np.float32)})
    expected = np.zeros((4, 2), np.float32)
    np.add.at(expected, [3, 1, 3, 0], np.arange(8., dtype=np.float32).reshape(4, 2))
    np.testing.assert_array_equal(dense, expected)
    # Other axes give a dense gradient.
    dense_grad = tf.gradients(M.reduce_sum(A.gather(params, [1, 1], axis=1)), params)[0]
    assert isinstance(dense_grad, tf.Tensor)
    np.testing.assert_array_equal(run(dense_grad, {params: np.zeros((4, 2))}),
                                  np.tile([[0., 2.]], [4, 1]))


def test_stop_gradient_cuts_the_graph():
    x = tf.placeholder(tf.float64, [3])
    y = M.reduce_sum(A.stop_gradient(x) * x)
    g = tf.gradients(y, x)[0]
    value = np.array([1., 2., 3.])
    np.testing.assert_array_equal(run(g, {x: value}), value)
    assert tf.gradients(M.reduce_sum(A.stop_gradient(x)), x) == [None]
    assert registry.get("StopGradient").gradient == registry.NOT_DIFFERENTIABLE


def test_every_array_op_has_kernel_sharding_and_gradient_rule():
    records = [r for r in registry.all_records().values()
               if r.defined_at.startswith("array_") and "_ops.py:" in r.defined_at]
    assert len(records) > 40
    for record in records:
        assert "numpy" in record.kernels, record.type
        assert sharding.kind_of(record.sharding) in sharding.ALL, record.type
        assert record.gradient is not None, "%s has no gradient rule" % record.type


# -- bad inputs ------------------------------------------------------------------------------

def _raises(error, pattern, fn):
    with pytest.raises(error) as info:
        fn()
    assert pattern in str(info.value), str(info.value)


BUILD_ERRORS = {
    "reshape_size": (ValueError, "Reshape", lambda: A.reshape(_x(), [5, -1])),
    "reshape_partial_size": (ValueError, "divisible by 4", lambda: A.reshape(
        tf.placeholder(tf.float32, [None, 4]), [5, 2])),
    "reshape_float_shape": (TypeError, "Reshape", lambda: A.reshape(_x(), [2.5, 3])),
    "concat_ranks": (ValueError, "concat", lambda: A.concat([_x(), tf.constant([1.])], 0)),
    "concat_dims": (ValueError, "concat", lambda: A.concat([_x(), _x()[:, :2]], 0)),
    "concat_axis": (ValueError, "concat", lambda: A.concat([_x(), _x()], 3)),
    "concat_dtypes": (TypeError, "concat", lambda: A.concat([_x(), tf.constant([[[1]]])], 0)),
    "concat_scalars": (ValueError, "concat", lambda: A.concat([tf.constant(1), 2], 0)),
    "split_uneven": (ValueError, "split", lambda: A.split(_x(), 2, axis=1)),
    "split_sizes": (ValueError, "split", lambda: A.split(_x(), [1, 1], axis=1)),
    "split_num": (ValueError, "Cannot infer num", lambda: A.split(
        _x(), tf.placeholder(tf.int32, [None]))),
    "strided_slice_oob": (ValueError, "out of bounds", lambda: _x()[2]),
    "strided_slice_zero_step": (ValueError, "strides[0] must be non-zero", lambda: _x()[::0]),
    "strided_slice_too_many": (ValueError, "Index out of range", lambda: _x()[0, 0, 0, 0]),
    "getitem_float": (TypeError, "Only integers", lambda: _x()[1.5]),
    "getitem_vector_tensor": (TypeError, "Only integers", lambda: _x()[tf.constant([1])]),
    "getitem_float_tensor": (TypeError, "Only integers", lambda: _x()[tf.constant(1.)]),
    "transpose_perm_length": (ValueError, "transpose", lambda: A.transpose(_x(), [1, 0])),
    "expand_dims_axis": (ValueError, "ExpandDims", lambda: A.expand_dims(_x(), 4)),
    "expand_dims_no_axis": (ValueError, "axis", lambda: A.expand_dims(_x())),
    "squeeze_non_one": (ValueError, "Squeeze", lambda: A.squeeze(_x(), [1])),
    "stack_shapes": (ValueError, "stack", lambda: A.stack([_x(), _x()[0]], axis=1)),
    "stack_axis": (ValueError, "axis = 4 not in", lambda: A.stack([_x(), _x()], axis=4)),
    "unstack_num": (ValueError, "Cannot infer num", lambda: A.unstack(
        tf.placeholder(tf.float32, [None, 2]))),
    "unstack_wrong_num": (ValueError, "unstack", lambda: A.unstack(_x(), num=3)),
    "tile_length": (ValueError, "Tile", lambda: A.tile(_x(), [1, 2])),
    "pad_mode": (ValueError, "Unknown padding mode", lambda: A.pad(_x(), [[0, 0]] * 3, "WRAP")),
    "pad_shape": (ValueError, "Pad", lambda: A.pad(_x(), [[1, 1]])),
    "gather_axis": (ValueError, "GatherV2", lambda: A.gather(_x(), [0], axis=3)),
    "gather_float_indices": (TypeError, "GatherV2", lambda: A.gather(_x(), [0.5])),
    "gather_nd_depth": (ValueError, "GatherNd", lambda: A.gather_nd(_x(), [[0, 0, 0, 0]])),
    "one_hot_dtype": (TypeError, "on_value", lambda: A.one_hot(
        [1], 2, on_value=tf.constant(1.), dtype=tf.int32)),
    "one_hot_on_off": (TypeError, "off_value", lambda: A.one_hot(
        [1], 2, on_value=tf.constant(1.), off_value=tf.constant(0, tf.int32))),
    "reverse_repeat": (ValueError, "ReverseV2", lambda: A.reverse(_x(), [0, -3])),
    "boolean_mask_scalar": (ValueError, "mask cannot be scalar", lambda: A.boolean_mask(
        _x(), True)),
    "boolean_mask_shape": (ValueError, "incompatible", lambda: A.boolean_mask(
        _x(), [True, False, True])),
    "where_only_x": (ValueError, "x and y must both be non-None", lambda: A.where(
        [True], x=[1.])),
    "select_shapes": (ValueError, "Select", lambda: A.where([True, False], _x(), _x()[0])),
    "select_condition": (ValueError, "Select", lambda: A.where([True, False, True], _x(),
                                                               _x())),
    "where_v2_broadcast": (ValueError, "SelectV2", lambda: A.where_v2([True, False], _x(),
                                                                      _x())),
    "fill_negative": (ValueError, "Fill", lambda: A.fill([-1, 2], 1.)),
    "fill_vector_value": (ValueError, "Fill", lambda: A.fill([2], [1., 2.])),
    "range_zero_delta": (ValueError, "Requires delta != 0", lambda: A.range(0, 5, 0)),
    "range_wrong_sign": (ValueError, "Requires start <= limit", lambda: A.range(5, 0, 1)),
    "range_string": (TypeError, "range", lambda: A.range("a")),
    "broadcast_to": (ValueError, "BroadcastTo", lambda: A.broadcast_to(_x(), [2, 2, 4])),
    "unique_rank": (ValueError, "Unique", lambda: A.unique(_x())),
    "ensure_shape": (ValueError, "EnsureShape", lambda: A.ensure_shape(_x(), [2, 3])),
    "diag_part_odd": (ValueError, "DiagPart", lambda: A.diag_part(_x())),
    "sequence_mask_maxlen": (ValueError, "maxlen must be scalar", lambda: A.sequence_mask(
        [1, 2], [3, 4])),
    "reverse_sequence_lengths": (ValueError, "ReverseSequence", lambda: A.reverse_sequence(
        _x(), [1, 2, 3], seq_axis=1)),
    "reverse_sequence_axis": (ValueError, "ReverseSequence", lambda: A.reverse_sequence(
        _x(), [1, 2], seq_axis=3)),
    "tensor_scatter_updates": (ValueError, "TensorScatterUpdate", lambda: (
        A.tensor_scatter_update(_x(), [[0]], tf.constant(np.ones((3, 4), np.float32))))),
    "meshgrid_indexing": (ValueError, "indexing", lambda: A.meshgrid([1], indexing="xx")),
}


@pytest.mark.parametrize("case", sorted(BUILD_ERRORS))
def test_build_time_errors(case):
    error, pattern, fn = BUILD_ERRORS[case]
    _raises(error, pattern, fn)


def _run_error(tensor, feed, pattern):
    with pytest.raises(errors.InvalidArgumentError) as info:
        run(tensor, feed)
    message = str(info.value)
    assert pattern in message, message
    assert "[[node %s (%s)" % (tensor.op.name, tensor.op.type) in message, message
    return message


def test_run_time_errors_name_the_op():
    p = tf.placeholder(tf.float32, [None, 4])
    value = np.zeros((3, 4), np.float32)
    i = tf.placeholder(tf.int32, [None])
    s = tf.placeholder(tf.int32, [])
    c = tf.placeholder(tf.bool, [None])
    cases = [
        (A.reshape(p, [5, -1]), {p: value}, "requested shape requires a multiple of 5"),
        (A.reshape(p, [4, 4]), {p: value}, "Input to reshape is a tensor with 12 values"),
        (A.reshape(p, [-1, -1]), {p: value}, "only one input size may be -1"),
        (A.slice(_x(), [1, 0, 0], [2, -1, -1]), None, "Expected size[0] in [0, 1], but got 2"),
        (A.transpose(_x(), [0, 0, 1]), None, "0 is duplicated"),
        (A.pad(_x(), [[2, 0], [0, 0], [0, 0]], mode="REFLECT"), None, "no greater than"),
        (A.one_hot([1], 2, axis=3), None, "Expected axis to be -1 or between [0, 2)"),
        (A.linspace(0., 1., 0), None, "Requires num > 0"),
        (A.matrix_set_diag(_x(), tf.constant(np.ones((2, 4), np.float32))), None,
         "diagonal must have shape [2,3]"),
        (A.expand_dims(p, s), {p: value, s: 5}, "Tried to expand dim index 5"),
        (A.one_hot([1], s), {s: -1}, "depth must be non-negative"),
        (A.reverse_sequence(p, i, seq_axis=1), {p: value, i: [1, 2, 5]},
         "seq_lens(2) = 5 not in [0, 4]"),
        (A.reverse_sequence(_x(), [1, 1], seq_axis=-1), None, "Invalid seq_dim -1"),
        (A.tensor_scatter_add(p, A.reshape(i, [-1, 1]), [[1., 1., 1., 1.]]),
         {p: value, i: [3]}, "does not index into param shape"),
        (A.gather(p, i), {p: value, i: [0, 3]}, "indices[1] = 3 is not in [0, 3)"),
        (A.gather(p, i, axis=1), {p: value, i: [-1]}, "indices[0] = -1 is not in [0, 4)"),
        (A.gather_nd(p, A.reshape(i, [-1, 2])),
         {p: value, i: [0, 4]}, "does not index into param shape"),
        (p[s], {p: value, s: 3}, "slice index 3 of dimension 0 out of bounds"),
        (A.slice(p, [2, 0], [2, -1]), {p: value}, "Expected size[0] in [0, 1], but got 2"),
        (A.split(p, 2)[0], {p: value}, "evenly divide"),
        (A.concat([p, A.transpose(p)], 0), {p: value}, "ConcatOp : Dimensions of inputs"),
        (A.squeeze(p, [0]), {p: value}, "Can not squeeze dim[0]"),
        (A.tile(p, i), {p: value, i: [1]}, "Expected multiples argument to be a vector of "
                                             "length 2"),
        (A.pad(p, [[3, 0], [0, 0]], mode="REFLECT"), {p: value}, "MirrorPad"),
        (A.where(c, p, p), {p: value, c: [True]},
         "Number of batches of 'then' must match size of 'cond'"),
        (A.range(s), {s: -1}, "Requires start <= limit when delta > 0"),
        (A.invert_permutation(i), {i: [0, 0]}, "duplicated"),
        (A.unstack(p, num=2)[0], {p: value}, "must equal 2"),
        (A.fill(i, 1.), {i: [-1]}, "non-negative"),
        (A.broadcast_to(p, [2, 4]), {p: value}, "Incompatible shapes"),
        (A.ensure_shape(p, [2, 4]), {p: value}, "not compatible with expected shape"),
        (A.scatter_nd(A.reshape(i, [-1, 1]), [1., 2.], [3]), {i: [0, 3]},
         "does not index into param shape"),
    ]
    for tensor, feed, pattern in cases:
        _run_error(tensor, feed, pattern)


def test_error_classes_at_run_time_are_invalid_argument_with_op_name():
    p = tf.placeholder(tf.float32, [None])
    idx = tf.placeholder(tf.int32, [None])
    g = A.gather(p, idx, name="lookup")
    with pytest.raises(errors.InvalidArgumentError) as info:
        run(g, {p: [1., 2.], idx: [5]})
    assert "lookup" in str(info.value) and "GatherV2" in str(info.value)


def test_strided_slice_var_assign():
    from hpcflow.ops.variables import Variable
    v = Variable(np.zeros((2, 3), np.float32))
    sliced = A.strided_slice(v.value(), [0, 1], [2, 3], [1, 1], var=v)
    update = sliced.assign(tf.constant(np.ones((2, 2), np.float32)))
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(update)
        np.testing.assert_array_equal(sess.run(v), [[0, 1, 1], [0, 1, 1]])
