"""Optimizer update ops (ApplyAdam, SparseApplyAdagrad...): TF1's update rules, applied in place.

Each op names the variable it updates with the attr `var_name` (the variable op's name, its
key in the session state) and its slots with `slot_names`; inputs are the hyper-parameters
and the gradient. Kernels update the stored arrays in place, so a step allocates no copy of
the variables, and the sparse forms touch only the rows in `indices`. Each op outputs the
updated variable. The formulas follow TF1's kernels (training_ops.cc) exactly.
"""
import numpy as np

from ..framework import errors, registry, sharding
from ..framework.tensor_shape import TensorShape
from .op_helpers import apply_op


def _update_shape(op):
    grad = op.inputs[_GRAD_POSITION[op.type[6:] if op.type.startswith("Sparse") else op.type]]
    shape = op.get_attr("var_shape")
    return [(TensorShape(shape), grad.dtype)]


def _check_dense(var, grad, name):
    if var.shape != grad.shape:
        raise errors.InvalidArgumentError(
            None, None, "var and grad do not have the same shape %s %s for variable %s"
            % (list(var.shape), list(grad.shape), name))


def _dedup(indices, values, num_rows, name):
    """Sums the values of repeated indices (TF deduplicates before nonlinear sparse updates)."""
    indices = np.asarray(indices).reshape(-1)
    if indices.size and (indices.min() < 0 or indices.max() >= num_rows):
        raise errors.InvalidArgumentError(
            None, None, "Index %d at offset %d in indices is out of range for variable %s with "
            "%d rows" % (int(indices[(indices < 0) | (indices >= num_rows)][0]),
                         int(np.argmax((indices < 0) | (indices >= num_rows))), name, num_rows))
    unique, inverse = np.unique(indices, return_inverse=True)
    if unique.size == indices.size:
        order = np.argsort(indices, kind="stable")
        return indices[order], values[order]
    summed = np.zeros((unique.size,) + values.shape[1:], dtype=values.dtype)
    np.add.at(summed, inverse, values)
    return unique, summed


def _scalar(x, dtype):
    return np.asarray(x, dtype=dtype)[()]


# -- gradient descent -------------------------------------------------------------------------

def _apply_gradient_descent(ctx, alpha, grad, *, var_name, slot_names, var_shape, sparse):
    var = ctx.state.read_variable(var_name)
    _check_dense(var, grad, var_name)
    var -= _scalar(alpha, var.dtype) * grad
    return var


def _sparse_apply_gradient_descent(ctx, alpha, grad, indices, *, var_name, slot_names,
                                   var_shape, sparse):
    var = ctx.state.read_variable(var_name)
    indices, grad = _dedup(indices, grad, var.shape[0], var_name)
    var[indices] -= _scalar(alpha, var.dtype) * grad
    return var


# -- momentum ---------------------------------------------------------------------------------

def _momentum_step(accum, grad, lr, momentum, use_nesterov):
    accum *= momentum
    accum += grad
    if use_nesterov:
        return grad * lr + accum * (momentum * lr)
    return accum * lr


def _apply_momentum(ctx, lr, grad, momentum, *, var_name, slot_names, var_shape, sparse,
                    use_nesterov):
    var = ctx.state.read_variable(var_name)
    accum = ctx.state.read_variable(slot_names[0])
    _check_dense(var, grad, var_name)
    var -= _momentum_step(accum, grad, _scalar(lr, var.dtype), _scalar(momentum, var.dtype),
                          use_nesterov)
    return var


def _sparse_apply_momentum(ctx, lr, grad, indices, momentum, *, var_name, slot_names, var_shape,
                           sparse, use_nesterov):
    var = ctx.state.read_variable(var_name)
    accum = ctx.state.read_variable(slot_names[0])
    indices, grad = _dedup(indices, grad, var.shape[0], var_name)
    rows = accum[indices]
    var[indices] -= _momentum_step(rows, grad, _scalar(lr, var.dtype),
                                   _scalar(momentum, var.dtype), use_nesterov)
    accum[indices] = rows
    return var


