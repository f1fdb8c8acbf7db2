"""Small helpers every ops module uses to build ops from Python wrappers."""
from ..framework.graph import get_default_graph
from ..framework.tensor_conversion import convert_to_tensor


def apply_op(op_type, inputs, attrs=None, name=None, graph=None):
    """Creates an op of `op_type` on `inputs` (already Tensors) and returns its output(s).

    Returns a single Tensor for a one-output op, the list of outputs otherwise, and the
    Operation itself when the op has no outputs.
    """
    if graph is None:
        graph = inputs[0].graph if inputs else get_default_graph()
    op = graph.create_op(op_type, inputs, attrs, name=name)
    outputs = op.outputs
    if not outputs:
        return op
    if len(outputs) == 1:
        return outputs[0]
    return outputs


def as_tensor(value, dtype=None, name=None):
    return convert_to_tensor(value, dtype=dtype, name=name)
