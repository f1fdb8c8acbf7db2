"""Learning-rate schedules as graph ops of the global step (TF1 `tf.train.*_decay`)."""
from ..framework.tensor_conversion import convert_to_tensor


def _float(x, dtype, name):
    from ..ops import math_ops
    t = convert_to_tensor(x, name=name)
    return t if t.dtype == dtype else math_ops.cast(t, dtype)


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """learning_rate * decay_rate ** (global_step / decay_steps) (floored if staircase).

    Raises:
      ValueError: if global_step is None.
    """
    from ..framework.graph import get_default_graph
    from ..ops import math_ops
    if global_step is None:
        raise ValueError("global_step is required for exponential_decay.")
    with get_default_graph().name_scope(name or "ExponentialDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        step = _float(global_step, dtype, "global_step")
        p = step / _float(decay_steps, dtype, "decay_steps")
        if staircase:
            p = math_ops.floor(p)
        return math_ops.multiply(lr, math_ops.pow(_float(decay_rate, dtype, "decay_rate"), p))


def piecewise_constant(x, boundaries, values, name=None):
    """values[i] where boundaries[i-1] < x <= boundaries[i] (values[0] below, values[-1] above).

    Raises:
      ValueError: if len(values) != len(boundaries) + 1.
    """
    from ..framework.graph import get_default_graph
    from ..ops import array_ops, math_ops
    if len(values) != len(boundaries) + 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    with get_default_graph().name_scope(name or "PiecewiseConstant"):
        x = convert_to_tensor(x)
        values = [convert_to_tensor(v) for v in values]
        boundaries = [_float(b, x.dtype, "boundary") for b in boundaries]
        result = values[-1]
        # Walk from the last interval down so the lowest matching interval wins.
        for i in reversed(range(len(boundaries))):
            result = array_ops.where(math_ops.less_equal(x, boundaries[i]), values[i], result)
        return result


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001,
                     power=1.0, cycle=False, name=None):
    """(lr - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end."""
    from ..framework.graph import get_default_graph
    from ..ops import math_ops
    with get_default_graph().name_scope(name or "PolynomialDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        step = _float(global_step, dtype, "global_step")
        steps = _float(decay_steps, dtype, "decay_steps")
        if cycle:
            multiplier = math_ops.maximum(math_ops.ceil(step / steps), 1.0)
            steps = steps * multiplier
        else:
            step = math_ops.minimum(step, steps)
        end = _float(end_learning_rate, dtype, "end_learning_rate")
        return (lr - end) * math_ops.pow(1 - step / steps, _float(power, dtype, "power")) + end


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                       name=None):
    """learning_rate / (1 + decay_rate * global_step / decay_steps)."""
    from ..framework.graph import get_default_graph
    from ..ops import math_ops
    with get_default_graph().name_scope(name or "InverseTimeDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        p = _float(global_step, dtype, "global_step") / _float(decay_steps, dtype, "decay_steps")
        if staircase:
            p = math_ops.floor(p)
        return lr / (1 + _float(decay_rate, dtype, "decay_rate") * p)


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """learning_rate * exp(-decay_rate * global_step / decay_steps)."""
    from ..framework.graph import get_default_graph
    from ..ops import math_ops
    with get_default_graph().name_scope(name or "NaturalExpDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        p = _float(global_step, dtype, "global_step") / _float(decay_steps, dtype, "decay_steps")
        if staircase:
            p = math_ops.floor(p)
        return lr * math_ops.exp(-_float(decay_rate, dtype, "decay_rate") * p)


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)."""
    import math
    from ..framework.graph import get_default_graph
    from ..ops import math_ops
    with get_default_graph().name_scope(name or "CosineDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        steps = _float(decay_steps, dtype, "decay_steps")
        step = math_ops.minimum(_float(global_step, dtype, "global_step"), steps)
        cosine = 0.5 * (1 + math_ops.cos(math.pi * step / steps))
        return lr * ((1 - alpha) * cosine + alpha)

