"""Variables and state ops: initialization, reads, assign/scatter semantics, collections."""
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import errors
from hpcflow.framework.indexed_slices import IndexedSlices
from hpcflow.ops import array_ops, random_ops, state_ops, variables
from hpcflow.ops.variables import Variable

GLOBAL = tf.GraphKeys.GLOBAL_VARIABLES
TRAINABLE = tf.GraphKeys.TRAINABLE_VARIABLES


def _init_run(sess, var_list=None):
    sess.run(variables.variables_initializer(var_list if var_list is not None
                                             else variables.global_variables()))


# -- creation -----------------------------------------------------------------------------------

def test_variable_ops_names_and_properties():
    w = Variable([1.0, 2.0], name="w")
    ops = [(op.name, op.type) for op in tf.get_default_graph().get_operations()]
    assert ops == [("w/initial_value", "Const"), ("w", "VariableV2"), ("w/Assign", "Assign"),
                   ("w/read", "Identity")]
    assert w.name == "w:0" and w.op.name == "w" and w._variable_name == "w"
    assert w.dtype == tf.float32 and w.shape.as_list() == [2]
    assert w.get_shape().as_list() == [2]
    assert w.initializer.name == "w/Assign" and w.value().name == "w/read:0"
    assert w.initial_value.name == "w/initial_value:0"
    assert w.graph is tf.get_default_graph() and w.trainable
    assert repr(w) == "<tf.Variable 'w:0' shape=(2,) dtype=float32_ref>"
    w2 = Variable(np.zeros((2, 3), np.float64), name="w")
    assert w2.name == "w_1:0" and w2.dtype == tf.float64
    assert w2.initializer.name == "w_1/Assign"
    v = Variable(3)
    assert v.name == "Variable:0" and v.dtype == tf.int32 and v.shape.as_list() == []
    assert Variable(1.5, dtype=tf.float64).dtype == tf.float64


def test_callable_initial_value_is_built_under_initializer_and_colocated():
    with tf.device("/job:ps/task:0"):
        with tf.device("/job:worker/task:1"):
            pass
        v = Variable(lambda: random_ops.random_uniform([2, 3], seed=1), name="v")
    names = [op.name for op in tf.get_default_graph().get_operations()]
    assert "v/Initializer/random_uniform/RandomUniform" in names
    for op in tf.get_default_graph().get_operations():
        assert op.device == v.device, op.name
    assert "ps" in v.device
    # With a device function, the initializer ops still follow the variable.
    with tf.device(lambda op: "/job:ps/task:1" if op.type == "VariableV2" else "/job:worker"):
        u = Variable(lambda: random_ops.random_normal([2], seed=1), name="u")
    for op in tf.get_default_graph().get_operations():
        if op.name.startswith("u/"):
            assert op.device == u.device == "/job:ps/task:1", op.name


def test_collections_and_trainable():
    a = Variable(1.0, name="a")
    b = Variable(2.0, name="b", trainable=False)
    c = Variable(3.0, name="c", collections=[tf.GraphKeys.LOCAL_VARIABLES])
    d = Variable(4.0, name="d", collections=[tf.GraphKeys.MODEL_VARIABLES, GLOBAL],
                 trainable=False)
    assert variables.global_variables() == [a, b, d]
    assert variables.trainable_variables() == [a, c]
    assert variables.local_variables() == [c]
    assert variables.model_variables() == [d]
    assert variables.all_variables() == [a, b, d]
    assert variables.global_variables(scope="[ab]") == [a, b]
    assert variables.moving_average_variables() == []


def test_shape_arguments():
    p = tf.placeholder(tf.float32, [None])
    v = Variable(p, validate_shape=False, name="v")
    assert v.shape.ndims is None
    u = Variable(p, shape=[None], name="u")
    assert u.shape.as_list() == [None]
    with tf.Session() as sess:
        sess.run(v.initializer, {p: [1.0, 2.0, 3.0]})
        sess.run(u.initializer, {p: [1.0]})
        np.testing.assert_array_equal(sess.run(v), [1, 2, 3])
        np.testing.assert_array_equal(sess.run(u), [1])
    w = Variable([1.0, 2.0])
    w.set_shape([2])
    assert w.value().shape.as_list() == [2]


