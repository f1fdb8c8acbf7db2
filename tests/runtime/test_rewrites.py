"""Graph rewrite passes: each pass's pattern, what it must never touch, and turning passes off."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors, registry
from hpcflow.ops import array_ops
from hpcflow.runtime import config as config_lib
from hpcflow.runtime import executor as executor_lib
from hpcflow.runtime import rewrites
from hpcflow.runtime.rewrites import fused_elementwise
from hpcflow.runtime.state import SessionState


def compile_plan(fetches, feeds=(), targets=(), passes=rewrites.PASS_NAMES, **kwargs):
    """A Plan of the default graph with exactly `passes`, on a fresh state."""
    state = SessionState()
    executor = executor_lib.Executor(state)
    graph = tf.get_default_graph()
    return executor_lib.Plan(graph, list(fetches), list(targets), list(feeds), state, executor,
                             passes=passes, **kwargs)


def node_types(plan):
    return [n.ir_type for n in plan.nodes]


def run_both(fetches, feed_dict=None, monkeypatch=None):
    """Runs `fetches` with all passes and with none; returns both results."""
    results = []
    for spec in ("", "none"):
        monkeypatch.setenv("HPCFLOW_REWRITES", spec)
        with tf.Session() as sess:
            results.append(sess.run(fetches, feed_dict))
    return results



@pytest.fixture(autouse=True)
def default_environment(monkeypatch):
    # These tests assume the defaults: all passes on, one inter-op thread.
    monkeypatch.delenv("HPCFLOW_REWRITES", raising=False)
    monkeypatch.delenv("HPCFLOW_INTER_OP_THREADS", raising=False)

# -- the table -----------------------------------------------------------------------------

def test_pass_table_is_ordered_and_documented():
    assert rewrites.PASS_NAMES == ("constant_folding", "arithmetic", "cse", "pruning",
                                   "conv_fusion", "fusion")
    for name, fn in rewrites.PASSES:
        assert "Pattern" in fn.__doc__ or "Patterns" in fn.__doc__, name


def test_rewrites_never_change_the_user_graph():
    x = tf.placeholder(tf.float32, [None])
    y = tf.nn.relu(tf.identity(x) * 1.0 + 0.5) * tf.sigmoid(x) + tf.constant(2.0) * 3.0
    graph = tf.get_default_graph()
    before = [(op.name, op.type, [t.name for t in op.inputs]) for op in graph.get_operations()]
    plan = compile_plan([y], [x])
    assert "_FusedElementwise" in node_types(plan)
    after = [(op.name, op.type, [t.name for t in op.inputs]) for op in graph.get_operations()]
    assert before == after


# -- constant folding ---------------------------------------------------------------------

def test_constant_folding_folds_constant_expressions():
    c = tf.constant(2.0) * 3.0 + tf.constant([1.0, 2.0])
    plan = compile_plan([c], passes=("constant_folding", "pruning"))
    assert node_types(plan) == ["Const"]
    assert plan.nodes[0].op is c.op  # the node keeps the original op (names, errors)
    np.testing.assert_array_equal(plan.run([])[0], [7.0, 8.0])
    assert plan.rewrite_stats["constant_folding"] == 2


def test_folded_values_are_read_only_and_fetches_are_copies():
    c = tf.constant([1.0, 2.0]) * 2.0
    with tf.Session() as sess:
        first = sess.run(c)
        first[0] = 100.0
        np.testing.assert_array_equal(sess.run(c), [2.0, 4.0])


def test_constant_folding_skips_stateful_and_random_ops():
    r = tf.random_uniform([3], seed=1) * 2.0
    v = tf.Variable([1.0, 2.0])
    w = v * 2.0
    plan = compile_plan([r, w], passes=("constant_folding",))
    types = node_types(plan)
    assert "RandomUniform" in types and "VariableV2" in types
    assert types.count("Mul") == 2


def test_constant_folding_respects_feeds_and_control_inputs(monkeypatch):
    a = tf.constant(1.0)
    b = a * 2.0
    v = tf.Variable(0.0)
    bump = tf.assign_add(v, 1.0)
    with tf.control_dependencies([bump]):
        c = tf.constant(3.0) + 1.0
    plan = compile_plan([c], passes=("constant_folding",))
    assert "AddV2" in node_types(plan) and "AssignAdd" in node_types(plan)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(b, {a: 5.0}) == 10.0
        assert sess.run(c) == 4.0
        assert sess.run(v) == 1.0  # the control input still ran


def test_failing_kernel_is_not_folded_and_fails_at_run_time_naming_the_op():
    bad = tf.floordiv(tf.constant(1), tf.constant(0), name="bad_div")
    plan = compile_plan([bad], passes=("constant_folding",))
    assert "FloorDiv" in node_types(plan)
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="bad_div"):
            sess.run(bad)


def test_large_results_are_not_folded():
    big = tf.fill([2048, 2048], 1.0)  # 16 MiB > MAX_FOLDED_BYTES
    small = tf.fill([4, 4], 1.0)
    plan = compile_plan([big, small], passes=("constant_folding",))
    types = node_types(plan)
    assert types.count("Fill") == 1
    with tf.Session() as sess:
        assert sess.run(big).shape == (2048, 2048)


def test_shape_size_rank_of_static_shapes_fold():
    x = tf.placeholder(tf.float32, [2, 3])
    y = tf.placeholder(tf.float32, [None, 3])
    shape_x = array_ops.shape_internal(x, optimize=False)  # the Shape op, not a constant
    fetches = [shape_x, array_ops.size(x), array_ops.rank(y), tf.shape(y)]
    plan = compile_plan(fetches, [x, y], passes=("constant_folding",))
    types = node_types(plan)
    assert types.count("Shape") == 1  # only shape(y) runs, shape(x) is folded
    assert "Size" not in types and "Rank" not in types
    shape_x, size_x, rank_y, shape_y = plan.run([np.zeros((2, 3), np.float32),
                                                 np.zeros((5, 3), np.float32)])
    np.testing.assert_array_equal(shape_x, [2, 3])
    assert size_x == 6 and rank_y == 2
    np.testing.assert_array_equal(shape_y, [5, 3])
    # Creation-order plans (data-parallel graphs keep global static shapes) never do this.
    plan = compile_plan(fetches, [x, y], passes=("constant_folding",), creation_order=True)
    assert node_types(plan).count("Shape") == 2


def test_stateful_op_behind_a_folded_shape_still_runs():
    v = tf.Variable([0.0, 0.0])
    bumped = tf.assign_add(v, [1.0, 1.0])
    shape = array_ops.shape_internal(bumped, optimize=False)
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(shape), [2])
        np.testing.assert_array_equal(sess.run(v), [1.0, 1.0])


# -- arithmetic simplification ------------------------------------------------------------

def test_arithmetic_removes_identities(monkeypatch):
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.identity(tf.identity(x)) * 1.0
    z = 1.0 * (y / 1.0) - 0.0
    n = tf.negative(tf.negative(z))
    plan = compile_plan([n], [x], passes=("arithmetic", "pruning"))
    assert node_types(plan) == []  # the fetch is the feed itself
    value = np.array([[1.0, -0.0, np.nan]], np.float32)
    result = plan.run([value])[0]
    np.testing.assert_array_equal(result, value)
    assert np.signbit(result[0, 1])


def test_arithmetic_keeps_float_add_zero_and_broadcasts():
    x = tf.placeholder(tf.float32, [3])
    plus_zero = x + 0.0  # -0.0 + 0.0 is +0.0: not an identity for floats
    widened = x * tf.ones([2, 3])  # broadcasting changes the shape
    i = tf.placeholder(tf.int32, [3])
    int_plus_zero = i + 0
    plan = compile_plan([plus_zero, widened, int_plus_zero], [x, i], passes=("arithmetic",))
    types = node_types(plan)
    assert "AddV2" in types and "Mul" in types
    assert types.count("AddV2") == 1  # the integer one is gone
    a, b, c = plan.run([np.array([-0.0, 1.0, 2.0], np.float32), np.array([1, 2, 3], np.int32)])
    assert not np.signbit(a[0])
    assert b.shape == (2, 3)
    np.testing.assert_array_equal(c, [1, 2, 3])


def test_arithmetic_never_aliases_variable_storage(monkeypatch):
    # y = v * 1 must be v's value before the in-place update that runs after it.
    v = tf.Variable([1.0, 2.0])
    y = v * 1.0
    with tf.control_dependencies([y]):
        update = tf.assign_add(v, [10.0, 10.0])
    for spec in ("", "none"):
        monkeypatch.setenv("HPCFLOW_REWRITES", spec)
        with tf.Session() as sess:
            sess.run(v.initializer)
            value, _ = sess.run([y, update])
            np.testing.assert_array_equal(value, [1.0, 2.0])


def test_arithmetic_keeps_ops_with_control_inputs():
    x = tf.placeholder(tf.float32, [])
    v = tf.Variable(0.0)
    bump = tf.assign_add(v, 1.0)
    with tf.control_dependencies([bump]):
        y = tf.identity(x)
    plan = compile_plan([y], [x], passes=rewrites.PASS_NAMES)
    assert "Identity" in node_types(plan)
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(y, {x: 1.0})
        assert sess.run(v) == 1.0


# -- common subexpression elimination -----------------------------------------------------

def test_cse_merges_equal_ops_and_constants():
    x = tf.placeholder(tf.float32, [None])
    a = tf.exp(x) + tf.constant(2.0)
    b = tf.exp(x) + tf.constant(2.0)
    plan = compile_plan([a, b], [x], passes=("cse",))
    types = node_types(plan)
    assert types.count("Exp") == 1 and types.count("AddV2") == 1 and types.count("Const") == 1
    ra, rb = plan.run([np.array([0.0, 1.0], np.float32)])
    np.testing.assert_allclose(ra, np.exp([0.0, 1.0]) + 2.0, rtol=1e-6)
    np.testing.assert_array_equal(ra, rb)


def test_cse_keeps_different_attrs_and_stateful_ops():
    x = tf.placeholder(tf.float32, [None])
    a = tf.nn.leaky_relu(x, alpha=0.1)
    b = tf.nn.leaky_relu(x, alpha=0.2)
    c = tf.constant(0.0) + x
    d = tf.constant(-0.0) + x  # -0.0 and 0.0 are different constants
    plan = compile_plan([a, b, c, d], [x], passes=("cse",))
    types = node_types(plan)
    assert types.count("LeakyRelu") == 2 and types.count("AddV2") == 2
    v = tf.Variable(0.0)
    first = tf.assign_add(v, 1.0)
    second = tf.assign_add(v, 1.0)
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run([first, second])
        assert sess.run(v) == 2.0


# -- pruning ------------------------------------------------------------------------------

def test_pruning_drops_what_rewrites_left_unused():
    c = tf.constant([1.0, 2.0]) * 2.0
    with_pruning = compile_plan([c], passes=("constant_folding", "pruning"))
    without = compile_plan([c], passes=("constant_folding",))
    assert node_types(with_pruning) == ["Const"]
    assert len(without.nodes) == 3  # the two input constants still run
    np.testing.assert_array_equal(without.run([])[0], with_pruning.run([])[0])


# -- element-wise fusion ------------------------------------------------------------------

def _chain(x):
    return tf.nn.relu(x * 1.5 + 0.25) * tf.sigmoid(x) - x / 2


def _chain_numpy(x):
    return np.maximum(x * 1.5 + 0.25, 0) * (1 / (1 + np.exp(-x))) - x / 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fusion_fuses_the_benchmark_chain(dtype, monkeypatch):
    x = tf.placeholder(tf.as_dtype(dtype), [None])
    y = _chain(x)
    plan = compile_plan([y], [x])
    assert node_types(plan).count("_FusedElementwise") == 1
    fused = [n for n in plan.nodes if n.ir_type == "_FusedElementwise"][0]
    assert fused.op is y.op and [m.type for m in fused.members][-1] == "Sub"
    assert len(fused.members) == 7
    value = np.random.RandomState(0).randn(100003).astype(dtype)
    fused_result, plain_result = run_both(y, {x: value}, monkeypatch)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fused_result, _chain_numpy(value), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(fused_result, plain_result, rtol=rtol, atol=rtol)
    assert fused_result.dtype == dtype


def test_fusion_keeps_fetched_intermediates_and_int_ops():
    x = tf.placeholder(tf.float32, [None])
    a = x * 2.0
    b = tf.tanh(a) + 1.0
    i = tf.placeholder(tf.int32, [None])
    j = (i * 2) + 1
    plan = compile_plan([a, b, j], [x, i])
    types = node_types(plan)
    assert types.count("_FusedElementwise") == 1  # tanh(a) + 1; a itself is fetched
    assert "Mul" in types and types.count("AddV2") == 1  # the int chain stays
    ra, rb, rj = plan.run([np.array([0.5, -1.0], np.float32), np.array([1, 2], np.int32)])
    np.testing.assert_allclose(ra, [1.0, -2.0])
    np.testing.assert_allclose(rb, np.tanh([1.0, -2.0]) + 1.0, rtol=1e-6)
    np.testing.assert_array_equal(rj, [3, 5])


def test_fusion_leaves_static_broadcasts_unfused():
    x = tf.placeholder(tf.float32, [None, 4])
    bias = tf.constant([1.0, 2.0, 3.0, 4.0])
    y = tf.nn.relu(x + bias) * 2.0
    plan = compile_plan([y], [x])
    assert "_FusedElementwise" in node_types(plan)  # relu(.) * 2 only
    fused = [n for n in plan.nodes if n.ir_type == "_FusedElementwise"][0]
    assert [m.type for m in fused.members] == ["Relu", "Mul"]
    value = np.arange(8, dtype=np.float32).reshape(2, 4) - 4
    np.testing.assert_allclose(plan.run([value])[0], np.maximum(value + [1, 2, 3, 4], 0) * 2)


def test_fusion_runs_runtime_broadcasts_op_by_op():
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [None, 3])
    z = tf.exp(x * y) + 1.0
    plan = compile_plan([z], [x, y])
    assert "_FusedElementwise" in node_types(plan)
    xv = np.ones((4, 3), np.float32)
    yv = np.array([[0.0, 1.0, 2.0]], np.float32)  # shape (1, 3): not the output's shape
    np.testing.assert_allclose(plan.run([xv, yv])[0], np.exp(xv * yv) + 1.0, rtol=1e-6)


def test_fused_chain_errors_name_the_original_op():
    x = tf.placeholder(tf.float32, [None])
    y = tf.placeholder(tf.float32, [None])
    z = tf.add(tf.exp(x), y, name="the_add") * 2.0
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="the_add"):
            sess.run(z, {x: np.ones(3, np.float32), y: np.ones(4, np.float32)})


def test_thousand_op_scalar_chain_becomes_one_node():
    x = tf.placeholder(tf.float32, [])
    y = x
    for _ in range(1000):
        y = tf.tanh(y)
    plan = compile_plan([y], [x])
    assert node_types(plan) == ["_FusedElementwise"]
    expected = np.float32(0.5)
    for _ in range(1000):
        expected = np.tanh(expected)
    np.testing.assert_allclose(plan.run([np.float32(0.5)])[0], expected, rtol=1e-5)


def _op_inputs(op_type, dtype, size, rng):
    x = (rng.randn(size) * 3).astype(dtype)
    if op_type in ("Sqrt", "Rsqrt", "Log", "Log1p"):
        x = np.abs(x) + dtype(0.1)
    if op_type == "Reciprocal":
        x[x == 0] = 1
    y = (rng.randn(size) * 3).astype(dtype)
    if op_type in ("RealDiv", "DivNoNan"):
        y[::7] = 0 if op_type == "DivNoNan" else 1
    x[:4] = [0.0, -0.0, 6.0, -1.0][: min(4, size)] if size >= 4 else x[:4]
    return x, y


def _reference(op_type, inputs, alpha):
    record = registry.get(op_type)
    kwargs = {"alpha": alpha} if op_type in fused_elementwise.PARAM_ATTRS else {}
    with np.errstate(all="ignore"):
        return record.kernels["numpy"](*inputs, **kwargs)


KERNELS = [("numpy", fused_elementwise.numpy_kernel)]
if fused_elementwise.cython_available():
    KERNELS.append(("cython", fused_elementwise.cython_kernel))


@pytest.mark.parametrize("backend,kernel", KERNELS, ids=[k[0] for k in KERNELS])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 1023, 70001])
def test_every_opcode_matches_the_op_kernel(backend, kernel, dtype, size):
    rng = np.random.RandomState(size)
    alpha = 0.2
    for op_type, (_, arity) in fused_elementwise.OPCODES.items():
        x, y = _op_inputs(op_type, dtype, size, rng)
        inputs = (x,) if arity == 1 else (x, y)
        # One instruction through a temporary, then a copy to the output register.
        program = ((fused_elementwise.OPCODES[op_type][0], len(inputs), 0,
                    1 if arity == 2 else -1, alpha), (0, len(inputs) + 1, len(inputs), -1, 0.0))
        with np.errstate(all="ignore"):
            result = kernel(*inputs, program=program, num_registers=len(inputs) + 2,
                            T=np.dtype(dtype).name)
        expected = _reference(op_type, inputs, alpha)
        rtol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(result, expected, rtol=rtol, atol=rtol, equal_nan=True,
                                   err_msg="%s %s %s" % (backend, op_type, dtype))
        assert result.dtype == dtype


@pytest.mark.parametrize("backend,kernel", KERNELS, ids=[k[0] for k in KERNELS])
def test_fused_kernel_broadcasts_size_one_and_non_contiguous_inputs(backend, kernel):
    rng = np.random.RandomState(1)
    base = rng.randn(40, 30).astype(np.float32)
    x = base[:, ::2]  # not contiguous
    scale = np.array([[2.0]], np.float32)
    program = ((34, 2, 0, 1, 0.0), (14, 3, 2, -1, 0.0))  # tanh(x * scale)
    result = kernel(x, scale, program=program, num_registers=4, T="float32")
    np.testing.assert_allclose(result, np.tanh(x * 2.0), rtol=2e-6, atol=1e-7)
    assert result.shape == x.shape
    mismatched = kernel(x, rng.randn(3).astype(np.float32), program=program, num_registers=4,
                        T="float32")
    assert mismatched is None  # the executor then runs the member ops


def test_special_values_in_float32_transcendentals():
    if not fused_elementwise.cython_available():
        pytest.skip("the Cython extension is not built")
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-6, 88.8, -88.8, -104.0, 20.0],
                 np.float32)
    for op_type in ("Exp", "Tanh", "Sigmoid"):
        program = ((fused_elementwise.OPCODES[op_type][0], 1, 0, -1, 0.0),)
        result = fused_elementwise.cython_kernel(x, program=program, num_registers=1,
                                                 T="float32")
        with np.errstate(all="ignore"):
            expected = _reference(op_type, (x,), None)
        np.testing.assert_allclose(result, expected, rtol=3e-7, atol=1e-37, equal_nan=True,
                                   err_msg=op_type)
        np.testing.assert_array_equal(np.signbit(result[3:5]), np.signbit(expected[3:5]))


def test_numpy_backend_preference_uses_the_numpy_kernel():
    x = tf.placeholder(tf.float32, [None])
    y = _chain(x)
    plan = compile_plan([y], [x], preference=("numpy",))
    value = np.linspace(-3, 3, 50001).astype(np.float32)
    np.testing.assert_allclose(plan.run([value])[0], _chain_numpy(value), rtol=1e-6, atol=1e-6)


# -- turning passes off -------------------------------------------------------------------

def test_env_variable_turns_passes_off(monkeypatch):
    monkeypatch.setenv("HPCFLOW_REWRITES", "-fusion,-cse")
    assert rewrites.enabled_passes() == ("constant_folding", "arithmetic", "pruning",
                                         "conv_fusion")
    monkeypatch.setenv("HPCFLOW_REWRITES", "none")
    assert rewrites.enabled_passes() == ()
    monkeypatch.setenv("HPCFLOW_REWRITES", "cse,fusion")
    assert rewrites.enabled_passes() == ("cse", "fusion")
    monkeypatch.setenv("HPCFLOW_REWRITES", "-fusoin")
    with pytest.raises(ValueError, match="fusoin"):
        rewrites.enabled_passes()


def test_session_plans_follow_the_env_variable(monkeypatch):
    x = tf.placeholder(tf.float32, [None])
    y = _chain(x)
    value = np.linspace(-2, 2, 11).astype(np.float32)
    for spec, fused in (("-fusion", False), ("", True)):
        monkeypatch.setenv("HPCFLOW_REWRITES", spec)
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(y, {x: value}), _chain_numpy(value), rtol=1e-6,
                                       atol=1e-6)
            plan = list(sess._runtime.local_executor._plans.values())[0]
            assert ("_FusedElementwise" in node_types(plan)) == fused


def test_rewriter_config_and_dict_in_config_proto():
    RewriterConfig = rewrites.RewriterConfig
    off = RewriterConfig(remapping=RewriterConfig.OFF, constant_folding=RewriterConfig.OFF)
    config = config_lib.ConfigProto(graph_options=config_lib.GraphOptions(rewrite_options=off))
    assert rewrites.enabled_passes(config) == ("arithmetic", "cse", "pruning")  # both fusions
    config = config_lib.ConfigProto(graph_options=config_lib.GraphOptions(
        rewrite_options=RewriterConfig(disable_meta_optimizer=True)))
    assert rewrites.enabled_passes(config) == ()
    config = config_lib.ConfigProto(graph_options=config_lib.GraphOptions(
        rewrite_options={"cse": False}))
    assert "cse" not in rewrites.enabled_passes(config)
    executor = executor_lib.Executor(SessionState(), config=config)
    assert executor.passes() == ("constant_folding", "arithmetic", "pruning", "conv_fusion",
                                 "fusion")
    with pytest.raises(ValueError, match="no_such_pass"):
        rewrites.enabled_passes(config_lib.ConfigProto(graph_options=config_lib.GraphOptions(
            rewrite_options={"no_such_pass": False})))
    with pytest.raises(TypeError, match="rewrite_options"):
        rewrites.enabled_passes(config_lib.ConfigProto(graph_options=config_lib.GraphOptions(
            rewrite_options="off")))


def test_creation_order_plans_keep_order_and_rewrite():
    x = tf.placeholder(tf.float32, [None])
    y = _chain(x) + tf.constant(1.0) * 2.0
    plan = compile_plan([y], [x], creation_order=True)
    keys = [n.op._id for n in plan.nodes]
    assert keys == sorted(keys)
    assert "_FusedElementwise" in node_types(plan)
    value = np.linspace(-2, 2, 11).astype(np.float32)
    np.testing.assert_allclose(plan.run([value])[0], _chain_numpy(value) + 2.0, rtol=1e-6,
                               atol=1e-6)
