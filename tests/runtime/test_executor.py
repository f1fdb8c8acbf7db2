"""The executor: plan caching, the step loop, freeing and reusing buffers, errors, the pool."""
import threading
import weakref

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors, registry, sharding
from hpcflow.ops.op_helpers import apply_op
from hpcflow.runtime import config as config_lib
from hpcflow.runtime import executor as executor_lib
from hpcflow.runtime.rewrites import fused_elementwise
from hpcflow.runtime.state import SessionState


@pytest.fixture(autouse=True)
def default_environment(monkeypatch):
    # These tests assume the defaults: all passes on, one inter-op thread.
    monkeypatch.delenv("HPCFLOW_REWRITES", raising=False)
    monkeypatch.delenv("HPCFLOW_INTER_OP_THREADS", raising=False)

# -- test ops: record what their kernels saw ----------------------------------------------

_SEEN = {"threads": [], "outputs": [], "order": []}


def _same(op):
    return [(op.inputs[0].shape, op.inputs[0].dtype)]


def _record_kernel(x, *, tag):
    _SEEN["threads"].append(threading.current_thread().name)
    _SEEN["order"].append(tag)
    out = np.array(x, copy=True)
    _SEEN["outputs"].append(weakref.ref(out))
    return out


def _bad_dtype_kernel(x):
    return x.astype(np.float64)


if registry.lookup("TestExecutorRecord") is None:
    registry.register_op("TestExecutorRecord", shape=_same, numpy=_record_kernel,
                         sharding=sharding.ELEMENTWISE)
    registry.register_op("TestExecutorBadDtype", shape=_same, numpy=_bad_dtype_kernel)


def record(x, tag=""):
    return apply_op("TestExecutorRecord", [tf.convert_to_tensor(x)], {"tag": tag})


@pytest.fixture(autouse=True)
def clear_seen():
    for v in _SEEN.values():
        v.clear()
    yield


def make_executor(**config):
    return executor_lib.Executor(SessionState(), config=config_lib.ConfigProto(**config))


# -- plans ----------------------------------------------------------------------------------

def test_plans_are_compiled_once_per_signature():
    x = tf.placeholder(tf.float32, [None])
    y = x * 2.0
    z = y + 1.0
    executor = make_executor()
    graph = tf.get_default_graph()
    first = executor.plan(graph, [y], [], [x])
    assert executor.plan(graph, [y], [], [x]) is first
    assert executor.plan(graph, [z], [], [x]) is not first
    assert executor.plan(graph, [z], [], [y]) is not executor.plan(graph, [z], [], [x])
    np.testing.assert_array_equal(first.run([np.array([1.0, 2.0], np.float32)])[0], [2.0, 4.0])


def test_session_reuses_its_plan():
    x = tf.placeholder(tf.float32, [])
    y = x * 3.0
    with tf.Session() as sess:
        for value in range(5):
            assert sess.run(y, {x: value}) == 3.0 * value
        assert len(sess._runtime.local_executor._plans) == 1


def test_fed_intermediate_cuts_the_graph():
    x = tf.placeholder(tf.float32, [])
    y = record(x * 2.0, "upstream")
    z = y + 1.0
    with tf.Session() as sess:
        assert sess.run(z, {y: 10.0}) == 11.0
    assert _SEEN["order"] == []  # the producer of the fed tensor never ran


def test_intermediate_buffers_are_freed_after_last_use():
    x = tf.placeholder(tf.float32, [1000])
    a = record(x, "a")
    b = tf.reduce_sum(a)
    c = record(tf.reshape(b, [1]), "c")
    with tf.Session() as sess:
        sess.run(c, {x: np.ones(1000, np.float32)})
        # a's buffer died after reduce_sum; c is the fetched value the session returned.
        assert _SEEN["outputs"][0]() is None


@pytest.mark.skipif(not fused_elementwise.cython_available(),
                    reason="buffer reuse is done by the Cython fused kernel")