def test_creation_errors():
    with pytest.raises(ValueError, match="initial_value must be specified"):
        Variable(None)
    with pytest.raises(ValueError, match="initial_value must have a shape specified"):
        Variable(tf.placeholder(tf.float32, [None]))
    with pytest.raises(ValueError, match="collections argument to Variable constructor"):
        Variable(1.0, collections="abc")
    with pytest.raises(ValueError, match="not compatible"):
        Variable([1.0, 2.0], shape=[3])
    with pytest.raises(ValueError):
        Variable(tf.constant([1, 2]), dtype=tf.float32)
    with pytest.raises(TypeError, match="not iterable"):
        iter(Variable([1.0]))


# -- initialization and reads ------------------------------------------------------------------

def test_uninitialized_read_fails_then_initializer_sets_value():
    w = Variable([[1.0, 2.0], [3.0, 4.0]], name="weights")
    y = w * 2.0
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError,
                           match="Attempting to use uninitialized value weights"):
            sess.run(y)
        sess.run(w.initializer)
        out = sess.run(w)
        assert out.dtype == np.float32 and out.shape == (2, 2)
        np.testing.assert_array_equal(out, [[1, 2], [3, 4]])
        np.testing.assert_array_equal(sess.run(y), [[2, 4], [6, 8]])
        out[0, 0] = 100.0  # a fetched value is the caller's copy
        assert sess.run(w)[0, 0] == 1.0


def test_two_sessions_hold_independent_values():
    w = Variable(0.0, name="w")
    inc = w.assign_add(1.0)
    with tf.Session() as s1, tf.Session() as s2:
        s1.run(w.initializer)
        s2.run(w.initializer)
        s1.run(inc)
        s1.run(inc)
        s2.run(inc)
        assert s1.run(w) == 2.0 and s2.run(w) == 1.0
    with tf.Session() as s3:
        with pytest.raises(errors.FailedPreconditionError):
            s3.run(w)


def test_initializer_groups_and_reports():
    a = Variable(1.0, name="a")
    b = Variable([2, 3], name="b")
    loc = Variable(5.0, name="loc", collections=[tf.GraphKeys.LOCAL_VARIABLES])
    init = variables.global_variables_initializer()
    assert init.name == "init" and init.type == "NoOp"
    report = variables.report_uninitialized_variables()
    assert report.dtype == tf.string
    is_a = variables.is_variable_initialized(a)
    assert is_a.dtype == tf.bool and is_a.op.name == "IsVariableInitialized"
    with tf.Session() as sess:
        assert list(sess.run(report)) == [b"a", b"b", b"loc"]
        assert not sess.run(is_a)
        sess.run(init)
        assert sess.run(is_a)
        assert list(sess.run(report)) == [b"loc"]
        sess.run(variables.local_variables_initializer())
        assert sess.run(report).shape == (0,)
        assert sess.run([a, b, loc])[1].tolist() == [2, 3]
    assert variables.variables_initializer([]).type == "NoOp"
    assert variables.initialize_all_variables().type == "NoOp"
    assert variables.report_uninitialized_variables([]).shape.as_list() == [0]


def test_assert_variables_initialized():
    a = Variable(1.0, name="a")
    check = variables.assert_variables_initialized([a])
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value a"):
            sess.run(check)
        sess.run(a.initializer)
        assert sess.run(check) == 0
    with tf.Graph().as_default():
        assert variables.assert_variables_initialized() is None


def test_initial_value_reading_another_variable_initializes_in_any_order():
    w1 = Variable([1.0, 2.0], name="w1")
    w2 = Variable(w1 * 3.0, name="w2")
    w3 = Variable(w1.initialized_value() + 1.0, name="w3")
    with tf.Session() as sess:
        sess.run(w2.initializer)  # w1 still uninitialized: uses w1's initial value
        np.testing.assert_array_equal(sess.run(w2), [3, 6])
        sess.run(w1.initializer)
        sess.run(w1.assign([10.0, 20.0]))
        sess.run([w2.initializer, w3.initializer])  # now the current value of w1
        np.testing.assert_array_equal(sess.run(w2), [30, 60])
        np.testing.assert_array_equal(sess.run(w3), [11, 21])
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        np.testing.assert_array_equal(sess.run([w1, w2, w3]), [[1, 2], [3, 6], [2, 3]])


