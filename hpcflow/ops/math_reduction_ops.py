"""Reductions: AddN, reduce_sum/mean/prod/max/min/all/any and friends, ArgMax/ArgMin,
Cumsum/Cumprod (TF1 `math_ops`)."""
import builtins
import warnings

import numpy as np

from ..framework import dtypes, errors, registry, sharding, sharding_rules, tensor_util
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import TensorShape, unknown_shape
from .math_helpers import (
    _BOOL, _INDEX, _REALS, _apply, _array_ops, _check_dtype, _dense_grad, _op_scope, _shape_text)

# TF computes 1/0, log(0), sqrt(-1) to inf/nan silently; so do these kernels. Filtering the
# warnings numpy attributes to this module costs nothing per call (np.errstate costs ~1 us).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))


# ---------------------------------------------------------------------------------------------
# AddN.

def _add_n_shape(op):
    first = op.inputs[0]
    kinds = [t.dtype for t in op.inputs]
    if builtins.any(d != first.dtype for d in kinds):
        raise TypeError("Tensors in list passed to 'inputs' of 'AddN' Op have types [%s] that "
                        "don't all match." % ", ".join(d.name for d in kinds))
    _check_dtype(first, _REALS, "inputs")
    shape = first.shape
    for t in op.inputs[1:]:
        try:
            shape = shape.merge_with(t.shape)
        except ValueError:
            raise ValueError("Shapes %s and %s of AddN inputs must be equal"
                             % (shape, t.shape)) from None
    return [(shape, first.dtype)]


def _add_n_kernel(*inputs, N):  # noqa: N803 - TF's attr name
    first = inputs[0]
    for i, t in enumerate(inputs[1:], 1):
        if np.shape(t) != np.shape(first):
            raise errors.InvalidArgumentError(
                None, None, "Inputs to operation AddN must have the same size and shape.  "
                "Input 0: %s != input %d: %s" % (_shape_text(np.shape(first)), i,
                                                 _shape_text(np.shape(t))))
    out = np.add(inputs[0], inputs[1])
    if not isinstance(out, np.ndarray):
        out = np.asarray(out)
    for t in inputs[2:]:
        np.add(out, t, out=out)
    return out


registry.register_op("AddN", shape=_add_n_shape, numpy=_add_n_kernel,
                     gradient=lambda op, grad: [grad] * len(op.inputs),
                     sharding=sharding.Rule(sharding.ELEMENTWISE, sharding_rules.linear_add))


def add_n(inputs, name=None):
    """Adds all input Tensors element-wise (op "AddN"); one input is returned as is.

    Args:
      inputs: a non-empty list of Tensors (or IndexedSlices, densified) of one dtype and shape.
      name: optional op name.

    Returns:
      A Tensor of the inputs' dtype and shape.

    Raises:
      ValueError: if inputs is empty or the shapes differ.
      TypeError: if the dtypes differ.
    """
    if not inputs or not isinstance(inputs, (list, tuple)):
        raise ValueError("Inputs must be an iterable of at least one Tensor/IndexedSlices with "
                         "the same dtype and shape.")
    inputs = [convert_to_tensor(t) for t in inputs]
    if len(inputs) == 1:
        if name:
            return _array_ops().identity(inputs[0], name=name)
        return inputs[0]
    with _op_scope(name, "AddN", inputs) as scope:
        return _apply("AddN", inputs, {"N": len(inputs)}, name=scope)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """Sums inputs element-wise (TF1 `tf.math.accumulate_n`; here the same as add_n).

    Raises:
      ValueError: if inputs is empty or `shape` does not match the inputs.
      TypeError: if `tensor_dtype` does not match the inputs.
    """
    if not inputs or not isinstance(inputs, (list, tuple)):
        raise ValueError("inputs must be a list of at least one Tensor with the same dtype "
                         "and shape")
    inputs = [convert_to_tensor(t) for t in inputs]
    if tensor_dtype is not None and builtins.any(t.dtype != dtypes.as_dtype(tensor_dtype)
                                                 for t in inputs):
        raise TypeError("tensor_dtype is %s, but input is of type %s"
                        % (dtypes.as_dtype(tensor_dtype).name, inputs[0].dtype.name))
    if shape is not None:
        for t in inputs:
            if not t.shape.is_compatible_with(shape):
                raise ValueError("Input shape %s is incompatible with shape %s"
                                 % (t.shape, TensorShape(shape)))
    return add_n(inputs, name=name)


