"""Tests of control flow: cond/case/while_loop/map_fn (If/While/MapFn ops with function
sub-graphs), their gradients, and group/tuple/no_op/with_dependencies."""
import collections
import types

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors, graph_io
from hpcflow.framework import func_graph
from hpcflow.framework.func_graph import FuncGraph
from hpcflow.ops import array_ops, check_ops, control_flow_ops as cf, math_ops, random_ops
from hpcflow.ops import init_ops, variable_scope, variables
from gradcheck import check_gradient

Pair = collections.namedtuple("Pair", ["first", "second"])


def _run(fetches, feed_dict=None, init=False):
    with tf.Session() as sess:
        if init:
            sess.run(variables.global_variables_initializer())
        return sess.run(fetches, feed_dict)


# -- FuncGraph --------------------------------------------------------------------------------

def test_func_graph_captures_outer_tensors_once_and_through_parents():
    outer = tf.get_default_graph()
    x = tf.placeholder(tf.float32, [2], name="x")
    middle = FuncGraph("middle", outer_graph=outer)
    with middle.as_default():
        inner = FuncGraph("inner")
        assert inner.outer_graph is middle and inner.building_function
        with inner.as_default():
            # Built with create_op directly: what any op wrapper ends up calling.
            y = inner.create_op("Square", [x]).outputs[0]
            z = inner.create_op("Neg", [x]).outputs[0]
    placeholder = y.op.inputs[0]
    assert placeholder.op.type == "Placeholder" and placeholder.graph is inner
    assert z.op.inputs[0] is placeholder  # captured once
    assert inner.captures == [(middle.captures[0][1], placeholder)]
    assert middle.captures[0][0] is x and inner.inputs == [placeholder]
    with pytest.raises(ValueError, match="must be from the same graph as the function 'inner'"):
        with tf.Graph().as_default():
            other = tf.constant(1.0)
        inner.capture(other)


def test_func_graph_outer_control_dependencies_and_outputs():
    v = variables.Variable(1.0, name="v")
    update = v.assign(2.0)
    spec = types.SimpleNamespace(dtype=tf.float32, shape=[])  # any object with dtype, shape
    graph = func_graph.func_graph_from_py_func(
        "f", lambda a: (a * 3.0, update.op, None, cf.no_op()), [spec])
    product, outer_op, nothing, inner_op = graph.structured_outputs
    assert graph.inputs[0].shape.as_list() == [] and graph.inputs[0].dtype == tf.float32
    assert product.graph is graph and graph.outputs == [product]
    assert outer_op is update.op and nothing is None
    assert graph.control_outputs == [inner_op]
    assert graph.outer_control_inputs == [update.op]
    with graph.as_default():
        with tf.control_dependencies([update, inner_op]):
            inside = tf.constant(1.0)
    assert inside.op.control_inputs == [inner_op]


def test_func_graph_reads_captured_variables_inside():
    v = variables.Variable(1.0, name="v")
    graph = FuncGraph("f")
    with graph.as_default():
        value = graph.create_op("Square", [v.value()]).outputs[0]
    read = value.op.inputs[0]
    assert read.op.type == "FunctionVariableRead" and read.op.get_attr("var_name") == "v"
    assert read.op.inputs[0] is graph.captures[0][1]
    assert func_graph.variable_name_of(v.value()) == "v"
    assert func_graph.variable_name_of(tf.constant(1.0)) is None


def test_copy_ops_and_topological_order():
    source = FuncGraph("source")
    with source.as_default():
        a = source.add_input(tf.float32, [], "a")
        b = math_ops.square(a)
        c = b + a
    source.outputs = [c]
    target = FuncGraph("target")
    with target.as_default():
        new_a = target.add_input(tf.float32, [], "new_a")
    tensor_map, op_map = func_graph.copy_ops(source, target, {a: new_a})
    assert a.op not in op_map and tensor_map[a] is new_a
    copied = tensor_map[c]
    assert copied.graph is target and copied.op.type == c.op.type
    assert copied.op.inputs[1] is new_a
    with target.as_default():
        late = target.add_input(tf.float32, [], "late")
    func_graph.replace_input(copied.op, 1, late)
    assert copied.op.inputs[1] is late and copied.op not in new_a.consumers()
    func_graph.restore_topological_order(target)
    ops = target.get_operations()
    assert ops.index(late.op) < ops.index(copied.op)
    assert [op._id for op in ops] == list(range(len(ops)))