def test_fused_chain_reuses_a_dying_input_buffer(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)  # the checked loop never reuses
    x = tf.placeholder(tf.float32, [4096])
    a = record(x, "fresh")  # a fresh, exclusively owned array
    y = tf.tanh(a * 2.0) + 1.0
    with tf.Session() as sess:
        sess.run(y, {x: np.zeros(4096, np.float32)})  # compiles the plan
        _SEEN["outputs"].clear()
        value = np.linspace(-1, 1, 4096).astype(np.float32)
        result = sess.run(y, {x: value})
    np.testing.assert_allclose(result, np.tanh(value * 2) + 1, rtol=1e-6, atol=1e-6)
    # The output was written into a's buffer: that array object is the fetched result.
    assert _SEEN["outputs"][0]() is result


def test_fetched_or_still_used_inputs_are_never_reused(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    x = tf.placeholder(tf.float32, [4096])
    a = record(x, "fetched")
    b = record(x, "used_later")
    y = tf.tanh(a * 2.0) + 1.0
    z = tf.exp(b * 0.5) - 1.0
    later = b * 3.0
    value = np.linspace(-1, 1, 4096).astype(np.float32)
    with tf.Session() as sess:
        for _ in range(2):
            ra, ry, rz, rl = sess.run([a, y, z, later], {x: value})
    np.testing.assert_array_equal(ra, value)
    np.testing.assert_allclose(ry, np.tanh(value * 2) + 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rz, np.exp(value * 0.5) - 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rl, value * 3, rtol=1e-6)


def test_feeds_and_variables_are_never_reused_as_output_buffers(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    x = tf.placeholder(tf.float32, [4096])
    v = tf.Variable(np.ones(4096, np.float32))
    y = tf.tanh(x * 2.0) + 1.0
    w = tf.exp(v * 1.5) - 1.0
    value = np.zeros(4096, np.float32)
    with tf.Session() as sess:
        sess.run(v.initializer)
        for _ in range(2):
            sess.run([y, w], {x: value})
        np.testing.assert_array_equal(value, 0.0)
        np.testing.assert_array_equal(sess.run(v), 1.0)


def test_thousand_op_chain_runs_unfused_and_fused(monkeypatch):
    x = tf.placeholder(tf.float32, [])
    y = x
    for _ in range(1000):
        y = tf.tanh(y)
    expected = np.float32(0.3)
    for _ in range(1000):
        expected = np.tanh(expected)
    for spec in ("none", ""):
        monkeypatch.setenv("HPCFLOW_REWRITES", spec)
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(y, {x: 0.3}), expected, rtol=1e-5)


# -- errors ---------------------------------------------------------------------------------

def test_errors_name_the_op_and_carry_the_failed_node_index():
    x = tf.placeholder(tf.int32, [None])
    y = tf.floordiv(x, tf.constant(0), name="divide_by_zero")
    z = y + 1
    executor = make_executor()
    plan = executor.plan(tf.get_default_graph(), [z], [], [x])
    with pytest.raises(errors.InvalidArgumentError, match="divide_by_zero") as info:
        plan.run([np.array([1, 2], np.int32)])
    assert plan.nodes[info.value.failed_node_index].op is y.op
    assert "on rank 0" in info.value.message


def test_check_kernels_catches_a_wrong_dtype(monkeypatch):
    x = tf.placeholder(tf.float32, [2])
    y = apply_op("TestExecutorBadDtype", [x], name="liar")
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", True)
    with tf.Session() as sess:
        with pytest.raises(errors.InternalError, match="liar.*dtype float64"):
            sess.run(y, {x: np.ones(2, np.float32)})


def test_creation_order_plans_run_in_creation_order():
    x = tf.placeholder(tf.float32, [])
    late_input = record(x, "first_created")
    early = record(x, "second_created")
    total = early + late_input
    executor = make_executor()
    plan = executor_lib.Plan(tf.get_default_graph(), [total], [], [x], executor.state,
                             executor, creation_order=True)
    ids = [n.op._id for n in plan.nodes]
    assert ids == sorted(ids)
    assert plan.run([np.float32(2.0)])[0] == 4.0
    assert _SEEN["order"] == ["first_created", "second_created"]


# -- the inter-op thread pool ---------------------------------------------------------------

def _independent_matmuls(n=4, size=256):
    rng = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [size, size])
    mats = [tf.constant(rng.randn(size, size).astype(np.float32)) for _ in range(n)]
    products = [tf.matmul(x, m) for m in mats]
    return x, products, rng.randn(size, size).astype(np.float32)