# ---------------------------------------------------------------------------------------------
# Reductions.

def _constant_axes(axes_tensor):
    value = tensor_util.constant_value(axes_tensor)
    return None if value is None else [int(a) for a in np.asarray(value).reshape(-1)]


def _normalize_axes_static(axes, rank):
    """Axes in [0, rank), checked as TF's shape function does."""
    seen = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError("Invalid reduction dimension %d for input with %d dimensions."
                             % (a, rank))
        a %= rank
        if a in seen:
            raise ValueError("Invalid reduction arguments: Axes contains duplicate dimension: %d"
                             % a)
        seen.append(a)
    return seen


def _reduction_shape(allowed):
    def shape_fn(op):
        x, axes_t = op.inputs
        _check_dtype(x, allowed, "input")
        _check_dtype(axes_t, _INDEX, "reduction_indices")
        keep_dims = op.get_attr("keep_dims")
        rank = x.shape.ndims
        axes = _constant_axes(axes_t)
        if rank is None:
            return [(unknown_shape(), x.dtype)]
        if axes is None:
            return [(unknown_shape(rank) if keep_dims else unknown_shape(), x.dtype)]
        reduced = set(_normalize_axes_static(axes, rank))
        dims = list(x.shape)
        if keep_dims:
            out = [1 if i in reduced else d for i, d in enumerate(dims)]
        else:
            out = [d for i, d in enumerate(dims) if i not in reduced]
        return [(TensorShape(out), x.dtype)]
    return shape_fn


def _axes_tuple(axes, ndim):
    """Run-time axes check, with TF's messages."""
    out = []
    for a in np.asarray(axes).reshape(-1):
        a = int(a)
        if not -ndim <= a < ndim:
            raise errors.InvalidArgumentError(
                None, None, "Invalid reduction dimension (%d for input with %d dimension(s)"
                % (a, ndim))
        a %= ndim
        if a in out:
            raise errors.InvalidArgumentError(
                None, None, "Invalid reduction arguments: Axes contains duplicate dimension: %d"
                % a)
        out.append(a)
    return tuple(out)


def _accumulator(dtype):
    # float16 sums accumulate in float32 (as TF's reducers), then round once.
    return np.float32 if dtype == np.float16 else dtype


def _sum_kernel(x, axes, *, keep_dims):
    axes = _axes_tuple(axes, x.ndim)
    out = np.sum(x, axis=axes, keepdims=keep_dims, dtype=_accumulator(x.dtype))
    return np.asarray(out, dtype=x.dtype)


def _prod_kernel(x, axes, *, keep_dims):
    axes = _axes_tuple(axes, x.ndim)
    out = np.prod(x, axis=axes, keepdims=keep_dims, dtype=_accumulator(x.dtype))
    return np.asarray(out, dtype=x.dtype)