# -- adagrad ----------------------------------------------------------------------------------

def _apply_adagrad(ctx, lr, grad, *, var_name, slot_names, var_shape, sparse):
    var = ctx.state.read_variable(var_name)
    accum = ctx.state.read_variable(slot_names[0])
    _check_dense(var, grad, var_name)
    accum += grad * grad
    var -= _scalar(lr, var.dtype) * grad / np.sqrt(accum)
    return var


def _sparse_apply_adagrad(ctx, lr, grad, indices, *, var_name, slot_names, var_shape, sparse):
    var = ctx.state.read_variable(var_name)
    accum = ctx.state.read_variable(slot_names[0])
    indices, grad = _dedup(indices, grad, var.shape[0], var_name)
    rows = accum[indices] + grad * grad
    accum[indices] = rows
    var[indices] -= _scalar(lr, var.dtype) * grad / np.sqrt(rows)
    return var


# -- adam -------------------------------------------------------------------------------------

def _adam_lr(lr, beta1_power, beta2_power, dtype):
    return _scalar(lr, dtype) * np.sqrt(1 - _scalar(beta2_power, dtype)) / \
        (1 - _scalar(beta1_power, dtype))


def _apply_adam(ctx, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, var_name,
                slot_names, var_shape, sparse, use_nesterov=False):
    # use_nesterov: TF1's ApplyAdam attr (AdamOptimizer never sets it; the op allows it).
    var = ctx.state.read_variable(var_name)
    m = ctx.state.read_variable(slot_names[0])
    v = ctx.state.read_variable(slot_names[1])
    _check_dense(var, grad, var_name)
    dtype = var.dtype
    b1, b2, eps = _scalar(beta1, dtype), _scalar(beta2, dtype), _scalar(epsilon, dtype)
    alpha = _adam_lr(lr, beta1_power, beta2_power, dtype)
    m += (grad - m) * (1 - b1)
    v += (grad * grad - v) * (1 - b2)
    if use_nesterov:
        var -= ((grad * (1 - b1) + b1 * m) * alpha) / (np.sqrt(v) + eps)
    else:
        var -= (alpha * m) / (np.sqrt(v) + eps)
    return var


def _sparse_apply_adam(ctx, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, indices,
                       *, var_name, slot_names, var_shape, sparse):
    # TF1's Adam._apply_sparse decays m and v on every row, then adds the sparse gradient
    # (the gradient itself is never densified); the whole variable moves.
    var = ctx.state.read_variable(var_name)
    m = ctx.state.read_variable(slot_names[0])
    v = ctx.state.read_variable(slot_names[1])
    dtype = var.dtype
    indices, grad = _dedup(indices, grad, var.shape[0], var_name)
    b1, b2, eps = _scalar(beta1, dtype), _scalar(beta2, dtype), _scalar(epsilon, dtype)
    alpha = _adam_lr(lr, beta1_power, beta2_power, dtype)
    m *= b1
    m[indices] += grad * (1 - b1)
    v *= b2
    v[indices] += grad * grad * (1 - b2)
    var -= alpha * m / (np.sqrt(v) + eps)
    return var


# -- rmsprop ----------------------------------------------------------------------------------

def _rmsprop_step(ms, mom, mg, grad, lr, rho, momentum, epsilon):
    ms += (grad * grad - ms) * (1 - rho)
    if mg is not None:
        mg += (grad - mg) * (1 - rho)
        denominator = ms - mg * mg + epsilon
    else:
        denominator = ms + epsilon
    mom *= momentum
    mom += lr * grad / np.sqrt(denominator)
    return mom


