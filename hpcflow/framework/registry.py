"""The op registry: one record per op type holding every rule the system needs about it.

A record is declared next to the op's Python wrapper in `hpcflow/ops/<family>.py`:

    registry.register_op(
        "MatMul",
        shape=_matmul_shape,        # (op) -> [(TensorShape, DType), ...], runs at graph build
        numpy=_matmul_kernel,       # (*input_arrays, **attrs) -> array or tuple of arrays
        gradient=_matmul_grad,      # (op, *output_grads) -> [grad per input]; builds graph ops
        # how a batch-split input propagates: a tag, or a tag and the op's own rule
        sharding=sharding.Rule(sharding.ROW_WISE, sharding_rules.matmul),
    )

Kernels for other backends (`cython=`, `cupy=`) sit in the same call or are added later
with `register_kernel`. A kernel declared with `context=True` receives the execution
context (variables, queues, random state) as its first argument. `stateful=True` marks
ops whose result is not a pure function of their inputs (never folded or merged).
"""
import os
import sys

from . import errors

# Gradient marker for ops that have no gradient by nature (Shape, argmax, comparisons).
NOT_DIFFERENTIABLE = "not_differentiable"


class OpRecord:
    """Everything the system knows about one op type."""

    __slots__ = ("type", "shape_fn", "kernels", "gradient", "gradient_defined_at", "sharding",
                 "stateful", "context", "defined_at", "doc")

    def __init__(self, op_type, shape_fn, kernels, gradient, sharding, stateful, context,
                 defined_at, doc):
        self.type = op_type
        self.shape_fn = shape_fn
        self.kernels = kernels
        self.gradient = gradient
        self.gradient_defined_at = defined_at if gradient is not None else None
        self.sharding = sharding
        self.stateful = stateful
        self.context = context
        self.defined_at = defined_at
        self.doc = doc

    def __repr__(self):
        return "<OpRecord %s from %s>" % (self.type, self.defined_at)


_OPS = {}


def _caller_location(depth=2):
    # sys._getframe, not inspect.stack(): the latter reads source files and made importing
    # hpcflow (hundreds of registrations) take seconds.
    frame = sys._getframe(depth)
    return "%s:%d" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno)


def register_op(op_type, shape, numpy=None, gradient=None, sharding=None, stateful=False,
                context=False, cython=None, cupy=None, doc=None):
    """Registers op type `op_type`. See the module docstring for the fields.

    Raises:
      KeyError: if `op_type` is already registered (naming both places).
    """
    where = _caller_location()
    if op_type in _OPS:
        raise KeyError("Op type %r registered twice: at %s and at %s"
                       % (op_type, _OPS[op_type].defined_at, where))
    kernels = {}
    for backend, fn in (("numpy", numpy), ("cython", cython), ("cupy", cupy)):
        if fn is not None:
            kernels[backend] = fn
    record = OpRecord(op_type, shape, kernels, gradient, sharding, stateful, context, where, doc)
    _OPS[op_type] = record
    return record


def register_kernel(op_type, backend, fn):
    """Adds or replaces the `backend` kernel of an already registered op."""
    get(op_type).kernels[backend] = fn


def register_gradient(op_type, fn, override=False):
    """Sets the gradient function of `op_type` (also used by `tf.RegisterGradient`).

    Raises:
      KeyError: if a gradient is already registered and `override` is False.
    """
    record = get(op_type)
    where = _caller_location(3)
    if record.gradient is not None and not override:
        raise KeyError("Gradient for op type %r registered twice: at %s and at %s"
                       % (op_type, record.gradient_defined_at, where))
    record.gradient = fn
    record.gradient_defined_at = where


def gradient(op_type):
    """Decorator form of `register_gradient`: `@registry.gradient("MatMul")`."""
    def decorate(fn):
        register_gradient(op_type, fn)
        return fn
    return decorate


def not_differentiable(*op_types):
    """Declares that `op_types` have no gradient (distinct from a forgotten one)."""
    for op_type in op_types:
        register_gradient(op_type, NOT_DIFFERENTIABLE)


def get(op_type):
    """The record of `op_type`.

    Raises:
      NotFoundError: if no op of that type is registered.
    """
    try:
        return _OPS[op_type]
    except KeyError:
        raise errors.NotFoundError(None, None, "Op type not registered: %r" % (op_type,))


def lookup(op_type):
    """The record of `op_type`, or None."""
    return _OPS.get(op_type)


def all_records():
    return dict(_OPS)


def kernel_table(backend):
    """The {op type: kernel} table a backend provides by itself (no fallback)."""
    return {name: rec.kernels[backend] for name, rec in _OPS.items() if backend in rec.kernels}