def _mean_kernel(x, axes, *, keep_dims):
    axes = _axes_tuple(axes, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    if x.dtype.kind in "iu":
        total = np.sum(x, axis=axes, keepdims=keep_dims, dtype=x.dtype)
        if count == 0:
            return np.zeros_like(total)
        # Integer mean truncates toward zero (C++ division), not toward -inf.
        quotient = np.floor_divide(total, count)
        fix = (np.remainder(total, count) != 0) & (total < 0)
        return np.asarray(quotient + fix.astype(x.dtype), dtype=x.dtype)
    total = np.sum(x, axis=axes, keepdims=keep_dims, dtype=_accumulator(x.dtype))
    return np.asarray(np.true_divide(total, count), dtype=x.dtype)


def _extreme_kernel(fn, initial_of):
    def kernel(x, axes, *, keep_dims):
        axes = _axes_tuple(axes, x.ndim)
        # An empty reduction gives the identity (-inf / lowest for max), as TF.
        return np.asarray(fn(x, axis=axes, keepdims=keep_dims, initial=initial_of(x.dtype)),
                          dtype=x.dtype)
    return kernel


def _lowest(np_dtype):
    return -np.inf if np_dtype.kind == "f" else np.iinfo(np_dtype).min


def _highest(np_dtype):
    return np.inf if np_dtype.kind == "f" else np.iinfo(np_dtype).max


def _bool_kernel(fn):
    def kernel(x, axes, *, keep_dims):
        return np.asarray(fn(x, axis=_axes_tuple(axes, x.ndim), keepdims=keep_dims))
    return kernel


def _reduced_shape_shape(op):
    shape_t, axes_t = op.inputs
    _check_dtype(shape_t, _INDEX, "input_shape")
    _check_dtype(axes_t, _INDEX, "axes")
    return [(shape_t.shape, shape_t.dtype)]


def _reduced_shape_kernel(input_shape, axes):
    out = np.array(input_shape, copy=True)
    out[list(_axes_tuple(axes, len(out)))] = 1
    return out


# hpcflow-internal: TF computes this with DynamicStitch in Python; one small op is simpler.
registry.register_op("ReducedShape", shape=_reduced_shape_shape, numpy=_reduced_shape_kernel,
                     sharding=sharding.GATHER)
registry.not_differentiable("ReducedShape")


def reduced_shape(input_shape, axes):
    """The shape `input_shape` has after reducing `axes` with keepdims (1 on those axes).

    Args:
      input_shape: 1-D int32/int64 Tensor.
      axes: int32/int64 Tensor of axes (negative allowed).

    Returns:
      A 1-D Tensor like input_shape.
    """
    with _op_scope(None, "ReducedShape", [input_shape, axes]) as scope:
        input_shape = convert_to_tensor(input_shape, name="input_shape")
        axes = convert_to_tensor(axes, name="axes")
        return _apply("ReducedShape", [input_shape, axes], name=scope)


def _shape_of(x):
    """x's shape as a Python list when static, else a Shape Tensor."""
    if x.shape.is_fully_defined():
        return x.shape.as_list()
    return _array_ops().shape(x)


def _keep_reduced_dims(t, x, axes_t, keep_dims):
    """`t`, an output (or its gradient) of a reduction of x, with the reduced dims kept as 1."""
    if keep_dims:
        return t
    array_ops = _array_ops()
    axes = _constant_axes(axes_t)
    rank = x.shape.ndims
    if axes is not None and rank is not None:
        reduced = sorted(set(a % rank for a in axes)) if rank else []
        if x.shape.is_fully_defined():
            dims = x.shape.as_list()
            return array_ops.reshape(t, [1 if i in reduced else d for i, d in enumerate(dims)])
        for a in reduced:
            t = array_ops.expand_dims(t, a)
        return t
    return array_ops.reshape(t, reduced_shape(array_ops.shape(x), axes_t))


def _sum_grad(op, grad):
    x, axes_t = op.inputs
    kept = _keep_reduced_dims(grad, x, axes_t, op.get_attr("keep_dims"))
    return [_array_ops().broadcast_to(kept, _shape_of(x)), None]


def _mean_grad(op, grad):
    x, axes_t = op.inputs
    y = op.outputs[0]
    if not x.dtype.is_floating:
        return [None, None]
    summed = _sum_grad(op, grad)[0]
    if x.shape.is_fully_defined() and y.shape.is_fully_defined():
        factor = x.shape.num_elements() // builtins.max(y.shape.num_elements(), 1)
        return [realdiv(summed, builtins.max(factor, 1)), None]
    array_ops = _array_ops()
    factor = floordiv(array_ops.size(x), maximum(array_ops.size(y), 1))
    return [realdiv(summed, cast(maximum(factor, 1), summed.dtype)), None]


def _min_or_max_grad(op, grad):
    # The gradient is split evenly between tied extremes, as TF.
    x, axes_t = op.inputs
    if not x.dtype.is_floating:
        return [None, None]
    keep_dims = op.get_attr("keep_dims")
    y = _keep_reduced_dims(op.outputs[0], x, axes_t, keep_dims)
    grad = _keep_reduced_dims(grad, x, axes_t, keep_dims)
    indicators = cast(equal(y, x), grad.dtype)
    num_selected = reduce_sum(indicators, axes_t, keepdims=True)
    return [multiply(realdiv(indicators, num_selected), grad), None]


def _prod_grad(op, grad):
    # d prod / d x_i = product of the other elements of x_i's group. Written with masks so
    # that zeros are exact (one zero: only it gets a gradient; two or more: none does) and
    # unknown ranks and run-time axes need nothing special.
    x, axes_t = op.inputs
    if not x.dtype.is_floating:
        return [None, None]
    grad = _keep_reduced_dims(grad, x, axes_t, op.get_attr("keep_dims"))
    is_zero = cast(equal(x, 0), x.dtype)
    safe_x = add(x, is_zero)  # zeros replaced by ones
    prod_nonzero = reduce_prod(safe_x, axes_t, keepdims=True)
    num_zeros = reduce_sum(is_zero, axes_t, keepdims=True)
    no_zero = cast(equal(num_zeros, 0), x.dtype)
    one_zero = cast(equal(num_zeros, 1), x.dtype)
    others = add(multiply(realdiv(prod_nonzero, safe_x), no_zero),
                 multiply(multiply(prod_nonzero, is_zero), one_zero))
    return [multiply(others, grad), None]


_REDUCTION_OPS = {
    "Sum": (_REALS, _sum_kernel, _sum_grad),
    "Mean": (_REALS, _mean_kernel, _mean_grad),
    "Prod": (_REALS, _prod_kernel, _prod_grad),
    "Max": (_REALS, _extreme_kernel(np.max, _lowest), _min_or_max_grad),
    "Min": (_REALS, _extreme_kernel(np.min, _highest), _min_or_max_grad),
    "Any": (_BOOL, _bool_kernel(np.any), registry.NOT_DIFFERENTIABLE),
    "All": (_BOOL, _bool_kernel(np.all), registry.NOT_DIFFERENTIABLE),
}

for _op_type, (_allowed, _kernel, _grad) in _REDUCTION_OPS.items():
    registry.register_op(_op_type, shape=_reduction_shape(_allowed), numpy=_kernel,
                         gradient=_dense_grad(_grad),
                         sharding=sharding.Rule(sharding.REDUCTION, sharding_rules.sum_or_mean
                                                if _op_type in ("Sum", "Mean")
                                                else sharding_rules.order_reduction))


def _deprecated_lookup(new_name, new_value, old_name, old_value):
    if new_value is not None and old_value is not None:
        raise ValueError("Cannot specify both '%s' and '%s'." % (new_name, old_name))
    return new_value if new_value is not None else old_value


def _reduction_dims(x, axis):
    """The axes tensor of a reduction: `axis` as given, else all axes (as TF's helper)."""
    if axis is not None:
        return axis
    rank = x.shape.ndims
    if rank is not None:
        from .constant_op import constant
        return constant(np.arange(rank, dtype=np.int32))
    array_ops = _array_ops()
    return array_ops.range(0, array_ops.rank(x))


def _reduce(op_type, input_tensor, axis, keepdims, name, reduction_indices, keep_dims):
    axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
    keepdims = _deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims)
    keepdims = builtins.bool(keepdims) if keepdims is not None else False
    x = convert_to_tensor(input_tensor, name="input_tensor")
    axes = _reduction_dims(x, axis)
    with _op_scope(name, op_type, [x]) as scope:
        axes = convert_to_tensor(axes, name="reduction_indices", preferred_dtype=dtypes.int32)
        out = _apply(op_type, [x, axes], {"keep_dims": keepdims}, name=scope)
    return _may_reduce_to_scalar(keepdims, axis, out)


