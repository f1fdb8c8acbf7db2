"""variable_scope / get_variable naming and reuse, initializers, partitioned variables."""
import threading

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.ops import array_ops, init_ops, math_ops
from hpcflow.ops import partitioned_variables as pv
from hpcflow.ops import variables
from hpcflow.ops.variable_scope import (AUTO_REUSE, get_local_variable, get_variable,
                                        get_variable_scope, no_regularizer, variable_scope)


def _values(fetches):
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        return sess.run(fetches)


# -- naming -------------------------------------------------------------------------------------

def test_nested_scopes_and_default_names():
    # The expected names were checked against TF 1.x (tf.compat.v1) with ref variables.
    with variable_scope("foo") as vs:
        assert vs.name == "foo" and vs.original_name_scope == "foo/"
        with variable_scope(None, default_name="bar"):
            assert get_variable("a", [1]).name == "foo/bar/a:0"
            assert tf.constant(1, name="c").name == "foo/bar/c:0"
        with variable_scope(None, default_name="bar"):
            assert get_variable("b", [1]).name == "foo/bar_1/b:0"
            assert tf.constant(1, name="c").name == "foo/bar_1/c:0"
    with variable_scope(vs) as again:
        assert again.name == "foo" and again.original_name_scope == "foo/"
        # Default-name counters restart when re-entering a scope; name scopes do not. The
        # op name "foo/bar/c" is taken by the constant above, so the variable's op (not its
        # get_variable name) is uniquified, as TF does.
        with variable_scope(None, default_name="bar"):
            c = get_variable("c", [1])
            assert c.name == "foo/bar/c_1:0"
            assert tf.constant(1, name="c").name == "foo_1/bar/c:0"
        assert tf.constant(1, name="c").name == "foo_1/c:0"
    with variable_scope("foo", reuse=True):
        assert get_variable("bar/c") is c
    with variable_scope(vs, auxiliary_name_scope=False) as vs1:
        assert tf.constant(1, name="d").name == "d:0"
        with tf.name_scope(vs1.original_name_scope):
            assert tf.constant(1, name="d").name == "foo/d:0"
    with variable_scope("foo"):
        assert tf.constant(1, name="e").name == "foo_3/e:0"  # foo_2: the reuse scope
    assert get_variable_scope().name == ""


def test_variable_names_ignore_name_scopes_but_ops_do_not():
    with tf.name_scope("ns"):
        with variable_scope("vv"):
            x = get_variable("x", [1])
            assert x.name == "vv/x:0"
            assert tf.constant(1, name="e").name == "ns/vv/e:0"
            assert get_variable_scope().original_name_scope == "ns/vv/"
        assert get_variable("y", [1]).name == "y:0"
        assert variables.Variable(1.0, name="z").name == "ns/z:0"
    names = [op.name for op in tf.get_default_graph().get_operations()]
    assert "vv/x/Initializer/random_uniform" in names and "vv/x/read" in names


def test_scope_values_pick_the_graph():
    g = tf.Graph()
    with g.as_default():
        t = tf.constant(1.0)
    with variable_scope("s", values=[t]):
        v = get_variable("v", [2])
    assert v.graph is g and v.name == "s/v:0"
    assert tf.get_default_graph() is not g


def test_scopes_are_thread_local():
    seen = []
    graph = tf.get_default_graph()
    with variable_scope("main") as main:
        def worker():
            with graph.as_default():
                seen.append(get_variable_scope().name)
                with variable_scope(main):
                    seen.append(get_variable("t", [1]).name)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == ["", "main/t:0"]


# -- reuse ------------------------------------------------------------------------------------

def test_reuse_true_auto_reuse_and_inheritance():
    with variable_scope("foo"):
        v = get_variable("v", [1])
    with variable_scope("foo", reuse=True):
        assert get_variable("v", [1]) is v
        assert get_variable("v") is v  # shape may be omitted when reusing
        with variable_scope("inner"):
            assert get_variable_scope().reuse is True
    with variable_scope("auto", reuse=AUTO_REUSE):
        a1 = get_variable("w", [2])
        with variable_scope("sub"):
            assert get_variable_scope().reuse is AUTO_REUSE
    with variable_scope("auto", reuse=AUTO_REUSE):
        assert get_variable("w", [2]) is a1
    with variable_scope("r") as scope:
        r1 = get_variable("v", [2])
        scope.reuse_variables()
        assert get_variable("v", [2]) is r1
        with variable_scope("in"):
            assert get_variable_scope().reuse is True
    with variable_scope("r", reuse=False):
        assert get_variable_scope().reuse is False  # False means "inherit"
    with variable_scope(scope, reuse=True):
        assert get_variable("v") is r1
    assert variables.global_variables() == [v, a1, r1]