def test_init_scope_lifts_to_outermost_graph():
    outer = tf.get_default_graph()
    graph = FuncGraph("f")
    with graph.as_default():
        with func_graph.init_scope():
            lifted = tf.constant(1.0)
        assert func_graph.outermost_graph() is outer
    assert lifted.graph is outer


# -- cond: forward ------------------------------------------------------------------------------

def test_cond_selects_branch_at_run_time():
    x = tf.placeholder(tf.float32, [3])
    p = tf.placeholder(tf.bool, [])
    y = cf.cond(p, lambda: math_ops.square(x), lambda: x + 1.0)
    assert y.op.type == "If" and y.op.name == "cond"
    assert y.dtype == tf.float32 and y.shape.as_list() == [3]
    value = np.array([1.0, -2.0, 3.0], np.float32)
    with tf.Session() as sess:
        out_t = sess.run(y, {x: value, p: True})
        out_f = sess.run(y, {x: value, p: False})
    np.testing.assert_array_equal(out_t, value ** 2)
    np.testing.assert_array_equal(out_f, value + 1)
    assert out_t.dtype == np.float32
    # The branches are function sub-graphs holding their own ops; x is passed in.
    then_branch = y.op.get_attr("then_branch")
    assert isinstance(then_branch, FuncGraph)
    assert [o.type for o in then_branch.get_operations()].count("Square") == 1
    assert x in y.op.inputs


def test_cond_only_the_taken_branch_runs():
    p = tf.placeholder(tf.bool, [])
    counter = variables.Variable(0, name="counter")

    def counting_branch():
        with tf.control_dependencies([counter.assign_add(1)]):
            return tf.constant(2.0) * 1.0

    def failing_branch():
        failure = check_ops.Assert(tf.constant(False), ["false branch ran"])
        with tf.control_dependencies([failure]):
            return tf.constant(-1.0) * 1.0

    y = cf.cond(p, counting_branch, failing_branch)
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(y, {p: True}) == 2.0
        assert sess.run(y, {p: True}) == 2.0
        assert sess.run(counter) == 2
        with pytest.raises(errors.InvalidArgumentError, match="false branch ran"):
            sess.run(y, {p: False})
        assert sess.run(counter) == 2


def test_cond_ops_on_outer_tensors_are_built_inside_the_branch():
    # An op written in a branch must run only when the branch runs, even if all its inputs
    # come from outside (needs op wrappers to build in the function being built).
    x = tf.placeholder(tf.float32, [2])
    p = tf.placeholder(tf.bool, [])
    y = cf.cond(p, lambda: math_ops.multiply(x, 2.0), lambda: math_ops.add(x, 1.0))
    assert list(y.op.inputs) == [p, x]
    np.testing.assert_array_equal(_run(y, {x: [1, 2], p: False}), [2, 3])


def test_cond_structures_singletons_and_strict():
    p = tf.placeholder(tf.bool, [])
    x = tf.constant([1.0, 2.0])
    r = cf.cond(p, lambda: {"b": (x, x * 2.0), "a": Pair(x + 1.0, tf.constant(7))},
                lambda: {"b": (x * 0.0, x), "a": Pair(x, tf.constant(8))})
    assert set(r) == {"a", "b"} and isinstance(r["a"], Pair) and isinstance(r["b"], tuple)
    got = _run(r, {p: True})
    np.testing.assert_array_equal(got["b"][1], [2, 4])
    assert got["a"].second == 7
    got = _run(r, {p: False})
    np.testing.assert_array_equal(got["a"].first, [1, 2])
    assert got["a"].second == 8
    single = cf.cond(p, lambda: [x], lambda: [x * 3.0])
    assert isinstance(single, tf.Tensor)
    strict = cf.cond(p, lambda: [x], lambda: [x * 3.0], strict=True)
    assert isinstance(strict, list) and len(strict) == 1
    np.testing.assert_array_equal(_run(strict[0], {p: False}), [3, 6])
    python_values = cf.cond(p, lambda: 1.5, lambda: 2.5)
    assert python_values.dtype == tf.float32 and _run(python_values, {p: False}) == 2.5


def test_cond_branches_returning_operations_or_none():
    p = tf.placeholder(tf.bool, [])
    v = variables.Variable(0.0, name="v")
    flag = cf.cond(p, lambda: v.assign_add(1.0).op, lambda: v.assign_add(10.0).op)
    assert flag.dtype == tf.bool
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(flag, {p: True})
        assert sess.run(v) == 1.0
        assert not sess.run(flag, {p: False})
        assert sess.run(v) == 11.0
    nothing = cf.cond(p, lambda: None, lambda: None)
    assert isinstance(nothing, tf.Operation) and nothing.type == "If"


