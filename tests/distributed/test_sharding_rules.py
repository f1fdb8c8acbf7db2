"""Each op's data-parallel sharding rule, one small graph per rule (serial).

S: split by rows across ranks; P: partial sums; R: replicated (see data_parallel.py).
The end-to-end check of the same rules (N ranks against one process) is in
test_mpi_jobs.py; these pin down the decision each rule makes.
"""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.distributed import data_parallel


def _state(t, feeds, mask=None):
    mask = mask if mask is not None else (True,) * len(feeds)
    plan = data_parallel.build(tf.get_default_graph(), [t], [], feeds, mask,
                               np.random.default_rng(0))
    return plan.states[t.name]


def _x(cols=4):
    return tf.placeholder(tf.float32, [None, cols], name="x")


def _partial(x):
    """A P tensor: a sum over the batch."""
    return tf.reduce_sum(x, 0)


def _images():
    return tf.placeholder(tf.float32, [None, 6, 6, 2], name="images")


def _bias_gradient(x):
    bias = tf.zeros([4])
    return tf.gradients(tf.nn.bias_add(x, bias), [bias])[0]


def _pass_through(x):
    return [tf.identity(x), tf.stop_gradient(x), tf.cast(x, tf.float64), -x,
            tf.debugging.check_numerics(x, "bad")]