def test_pool_runs_independent_heavy_ops_with_sequential_results(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    x, products, value = _independent_matmuls()
    total = tf.add_n(products)
    sequential = make_executor()
    parallel = make_executor(inter_op_parallelism_threads=2)
    graph = tf.get_default_graph()
    expected = sequential.plan(graph, [total] + products, [], [x]).run([value])
    plan = parallel.plan(graph, [total] + products, [], [x])
    assert plan._parallel
    for _ in range(3):
        for got, want in zip(plan.run([value]), expected):
            np.testing.assert_array_equal(got, want)
    parallel.clear()


def test_pool_offloads_to_worker_threads(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    monkeypatch.setattr(executor_lib, "GIL_RELEASING_OPS",
                        executor_lib.GIL_RELEASING_OPS | {"TestExecutorRecord"})
    x = tf.placeholder(tf.float32, [100000])
    outs = [record(x * float(i), "r%d" % i) for i in range(3)]
    executor = make_executor(inter_op_parallelism_threads=2)
    plan = executor.plan(tf.get_default_graph(), outs, [], [x])
    results = plan.run([np.ones(100000, np.float32)])
    for i, r in enumerate(results):
        np.testing.assert_array_equal(r, float(i))
    assert any(name.startswith("hpcflow-inter-op") for name in _SEEN["threads"])
    executor.clear()


def test_pool_keeps_stateful_ops_in_sequence(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    size = 256
    v = tf.Variable(np.ones((size, size), np.float32))
    x = tf.placeholder(tf.float32, [size, size])
    before = tf.matmul(x, v)  # reads v, then v is updated in place
    with tf.control_dependencies([before]):
        update = tf.assign_add(v, np.ones((size, size), np.float32))
    after = tf.matmul(x, tf.identity(update))
    value = np.eye(size, dtype=np.float32)
    graph = tf.get_default_graph()
    for threads in (1, 2):
        executor = make_executor(inter_op_parallelism_threads=threads)
        executor.plan(graph, [], [v.initializer], []).run([])
        b, a = executor.plan(graph, [before, after], [], [x]).run([value])
        np.testing.assert_array_equal(b, 1.0)
        np.testing.assert_array_equal(a, 2.0)
        executor.clear()


def test_pool_reports_kernel_errors_naming_the_op(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    x, products, value = _independent_matmuls(n=2)
    y = tf.placeholder(tf.float32, [None, None])
    bad = tf.matmul(products[0], y, name="bad_matmul")
    executor = make_executor(inter_op_parallelism_threads=2)
    plan = executor.plan(tf.get_default_graph(), [bad, products[1]], [], [x, y])
    with pytest.raises(errors.InvalidArgumentError, match="bad_matmul"):
        plan.run([value, np.ones((3, 3), np.float32)])
    executor.clear()


def test_creation_order_plans_never_use_the_pool(monkeypatch):
    monkeypatch.setattr(executor_lib, "CHECK_KERNELS", False)
    x, products, value = _independent_matmuls()
    executor = make_executor(inter_op_parallelism_threads=2)
    plan = executor_lib.Plan(tf.get_default_graph(), products, [], [x], executor.state,
                             executor, creation_order=True)
    assert not plan._parallel and not any(n.offload for n in plan.nodes)


def test_thread_count_from_config_and_environment(monkeypatch):
    monkeypatch.delenv("HPCFLOW_INTER_OP_THREADS", raising=False)
    assert make_executor().inter_op_threads == 1
    assert make_executor(inter_op_parallelism_threads=3).inter_op_threads == 3
    monkeypatch.setenv("HPCFLOW_INTER_OP_THREADS", "2")
    assert make_executor().inter_op_threads == 2


def test_traces_name_fused_and_folded_nodes():
    x = tf.placeholder(tf.float32, [None])
    y = tf.tanh(x * 2.0) + tf.constant(1.0) * 3.0
    with tf.Session() as sess:
        metadata = tf.RunMetadata()
        sess.run(y, {x: np.ones(4, np.float32)},
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=metadata)
    stats = metadata.step_stats.dev_stats[0].node_stats
    assert (y.op.name, "_FusedElementwise") in [(s.node_name, s.op_type) for s in stats]