def test_cond_output_shape_is_most_specific_compatible():
    p = tf.placeholder(tf.bool, [])
    a = cf.cond(p, lambda: array_ops.zeros([2, 3]), lambda: array_ops.zeros([2, 4]))
    assert a.shape.as_list() == [2, None]
    b = cf.cond(p, lambda: array_ops.zeros([2, 3]), lambda: array_ops.zeros([2, 3, 1]))
    assert b.shape.ndims is None
    assert _run(a, {p: False}).shape == (2, 4)


def test_nested_cond_and_captures_from_two_levels_out():
    x = tf.placeholder(tf.float32, [])
    y = tf.placeholder(tf.float32, [])
    p = tf.placeholder(tf.bool, [])
    q = tf.placeholder(tf.bool, [])
    r = cf.cond(p, lambda: cf.cond(q, lambda: x * y, lambda: x - y) + 1.0,
                lambda: y * 10.0, name="outer")
    assert r.op.name == "outer"
    inner = [op for op in r.op.get_attr("then_branch").get_operations() if op.type == "If"]
    assert len(inner) == 1 and inner[0].graph.outer_graph is r.op.graph
    with tf.Session() as sess:
        for pv, qv, expected in [(True, True, 7.0), (True, False, 0.0), (False, True, 30.0)]:
            assert sess.run(r, {x: 2.0, y: 3.0, p: pv, q: qv}) == expected


def test_cond_control_dependency_on_outer_op_goes_to_the_if_op():
    v = variables.Variable(1.0, name="v")
    p = tf.placeholder(tf.bool, [])
    update = v.assign(5.0)

    def branch():
        with tf.control_dependencies([update]):
            return v.read_value() * 1.0
    y = cf.cond(p, branch, lambda: tf.constant(0.0))
    assert update.op in y.op.control_inputs
    assert _run(y, {p: True}, init=True) == 5.0


def test_cond_reads_variables_after_assignments_in_the_branch():
    v = variables.Variable(1.0, name="v")
    p = tf.placeholder(tf.bool, [])

    def branch():
        with tf.control_dependencies([v.assign_add(2.0)]):
            return v.read_value() + 0.0
    y = cf.cond(p, branch, lambda: v.read_value() + 0.0)
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(y, {p: True}) == 3.0
        assert sess.run(y, {p: False}) == 3.0
        assert sess.run(y, {p: True}) == 5.0


def test_cond_errors():
    x = tf.constant(1.0)
    p = tf.placeholder(tf.bool, [])
    with pytest.raises(TypeError, match="pred must not be a Python bool"):
        cf.cond(True, lambda: x, lambda: x)
    with pytest.raises(TypeError, match="'true_fn' must be callable"):
        cf.cond(p, x, lambda: x)
    with pytest.raises(TypeError, match="'false_fn' argument required"):
        cf.cond(p, lambda: x)
    with pytest.raises(TypeError, match="same type: float32, int32.*mycond"):
        cf.cond(p, lambda: x, lambda: tf.constant(1), name="mycond")
    with pytest.raises(ValueError, match="Incompatible return values.*'cond"):
        cf.cond(p, lambda: (x, x), lambda: x)
    with pytest.raises(TypeError, match="Incompatible return types.*'cond"):
        cf.cond(p, lambda: [x, x], lambda: (x, x))
    with pytest.raises(TypeError, match="must be a bool tensor"):
        cf.cond(tf.constant(1.0), lambda: x, lambda: x)
    with pytest.raises(ValueError, match="must be a scalar"):
        cf.cond(tf.constant([True, False]), lambda: x, lambda: x)
    with pytest.raises(TypeError, match="true_fn and fn1 may not be set"):
        cf.cond(p, lambda: x, lambda: x, fn1=lambda: x)
    assert cf.cond(p, fn1=lambda: x, fn2=lambda: x * 2.0).op.type == "If"
    unknown = tf.placeholder(tf.bool)
    y = cf.cond(unknown, lambda: x, lambda: x)
    with pytest.raises(errors.InvalidArgumentError, match="predicate of cond.*scalar"):
        _run(y, {unknown: [True, False]})


