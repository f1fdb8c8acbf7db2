"""The Cython ApplyAdam and ApplyMomentum kernels against the numpy reference kernels.

The compiled loops do the reference's float operations in the reference's order, so over
several steps the variable and its slots must stay equal bit for bit. Inputs the loops do
not take (non-contiguous or read-only arrays, float16, non-scalar hyper-parameters,
overlapping operands) must give exactly the reference's result or error.
"""
import types

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.backends import cython_backend
from hpcflow.framework import errors, registry
from hpcflow.runtime.state import SessionState

pytestmark = pytest.mark.skipif(not cython_backend.available(),
                                reason="Cython kernels not built (HPCFLOW_NO_CYTHON=1?)")

FLOATS = [np.float32, np.float64]
# Odd sizes, one element, a length past any vector width, a rank-0 and a rank-3 variable.
SHAPES = [(1,), (7,), (1001,), (), (3, 5, 17)]
SLOTS = {"ApplyAdam": ["m", "v"], "ApplyMomentum": ["accum"]}


def _context(var, slots):
    """A kernel context whose state holds `var` as "var" and the slots under their names."""
    state = SessionState()
    state.write_variable("var", var.copy())
    for name, value in slots.items():
        state.write_variable(name, value.copy())
    return types.SimpleNamespace(state=state)


def _state_pair(op_type, shape, dtype, rng):
    """Two contexts with equal starting values: one for each backend's kernel."""
    var = rng.standard_normal(shape).astype(dtype)
    slots = {name: np.abs(rng.standard_normal(shape)).astype(dtype)
             for name in SLOTS[op_type]}
    return _context(var, slots), _context(var, slots)


def _attrs(op_type, shape, **extra):
    return dict(var_name="var", slot_names=SLOTS[op_type], var_shape=list(shape),
                sparse=False, **extra)


def _adam_inputs(step, dtype):
    """ApplyAdam's hyper-parameters before `grad` at step `step` (1-based), as the optimizer
    feeds them: 0-d arrays of the variable's dtype."""
    beta1, beta2 = 0.9, 0.999
    return [np.asarray(x, dtype) for x in (beta1 ** step, beta2 ** step, 1e-3, beta1, beta2,
                                           1e-8)]


def _assert_same_state(got, expected):
    for name, value in expected.state.variables.items():
        np.testing.assert_array_equal(got.state.variables[name], value, err_msg=name)
        assert got.state.variables[name].dtype == value.dtype


def _run_both(op_type, ctx_cython, ctx_numpy, args, attrs):
    out_numpy = registry.get(op_type).kernels["numpy"](ctx_numpy, *args, **attrs)
    out_cython = registry.get(op_type).kernels["cython"](ctx_cython, *args, **attrs)
    # Both return the updated variable itself, as the op's output.
    assert out_cython is ctx_cython.state.variables["var"]
    np.testing.assert_array_equal(out_cython, out_numpy)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("use_nesterov", [False, True])
def test_apply_adam_matches_numpy_step_by_step(shape, dtype, use_nesterov, compiled_only):
    rng = np.random.default_rng(0)
    compiled_only("ApplyAdam")
    ctx_cython, ctx_numpy = _state_pair("ApplyAdam", shape, dtype, rng)
    attrs = _attrs("ApplyAdam", shape, use_nesterov=use_nesterov)
    for step in range(1, 6):
        grad = rng.standard_normal(shape).astype(dtype)
        _run_both("ApplyAdam", ctx_cython, ctx_numpy,
                  _adam_inputs(step, dtype) + [grad], attrs)
        _assert_same_state(ctx_cython, ctx_numpy)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("use_nesterov", [False, True])
def test_apply_momentum_matches_numpy_step_by_step(shape, dtype, use_nesterov,
                                                   compiled_only):
    rng = np.random.default_rng(1)
    compiled_only("ApplyMomentum")
    ctx_cython, ctx_numpy = _state_pair("ApplyMomentum", shape, dtype, rng)
    attrs = _attrs("ApplyMomentum", shape, use_nesterov=use_nesterov)
    for _ in range(5):
        grad = rng.standard_normal(shape).astype(dtype)
        lr, momentum = np.asarray(0.05, dtype), np.asarray(0.9, dtype)
        _run_both("ApplyMomentum", ctx_cython, ctx_numpy, [lr, grad, momentum], attrs)
        _assert_same_state(ctx_cython, ctx_numpy)


def _momentum_args(grad):
    return [np.asarray(0.05, grad.dtype), grad, np.asarray(0.9, grad.dtype)]


def test_noncontiguous_gradient_uses_the_reference():
    rng = np.random.default_rng(2)
    ctx_cython, ctx_numpy = _state_pair("ApplyMomentum", (6, 5), np.float32, rng)
    grad = rng.standard_normal((5, 6)).astype(np.float32).T
    assert not grad.flags.c_contiguous
    _run_both("ApplyMomentum", ctx_cython, ctx_numpy, _momentum_args(grad),
              _attrs("ApplyMomentum", (6, 5), use_nesterov=False))
    _assert_same_state(ctx_cython, ctx_numpy)


def test_noncontiguous_variable_uses_the_reference():
    rng = np.random.default_rng(3)
    ctx_cython, ctx_numpy = _state_pair("ApplyAdam", (4, 3), np.float64, rng)
    for ctx in (ctx_cython, ctx_numpy):
        ctx.state.variables["var"] = np.asfortranarray(ctx.state.variables["var"])
    grad = rng.standard_normal((4, 3))
    _run_both("ApplyAdam", ctx_cython, ctx_numpy, _adam_inputs(1, np.float64) + [grad],
              _attrs("ApplyAdam", (4, 3)))
    _assert_same_state(ctx_cython, ctx_numpy)


