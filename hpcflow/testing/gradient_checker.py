"""Numerical vs symbolic Jacobians (TF1 `tf.test.compute_gradient[_error]`)."""
import numpy as np

from ..framework.indexed_slices import IndexedSlicesValue


def _dense(value, shape):
    if isinstance(value, IndexedSlicesValue):
        dense = np.zeros(shape, dtype=np.asarray(value.values).dtype)
        np.add.at(dense, np.asarray(value.indices), np.asarray(value.values))
        return dense
    return np.asarray(value)


def _session_for(graph):
    from ..runtime.session import Session, get_default_session
    session = get_default_session()
    if session is not None and session.graph is graph:
        return session, False
    return Session(graph=graph), True


def compute_gradient(x, x_shape, y, y_shape, x_init_value=None, delta=1e-3,
                     init_targets=None, extra_feed_dict=None):
    """Theoretical and numerical Jacobians of `y` w.r.t. `x`.

    Args:
      x: a Tensor or list of Tensors (fed with values during the check).
      x_shape: the shape of x (list of shapes for a list).
      y: a Tensor.
      y_shape: the shape of y.
      x_init_value: values of x (default: uniform random in [0, 1)).
      delta: the central-difference step.
      init_targets: ops to run first (e.g. variable initializers).
      extra_feed_dict: other feeds the computation needs.

    Returns:
      (theoretical, numerical) Jacobians of shape [x_size, y_size]; a list of such pairs
      when `x` is a list. Uses the default session if it runs x's graph, else its own.
    """
    from ..autodiff import gradients
    from ..ops.constant_op import placeholder
    single = not isinstance(x, (list, tuple))
    xs = [x] if single else list(x)
    shapes = [x_shape] if single else list(x_shape)
    if x_init_value is None:
        inits = [None] * len(xs)
    else:
        inits = [x_init_value] if single else list(x_init_value)
    rng = np.random.RandomState(1)
    values = []
    for t, shape, init in zip(xs, shapes, inits):
        if init is None:
            init = rng.random_sample(tuple(shape))
        values.append(np.asarray(init, dtype=t.dtype.np_dtype).reshape(tuple(shape)))
    graph = y.graph
    with graph.as_default():
        dy = placeholder(y.dtype, shape=list(y_shape), name="gradient_checker_dy")
        grads = gradients(y, xs, grad_ys=dy)
    session, owned = _session_for(graph)
    try:
        if init_targets:
            session.run(init_targets)
        feeds = dict(extra_feed_dict or {})
        feeds.update(zip(xs, values))
        y_size = int(np.prod(y_shape, dtype=np.int64))
        results = []
        for i, (t, value) in enumerate(zip(xs, values)):
            x_size = value.size
            theoretical = np.zeros((x_size, y_size), dtype=np.float64)
            if grads[i] is not None:
                for j in range(y_size):
                    one_hot = np.zeros(y_size, dtype=y.dtype.np_dtype)
                    one_hot[j] = 1
                    feeds[dy] = one_hot.reshape(tuple(y_shape))
                    g = session.run(grads[i], feeds)
                    theoretical[:, j] = _dense(g, value.shape).reshape(-1)
            numerical = np.zeros((x_size, y_size), dtype=np.float64)
            flat = value.reshape(-1)
            for k in range(x_size):
                saved = flat[k]
                flat[k] = saved + delta
                feeds[t] = flat.reshape(value.shape)
                y_plus = np.asarray(session.run(y, feeds), dtype=np.float64)
                flat[k] = saved - delta
                feeds[t] = flat.reshape(value.shape)
                y_minus = np.asarray(session.run(y, feeds), dtype=np.float64)
                flat[k] = saved
                feeds[t] = flat.reshape(value.shape)
                numerical[k, :] = ((y_plus - y_minus) / (2 * delta)).reshape(-1)
            results.append((theoretical, numerical))
    finally:
        if owned:
            session.close()
    return results[0] if single else results


def compute_gradient_error(x, x_shape, y, y_shape, x_init_value=None, delta=1e-3,
                           init_targets=None, extra_feed_dict=None):
    """The largest absolute difference between the theoretical and numerical Jacobians."""
    result = compute_gradient(x, x_shape, y, y_shape, x_init_value, delta, init_targets,
                              extra_feed_dict)
    pairs = [result] if isinstance(result, tuple) else result
    error = 0.0
    for theoretical, numerical in pairs:
        if theoretical.size:
            error = max(error, float(np.max(np.abs(theoretical - numerical))))
    return error