def test_case():
    x = tf.placeholder(tf.int32, [])
    r = cf.case([(math_ops.less(x, 0), lambda: tf.constant(-1)),
                 (math_ops.equal(x, 0), lambda: tf.constant(0))],
                default=lambda: tf.constant(1))
    with tf.Session() as sess:
        assert [sess.run(r, {x: v}) for v in (-5, 0, 5)] == [-1, 0, 1]
    first_wins = cf.case([(math_ops.less(x, 10), lambda: tf.constant(1)),
                          (math_ops.less(x, 20), lambda: tf.constant(2))],
                         default=lambda: tf.constant(3))
    exclusive = cf.case([(math_ops.less(x, 10), lambda: tf.constant(1)),
                         (math_ops.less(x, 20), lambda: tf.constant(2))],
                        default=lambda: tf.constant(3), exclusive=True)
    no_default = cf.case([(math_ops.less(x, 0), lambda: tf.constant(1)),
                          (math_ops.equal(x, 0), lambda: tf.constant(2))])
    with tf.Session() as sess:
        assert sess.run(first_wins, {x: 5}) == 1
        assert sess.run(exclusive, {x: 15}) == 2
        with pytest.raises(errors.InvalidArgumentError, match="more than 1 conditions"):
            sess.run(exclusive, {x: 5})
        assert sess.run(no_default, {x: 0}) == 2
        with pytest.raises(errors.InvalidArgumentError, match="None of conditions"):
            sess.run(no_default, {x: 3})
    with pytest.raises(TypeError, match="pred must be Tensor of type bool"):
        cf.case([(x, lambda: x)])
    with pytest.raises(TypeError, match="must be callable"):
        cf.case([(math_ops.less(x, 0), 3)])
    with pytest.raises(TypeError, match="2-tuple"):
        cf.case([math_ops.less(x, 0)])


# -- while_loop: forward ------------------------------------------------------------------------

def test_while_trip_count_decided_at_run_time():
    n = tf.placeholder(tf.int32, [])
    i, total = cf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s + i), (0, 0))
    assert i.op.type == "While" and i.op.name == "while"
    assert i.dtype == tf.int32 and total.shape.as_list() == []
    with tf.Session() as sess:
        for count in (0, 1, 7):
            got = sess.run([i, total], {n: count})
            assert got == [count, sum(range(count))]


def test_while_single_loop_var_and_return_same_structure():
    x = tf.constant(1.0)
    single = cf.while_loop(lambda v: v < 100.0, lambda v: v * 3.0, [x])
    assert isinstance(single, tf.Tensor) and _run(single) == 243.0
    bare = cf.while_loop(lambda v: v < 100.0, lambda v: v * 3.0, x)
    assert isinstance(bare, tf.Tensor) and _run(bare) == 243.0
    same = cf.while_loop(lambda v: v < 100.0, lambda v: v * 3.0, [x], return_same_structure=True)
    assert isinstance(same, list) and len(same) == 1


def test_while_structures():
    start = Pair(tf.constant(0), {"b": tf.constant([1.0, 2.0]), "a": tf.constant(5)})
    # As TF1: the top level is the body's result list (only one flat variable is unpacked).
    result, = cf.while_loop(
        lambda p: p.first < 3,
        lambda p: [Pair(p.first + 1, {"a": p.second["a"] * 2, "b": p.second["b"] + 1.0})],
        [start])
    assert isinstance(result, Pair)
    got = _run(result)
    assert got.first == 3 and got.second["a"] == 40
    np.testing.assert_array_equal(got.second["b"], [4.0, 5.0])
    # The body's result structure decides the returned type (TF1), e.g. a list here.
    as_list = cf.while_loop(lambda a, b: a < 2, lambda a, b: [a + 1, b], (0, 1.0))
    assert isinstance(as_list, list) and _run(as_list) == [2, 1.0]


def test_nested_loops():
    n = tf.placeholder(tf.int32, [])

    def outer_body(i, total):
        inner = cf.while_loop(lambda j, s: j < i, lambda j, s: (j + 1, s + j), (0, total))[1]
        return i + 1, inner
    _, total = cf.while_loop(lambda i, s: i < n, outer_body, (0, 0))
    expected = sum(j for i in range(6) for j in range(i))
    assert _run(total, {n: 6}) == expected


def test_while_maximum_iterations():
    n = tf.placeholder(tf.int32, [])
    limited = cf.while_loop(lambda i: i < 100, lambda i: i + 2, [0], maximum_iterations=n)
    fixed = cf.while_loop(lambda i, v: True, lambda i, v: (i + 1, v * 2.0), (0, 1.0),
                          maximum_iterations=4)
    with tf.Session() as sess:
        assert sess.run(limited, {n: 3}) == 6
        assert sess.run(limited, {n: 1000}) == 100
        assert sess.run(limited, {n: -1}) == 0
        assert list(sess.run(fixed)) == [4, 16.0]