def test_reuse_errors():
    with variable_scope("foo"):
        get_variable("w", [2])
        with pytest.raises(ValueError, match=r"Variable foo/w already exists, disallowed\. Did "
                           r"you mean to set reuse=True or reuse=tf\.AUTO_REUSE in VarScope\?"):
            get_variable("w", [2])
    with variable_scope("foo", reuse=True):
        with pytest.raises(ValueError, match=r"Variable foo/x does not exist, or was not created "
                           r"with tf\.get_variable\(\)"):
            get_variable("x", [2])
        with pytest.raises(ValueError, match=r"Trying to share variable foo/w, but specified "
                           r"shape \(3,\) and found shape \(2,\)"):
            get_variable("w", [3])
        with pytest.raises(ValueError, match="specified dtype int32 and found dtype float32"):
            get_variable("w", [2], dtype=tf.int32)
    with pytest.raises(TypeError, match="If default_name is None then name_or_scope is required"):
        variable_scope(None)
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with variable_scope(None, default_name="d", reuse=True):
            pass
    with pytest.raises(ValueError, match="reuse parameter must be True or False or None"):
        variable_scope("x", reuse="yes")
    with pytest.raises(TypeError, match="name_or_scope must be a string or VariableScope"):
        with variable_scope(3):
            pass
    assert get_variable_scope().name == ""  # failed entries left no scope behind
    # Variables made by tf.Variable are not known to get_variable.
    variables.Variable(1.0, name="plain")
    with variable_scope("", reuse=True):
        with pytest.raises(ValueError, match="does not exist"):
            get_variable("plain", [])


def test_get_variable_argument_errors():
    with pytest.raises(ValueError, match="did not get an initializer, so its `shape` argument"):
        get_variable("noshape")
    with pytest.raises(ValueError, match="If initializer is a constant, do not specify shape"):
        get_variable("c", [2], initializer=[1.0, 2.0])
    with pytest.raises(ValueError, match="Initializer type '<dtype: 'float32'>' and explicit "
                       "dtype '<dtype: 'int32'>' don't match"):
        get_variable("c2", dtype=tf.int32, initializer=[1.0, 2.0])
    with pytest.raises(ValueError, match="An initializer for variable z of <dtype: 'complex64'> "
                       "is required"):
        get_variable("z", [2], dtype=tf.complex64)
    with pytest.raises(ValueError, match="custom_getter which is not callable"):
        get_variable("g", [1], custom_getter=3)


# -- initializers through get_variable -----------------------------------------------------------

def test_default_initializers_by_dtype_and_scope_defaults():
    w = get_variable("w", [30, 20])
    i = get_variable("i", [2], dtype=tf.int64)
    b = get_variable("b", [2], dtype=tf.bool)
    with variable_scope("ini", initializer=init_ops.constant_initializer(3), dtype=tf.float64):
        f = get_variable("f", [2])
        with variable_scope("deeper"):
            n = get_variable("n", [2], dtype=tf.int32)
        o = get_variable("o", [2], initializer=init_ops.ones_initializer())
    tv = get_variable("tv", initializer=tf.constant([1, 2]))
    pf = get_variable("pf", initializer=[1.0, 2.0])
    npv = get_variable("npv", initializer=np.array([1, 2], np.int64))
    cls = get_variable("cls", [2], initializer=init_ops.Ones)  # a class is instantiated
    fn = get_variable("fn", initializer=lambda: tf.constant([4.0]))
    vals = _values([w, i, b, f, n, o, tv, pf, npv, cls, fn])
    limit = np.sqrt(6.0 / 50)
    assert vals[0].dtype == np.float32 and np.abs(vals[0]).max() <= limit
    assert np.abs(vals[0]).max() > 0.8 * limit
    assert vals[1].dtype == np.int64 and not vals[1].any()
    assert vals[2].dtype == np.bool_ and not vals[2].any()
    assert vals[3].dtype == np.float64 and vals[3].tolist() == [3, 3]
    assert vals[4].dtype == np.int32 and vals[4].tolist() == [3, 3]
    assert vals[5].tolist() == [1, 1]
    assert [v.dtype for v in vals[6:9]] == [np.int32, np.float32, np.int64]
    assert vals[9].tolist() == [1, 1] and vals[10].tolist() == [4]