def test_read_value_eval_load():
    w = Variable([1.0, 2.0], name="w")
    r = w.read_value()
    assert r.op.type == "Identity" and r.op.name == "read"
    assert tf.convert_to_tensor(w) is w.value()
    assert tf.convert_to_tensor(w, as_ref=True) is w._ref() is w.op.outputs[0]
    with tf.Session() as sess:
        sess.run(w.initializer)
        w.load([5.0, 6.0], sess)
        np.testing.assert_array_equal(sess.run(r), [5, 6])
        np.testing.assert_array_equal(w.eval(sess), [5, 6])
        with sess.as_default():
            w.load([7.0, 8.0])
            np.testing.assert_array_equal(w.eval(), [7, 8])
    with pytest.raises(ValueError, match="default session"):
        w.load([1.0, 2.0])


def test_proto_round_trip():
    w = Variable([1.0, 2.0], name="w", trainable=False)
    copy = Variable.from_proto(w.to_proto())
    assert copy.op is w.op and copy.initializer is w.initializer
    assert copy.value() is w.value() and copy.initial_value is w.initial_value
    assert not copy.trainable
    with pytest.raises(ValueError, match="mutually exclusive"):
        Variable(1.0, variable_def=w.to_proto())


# -- operators and conversion ------------------------------------------------------------------

def test_operators_forward_to_the_value():
    v = Variable([[1.0, 2.0], [3.0, 4.0]], name="v")
    m = np.array([[1.0], [1.0]], np.float32)
    exprs = {"add": v + 1.0, "radd": 1.0 + v, "sub": v - v, "rsub": 10.0 - v, "mul": v * v,
             "div": v / 2.0, "rdiv": 2.0 / v, "neg": -v, "abs": abs(-v), "pow": v ** 2,
             "matmul": v @ m, "getitem": v[0], "slice": v[:, 1], "gt": v > 2.0,
             "np_left": np.float32(2.0) * v}
    with tf.Session() as sess:
        sess.run(v.initializer)
        out = sess.run(exprs)
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    expected = {"add": x + 1, "radd": 1 + x, "sub": x - x, "rsub": 10 - x, "mul": x * x,
                "div": x / 2, "rdiv": 2 / x, "neg": -x, "abs": x, "pow": x ** 2,
                "matmul": x @ m, "getitem": x[0], "slice": x[:, 1], "gt": x > 2,
                "np_left": 2 * x}
    for key, value in expected.items():
        assert out[key].dtype == value.dtype, key
        np.testing.assert_allclose(out[key], value, err_msg=key)
    assert {v: 1}[v] == 1 and v == v and v != Variable(1.0)  # identity semantics


def test_gradients_with_respect_to_a_variable():
    w = Variable(np.array([1.0, -2.0, 3.0]), name="w")
    x = tf.placeholder(tf.float64, [3])
    loss = w * w * x
    g_w, g_x = tf.gradients(loss, [w, x])
    g_read = tf.gradients(w.read_value() * 2.0, w)[0]
    with tf.Session() as sess:
        sess.run(w.initializer)
        gw, gx, gr = sess.run([g_w, g_x, g_read], {x: [1.0, 2.0, 3.0]})
    np.testing.assert_allclose(gw, 2 * np.array([1.0, -2.0, 3.0]) * [1, 2, 3])
    np.testing.assert_allclose(gx, [1.0, 4.0, 9.0])
    np.testing.assert_allclose(gr, [2.0, 2.0, 2.0])


# -- assign / assign_add / assign_sub ----------------------------------------------------------

def test_assign_family_values_and_names():
    w = Variable([1.0, 2.0], name="w")
    a = w.assign([5.0, 6.0])
    aa = w.assign_add([1.0, 1.0])
    asub = state_ops.assign_sub(w, [0.5, 0.5])
    op_only = w.assign([0.0, 0.0], read_value=False)
    assert (a.op.name, a.op.type) == ("Assign", "Assign")
    assert (aa.op.name, aa.op.type) == ("AssignAdd", "AssignAdd")
    assert asub.op.type == "AssignSub"
    assert isinstance(op_only, tf.Operation)
    assert a.shape.as_list() == [2] and a.op.get_attr("var_name") == "w"
    with tf.Session() as sess:
        sess.run(w.initializer)
        np.testing.assert_array_equal(sess.run(a), [5, 6])
        np.testing.assert_array_equal(sess.run(aa), [6, 7])
        np.testing.assert_array_equal(sess.run(asub), [5.5, 6.5])
        assert sess.run(op_only) is None
        np.testing.assert_array_equal(sess.run(w), [0, 0])
        assert sess.run(w).dtype == np.float32