def test_while_shape_invariants_let_a_tensor_grow():
    n = tf.placeholder(tf.int32, [])
    _, grown = cf.while_loop(lambda i, a: i < n,
                             lambda i, a: (i + 1, array_ops.concat([a, a * 2.0], 0)),
                             (0, tf.constant([1.0])),
                             shape_invariants=(tf.TensorShape([]), tf.TensorShape([None])))
    assert grown.shape.as_list() == [None]
    expected = np.array([1.0])
    for _ in range(3):
        expected = np.concatenate([expected, expected * 2])
    np.testing.assert_array_equal(_run(grown, {n: 3}), expected)


def test_while_reads_and_assigns_variables_in_the_body():
    v = variables.Variable(0.0, name="counter")

    def body(i, acc):
        with tf.control_dependencies([v.assign_add(1.0)]):
            return i + 1, acc + v.read_value()
    _, total = cf.while_loop(lambda i, acc: i < 3, body, (0, 0.0))
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(total) == 1.0 + 2.0 + 3.0
        assert sess.run(v) == 3.0
        assert sess.run(total) == 4.0 + 5.0 + 6.0


def test_while_body_may_use_outer_tensor_first():
    w = tf.placeholder(tf.float64, [2, 2])
    h = cf.while_loop(lambda i, h: i < 2, lambda i, h: (i + 1, math_ops.matmul(w, h)),
                      (0, tf.constant(np.eye(2)[:, :1])))[1]
    w_value = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(_run(h, {w: w_value}), w_value @ w_value @ np.eye(2)[:, :1])


def test_while_body_creating_variables_and_gathering():
    params = tf.placeholder(tf.float64, [5, 2])
    ids = tf.constant([1, 3, 1])

    def body(i, acc):
        with variable_scope.variable_scope("cell", reuse=variable_scope.AUTO_REUSE):
            scale = variable_scope.get_variable("scale", [], tf.float64,
                                                initializer=init_ops.constant_initializer(2.0))
        return i + 1, acc + array_ops.gather(params, array_ops.gather(ids, i)) * scale
    with variable_scope.variable_scope("loop"):
        acc = cf.while_loop(lambda i, a: i < 3, body,
                            (0, tf.constant(np.zeros(2))))[1]
    assert [v.name for v in variables.global_variables()] == ["loop/cell/scale:0"]
    g = tf.gradients(math_ops.reduce_sum(acc * acc), params)[0]
    value = np.arange(10.0).reshape(5, 2)
    got_acc, got_g = _run([acc, g], {params: value}, init=True)
    expected = 2 * (value[1] + value[3] + value[1])
    np.testing.assert_allclose(got_acc, expected)
    dense = np.zeros((5, 2))
    for row in (1, 3, 1):
        dense[row] += 2 * expected * 2
    np.testing.assert_allclose(got_g, dense)


def test_while_errors():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match=r"Input tensor 'Const(_\d+)?:0' enters the loop with "
                                         r"shape \(2,\), but has shape \(4,\) after one "
                                         r"iteration.*shape_invariants"):
        cf.while_loop(lambda a: True, lambda a: array_ops.concat([a, a], 0), [x])
    with pytest.raises(TypeError, match="enters the loop with type <dtype: 'int32'> but has "
                                        "type <dtype: 'float32'>"):
        cf.while_loop(lambda i: i < 3, lambda i: math_ops.cast(i, tf.float32), [0])
    with pytest.raises(ValueError, match="structure of loop_vars"):
        cf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1,), (0, x))
    with pytest.raises(ValueError, match="shape invariant specified for .* is not compatible"):
        cf.while_loop(lambda a: True, lambda a: a, [x], shape_invariants=[tf.TensorShape([3])])
    with pytest.raises(TypeError, match="'cond' must be callable"):
        cf.while_loop(1, lambda i: i, [0])
    with pytest.raises(TypeError, match="'body' must be callable"):
        cf.while_loop(lambda i: True, 1, [0])
    with pytest.raises(ValueError, match="No loop variables provided"):
        cf.while_loop(lambda: True, lambda: 1, [])
    with pytest.raises(TypeError, match="cond of while_loop 'while.*bool"):
        cf.while_loop(lambda i: i, lambda i: i + 1, [0])
    with pytest.raises(TypeError, match="maximum_iterations .* must be an integer"):
        cf.while_loop(lambda i: i < 3, lambda i: i + 1, [0], maximum_iterations=3.0)
    with pytest.raises(ValueError, match="maximum_iterations must be a scalar"):
        cf.while_loop(lambda i: i < 3, lambda i: i + 1, [0], maximum_iterations=[3])


