"""Small helpers every ops module uses to build ops from Python wrappers."""
from ..framework.graph import graph_for_inputs
from ..framework.tensor_conversion import convert_to_tensor


def apply_op(op_type, inputs, attrs=None, name=None, graph=None):
    """Creates an op of `op_type` on `inputs` (already Tensors) and returns its output(s).

    Returns a single Tensor for a one-output op, the list of outputs otherwise, and the
    Operation itself when the op has no outputs.
    """
    if graph is None:
        graph = graph_for_inputs(inputs)
    op = graph.create_op(op_type, inputs, attrs, name=name)
    outputs = op.outputs
    if not outputs:
        return op
    if len(outputs) == 1:
        return outputs[0]
    return outputs


def as_tensor(value, dtype=None, name=None):
    return convert_to_tensor(value, dtype=dtype, name=name)
