"""Test helper: check an op's symbolic gradient against numerical differences in float64."""
import numpy as np

import hpcflow as tf


def check_gradient(build_fn, input_arrays, tol=1e-6, delta=1e-6, which=None):
    """Builds `build_fn(*placeholders)` on float64 `input_arrays`; asserts the Jacobian error.

    Args:
      build_fn: maps input Tensors to one output Tensor.
      input_arrays: float arrays (cast to float64); integer arrays are fed as constants
        of their own dtype and not differentiated.
      tol: the largest allowed |theoretical - numerical| Jacobian entry.
      which: indices of the inputs to differentiate (default: all float inputs).

    Returns:
      The measured error.
    """
    with tf.Graph().as_default():
        tensors, xs, shapes, values = [], [], [], []
        for i, array in enumerate(input_arrays):
            array = np.asarray(array)
            if array.dtype.kind == "f":
                array = array.astype(np.float64)
                p = tf.placeholder(tf.float64, shape=array.shape, name="input_%d" % i)
                tensors.append(p)
                if which is None or i in which:
                    xs.append(p)
                    shapes.append(array.shape)
                    values.append(array)
                else:
                    tensors[-1] = tf.constant(array)
            else:
                tensors.append(tf.constant(array))
        y = build_fn(*tensors)
        error = tf.test.compute_gradient_error(xs, shapes, y, y.shape.as_list(),
                                               x_init_value=values, delta=delta)
    assert error < tol, "gradient error %g exceeds %g" % (error, tol)
    return error
