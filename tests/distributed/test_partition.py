"""Placement and partitioning (serial): which rank runs each op, and what crosses ranks."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.distributed.cluster import ClusterSpec, JobCluster
from hpcflow.distributed.partition import partition
from hpcflow.runtime.executor import prune
from hpcflow.runtime.placement import place


def _partition(fetches, targets=(), feeds=(), cluster=None, soft=False):
    cluster = cluster or JobCluster(4, num_ps=2)
    return partition(tf.get_default_graph(), list(fetches), list(targets), list(feeds), cluster,
                     lambda edge: 16 + 2 * edge, allow_soft_placement=soft)


def _sends(plan):
    return [(rank, n["attr"]["edge"], n["attr"]["peer"]) for rank, gd in plan.graph_defs.items()
            for n in gd.node if n["op"] == "_Send"]


def test_cluster_layout_and_device_names():
    cluster = JobCluster(5, num_ps=2)
    assert cluster.ps_ranks == [0, 1] and cluster.worker_ranks == [2, 3, 4]
    assert cluster.rank_of("/job:worker/task:2/device:CPU:0") == 4
    assert cluster.rank_of("/job:ps/task:1") == 1
    assert cluster.rank_of("/cpu:0") is None
    assert cluster.device_name(3) == "/job:worker/replica:0/task:1/device:CPU:0"
    with pytest.raises(ValueError, match="does not exist"):
        cluster.rank_of("/job:worker/task:3")
    spec = cluster.cluster_spec()
    assert spec.num_tasks("ps") == 2 and spec.num_tasks("worker") == 3
    assert ClusterSpec({"ps": ["a"], "worker": ["b", "c"]}).as_dict() == {"ps": ["a"],
                                                                          "worker": ["b", "c"]}
    single = JobCluster(1)
    assert single.ps_ranks == [0] and single.worker_ranks == [0]


def test_embedding_gathers_run_next_to_their_shards():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        ids = tf.placeholder(tf.int64, [None])
        table = tf.get_variable("table", [100, 8], partitioner=tf.fixed_size_partitioner(2))
        rows = tf.nn.embedding_lookup(table, ids)
    plan = _partition([rows], feeds=[ids])
    shard_ranks = [plan.placement[v.op] for v in table]
    assert shard_ranks == [0, 1]
    sent = _sends(plan)
    # The shards' values never cross ranks; only ids and gathered rows do.
    assert not [s for s in sent if s[1] in ("table/part_0:0", "table/part_1:0")]


def test_unplaced_ops_follow_their_inputs_and_variables_go_to_ps():
    with tf.device("/job:worker/task:1"):
        a = tf.constant(np.ones((100, 100), np.float32))
        b = tf.matmul(a, a)
    c = tf.nn.relu(b)  # no device: the cost model keeps it next to b
    v = tf.Variable(1.0, name="v")
    assert v.device == ""
    plan = _partition([c, v.value()])
    assert plan.placement[c.op] == 3
    assert plan.placement[v.op] == 0
    init_plan = _partition([], targets=[v.initializer])
    assert init_plan.placement[v.initializer] == 0


def test_missing_device_is_an_error_unless_soft_placement():
    with tf.device("/job:worker/task:7"):
        x = tf.constant(1.0) * 2.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot assign a device"):
        _partition([x])
    plan = _partition([x], soft=True)
    assert set(plan.placement.values()) <= {0, 1, 2, 3}


def test_feeds_enter_on_rank0_and_fetches_return_there():
    x = tf.placeholder(tf.float32, [3], name="x")
    with tf.device("/job:worker/task:0"):
        y = x * 2.0
    plan = _partition([y], feeds=[x])
    assert plan.feed_names == ["_feed_0:0"]
    sent = _sends(plan)
    assert (0, "x:0", 2) in sent and (2, y.name, 0) in sent
    assert plan.fetch_names[0].startswith("_recv_")


def test_control_dependencies_cross_ranks_as_tokens():
    with tf.device("/job:ps/task:1"):
        first = tf.constant(1.0, name="first")
    with tf.device("/job:worker/task:0"):
        with tf.control_dependencies([first]):
            second = tf.constant(2.0, name="second")
    plan = _partition([second])
    tokens = [s for s in _sends(plan) if s[1].startswith("^")]
    assert tokens == [(1, "^first", 2)]


def test_partition_graphs_deserialize_and_order_sends_after_producers():
    from hpcflow.framework.graph_io import graph_from_bytes
    with tf.device("/job:worker/task:0"):
        a = tf.constant([1.0, 2.0]) * 3.0
    with tf.device("/job:worker/task:1"):
        b = a + 1.0
    plan = _partition([b])
    for rank, graph_def in plan.graph_defs.items():
        graph = graph_from_bytes(graph_def.SerializeToString())
        names = [op.name for op in graph.get_operations()]
        for op in graph.get_operations():
            for t in op.inputs:
                assert names.index(t.op.name) < names.index(op.name)
    assert prune([b], [], set())
    assert place(prune([b], [], set()), [], JobCluster(4, 2))[b.op] == 3


def test_threads_per_rank_split_the_node():
    from hpcflow.distributed.threads import threads_per_rank
    assert threads_per_rank(4, cores=2) == 1
    assert threads_per_rank(2, cores=16) == 8
    assert threads_per_rank(1, cores=2) == 2