def _apply_rmsprop(ctx, lr, rho, momentum, epsilon, grad, *, var_name, slot_names, var_shape,
                   sparse, centered):
    var = ctx.state.read_variable(var_name)
    ms = ctx.state.read_variable(slot_names[0])
    mom = ctx.state.read_variable(slot_names[1])
    mg = ctx.state.read_variable(slot_names[2]) if centered else None
    _check_dense(var, grad, var_name)
    dtype = var.dtype
    var -= _rmsprop_step(ms, mom, mg, grad, _scalar(lr, dtype), _scalar(rho, dtype),
                         _scalar(momentum, dtype), _scalar(epsilon, dtype))
    return var


def _sparse_apply_rmsprop(ctx, lr, rho, momentum, epsilon, grad, indices, *, var_name,
                          slot_names, var_shape, sparse, centered):
    var = ctx.state.read_variable(var_name)
    ms_all = ctx.state.read_variable(slot_names[0])
    mom_all = ctx.state.read_variable(slot_names[1])
    mg_all = ctx.state.read_variable(slot_names[2]) if centered else None
    indices, grad = _dedup(indices, grad, var.shape[0], var_name)
    dtype = var.dtype
    ms, mom = ms_all[indices], mom_all[indices]
    mg = mg_all[indices] if centered else None
    step = _rmsprop_step(ms, mom, mg, grad, _scalar(lr, dtype), _scalar(rho, dtype),
                         _scalar(momentum, dtype), _scalar(epsilon, dtype))
    ms_all[indices] = ms
    mom_all[indices] = mom
    if centered:
        mg_all[indices] = mg
    var[indices] -= step
    return var


def _register(op_type, kernel):
    registry.register_op(op_type, shape=_update_shape, numpy=kernel, context=True,
                         stateful=True, sharding=sharding.GATHER)
    registry.not_differentiable(op_type)


_register("ApplyGradientDescent", _apply_gradient_descent)
_register("SparseApplyGradientDescent", _sparse_apply_gradient_descent)
_register("ApplyMomentum", _apply_momentum)
_register("SparseApplyMomentum", _sparse_apply_momentum)
_register("ApplyAdagrad", _apply_adagrad)
_register("SparseApplyAdagrad", _sparse_apply_adagrad)
_register("ApplyAdam", _apply_adam)
_register("SparseApplyAdam", _sparse_apply_adam)
_register("ApplyRMSProp", _apply_rmsprop)
_register("SparseApplyRMSProp", _sparse_apply_rmsprop)


def apply_update(op_type, var, slots, inputs, grad, indices=None, name=None, **attrs):
    """Builds an update op for `var` (a Variable) on its device.

    Args:
      op_type: e.g. "ApplyAdam"; the sparse form "SparseApplyAdam" is used when `indices`
        is given.
      slots: the slot Variables in the order the kernel expects.
      inputs: hyper-parameter Tensors (already of var's dtype), in kernel order.
      grad: the dense gradient, or the IndexedSlices values when `indices` is given.
    """
    sparse = indices is not None
    if sparse:
        op_type = "Sparse" + op_type
        op_inputs = list(inputs[:_GRAD_POSITION[op_type[6:]]]) + [grad, indices] + \
            list(inputs[_GRAD_POSITION[op_type[6:]]:])
    else:
        op_inputs = list(inputs[:_GRAD_POSITION[op_type]]) + [grad] + \
            list(inputs[_GRAD_POSITION[op_type]:])
    shape = var.shape.as_tuple_or_none()
    graph = var.graph
    with graph.colocate_with(var.op):
        return apply_op(op_type, op_inputs,
                        dict(attrs, var_name=var.op.name,
                             slot_names=[s.op.name for s in slots],
                             var_shape=None if shape is None else list(shape), sparse=sparse),
                        name=name, graph=graph)


# Where the gradient goes among the inputs of each op (the kernels' argument order).
_GRAD_POSITION = {"ApplyGradientDescent": 1, "ApplyMomentum": 1, "ApplyAdagrad": 1,
                  "ApplyAdam": 6, "ApplyRMSProp": 4}
