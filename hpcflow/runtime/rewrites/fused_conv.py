"""The `_FusedConv2D` op: Conv2D, then a per-channel bias add, then optionally Relu, as one
kernel (built by the conv_fusion pass, conv_fusion.py).

Inputs (x, filter, bias), the Conv2D attrs plus `activation` ("" or "Relu"). The result
equals the unfused ops' to the bit: the same convolution sums, then the same float add and
the same Relu. The Cython kernel (hpcflow/backends/cython_backend.py) adds the bias and
applies Relu to each block of outputs while the direct convolution loops still hold it in
registers, so the two element-wise passes over the activation (and its temporary) are
gone; this numpy kernel runs the three ops' own kernels one after another.

The op is internal (the `_` family): it exists only in compiled plans, never in user graphs.
"""
from ...framework import registry
from ...framework.tensor_shape import unknown_shape
from ...ops import nn_activation_ops, nn_conv_ops  # noqa: F401 - registers Conv2D, Relu

ACTIVATIONS = ("", "Relu")


def _fused_shape(op):
    # Plans build these ops directly with the fused chain's output; this is for completeness.
    return [(unknown_shape(), op.inputs[0].dtype)]


def apply_activation(y, activation, backend_kernel):
    """y, then the activation's kernel (backend_kernel("Relu")) if there is one."""
    if activation == "Relu":
        return backend_kernel("Relu")(y)
    if activation:
        raise ValueError("_FusedConv2D: unknown activation %r (expected one of %s)"
                         % (activation, ACTIVATIONS))
    return y


def numpy_kernel(x, w, bias, *, activation, **conv_attrs):
    """Conv2D, AddV2 and Relu by their own numpy kernels."""
    def kernel(op_type):
        return registry.get(op_type).kernels["numpy"]
    y = kernel("Conv2D")(x, w, **conv_attrs)
    return apply_activation(kernel("AddV2")(y, bias), activation, kernel)


registry.register_op("_FusedConv2D", shape=_fused_shape, numpy=numpy_kernel,
                     # Split by rows of the batch, as the Conv2D it replaces.
                     sharding=registry.get("Conv2D").sharding,
                     doc="Conv2D + bias add (+ Relu) in one kernel (built by conv_fusion).")