def test_regularizer_custom_getter_local_and_collections():
    with variable_scope("reg", regularizer=lambda v: math_ops.reduce_sum(v)):
        r = get_variable("w", [2], initializer=init_ops.ones_initializer())
        get_variable("nr", [2], regularizer=no_regularizer)
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert [t.name for t in losses] == ["reg/w/Regularizer/Sum:0"]
    assert _values(losses[0]) == 2.0

    def suffix(tag):
        def getter(getter, name, *args, **kwargs):
            return getter(name + tag, *args, **kwargs)
        return getter

    with variable_scope("cg", custom_getter=suffix("_x")):
        with variable_scope("cg2", custom_getter=suffix("_y")):
            assert get_variable("w", [1]).name == "cg/cg2/w_y_x:0"
    seen = {}

    def record(getter, name, constraint=None, **kwargs):
        seen.update(kwargs, name=name, constraint=constraint)
        return getter(name, constraint=constraint, **kwargs)

    c = get_variable("con", [1], custom_getter=record, constraint=lambda t: t)
    assert seen["name"] == "con" and seen["shape"] == [1] and callable(seen["constraint"])
    assert c.constraint is seen["constraint"]
    lv = get_local_variable("lv", [1])
    assert lv in variables.local_variables() and lv not in variables.global_variables()
    assert lv not in variables.trainable_variables()
    nt = get_variable("nt", [1], trainable=False, collections=["mine"])
    assert tf.get_collection("mine") == [nt] and nt not in variables.global_variables()
    with variable_scope("reg") as scope:
        pass
    assert scope.global_variables() == [r, variables.global_variables()[1]]
    assert scope.trainable_variables()[0] is r


# -- initializers ------------------------------------------------------------------------------

def _init_value(init, shape, dtype=tf.float32, partition_info=None):
    with tf.Graph().as_default():
        t = init(shape, dtype=dtype, partition_info=partition_info)
        with tf.Session() as sess:
            value = sess.run(t)
    assert value.shape == tuple(shape) and value.dtype == dtype.np_dtype
    return value


@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64, tf.int32])
def test_constant_initializers(dtype):
    assert not _init_value(init_ops.zeros_initializer(), [2, 3], dtype).any()
    assert (_init_value(init_ops.ones_initializer(dtype=dtype), [4], dtype) == 1).all()
    value = _init_value(init_ops.constant_initializer([1, 2]), [2, 2], dtype)
    assert value.tolist() == [[1, 2], [2, 2]]  # padded with the last value, as TF1
    assert (_init_value(init_ops.constant_initializer(7), [3], dtype) == 7).all()


def test_constant_initializer_errors():
    with pytest.raises(TypeError, match="Invalid type for initial value"):
        init_ops.constant_initializer({"a": 1})
    with pytest.raises(TypeError, match="Expected Tensor's shape"):
        _init_value(init_ops.constant_initializer([1, 2, 3], verify_shape=True), [2])
    with pytest.raises(ValueError, match="Too many elements"):
        _init_value(init_ops.constant_initializer([1, 2, 3]), [2])


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_random_initializers_statistics(dtype):
    u = _init_value(init_ops.random_uniform_initializer(-2.0, 3.0, seed=1), [200, 100], dtype)
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.05
    n = _init_value(init_ops.random_normal_initializer(1.0, 2.0, seed=1), [200, 100], dtype)
    assert abs(n.mean() - 1.0) < 0.05 and abs(n.std() - 2.0) < 0.05
    t = _init_value(init_ops.truncated_normal_initializer(0.0, 0.5, seed=1), [200, 100], dtype)
    assert np.abs(t).max() <= 1.0 + 1e-6 and abs(t.std() - 0.5 * 0.8796) < 0.02
    ints = _init_value(init_ops.random_uniform_initializer(0, 10, seed=1), [1000], tf.int32)
    assert ints.min() == 0 and ints.max() == 9


@pytest.mark.parametrize("mode,distribution", [
    ("fan_in", "truncated_normal"), ("fan_out", "normal"), ("fan_avg", "untruncated_normal"),
    ("fan_in", "uniform")])
def test_variance_scaling_stddev(mode, distribution):
    shape = [3, 3, 40, 80]  # conv kernel: receptive field 9
    fan_in, fan_out = 9 * 40, 9 * 80
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    init = init_ops.variance_scaling_initializer(scale=2.0, mode=mode, distribution=distribution,
                                                 seed=3)
    value = _init_value(init, shape)
    expected_std = np.sqrt(2.0 / n)
    assert abs(value.std() - expected_std) < 0.05 * expected_std
    if distribution == "uniform":
        assert np.abs(value).max() <= np.sqrt(3 * 2.0 / n)
    if distribution in ("normal", "truncated_normal"):
        assert np.abs(value).max() <= 2 * expected_std / 0.87962566 + 1e-6