CASES = {
    # name: (build(x) -> tensor or list of tensors, expected state of each)
    "pass_through_keeps_split": (_pass_through, "S"),
    "pass_through_keeps_partial": (lambda x: [tf.identity(_partial(x)), -_partial(x)], "P"),
    "sum_of_partials_is_partial": (lambda x: _partial(x) + _partial(x * 2.0), "P"),
    "partial_times_scalar_is_partial": (lambda x: _partial(x) * 3.0, "P"),
    "partial_over_scalar_is_partial": (lambda x: _partial(x) / 3.0, "P"),
    "partial_plus_constant_is_replicated": (lambda x: _partial(x) + 1.0, "R"),
    "shape_and_size_are_global": (lambda x: [tf.shape(x), tf.size(x), tf.rank(x)], "R"),
    "zeros_like_split_is_split": (lambda x: [tf.zeros_like(x), tf.ones_like(x)], "S"),
    "sum_over_batch_is_partial": (lambda x: [tf.reduce_sum(x, 0), tf.reduce_mean(x, 0),
                                             tf.reduce_mean(x)], "P"),
    "sum_within_rows_is_split": (lambda x: [tf.reduce_sum(x, 1), tf.reduce_mean(x, -1)], "S"),
    "max_within_rows_is_split": (lambda x: [tf.reduce_max(x, 1), tf.argmax(x, 1)], "S"),
    "max_over_batch_is_gathered": (lambda x: [tf.reduce_max(x, 0), tf.reduce_max(x)], "R"),
    "matmul_rows_by_weights_is_split": (
        lambda x: tf.matmul(x, tf.ones([4, 3])), "S"),
    "matmul_contracting_the_batch_is_partial": (
        lambda x: tf.matmul(x, x * 2.0, transpose_a=True), "P"),
    "matmul_of_partial_is_partial": (
        lambda x: [tf.matmul(tf.expand_dims(_partial(x), 0), tf.ones([4, 3])),
                   tf.matmul(tf.ones([3, 1]), tf.expand_dims(_partial(x), 0))], "P"),
    "matmul_weights_by_rows_is_gathered": (
        lambda x: tf.matmul(tf.ones([3, 5]), x[:5]), "R"),
    "bias_add_grad_and_l2_loss_are_partial": (
        lambda x: [tf.nn.l2_loss(x), _bias_gradient(x)], "P"),
    "reshape_keeping_rows_is_split": (lambda x: tf.reshape(x, [-1, 2, 2]), "S"),
    "reshape_mixing_rows_is_gathered": (lambda x: tf.reshape(x, [2, -1]), "R"),
    "reshape_of_partial_is_partial": (lambda x: tf.reshape(_partial(x), [2, 2]), "P"),
    "layout_ops_keeping_the_batch_axis_are_split": (
        lambda x: [tf.expand_dims(x, 1), tf.squeeze(tf.expand_dims(x, 2), [2]),
                   tf.transpose(tf.expand_dims(x, 2), [0, 2, 1]), tf.tile(x, [1, 2])], "S"),
    "layout_ops_moving_the_batch_axis_are_gathered": (
        lambda x: [tf.expand_dims(x, 0), tf.transpose(x), tf.tile(x, [2, 1])], "R"),
    "concat_and_stack_beside_the_batch_are_split": (
        lambda x: [tf.concat([x, x * 2.0], 1), tf.stack([x, tf.ones([4])[None, :] + x], 1)],
        "S"),
    "concat_along_the_batch_is_gathered": (lambda x: tf.concat([x, x], 0), "R"),
    "slicing_columns_is_split": (lambda x: x[:, 1:3], "S"),
    "slicing_rows_is_gathered": (lambda x: x[1:], "R"),
    "gather_of_split_indices_is_split": (
        lambda x: tf.gather(tf.ones([10, 3]), tf.cast(x[:, 0], tf.int32)), "S"),
    "select_and_where_are_elementwise": (
        lambda x: [tf.where(x > 0.0, x, -x), tf.where(x > 0.0, x, tf.zeros_like(x))], "S"),
    "elementwise_ops_are_split": (
        lambda x: [tf.nn.relu(x) * tf.sigmoid(x) + 1.0, tf.maximum(x, 0.5)], "S"),
    "row_wise_nn_ops_are_split": (
        lambda x: [tf.nn.softmax(x), tf.nn.log_softmax(x), tf.nn.bias_add(x, tf.zeros([4])),
                   tf.one_hot(tf.cast(x[:, 0], tf.int32), 3),
                   tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.nn.softmax(x),
                                                              logits=x)], "S"),
    "unknown_ops_are_gathered": (lambda x: tf.cumsum(x, 0), "R"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(name):
    build, expected = CASES[name]
    x = _x()
    outputs = build(x)
    for t in outputs if isinstance(outputs, list) else [outputs]:
        assert _state(t, [x]) == expected, t.name


def test_convolution_and_pooling_rules():
    images = _images()
    w = tf.ones([3, 3, 2, 5])
    conv = tf.nn.conv2d(images, w, [1, 1, 1, 1], "SAME")
    pooled = tf.nn.max_pool(conv, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    avg = tf.nn.avg_pool(conv, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    loss = tf.reduce_sum(pooled) + tf.reduce_sum(avg)
    grad_images, grad_w = tf.gradients(loss, [images, w])
    for t, expected in ((conv, "S"), (pooled, "S"), (avg, "S"), (grad_images, "S"),
                        (grad_w, "P")):
        assert _state(t, [images]) == expected, t.name


def test_gradient_of_a_broadcasting_op_keeps_its_rows():
    x = _x()
    y = tf.placeholder(tf.float32, [None, 4], name="y")
    grad = tf.gradients(tf.reduce_sum(tf.square(x - y)), [x])[0]
    assert _state(grad, [x, y]) == "S"


def test_replicated_inputs_stay_replicated():
    x = _x()
    assert _state(tf.matmul(x, x, transpose_a=True), [x], mask=[False]) == "R"


def test_user_collectives_are_replicated():
    x = _x()
    assert _state(tf.mpi.allreduce(tf.reduce_sum(x, 0)), [x]) == "R"


def test_rules_live_in_the_op_registry():
    from hpcflow.framework import registry, sharding
    assert isinstance(registry.get("MatMul").sharding, sharding.Rule)
    assert sharding.kind_of(registry.get("MatMul").sharding) == sharding.ROW_WISE
    with pytest.raises(ValueError, match="unknown sharding kind"):
        sharding.Rule("diagonal", lambda op, states, state_of: None)