def _may_reduce_to_scalar(keepdims, axis, output):
    # A full reduction is a scalar even when the input's rank is unknown (as TF).
    if not keepdims and axis is None:
        output.set_shape(())
    return output


_REDUCE_DOC = """Computes the %s of elements across dimensions of a tensor (op "%s").

    Reduces `input_tensor` along `axis` (an int, a list of ints, negative allowed, or None
    for all dimensions); the reduced dimensions are removed unless `keepdims` is true.

    Args:
      input_tensor: the Tensor to reduce.
      axis: the dimensions to reduce (int, list, or an int32/int64 Tensor); None = all.
      keepdims: if true, keep the reduced dimensions with length 1.
      name: optional op name.
      reduction_indices: deprecated alias of axis.
      keep_dims: deprecated alias of keepdims.

    Returns:
      The reduced Tensor, of the input's dtype.

    Raises:
      ValueError: if an axis is out of range (at build time when it is known), or both an
        argument and its deprecated alias are given.
      TypeError: if the dtype is not supported.
    """


def _make_reduction(op_type, what):
    def reduction(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
        return _reduce(op_type, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)
    reduction.__doc__ = _REDUCE_DOC % (what, op_type)
    return reduction


reduce_sum = _make_reduction("Sum", "sum")
reduce_mean = _make_reduction("Mean", "mean (integer means truncate toward zero)")
reduce_prod = _make_reduction("Prod", "product")
reduce_max = _make_reduction("Max", "maximum (-inf for an empty float reduction)")
reduce_min = _make_reduction("Min", "minimum (+inf for an empty float reduction)")
reduce_any = _make_reduction("Any", "logical OR")
reduce_all = _make_reduction("All", "logical AND")


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    """Computes log(sum(exp(x))) across dimensions, stably (subtracting the max first).

    Arguments and errors as `reduce_sum`.
    """
    axis = _deprecated_lookup("axis", axis, "reduction_indices", reduction_indices)
    keepdims = _deprecated_lookup("keepdims", keepdims, "keep_dims", keep_dims)
    keepdims = builtins.bool(keepdims) if keepdims is not None else False
    array_ops = _array_ops()
    with _op_scope(name, "ReduceLogSumExp", [input_tensor]) as scope:
        x = convert_to_tensor(input_tensor, name="input_tensor")
        raw_max = reduce_max(x, axis=axis, keepdims=True)
        # An infinite max would make x - max NaN; such groups use 0 instead (as TF).
        my_max = array_ops.stop_gradient(
            array_ops.where(is_finite(raw_max), raw_max, array_ops.zeros_like(raw_max)))
        result = log(reduce_sum(exp(subtract(x, my_max)), axis=axis, keepdims=keepdims))
        if not keepdims:
            my_max = array_ops.reshape(my_max, _shape_of(result))
        return _may_reduce_to_scalar(keepdims, axis, add(result, my_max, name=scope))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The variance of elements across dimensions (mean squared deviation; floats only).

    Raises:
      TypeError: for integer inputs (as TF).
    """
    with _op_scope(name, "reduce_variance", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input_tensor")
        if not x.dtype.is_floating:
            raise TypeError("Input must be either real or complex, got %s (%s)"
                            % (x.dtype.name, x.name))
        means = reduce_mean(x, axis=axis, keepdims=True)
        squared_deviations = square(subtract(x, means))
        return reduce_mean(squared_deviations, axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """The standard deviation of elements across dimensions (sqrt of reduce_variance)."""
    with _op_scope(name, "reduce_std", [input_tensor]):
        return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def count_nonzero(input_tensor=None, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None, input=None):  # noqa: A002
    """Counts the non-zero elements across dimensions (result dtype `dtype`, default int64).

    Raises:
      ValueError: if both input_tensor and input are given (or axis and reduction_indices...).
    """
    input_tensor = _deprecated_lookup("input", input, "input_tensor", input_tensor)
    with _op_scope(name, "count_nonzero", [input_tensor]):
        x = convert_to_tensor(input_tensor, name="input")
        from .constant_op import constant
        zero = constant(np.zeros((), dtype=x.dtype.np_dtype) if x.dtype != dtypes.string
                        else b"", name="zeros")
        nonzero = cast(not_equal(x, zero), dtypes.int64)
        counts = reduce_sum(nonzero, axis=axis, keepdims=keepdims,
                            reduction_indices=reduction_indices, keep_dims=keep_dims)
        return cast(counts, dtype)


# ---------------------------------------------------------------------------------------------
# ArgMax / ArgMin.

def _arg_shape(op):
    x, dim = op.inputs
    _check_dtype(x, _REALS + _BOOL, "input")
    _check_dtype(dim, _INDEX, "dimension")
    out_type = dtypes.as_dtype(op.get_attr("output_type"))
    if out_type not in _INDEX:
        raise TypeError("output_type must be int32 or int64, got %s" % out_type.name)
    rank = x.shape.ndims
    if rank is None:
        return [(unknown_shape(), out_type)]
    axis = tensor_util.constant_value(dim)
    if axis is None:
        return [(unknown_shape(builtins.max(rank - 1, 0)), out_type)]
    axis = int(axis)
    if not -rank <= axis < rank:
        raise ValueError("Dimension (%d) must be in the range [%d, %d), where %d is the number "
                         "of dimensions in the input." % (axis, -rank, rank, rank))
    axis %= rank
    dims = list(x.shape)
    return [(TensorShape(dims[:axis] + dims[axis + 1:]), out_type)]


def _arg_kernel(fn):
    def kernel(x, dimension, *, output_type):
        axis = int(dimension)
        if not -x.ndim <= axis < x.ndim:
            raise errors.InvalidArgumentError(
                None, None, "Expected dimension in the range [%d, %d), but got %d"
                % (-x.ndim, x.ndim, axis))
        if x.shape[axis] == 0:
            raise errors.InvalidArgumentError(None, None, "Reduction axis %d is empty in shape %s"
                                              % (axis % x.ndim, _shape_text(x.shape)))
        return np.asarray(fn(x, axis=axis), dtype=dtypes.as_dtype(output_type).np_dtype)
    return kernel


registry.register_op("ArgMax", shape=_arg_shape, numpy=_arg_kernel(np.argmax),
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.order_reduction))
registry.register_op("ArgMin", shape=_arg_shape, numpy=_arg_kernel(np.argmin),
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.order_reduction))
registry.not_differentiable("ArgMax", "ArgMin")


def _arg(op_type, input, axis, name, dimension, output_type):  # noqa: A002
    axis = _deprecated_lookup("axis", axis, "dimension", dimension)
    if axis is None:
        axis = 0
    output_type = dtypes.as_dtype(output_type)
    with _op_scope(name, op_type, [input]) as scope:
        x = convert_to_tensor(input, name="input")
        dim = convert_to_tensor(axis, name="dimension", preferred_dtype=dtypes.int32)
        return _apply(op_type, [x, dim], {"output_type": output_type.name}, name=scope)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """The index of the largest value along `axis` (TF1: axis defaults to 0; op ArgMax).

    Args:
      input: a numeric Tensor.
      axis: int or scalar int Tensor (negative allowed); None means 0 (TF1).
      name: optional op name.
      dimension: deprecated alias of axis.
      output_type: int64 (default) or int32.

    Returns:
      A Tensor of `output_type` with `axis` removed.

    Raises:
      ValueError: if axis is out of range (build time) or both axis and dimension are given.
      InvalidArgumentError: at run time, if the axis is empty.
    """
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """The index of the smallest value along `axis` (op ArgMin). See `argmax`."""
    return _arg("ArgMin", input, axis, name, dimension, output_type)


# ---------------------------------------------------------------------------------------------
# Cumulative sum and product.

def _cum_shape(op):
    x, axis = op.inputs
    _check_dtype(x, _REALS)
    _check_dtype(axis, _INDEX, "axis")
    value = tensor_util.constant_value(axis)
    rank = x.shape.ndims
    if value is not None and rank is not None:
        if not -rank <= int(value) < rank:
            raise ValueError("axis %d is out of range for a tensor of rank %d" % (value, rank))
    return [(x.shape, x.dtype)]


def _cum_kernel(fn, identity):
    def kernel(x, axis, *, exclusive, reverse):
        axis = int(axis)
        if not -x.ndim <= axis < x.ndim:
            raise errors.InvalidArgumentError(
                None, None, "Expected scan axis in the range [%d, %d), but got %d"
                % (-x.ndim, x.ndim, axis))
        axis %= x.ndim
        if reverse:
            x = np.flip(x, axis)
        out = fn(x, axis=axis, dtype=_accumulator(x.dtype)).astype(x.dtype, copy=False)
        if exclusive and x.shape[axis]:
            head = np.full_like(np.take(out, [0], axis=axis), identity)
            out = np.concatenate([head, np.take(out, np.arange(x.shape[axis] - 1), axis=axis)],
                                 axis=axis)
        if reverse:
            out = np.flip(out, axis)
        return np.ascontiguousarray(out)
    return kernel


def _cumsum_grad(op, grad):
    axis = op.inputs[1]
    return [cumsum(grad, axis, exclusive=op.get_attr("exclusive"),
                   reverse=not op.get_attr("reverse")), None]


def _cumprod_grad(op, grad):
    # As TF: exact only where x has no zeros.
    x, axis = op.inputs
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    prod = cumprod(x, axis, exclusive=exclusive, reverse=reverse)
    out = cumsum(multiply(prod, grad), axis, exclusive=exclusive, reverse=not reverse)
    return [realdiv(out, x), None]


registry.register_op("Cumsum", shape=_cum_shape, numpy=_cum_kernel(np.cumsum, 0),
                     gradient=_dense_grad(_cumsum_grad),
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.order_reduction))
registry.register_op("Cumprod", shape=_cum_shape, numpy=_cum_kernel(np.cumprod, 1),
                     gradient=_dense_grad(_cumprod_grad),
                     sharding=sharding.Rule(sharding.GATHER, sharding_rules.order_reduction))


def _cumulative(op_type, x, axis, exclusive, reverse, name):
    with _op_scope(name, op_type, [x]) as scope:
        x = convert_to_tensor(x, name="x")
        axis = convert_to_tensor(axis, name="axis", preferred_dtype=dtypes.int32)
        return _apply(op_type, [x, axis], {"exclusive": builtins.bool(exclusive),
                                             "reverse": builtins.bool(reverse)}, name=scope)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum of x along `axis` (op Cumsum).

    Args:
      x: a numeric Tensor.
      axis: scalar int (or int Tensor), negative allowed.
      exclusive: if true, element i is the sum of the elements before i.
      reverse: if true, sum from the end.
      name: optional op name.

    Returns:
      A Tensor like x.

    Raises:
      ValueError: if axis is out of range at build time.
    """
    return _cumulative("Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative product of x along `axis` (op Cumprod). Arguments as `cumsum`."""
    return _cumulative("Cumprod", x, axis, exclusive, reverse, name)


# Ops of the other math modules, used inside functions (gradients, composites).
# Imported last: the modules use one another, and each must have defined all of
# its own names before another one imports them.
from .math_binary_ops import (  # noqa: E402
    add, equal, floordiv, maximum, multiply, not_equal, realdiv, subtract)
from .math_cast_ops import cast  # noqa: E402
from .math_unary_ops import exp, is_finite, log, sqrt, square  # noqa: E402