def test_glorot_and_fan_initializers():
    g = _init_value(init_ops.glorot_uniform_initializer(seed=1), [200, 300])
    limit = np.sqrt(6.0 / 500)
    assert np.abs(g).max() <= limit and abs(g.std() - limit / np.sqrt(3)) < 0.03 * limit
    gn = _init_value(init_ops.glorot_normal_initializer(seed=1), [200, 300])
    assert abs(gn.std() - np.sqrt(2.0 / 500)) < 0.03 * np.sqrt(2.0 / 500)
    he = _init_value(init_ops.he_normal(seed=1), [400, 50])
    assert abs(he.std() - np.sqrt(2.0 / 400)) < 0.05 * np.sqrt(2.0 / 400)
    lu = _init_value(init_ops.lecun_uniform(seed=1), [400, 50])
    assert np.abs(lu).max() <= np.sqrt(3.0 / 400)
    uus = _init_value(init_ops.uniform_unit_scaling_initializer(factor=2.0, seed=1), [100, 10])
    assert np.abs(uus).max() <= 2 * np.sqrt(3.0 / 100)
    assert _init_value(init_ops.he_uniform(seed=1), [5]).shape == (5,)  # 1-D: fan = size


def test_orthogonal_and_identity_initializers():
    q = _init_value(init_ops.orthogonal_initializer(gain=2.0, seed=1), [6, 4], tf.float64)
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-10)
    wide = _init_value(init_ops.orthogonal_initializer(seed=2), [3, 7], tf.float64)
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-10)
    conv = _init_value(init_ops.orthogonal_initializer(seed=3), [2, 2, 3, 5], tf.float64)
    flat = conv.reshape(-1, 5)
    np.testing.assert_allclose(flat.T @ flat, np.eye(5), atol=1e-10)
    ident = _init_value(init_ops.identity_initializer(gain=3.0), [3, 4])
    np.testing.assert_array_equal(ident, 3 * np.eye(3, 4))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        init_ops.orthogonal_initializer()([3])
    with pytest.raises(ValueError, match="only be used for 2D matrices"):
        init_ops.identity_initializer()([2, 2, 2])


def test_initializer_configs_and_argument_errors():
    for init in (init_ops.zeros_initializer(), init_ops.constant_initializer(2.0),
                 init_ops.random_uniform_initializer(-1, 1, seed=4),
                 init_ops.variance_scaling_initializer(3.0, "fan_out", "uniform", seed=2),
                 init_ops.glorot_uniform_initializer(seed=5), init_ops.orthogonal_initializer(2.0),
                 init_ops.truncated_normal_initializer(1.0, 2.0, seed=3)):
        clone = type(init).from_config(init.get_config())
        assert type(clone) is type(init)
        assert {k: v for k, v in vars(clone).items()} == {k: v for k, v in vars(init).items()}
    with pytest.raises(ValueError, match="Argument `mode` should be one of"):
        init_ops.variance_scaling_initializer(mode="bad")
    with pytest.raises(ValueError, match="Argument `distribution` should be one of"):
        init_ops.variance_scaling_initializer(distribution="cauchy")
    with pytest.raises(ValueError, match="`scale` must be a positive float"):
        init_ops.variance_scaling_initializer(scale=0.0)
    with pytest.raises(ValueError, match="expected to be floating point"):
        init_ops.random_normal_initializer(dtype=tf.int32)
    with pytest.raises(ValueError, match="expected to be floating point"):
        init_ops.glorot_uniform_initializer()([2, 2], dtype=tf.int32)


def test_seeded_initializer_repeats_across_sessions():
    w = get_variable("w", [4, 4], initializer=init_ops.glorot_normal_initializer(seed=7))
    first, second = _values(w), _values(w)
    np.testing.assert_array_equal(first, second)


# -- partitioned variables ----------------------------------------------------------------------

