"""Static cost estimates for placement: bytes of each tensor, seconds of each op, transfer time.

Seed 002 (the TF white paper) describes the cost model as estimates of the sizes of input
and output tensors and of each node's compute time. These are deliberately rough: they
only need to rank alternative placements, not predict run times.
"""
import numpy as np

# Assumed size of an unknown dimension (usually the batch).
UNKNOWN_DIMENSION = 32
FLOPS_PER_SECOND = 2e10
ELEMENTS_PER_SECOND = 1e9
TRANSFER_LATENCY_SECONDS = 2e-5
TRANSFER_BYTES_PER_SECOND = 2e9


def num_elements(tensor):
    shape = tensor.shape
    if shape.ndims is None:
        return UNKNOWN_DIMENSION
    n = 1
    for d in shape.as_tuple_or_none():
        n *= UNKNOWN_DIMENSION if d is None else d
    return n


def tensor_bytes(tensor):
    itemsize = 8 if tensor.dtype.np_dtype == np.object_ else tensor.dtype.size
    return num_elements(tensor) * itemsize


def compute_seconds(op):
    """Estimated run time of `op`: GEMM/convolution flops, else a pass over its data."""
    if op.type in ("MatMul", "BatchMatMul", "BatchMatMulV2") and len(op.inputs) == 2:
        a, b = op.inputs
        out = num_elements(op.outputs[0]) if op.outputs else 0
        inner = num_elements(a) * num_elements(b)
        k = int(round((inner / max(out, 1)) ** 0.5)) if out else 1
        return 2.0 * out * max(k, 1) / FLOPS_PER_SECOND
    if op.type == "Conv2D" and len(op.inputs) == 2:
        filter_elements = num_elements(op.inputs[1])
        out_channels = op.inputs[1].shape[-1] if op.inputs[1].shape.ndims == 4 else 1
        out = num_elements(op.outputs[0])
        return 2.0 * out * filter_elements / max(out_channels or 1, 1) / FLOPS_PER_SECOND
    elements = sum(num_elements(t) for t in op.inputs) + sum(num_elements(t) for t in op.outputs)
    return elements / ELEMENTS_PER_SECOND


def transfer_seconds(num_bytes):
    return TRANSFER_LATENCY_SECONDS + num_bytes / TRANSFER_BYTES_PER_SECOND
