"""The data-parallel analysis (serial): which tensors are split, partial or replicated, and
which collectives and rewrites the SPMD graph gets."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.distributed import data_parallel
from hpcflow.distributed.dp_runtime import split_counts


def _build(fetches, targets, feeds, mask=None):
    mask = mask if mask is not None else (True,) * len(feeds)
    plan = data_parallel.build(tf.get_default_graph(), fetches, targets, feeds, mask,
                               np.random.default_rng(0))
    ops = {n["name"]: n for n in plan.graph_def.node}
    return plan, ops


def _mlp():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    w1 = tf.get_variable("w1", [4, 8])
    w2 = tf.get_variable("w2", [8, 3])
    hidden = tf.nn.relu(tf.matmul(x, w1))
    logits = tf.matmul(hidden, w2)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return x, y, logits, loss, train


def test_mlp_states_and_one_fused_gradient_allreduce():
    x, y, logits, loss, train = _mlp()
    plan, ops = _build([loss, logits], [train], [x, y])
    assert plan.states[logits.name] == "S"
    assert plan.states[loss.name] == "P"
    assert plan.states["w1:0"] == "R"
    fused = [n for n in ops.values() if n["op"] == "_DPAllReduce"]
    assert len(fused) == 1 and len(fused[0]["input"]) == 2  # both weight gradients, one buffer
    assert ops["Mean"]["op"] == "_DPShardMean"
    fetches = [ops[name.split(":")[0]]["op"] for name in plan.fetch_names]
    assert fetches == ["_DPFetchSum", "_DPFetchRows"]
    # No rows are gathered anywhere: the whole step is split, then one allreduce.
    assert not [n for n in ops.values() if n["op"] == "_DPAllGatherRows"]


def test_shape_of_split_tensor_reports_the_global_batch():
    x = tf.placeholder(tf.float32, [None, 3])
    rows = tf.shape(x)[0]
    plan, ops = _build([rows], [], [x])
    assert plan.states[rows.name] == "R"
    assert any(n["op"] == "_DPGlobalShape" for n in ops.values())


def test_unknown_op_gathers_rows_first():
    x = tf.placeholder(tf.float32, [None])
    ordered = tf.cumsum(x)  # a running sum over the batch axis needs every row
    plan, ops = _build([ordered], [], [x])
    assert plan.states[ordered.name] == "R"
    assert any(n["op"] == "_DPAllGatherRows" for n in ops.values())


def test_softmax_of_a_vector_is_not_split():
    x = tf.placeholder(tf.float32, [None])
    probabilities = tf.nn.softmax(x)
    plan, _ = _build([probabilities], [], [x])
    assert plan.states[probabilities.name] == "R"


def test_replicated_values_meeting_split_rows_are_sliced():
    x = tf.placeholder(tf.float32, [None, 2])
    mask = tf.random_uniform(tf.shape(x), seed=1)  # full-batch, identical on every rank
    out = x * mask
    plan, ops = _build([out], [], [x])
    assert plan.states[mask.name] == "R" and plan.states[out.name] == "S"
    assert any(n["op"] == "_DPLocalRows" for n in ops.values())


def test_unseeded_random_ops_get_one_seed_for_every_rank():
    noise = tf.random_normal([3])
    x = tf.placeholder(tf.float32, [None, 3])
    _, ops = _build([x + noise], [], [x])
    random_nodes = [n for n in ops.values() if n["op"] == "RandomStandardNormal"]
    assert random_nodes
    assert all(n["attr"]["seed"] != 0 or n["attr"]["seed2"] != 0 for n in random_nodes)


def test_unsplit_feed_and_partial_sum_plus_constant():
    x = tf.placeholder(tf.float64, [None, 2])
    gram = tf.matmul(x, x, transpose_a=True)  # a sum over the batch: partial
    regularized = gram + tf.eye(2, dtype=tf.float64)
    plan, ops = _build([regularized], [], [x])
    assert plan.states[gram.name] == "P"
    assert plan.states[regularized.name] == "R"
    assert any(n["op"] == "_DPAllReduce" for n in ops.values())


def test_split_counts_are_consecutive_blocks():
    assert split_counts(10, 4) == [3, 3, 2, 2]
    assert split_counts(2, 4) == [1, 1, 0, 0]
    assert sum(split_counts(37, 3)) == 37


def test_async_updates_push_the_gradients_and_leave_the_update_to_rank_0():
    x, y, logits, loss, train = _mlp()
    plan = data_parallel.build(tf.get_default_graph(), [loss], [train], [x, y], (True, True),
                               np.random.default_rng(0), async_updates=True)
    ops = {n["op"] for n in plan.graph_def.node}
    assert "_DPPushUpdates" in ops and "ApplyGradientDescent" not in ops
    assert "_DPAllReduce" not in ops  # nothing is combined before the push
    assert plan.push.states == ["P", "P"] and plan.push.reply_variables == ["w1", "w2"]
    update_ops = {n["op"] for n in plan.update_graph.graph_def.node}
    assert "ApplyGradientDescent" in update_ops and "MatMul" not in update_ops


def _regression_with(process_gradients):
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    w = tf.get_variable("w", [4, 1])
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
    optimizer = tf.train.GradientDescentOptimizer(0.1)
    grads, variables = zip(*optimizer.compute_gradients(loss))
    train = optimizer.apply_gradients(zip(process_gradients(grads), variables))
    return x, loss, train


def test_async_updates_clip_each_ranks_share_by_the_global_norm():
    x, loss, train = _regression_with(lambda grads: tf.clip_by_global_norm(grads, 1.0)[0])
    plan = data_parallel.build(tf.get_default_graph(), [loss], [train], [x], (True,),
                               np.random.default_rng(0), async_updates=True)
    assert plan.push.states == ["P"]


def test_async_updates_refuse_gradients_combined_over_every_rank():
    x, loss, train = _regression_with(lambda grads: [tf.cumsum(g, 0) for g in grads])
    with pytest.raises(tf.errors.InvalidArgumentError, match="need each rank's own gradients"):
        data_parallel.build(tf.get_default_graph(), [loss], [train], [x], (True,),
                            np.random.default_rng(0), async_updates=True)


def test_fetching_a_value_of_the_parameter_server_update_is_refused():
    x, y, logits, loss, train = _mlp()
    update = [op for op in tf.get_default_graph().get_operations()
              if op.type == "ApplyGradientDescent"][0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot fetch"):
        data_parallel.build(tf.get_default_graph(), [update.outputs[0]], [train], [x, y],
                            (True, True), np.random.default_rng(0), async_updates=True)