def test_partitioned_variable_shards_names_and_value():
    with variable_scope("emb"):
        table = get_variable("table", [7, 3], partitioner=pv.fixed_size_partitioner(3),
                             initializer=init_ops.constant_initializer(2.0))
    assert isinstance(table, pv.PartitionedVariable)
    assert [v.name for v in table] == ["emb/table/part_0:0", "emb/table/part_1:0",
                                       "emb/table/part_2:0"]
    assert [v.shape.as_list() for v in table] == [[3, 3], [2, 3], [2, 3]]  # first gets extra
    assert table.name == "emb/table" and table.shape.as_list() == [7, 3]
    assert table.dtype == tf.float32 and len(table) == 3
    assert table._get_partitions() == [3, 1] and table._get_variable_list() == list(table)
    info = [v._get_save_slice_info() for v in table]
    assert [i.var_offset for i in info] == [[0, 0], [3, 0], [5, 0]]
    assert info[1].spec == "7 3 3,2:0,3" and info[0].full_name == "emb/table"
    assert variables.global_variables() == list(table)
    whole = tf.convert_to_tensor(table)
    assert whole.shape.as_list() == [7, 3] and whole.op.name == "emb/table"
    np.testing.assert_array_equal(_values(whole), np.full((7, 3), 2.0))
    with pytest.raises(NotImplementedError, match="reference"):
        tf.convert_to_tensor(table, as_ref=True)


def test_partitioned_initializers_see_the_full_shape():
    ident = get_variable("ident", [4, 4], partitioner=pv.fixed_size_partitioner(2),
                         initializer=init_ops.identity_initializer())
    data = np.arange(10.0).reshape(5, 2)
    from_tensor = get_variable("tensor_init", initializer=tf.constant(data),
                               partitioner=pv.fixed_size_partitioner(2))
    from_value = get_variable("value_init", [5, 2], dtype=tf.float64,
                              initializer=None, partitioner=pv.fixed_size_partitioner(2))
    cols = get_variable("cols", [2, 5], partitioner=pv.fixed_size_partitioner(2, axis=1),
                        initializer=init_ops.glorot_uniform_initializer(seed=1))
    assert [v.shape.as_list() for v in cols] == [[2, 3], [2, 2]]
    assert from_tensor.dtype == tf.float64
    vals = _values([tf.convert_to_tensor(ident), tf.convert_to_tensor(from_tensor),
                    tf.convert_to_tensor(cols), tf.convert_to_tensor(from_value)])
    np.testing.assert_array_equal(vals[0], np.eye(4))
    np.testing.assert_array_equal(vals[1], data)
    assert vals[2].shape == (2, 5) and np.abs(vals[2]).max() <= np.sqrt(6.0 / 7)
    assert vals[3].dtype == np.float64 and np.abs(vals[3]).max() <= np.sqrt(6.0 / 7)


def test_partitioned_reuse_and_errors():
    p = get_variable("p", [6, 2], partitioner=pv.fixed_size_partitioner(2))
    with variable_scope("", reuse=True):
        assert get_variable("p") is p
        assert get_variable("p", [6, 2], partitioner=pv.fixed_size_partitioner(2)) is p
        with pytest.raises(ValueError, match="specified partitions"):
            get_variable("p", [6, 2], partitioner=pv.fixed_size_partitioner(3))
        with pytest.raises(ValueError, match="PartitionedVariable q does not exist"):
            get_variable("q", [6, 2], partitioner=pv.fixed_size_partitioner(2))
    with pytest.raises(ValueError, match="Partitioned variable with name p already exists"):
        get_variable("p", [6, 2], partitioner=pv.fixed_size_partitioner(2))
    with pytest.raises(ValueError, match="a partitioned version of the variable was found"):
        get_variable("p", [6, 2])
    get_variable("single", [4])
    with pytest.raises(ValueError, match="an unpartitioned version of the variable was found"):
        get_variable("single", [4], partitioner=pv.fixed_size_partitioner(2))
    with pytest.raises(ValueError, match="must be fully defined"):
        get_variable("undef", [None, 2], initializer=init_ops.zeros_initializer(),
                     partitioner=pv.fixed_size_partitioner(2))
    with pytest.raises(ValueError, match="Can only slice a variable along one dimension"):
        get_variable("two_axes", [4, 4], partitioner=lambda shape, dtype: [2, 2])
    # A scalar shape ignores the partitioner (as TF).
    scalar = get_variable("scalar", [], partitioner=pv.fixed_size_partitioner(2))
    assert isinstance(scalar, variables.Variable)