# -- grouping ops ------------------------------------------------------------------------------

def test_group_and_no_op():
    a = variables.Variable(0.0, name="a")
    b = variables.Variable(0.0, name="b")
    inc_a, inc_b = a.assign_add(1.0), b.assign_add(2.0)
    grouped = cf.group(inc_a, [inc_b.op])
    assert grouped.type == "NoOp" and grouped.name == "group_deps" and not grouped.outputs
    assert set(grouped.control_inputs) == {inc_a.op, inc_b.op}
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(grouped) is None
        assert sess.run([a, b]) == [1.0, 2.0]
    nop = cf.no_op()
    assert nop.type == "NoOp" and nop.name == "NoOp" and not nop.control_inputs
    assert cf.group(name="nothing").name == "nothing"
    with pytest.raises(ValueError, match="Unknown keyword arguments: bad"):
        cf.group(inc_a, bad=1)
    with pytest.raises(TypeError, match=r"tf.group\(\) expected Tensor"):
        cf.group(3)


def test_tuple_and_with_dependencies():
    v = variables.Variable(1.0, name="v")
    update = v.assign(10.0)
    x = tf.constant(2.0)
    gated = cf.tuple([x, None, update.op], control_inputs=[update])
    assert gated[1] is None and gated[0].op.type == "Identity"
    assert gated[2].type == "NoOp"
    after = cf.with_dependencies([update], x * 3.0)
    assert after.op.type == "Identity" and after.op.name == "control_dependency"
    assert update.op in after.op.control_inputs
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(after) == 6.0
        assert sess.run(v) == 10.0
        sess.run(variables.global_variables_initializer())
        assert sess.run(gated[0]) == 2.0
        assert sess.run(v) == 10.0
    with pytest.raises(ValueError, match="at least one Tensor"):
        cf.tuple([None])
    with pytest.raises(TypeError, match="Control input must be Operation or Tensor"):
        cf.tuple([x], control_inputs=[3])


# -- gradients ---------------------------------------------------------------------------------

def test_cond_gradient_numeric_both_branches():
    def build(pred):
        def f(x, w):
            return cf.cond(tf.constant(pred), lambda: math_ops.tanh(x * w) * x,
                           lambda: math_ops.sin(x) + w * w)
        return f
    x = np.array([0.3, -0.7, 1.1])
    w = np.array([0.5, 2.0, -1.0])
    check_gradient(build(True), [x, w])
    check_gradient(build(False), [x, w])


def test_cond_gradient_flows_only_through_taken_branch():
    x = tf.placeholder(tf.float64, [])
    y = tf.placeholder(tf.float64, [])
    p = tf.placeholder(tf.bool, [])
    r = cf.cond(p, lambda: x * x, lambda: y * 3.0)
    gx, gy = tf.gradients(r, [x, y])
    with tf.Session() as sess:
        assert sess.run([gx, gy], {x: 2.0, y: 5.0, p: True}) == [4.0, 0.0]
        assert sess.run([gx, gy], {x: 2.0, y: 5.0, p: False}) == [0.0, 3.0]
    assert gx.op.type == "If"


def test_cond_gradient_nested_and_structured():
    x = tf.placeholder(tf.float64, [])
    p = tf.placeholder(tf.bool, [])
    q = tf.placeholder(tf.bool, [])
    a, b = cf.cond(p, lambda: (cf.cond(q, lambda: x ** 3.0, lambda: math_ops.exp(x)), x * 2.0),
                   lambda: (math_ops.sin(x), tf.constant(1.0, tf.float64)))
    g = tf.gradients(a + b, x)[0]
    v = 0.7
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: v, p: True, q: True}), 3 * v ** 2 + 2)
        np.testing.assert_allclose(sess.run(g, {x: v, p: True, q: False}), np.exp(v) + 2)
        np.testing.assert_allclose(sess.run(g, {x: v, p: False, q: True}), np.cos(v))


def test_cond_gradient_uses_the_forward_random_values():
    x = tf.placeholder(tf.float32, [6])
    p = tf.placeholder(tf.bool, [])
    y = cf.cond(p, lambda: x * random_ops.random_uniform([6]), lambda: x * 2.0)
    g = tf.gradients(y, x)[0]
    with tf.Session() as sess:
        value, grad = sess.run([y, g], {x: np.ones(6), p: True})
        np.testing.assert_array_equal(value, grad)  # y = x * mask: dy/dx = mask
        value, grad = sess.run([y, g], {x: np.ones(6), p: False})
        np.testing.assert_array_equal(grad, np.full(6, 2.0, np.float32))