def test_byte_swapped_gradient_uses_the_reference():
    rng = np.random.default_rng(9)
    ctx_cython, ctx_numpy = _state_pair("ApplyAdam", (7,), np.float32, rng)
    grad = rng.standard_normal(7).astype(">f4" if np.little_endian else "<f4")
    _run_both("ApplyAdam", ctx_cython, ctx_numpy, _adam_inputs(1, np.float32) + [grad],
              _attrs("ApplyAdam", (7,)))
    _assert_same_state(ctx_cython, ctx_numpy)


def test_float16_uses_the_reference():
    rng = np.random.default_rng(4)
    ctx_cython, ctx_numpy = _state_pair("ApplyAdam", (9,), np.float16, rng)
    grad = rng.standard_normal(9).astype(np.float16)
    _run_both("ApplyAdam", ctx_cython, ctx_numpy, _adam_inputs(1, np.float16) + [grad],
              _attrs("ApplyAdam", (9,)))
    _assert_same_state(ctx_cython, ctx_numpy)


def test_gradient_sharing_a_slot_uses_the_reference():
    rng = np.random.default_rng(5)
    ctx_cython, ctx_numpy = _state_pair("ApplyMomentum", (8,), np.float32, rng)
    args_cython = _momentum_args(ctx_cython.state.variables["accum"])
    args_numpy = _momentum_args(ctx_numpy.state.variables["accum"])
    attrs = _attrs("ApplyMomentum", (8,), use_nesterov=True)
    expected = registry.get("ApplyMomentum").kernels["numpy"](ctx_numpy, *args_numpy, **attrs)
    got = registry.get("ApplyMomentum").kernels["cython"](ctx_cython, *args_cython, **attrs)
    np.testing.assert_array_equal(got, expected)
    _assert_same_state(ctx_cython, ctx_numpy)


def test_non_scalar_learning_rate_uses_the_reference():
    rng = np.random.default_rng(6)
    ctx_cython, ctx_numpy = _state_pair("ApplyMomentum", (5,), np.float32, rng)
    grad = rng.standard_normal(5).astype(np.float32)
    args = [np.full(5, 0.05, np.float32), grad, np.asarray(0.9, np.float32)]
    _run_both("ApplyMomentum", ctx_cython, ctx_numpy, args,
              _attrs("ApplyMomentum", (5,), use_nesterov=False))
    _assert_same_state(ctx_cython, ctx_numpy)


def test_read_only_variable_raises_the_reference_error():
    rng = np.random.default_rng(8)
    ctx_cython, ctx_numpy = _state_pair("ApplyAdam", (6,), np.float32, rng)
    args = _adam_inputs(1, np.float32) + [rng.standard_normal(6).astype(np.float32)]
    errors_seen = []
    for backend, ctx in (("numpy", ctx_numpy), ("cython", ctx_cython)):
        ctx.state.variables["var"].flags.writeable = False
        with pytest.raises(ValueError) as raised:
            registry.get("ApplyAdam").kernels[backend](ctx, *args, **_attrs("ApplyAdam", (6,)))
        errors_seen.append(str(raised.value))
    assert errors_seen[0] == errors_seen[1]


@pytest.mark.parametrize("op_type", ["ApplyAdam", "ApplyMomentum"])
def test_shape_mismatch_raises_the_reference_error(op_type):
    rng = np.random.default_rng(7)
    ctx, _ = _state_pair(op_type, (4,), np.float32, rng)
    grad = np.ones(5, np.float32)
    args = (_adam_inputs(1, np.float32) + [grad] if op_type == "ApplyAdam"
            else _momentum_args(grad))
    extra = {} if op_type == "ApplyAdam" else {"use_nesterov": False}
    with pytest.raises(errors.InvalidArgumentError, match="same shape"):
        registry.get(op_type).kernels["cython"](ctx, *args, **_attrs(op_type, (4,), **extra))


def _train_mlp(optimizer, steps=4):
    """A small ReLU MLP trained for a few steps; returns its weights."""
    tf.reset_default_graph()
    rng = np.random.RandomState(0)
    x = tf.constant(rng.rand(16, 13).astype(np.float32))
    labels = tf.constant(rng.randint(0, 3, 16).astype(np.int64))
    w1 = tf.Variable(rng.randn(13, 9).astype(np.float32) * 0.3)
    w2 = tf.Variable(rng.randn(9, 3).astype(np.float32) * 0.3)
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
    train = optimizer.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train)
        return sess.run([w1, w2])


@pytest.mark.parametrize("make_optimizer", [
    lambda: tf.train.AdamOptimizer(0.01),
    lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
], ids=["adam", "nesterov-momentum"])
def test_training_runs_the_compiled_update_and_matches_numpy(make_optimizer, monkeypatch):
    calls = []
    for name in ("apply_adam", "apply_momentum"):
        original = getattr(cython_backend._training, name)
        monkeypatch.setattr(cython_backend._training, name,
                            lambda *a, _f=original: calls.append(1) or _f(*a))
    monkeypatch.delenv("HPCFLOW_BACKEND", raising=False)
    with_cython = _train_mlp(make_optimizer())
    assert calls, "the optimizer did not run the compiled update"
    monkeypatch.setenv("HPCFLOW_BACKEND", "numpy")
    with_numpy = _train_mlp(make_optimizer())
    for got, expected in zip(with_cython, with_numpy):
        # The forward and backward kernels differ between backends up to rounding.
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