def test_partitioners():
    shape = tf.TensorShape([100, 64])
    assert pv.fixed_size_partitioner(4)(shape=shape, dtype=tf.float32) == [4, 1]
    assert pv.fixed_size_partitioner(200)(shape=shape, dtype=tf.float32) == [100, 1]
    assert pv.fixed_size_partitioner(2, axis=1)(shape=shape, dtype=tf.float32) == [1, 2]
    # 256 bytes per row: 1000-byte shards hold 3 rows -> 34 shards (capped by max_shards).
    assert pv.variable_axis_size_partitioner(1000)(shape, tf.float32) == [34, 1]
    assert pv.variable_axis_size_partitioner(1000, max_shards=8)(shape, tf.float32) == [8, 1]
    assert pv.variable_axis_size_partitioner(10)(shape, tf.float32) == [100, 1]
    # 25600 bytes in slices of at least 4096 bytes: 7 shards, at most max_partitions.
    assert pv.min_max_variable_partitioner(10, min_slice_size=4096)(shape, tf.float32) == [7, 1]
    assert pv.min_max_variable_partitioner(3, min_slice_size=4096)(shape, tf.float32) == [3, 1]
    assert pv.min_max_variable_partitioner(10)(shape, tf.float32) == [1, 1]
    with pytest.raises(ValueError, match="must be positive"):
        pv.variable_axis_size_partitioner(0)
    with pytest.raises(ValueError, match="Can not partition variable along axis 2"):
        pv.min_max_variable_partitioner(2, axis=2)(shape, tf.float32)
    v = get_variable("sized", [10, 4], partitioner=pv.variable_axis_size_partitioner(48))
    assert [s.shape.as_list() for s in v] == [[3, 4], [3, 4], [2, 4], [2, 4]]


def test_scope_partitioner_create_partitioned_variables_and_assign():
    with variable_scope("sp", partitioner=pv.fixed_size_partitioner(2)):
        w = get_variable("w", [5, 2], initializer=init_ops.zeros_initializer())
    assert [v.name for v in w] == ["sp/w/part_0:0", "sp/w/part_1:0"]
    shards = pv.create_partitioned_variables([5, 2], [2, 1], init_ops.ones_initializer())
    assert [v.name for v in shards] == ["PartitionedVariable/part_0:0",
                                        "PartitionedVariable/part_1:0"]
    new_value = np.arange(10, dtype=np.float32).reshape(5, 2)
    assigns = w.assign(new_value)
    adds = w.assign_add(np.ones((5, 2), np.float32))
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        sess.run(assigns)
        np.testing.assert_array_equal(sess.run(tf.convert_to_tensor(w)), new_value)
        sess.run(adds)
        np.testing.assert_array_equal(sess.run(tf.convert_to_tensor(w)), new_value + 1)
        np.testing.assert_array_equal(np.concatenate(sess.run(shards)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="shape"):
        pv.create_partitioned_variables([5, 2], [2], init_ops.ones_initializer())


def test_partitioned_variable_in_embedding_lookup_and_gradients():
    from hpcflow import nn
    table = get_variable("table", partitioner=pv.fixed_size_partitioner(3),
                         initializer=tf.constant(np.arange(14.0, dtype=np.float32).reshape(7, 2)))
    ids = tf.constant([0, 6, 3, 3])
    rows = nn.embedding_lookup(table, ids, partition_strategy="div")
    loss = math_ops.reduce_sum(rows)
    grads = tf.gradients(loss, list(table))
    with tf.Session() as sess:
        sess.run(variables.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(rows), np.arange(14.0).reshape(7, 2)[[0, 6, 3, 3]])
        dense = [sess.run(tf.convert_to_tensor(g)) for g in grads]
    full = np.concatenate(dense)
    np.testing.assert_array_equal(full[:, 0], [1, 0, 0, 2, 0, 0, 1])


def test_array_ops_on_variables_in_scope():
    with variable_scope("layer"):
        w = get_variable("w", [3, 2], initializer=init_ops.ones_initializer())
        y = array_ops.reshape(w, [6])
    assert y.op.name.startswith("layer/")
    assert _values(y).tolist() == [1] * 6


def test_initializers_namespace_variable_initializers():
    a = get_variable("a", [2], initializer=init_ops.ones_initializer())
    b = get_local_variable("b", [1], initializer=init_ops.zeros_initializer())
    assert tf.initializers.global_variables().type == "NoOp"
    with tf.Session() as sess:
        sess.run(init_ops.global_variables())
        sess.run(init_ops.local_variables())
        assert sess.run(a).tolist() == [1, 1] and sess.run(b).tolist() == [0]
        sess.run(a.assign([5.0, 5.0]))
        sess.run(init_ops.variables([a]))
        assert sess.run(a).tolist() == [1, 1]