def test_cond_gradient_wrt_variable():
    u = variables.Variable(3.0, name="u")
    p = tf.placeholder(tf.bool, [])
    y = cf.cond(p, lambda: u * u, lambda: u * 2.0)
    g = tf.gradients(y, u)[0]
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(g, {p: True}) == 6.0
        assert sess.run(g, {p: False}) == 2.0


def test_gradient_built_after_the_forward_pass_ran():
    # Plans compiled before tf.gradients asked the ops to record must still see that.
    x = tf.placeholder(tf.float64, [])
    p = tf.placeholder(tf.bool, [])
    y = cf.cond(p, lambda: math_ops.exp(x), lambda: x)
    z = cf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, math_ops.sin(v)), (0, x))[1]
    with tf.Session() as sess:
        assert sess.run(y, {x: 0.0, p: True}) == 1.0
        sess.run(z, {x: 0.3})
        gy, gz = tf.gradients(y, x)[0], tf.gradients(z, x)[0]
        assert sess.run(gy, {x: 0.0, p: True}) == 1.0
        np.testing.assert_allclose(sess.run(gz, {x: 0.3}), np.cos(np.sin(0.3)) * np.cos(0.3))


def test_while_gradient_of_repeated_squaring_is_8x7():
    x = tf.placeholder(tf.float64, [])
    y = cf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * v), (0, x))[1]
    g = tf.gradients(y, x)[0]
    assert g.op.type == "WhileGrad"
    with tf.Session() as sess:
        for v in (0.5, 1.5, -2.0):
            value, grad = sess.run([y, g], {x: v})
            np.testing.assert_allclose(value, v ** 8)
            np.testing.assert_allclose(grad, 8 * v ** 7)


def test_while_gradient_sums_captured_weight_contributions():
    def rnn(w, h0):
        return math_ops.reduce_sum(cf.while_loop(
            lambda i, h: i < 3, lambda i, h: (i + 1, math_ops.tanh(math_ops.matmul(h, w))),
            (0, h0))[1])
    rng = np.random.RandomState(0)
    check_gradient(rnn, [rng.randn(3, 3) * 0.5, rng.randn(2, 3)])
    # Closed form for a scalar weight used in every iteration: d(w^3 x)/dw = 3 w^2 x.
    w = tf.placeholder(tf.float64, [])
    x = tf.placeholder(tf.float64, [])
    y = cf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * w), (0, x))[1]
    gw, gx = tf.gradients(y, [w, x])
    assert _run([gw, gx], {w: 2.0, x: 5.0}) == [3 * 4.0 * 5.0, 8.0]


def test_while_gradient_zero_iterations_and_back_prop_false():
    n = tf.placeholder(tf.int32, [])
    w = tf.placeholder(tf.float64, [2])
    x = tf.placeholder(tf.float64, [2])
    y = cf.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * w), (0, x))[1]
    gw, gx = tf.gradients(math_ops.reduce_sum(y), [w, x])
    got_w, got_x = _run([gw, gx], {n: 0, w: [2.0, 3.0], x: [1.0, 1.0]})
    np.testing.assert_array_equal(got_w, [0.0, 0.0])
    np.testing.assert_array_equal(got_x, [1.0, 1.0])
    frozen = cf.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * w), (0, x),
                           back_prop=False)[1]
    assert tf.gradients(math_ops.reduce_sum(frozen), [w, x]) == [None, None]


def test_while_gradient_nested_loops_and_cond_inside():
    def nested(x):
        def outer_body(i, acc):
            inner = cf.while_loop(lambda j, a: j < 2, lambda j, a: (j + 1, math_ops.sin(a) * x),
                                  (0, acc))[1]
            return i + 1, inner
        return cf.while_loop(lambda i, a: i < 2, outer_body, (0, x))[1]
    check_gradient(nested, [np.array([0.4, -0.9])])

    def with_cond(x):
        def body(i, a):
            return i + 1, cf.cond(math_ops.equal(math_ops.floormod(i, 2), 0),
                                  lambda: a * x, lambda: math_ops.tanh(a) + x)
        return cf.while_loop(lambda i, a: i < 4, body, (0, x))[1]
    check_gradient(with_cond, [np.array([0.3, 1.2])])

    def loop_in_cond(x):
        return cf.cond(tf.constant(True),
                       lambda: cf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * x),
                                             (0, x))[1],
                       lambda: x)
    check_gradient(loop_in_cond, [np.array([0.5, 1.5])])