def test_assign_works_on_an_uninitialized_variable_and_can_reshape():
    w = Variable([1.0, 2.0], name="w", validate_shape=False)
    grow = state_ops.assign(w, [1.0, 2.0, 3.0], validate_shape=False)
    assert grow.shape.as_list() == [3]
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(grow), [1, 2, 3])
        np.testing.assert_array_equal(sess.run(w), [1, 2, 3])


def test_assign_add_is_in_place_and_assign_stores_a_copy():
    w = Variable(np.zeros(4, np.float32), name="w")
    inc = w.assign_add(np.ones(4, np.float32))
    feed = tf.placeholder(tf.float32, [4])
    set_w = w.assign(feed)
    with tf.Session() as sess:
        sess.run(w.initializer)
        stored = sess._state.variables["w"]
        sess.run(inc)
        assert sess._state.variables["w"] is stored
        np.testing.assert_array_equal(stored, [1, 1, 1, 1])
        fed = np.arange(4, dtype=np.float32)
        sess.run(set_w, {feed: fed})
        fed[0] = 99.0  # the variable must not alias the caller's array
        np.testing.assert_array_equal(sess.run(w), [0, 1, 2, 3])


def test_assign_errors():
    w = Variable([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match="incompatible"):
        state_ops.assign_add(w, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="incompatible"):
        state_ops.assign(w, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="Input 'value' of 'Assign' Op has type int32"):
        state_ops.assign(w, tf.constant([1, 2]))
    with pytest.raises(TypeError, match="requires l-value input"):
        state_ops.assign(tf.constant([1.0, 2.0]), [1.0, 2.0])
    p = tf.placeholder(tf.float32, [None])
    add = state_ops.assign_add(w, p, name="grow_add")
    asg = state_ops.assign(w, p, name="grow_assign")
    with tf.Session() as sess:
        sess.run(w.initializer)
        with pytest.raises(errors.InvalidArgumentError, match="must be the same size") as e:
            sess.run(add, {p: [1.0, 2.0, 3.0]})
        assert "grow_add" in str(e.value)
        with pytest.raises(errors.InvalidArgumentError,
                           match=r"lhs shape= \[2\] rhs shape= \[3\]") as e:
            sess.run(asg, {p: [1.0, 2.0, 3.0]})
        assert "grow_assign" in str(e.value)
    with pytest.raises(errors.FailedPreconditionError, match="uninitialized value w"):
        with tf.Session() as sess:
            sess.run(add, {p: [1.0, 1.0]})


def test_module_level_assign_of_variable_ref_tensor():
    w = Variable(1, name="w")
    out = state_ops.assign(w.op.outputs[0], 7)
    with tf.Session() as sess:
        assert sess.run(out) == 7 and sess.run(w).dtype == np.int32


# -- scatter ----------------------------------------------------------------------------------

def _scatter_reference(kind, value, indices, updates):
    value = value.copy()
    fn = {"add": np.add.at, "sub": np.subtract.at, "mul": np.multiply.at,
          "max": np.maximum.at, "min": np.minimum.at}.get(kind)
    if kind == "update":
        value[indices] = updates
    else:
        fn(value, indices, updates)
    return value


@pytest.mark.parametrize("kind", ["update", "add", "sub", "mul", "max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_scatter_ops_against_numpy(kind, dtype):
    init = (np.arange(12).reshape(4, 3) + 1).astype(dtype)
    indices = np.array([2, 0, 2, 3], np.int64) if kind != "update" else np.array([2, 0, 3])
    updates = (np.arange(indices.size * 3).reshape(-1, 3) - 4).astype(dtype)
    v = Variable(init, name="v")
    out = getattr(state_ops, "scatter_" + kind)(v, indices, updates)
    assert out.op.type == "Scatter" + kind.capitalize()
    assert out.shape.as_list() == [4, 3] and out.dtype == tf.as_dtype(dtype)
    with tf.Session() as sess:
        sess.run(v.initializer)
        result = sess.run(out)
    assert result.dtype == dtype
    np.testing.assert_array_equal(result, _scatter_reference(kind, init, indices, updates))


def test_scatter_add_duplicates_accumulate_in_place():
    table = Variable(np.zeros((1000, 4), np.float32), name="table")
    ids = tf.placeholder(tf.int32, [None])
    rows = tf.placeholder(tf.float32, [None, 4])
    update = table.scatter_add(IndexedSlices(rows, ids))
    with tf.Session() as sess:
        sess.run(table.initializer)
        stored = sess._state.variables["table"]
        sess.run(update, {ids: [7, 7, 3, 7], rows: np.ones((4, 4))})
        assert sess._state.variables["table"] is stored
        assert stored[7].tolist() == [3, 3, 3, 3] and stored[3].tolist() == [1, 1, 1, 1]
        assert stored.sum() == 16


def test_scatter_div_and_scalar_updates():
    v = Variable(np.array([7, -7, 9, 4], np.int32), name="v")
    div = state_ops.scatter_div(v, [0, 1, 2], [2, 2, -4])
    f = Variable(np.ones((3, 2), np.float32), name="f")
    scalar = state_ops.scatter_update(f, [0, 2], 5.0)
    fdiv = state_ops.scatter_div(f, [1, 1], [[2.0, 4.0], [2.0, 1.0]])
    with tf.Session() as sess:
        sess.run([v.initializer, f.initializer])
        np.testing.assert_array_equal(sess.run(div), [3, -3, -2, 4])  # truncation, as C++
        np.testing.assert_array_equal(sess.run(scalar), [[5, 5], [1, 1], [5, 5]])
        np.testing.assert_allclose(sess.run(fdiv)[1], [0.25, 0.25])


def test_variable_scatter_methods_require_indexed_slices():
    v = Variable(np.zeros((3, 2), np.float32), name="v")
    upd = v.scatter_update(IndexedSlices(tf.constant([[1.0, 2.0]]), tf.constant([1])))
    sub = v.scatter_sub(IndexedSlices(tf.constant([[1.0, 1.0]]), tf.constant([1])))
    mx = v.scatter_max(IndexedSlices(tf.constant([[0.5, 5.0]]), tf.constant([1])))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(upd)[1].tolist() == [1, 2]
        assert sess.run(sub)[1].tolist() == [0, 1]
        assert sess.run(mx)[1].tolist() == [0.5, 5]
    with pytest.raises(TypeError, match="sparse_delta is not IndexedSlices"):
        v.scatter_add(tf.constant([[1.0, 1.0]]))


def test_scatter_errors_name_the_op():
    v = Variable(np.zeros((4, 2), np.float32), name="v")
    ids = tf.placeholder(tf.int32, [None])
    upd = tf.placeholder(tf.float32)
    out = state_ops.scatter_add(v, ids, upd, name="my_scatter")
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(errors.InvalidArgumentError,
                           match=r"indices\[1\] = 4 is not in \[0, 4\)") as e:
            sess.run(out, {ids: [0, 4], upd: np.ones((2, 2))})
        assert "my_scatter" in str(e.value)
        with pytest.raises(errors.InvalidArgumentError, match="is not in"):
            sess.run(out, {ids: [-1], upd: np.ones((1, 2))})
        with pytest.raises(errors.InvalidArgumentError, match="Must have updates.shape"):
            sess.run(out, {ids: [1, 2], upd: np.ones((2, 3))})
        np.testing.assert_array_equal(sess.run(v), np.zeros((4, 2)))  # nothing was written
    with pytest.raises(ValueError, match="indices.shape"):
        state_ops.scatter_add(v, [0, 1], np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="int32 or int64"):
        state_ops.scatter_add(v, [0.5], np.ones((1, 2), np.float32))


def test_scatter_nd_ops():
    v = Variable(np.zeros((3, 2), np.float32), name="v")
    upd = state_ops.scatter_nd_update(v, [[0, 1], [2, 0]], [5.0, 6.0])
    add = v.scatter_nd_add([[1], [1]], [[1.0, 2.0], [1.0, 2.0]])
    sub = v.scatter_nd_sub([[0, 1]], [1.0])
    bad = state_ops.scatter_nd_add(v, [[3, 0]], [1.0], name="nd_bad")
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(upd), [[0, 5], [0, 0], [6, 0]])
        np.testing.assert_array_equal(sess.run(add), [[0, 5], [2, 4], [6, 0]])
        np.testing.assert_array_equal(sess.run(sub)[0], [0, 4])
        with pytest.raises(errors.InvalidArgumentError, match="does not index into") as e:
            sess.run(bad)
        assert "nd_bad" in str(e.value)


def test_count_up_to():
    c = Variable(0, name="c")
    up = c.count_up_to(2)
    assert up.dtype == tf.int32 and up.shape.as_list() == []
    with tf.Session() as sess:
        sess.run(c.initializer)
        assert sess.run(up) == 0 and sess.run(up) == 1
        with pytest.raises(errors.OutOfRangeError, match="Reached limit of 2"):
            sess.run(up)
        assert sess.run(c) == 2
    with pytest.raises(TypeError, match="int32 or int64"):
        Variable(1.0).count_up_to(3)


def test_state_ops_are_colocated_with_the_variable():
    with tf.device("/job:ps/task:0"):
        v = Variable(np.zeros((3, 2), np.float32), name="v")
    with tf.device("/job:worker/task:1"):
        ops = [v.assign_add(np.ones((3, 2), np.float32)).op,
               state_ops.scatter_add(v, [0], [[1.0, 1.0]]).op,
               variables.is_variable_initialized(v).op, v.value().op]
    for op in ops:
        assert op.device == v.device, op.name


def test_not_differentiable():
    v = Variable(1.0, name="v")
    x = tf.placeholder(tf.float32, [])
    assert tf.gradients(v.assign(x), [x])[0] is None
    assert tf.gradients(v.assign_add(x), [x])[0] is None


def test_variable_used_with_array_ops():
    v = Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
    r = array_ops.reshape(v, [3, 2])
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(r), np.arange(6).reshape(3, 2))


def test_slice_assign():
    v = Variable(np.zeros((3, 4), np.float32), name="v")
    row = v[1].assign([1.0, 2.0, 3.0, 4.0])
    block = v[:, 1:3].assign(np.full((3, 2), 5.0, np.float32))
    strided = v[0, ::2].assign([7.0, 8.0])
    corner = v[-1, -1].assign(9.0)
    bad = v[0].assign([1.0, 2.0])
    assert row.op.type == "StridedSliceAssign" and row.shape.as_list() == [3, 4]
    with tf.Session() as sess:
        sess.run(v.initializer)
        stored = sess._state.variables["v"]
        for op in (row, block, strided):
            sess.run(op)
        np.testing.assert_array_equal(sess.run(corner), [[7, 5, 8, 0], [1, 5, 5, 4],
                                                         [0, 5, 5, 9]])
        assert sess._state.variables["v"] is stored  # written in place
        with pytest.raises(errors.InvalidArgumentError, match="does not match r-value shape"):
            sess.run(bad)


def test_state_ops_built_in_the_variable_graph_and_in_function_bodies():
    from hpcflow.ops import control_flow_ops
    v = Variable(0, name="counter")
    with tf.Graph().as_default():
        inc = v.assign_add(5)  # as TF, the op goes to the variable's graph
    assert inc.graph is v.graph

    def body(i):
        with tf.control_dependencies([v.assign_add(1)]):
            return i + 1

    loop = control_flow_ops.while_loop(lambda i: i < 4, body, [tf.constant(0)])
    x = tf.placeholder(tf.float32, [])
    made = control_flow_ops.cond(x > 0, lambda: Variable(3.0, name="inner") * 2.0,
                                 lambda: tf.constant(1.0))
    inner = [u for u in variables.global_variables() if u.op.name == "inner"][0]
    assert inner.graph is tf.get_default_graph()  # lifted out of the branch (init_scope)
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(loop) == 4 and sess.run(v) == 4
        assert sess.run(inc) == 9
        assert sess.run(made, {x: 1.0}) == 6.0


def test_read_value_in_a_branch_sees_earlier_assignments_and_passes_gradients():
    from hpcflow.ops import control_flow_ops
    v = Variable(1.0, name="v")
    w = Variable(3.0, name="w")
    p = tf.placeholder(tf.bool, [])
    x = tf.placeholder(tf.float32, [])

    def branch():
        with tf.control_dependencies([v.assign(5.0)]):
            return v.read_value() + 0.0

    y = control_flow_ops.cond(p, branch, lambda: v.read_value() + 0.0)
    z = control_flow_ops.cond(p, lambda: w.read_value() * x, lambda: w * 2.0)
    g_w, g_x = tf.gradients(z, [w, x])
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        assert sess.run(y, {p: False}) == 1.0
        assert sess.run(y, {p: True}) == 5.0
        assert sess.run([z, g_w, g_x], {p: True, x: 4.0}) == [12.0, 4.0, 3.0]
        assert sess.run([z, g_w, g_x], {p: False, x: 4.0}) == [6.0, 2.0, 0.0]
