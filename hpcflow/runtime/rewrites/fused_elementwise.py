"""The `_FusedElementwise` op: a chain of element-wise ops evaluated in one pass over memory.

The fusion pass (fusion.py) replaces a chain such as `relu(x * 1.5 + 0.25) * sigmoid(x)` by
one `_FusedElementwise` node whose attr `program` lists its steps as instructions
`(op type, dst, a, b, param)` over registers: registers 0..n-1 hold the n inputs, the
others temporaries, and register `num_registers` is the output. Inputs are either of the
output's shape or of size 1 (broadcast). Both kernels cut the output into blocks and run
the whole program block by block, so temporaries are block-sized and stay in cache:

- Cython (`cy_kernels/fused_elementwise.pyx`, built into `hpcflow._cy.fused_elementwise`):
  C loops over 1024-element blocks, OpenMP threads over blocks, nogil.
- numpy (the fallback when the extension is not built): numpy ufuncs with `out=` into
  block-sized register buffers, with the same formulas as the ops' own numpy kernels.

The op is internal (the `_` family): it exists only in compiled plans, never in user graphs.
"""
import warnings

import numpy as np

from ...framework import dtypes, registry, sharding
from ...framework.tensor_shape import unknown_shape

# Op type -> (opcode in the Cython kernel, number of inputs). Every entry is an op whose
# registry sharding tag is ELEMENTWISE; the numbers are the FE_* enum of the .pyx file.
OPCODES = {
    "Identity": (0, 1), "StopGradient": (0, 1),
    "Neg": (1, 1), "Abs": (2, 1), "Square": (3, 1), "Sqrt": (4, 1), "Rsqrt": (5, 1),
    "Reciprocal": (6, 1), "Exp": (7, 1), "Expm1": (8, 1), "Log": (9, 1), "Log1p": (10, 1),
    "Sin": (11, 1), "Cos": (12, 1), "Tan": (13, 1), "Tanh": (14, 1), "Sigmoid": (15, 1),
    "Relu": (16, 1), "Relu6": (17, 1), "Softplus": (18, 1), "Softsign": (19, 1),
    "Floor": (20, 1), "Ceil": (21, 1), "Sign": (22, 1), "LeakyRelu": (23, 1), "Elu": (24, 1),
    "Add": (32, 2), "AddV2": (32, 2), "Sub": (33, 2), "Mul": (34, 2), "RealDiv": (35, 2),
    "Maximum": (36, 2), "Minimum": (37, 2), "SquaredDifference": (38, 2),
    "ReluGrad": (39, 2), "DivNoNan": (40, 2), "LeakyReluGrad": (41, 2), "Relu6Grad": (42, 2),
}

# Ops carrying a constant in an attr: (attr name) -> the instruction's param.
PARAM_ATTRS = {"LeakyRelu": "alpha", "LeakyReluGrad": "alpha"}

# TF computes log(0), 1/0 to inf/nan silently; so do the ops' own kernels and this one.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__.replace(".", r"\."))

BLOCK_ELEMENTS = 16384  # numpy fallback: large enough to amortize ufunc calls, fits in L2


# The numpy steps below write into `out`, a block-sized register that is never one of their
# operands (the program builder gives every instruction a fresh destination).

def _copy(a, out):
    out[...] = a
    return out


def _sigmoid(x, out):
    np.negative(x, out=out)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.reciprocal(out, out=out)


def _relu6(x, out):
    np.maximum(x, 0, out=out)
    return np.minimum(out, 6, out=out)


def _softplus(x, out):
    return np.logaddexp(x, 0, out=out)


def _softsign(x, out):
    np.abs(x, out=out)
    np.add(out, 1, out=out)
    return np.divide(x, out, out=out)


def _elu(x, out):
    np.minimum(x, 0, out=out)
    np.expm1(out, out=out)
    np.copyto(out, x, where=x >= 0)
    return out


def _leaky_relu(x, out, alpha):
    np.multiply(x, alpha, out=out)
    np.copyto(out, x, where=x > 0)
    return out


def _rsqrt(x, out):
    np.sqrt(x, out=out)
    return np.reciprocal(out, out=out)


def _select(mask, a, b, out):
    out[...] = b
    np.copyto(out, a, where=mask)
    return out


def _relu_grad(g, f, out):
    return _select(f > 0, g, 0, out)


def _leaky_relu_grad(g, f, out, alpha):
    np.multiply(g, alpha, out=out)
    np.copyto(out, g, where=f > 0)
    return out


def _relu6_grad(g, f, out):
    return _select((f > 0) & (f < 6), g, 0, out)


def _div_no_nan(x, y, out):
    zero = y == 0
    np.divide(x, np.where(zero, 1, y), out=out)
    np.copyto(out, 0, where=zero)
    return out


def _squared_difference(x, y, out):
    np.subtract(x, y, out=out)
    return np.square(out, out=out)