def test_while_gradient_with_maximum_iterations_and_growing_shape():
    x = tf.placeholder(tf.float64, [2])
    n = tf.placeholder(tf.int32, [])
    y = cf.while_loop(lambda i, v: True, lambda i, v: (i + 1, v * x), (0, x),
                      maximum_iterations=n)[1]
    g = tf.gradients(math_ops.reduce_sum(y), x)[0]
    np.testing.assert_allclose(_run(g, {x: [2.0, 3.0], n: 2}), [3 * 4.0, 3 * 9.0])

    def grow(x):
        grown = cf.while_loop(lambda i, a: i < 2,
                              lambda i, a: (i + 1, array_ops.concat([a, math_ops.sin(a)], 0)),
                              (0, x),
                              shape_invariants=(tf.TensorShape([]), tf.TensorShape([None])))[1]
        return array_ops.reshape(grown, [8])
    check_gradient(grow, [np.array([0.2, 0.8])])


def test_while_gradient_through_variable_reads():
    w = variables.Variable(1.5, name="w", dtype=tf.float64)
    x = tf.placeholder(tf.float64, [])
    y = cf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v * w), (0, x))[1]
    g = tf.gradients(y, w)[0]
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        np.testing.assert_allclose(sess.run(g, {x: 2.0}), 2 * 1.5 * 2.0)


def test_second_derivative_through_recorded_values_is_refused():
    x = tf.placeholder(tf.float64, [])
    y = cf.cond(tf.constant(True), lambda: math_ops.tanh(x), lambda: x)
    g = tf.gradients(y, x)[0]
    with pytest.raises(LookupError, match="Second derivatives"):
        tf.gradients(g, x)


# -- map_fn ------------------------------------------------------------------------------------

def test_map_fn_forward_structures_and_empty():
    x = tf.placeholder(tf.float32, [None, 3])
    y = cf.map_fn(lambda row: math_ops.reduce_sum(row * row), x)
    assert y.op.type == "MapFn" and y.shape.as_list() == [None] and y.dtype == tf.float32
    pair = cf.map_fn(lambda t: (t[0] * 2.0, math_ops.cast(t[1], tf.int32)), (x, x),
                     dtype=(tf.float32, tf.int32))
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: value}), (value ** 2).sum(1))
        doubled, ints = sess.run(pair, {x: value})
        np.testing.assert_array_equal(doubled, value * 2)
        assert ints.dtype == np.int32
        empty = sess.run(y, {x: np.zeros((0, 3))})
        assert empty.shape == (0,) and empty.dtype == np.float32
    with pytest.raises(ValueError, match="not a scalar"):
        cf.map_fn(lambda v: v, tf.constant(1.0))
    with pytest.raises(TypeError, match="dtype says int32"):
        cf.map_fn(lambda v: v, x, dtype=tf.int32)


def test_map_fn_gradient():
    def build(x, w):
        return cf.map_fn(lambda row: math_ops.reduce_sum(math_ops.sin(row) * w), x)
    rng = np.random.RandomState(2)
    check_gradient(build, [rng.randn(4, 3), rng.randn(3)])


# -- serialization -----------------------------------------------------------------------------

def test_functions_survive_serialization():
    x = tf.placeholder(tf.float32, [2], name="x")
    p = tf.placeholder(tf.bool, [], name="p")
    n = tf.placeholder(tf.int32, [], name="n")
    y = cf.cond(p, lambda: x * x, lambda: x - 1.0, name="c")
    z = cf.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * 2.0), (0, y), name="w")[1]
    g = tf.gradients(math_ops.reduce_sum(z), x)[0]
    data = graph_io.graph_to_graph_def(tf.get_default_graph()).SerializeToString()
    imported = graph_io.graph_from_bytes(data)
    feed = {imported.get_tensor_by_name("x:0"): [1.0, 2.0],
            imported.get_tensor_by_name("p:0"): True,
            imported.get_tensor_by_name("n:0"): 2}
    with tf.Session(graph=imported) as sess:
        got_z, got_g = sess.run([imported.get_tensor_by_name(z.name),
                                 imported.get_tensor_by_name(g.name)], feed)
    np.testing.assert_allclose(got_z, [4.0, 16.0])
    np.testing.assert_allclose(got_g, [8.0, 16.0])