# opcode -> numpy implementation writing into `out` (same formulas as the ops' own kernels).
_NUMPY_STEPS = {
    0: _copy,
    1: lambda a, out: np.negative(a, out=out), 2: lambda a, out: np.abs(a, out=out),
    3: lambda a, out: np.square(a, out=out), 4: lambda a, out: np.sqrt(a, out=out),
    5: _rsqrt, 6: lambda a, out: np.reciprocal(a, out=out),
    7: lambda a, out: np.exp(a, out=out), 8: lambda a, out: np.expm1(a, out=out),
    9: lambda a, out: np.log(a, out=out), 10: lambda a, out: np.log1p(a, out=out),
    11: lambda a, out: np.sin(a, out=out), 12: lambda a, out: np.cos(a, out=out),
    13: lambda a, out: np.tan(a, out=out), 14: lambda a, out: np.tanh(a, out=out),
    15: _sigmoid, 16: lambda a, out: np.maximum(a, 0, out=out), 17: _relu6,
    18: _softplus, 19: _softsign, 20: lambda a, out: np.floor(a, out=out),
    21: lambda a, out: np.ceil(a, out=out), 22: lambda a, out: np.sign(a, out=out),
    24: _elu,
    32: lambda a, b, out: np.add(a, b, out=out), 33: lambda a, b, out: np.subtract(a, b, out=out),
    34: lambda a, b, out: np.multiply(a, b, out=out),
    35: lambda a, b, out: np.true_divide(a, b, out=out),
    36: lambda a, b, out: np.maximum(a, b, out=out), 37: lambda a, b, out: np.minimum(a, b, out=out),
    38: _squared_difference, 39: _relu_grad,
    40: _div_no_nan, 42: _relu6_grad,
}
_NUMPY_PARAM_STEPS = {23: _leaky_relu, 41: _leaky_relu_grad}


def output_shape(inputs):
    """The broadcast output shape if every input is of that shape or of size 1, else None.

    The fused kernels only handle these two kinds of input; anything else (a [1, 3] with a
    [4, 1], or unknown dims resolved differently than the graph suggested) runs unfused.
    """
    shape = None
    best = (-1, -1)
    for a in inputs:
        key = (a.size, a.ndim)
        if key > best:
            best, shape = key, a.shape
    if shape is None:
        return None
    ndim = len(shape)
    for a in inputs:
        if a.shape != shape and (a.size != 1 or a.ndim > ndim):
            return None
    return shape


def _fused_shape(op):
    # Plans build these ops directly with the chain's output spec; this is for completeness.
    return [(unknown_shape(), dtypes.as_dtype(op.get_attr("T")))]


def numpy_kernel(*inputs, program, num_registers, T, out=None):  # noqa: N803 - TF attr name
    """Evaluates `program` block by block with numpy ufuncs (see the module docstring).

    Returns:
      The output array, or None if the input shapes are not ones the fused kernels handle
      (the executor then runs the original ops).
    """
    shape = output_shape(inputs)
    if shape is None:
        return None
    dtype = np.dtype(T)
    size = int(np.prod(shape, dtype=np.int64))
    if out is None:
        out = np.empty(shape, dtype)
    flat_out = out.reshape(-1)
    flat = [a.reshape(-1) if a.size == size else a.reshape(()) for a in inputs]
    block = min(BLOCK_ELEMENTS, max(size, 1))
    temps = [np.empty(block, dtype) for _ in range(num_registers - len(inputs))]
    n_inputs = len(inputs)
    last = len(program) - 1
    for start in range(0, size, block):
        stop = min(start + block, size)
        length = stop - start
        regs = [a[start:stop] if a.ndim else a for a in flat]
        regs.extend(t[:length] for t in temps)
        regs.append(flat_out[start:stop])
        for index, (opcode, dst, a, b, param) in enumerate(program):
            target = regs[dst]
            if index == last:
                target = regs[num_registers]
            elif dst < n_inputs:
                raise ValueError("_FusedElementwise: instruction %d writes input register %d"
                                 % (index, dst))
            args = (regs[a],) if b < 0 else (regs[a], regs[b])
            if opcode in _NUMPY_PARAM_STEPS:
                _NUMPY_PARAM_STEPS[opcode](*args, target, param)
            else:
                _NUMPY_STEPS[opcode](*args, target)
    return out


try:  # the Cython kernel, when the extension is built (setup.py builds cy_kernels/*.pyx)
    from ..._cy import fused_elementwise as _cy_fused
except ImportError:
    _cy_fused = None


def cython_available():
    """True if the Cython kernel of `_FusedElementwise` is built."""
    return _cy_fused is not None


def cython_kernel(*inputs, program, num_registers, T, out=None):  # noqa: N803
    """The Cython kernel: same contract as `numpy_kernel`."""
    shape = output_shape(inputs)
    if shape is None:
        return None
    dtype = np.dtype(T)
    if out is None:
        out = np.empty(shape, dtype)
    arrays = tuple(a if a.flags.c_contiguous and a.dtype == dtype else
                   np.ascontiguousarray(a, dtype) for a in inputs)
    code, params = _encoded(program, num_registers)
    _cy_fused.run_program(arrays, code, params, num_registers, out)
    return out


_ENCODED = {}


def _encoded(program, num_registers):
    """The (int32 code, float64 params) arrays of a program, cached by program identity."""
    key = id(program)
    hit = _ENCODED.get(key)
    if hit is not None and hit[0] is program:
        return hit[1], hit[2]
    last = len(program) - 1
    code = np.array([[op, num_registers if i == last else dst, a, b]
                     for i, (op, dst, a, b, _) in enumerate(program)], dtype=np.int32)
    params = np.array([p for *_, p in program], dtype=np.float64)
    if len(_ENCODED) > 4096:
        _ENCODED.clear()
    _ENCODED[key] = (program, code, params)
    return code, params


registry.register_op("_FusedElementwise", shape=_fused_shape, numpy=numpy_kernel,
                     cython=cython_kernel if _cy_fused is not None else None,
                     sharding=sharding.ELEMENTWISE,
                     doc="A chain of element-wise ops in one pass (built by the fusion pass).")
