"""Conv2D + bias + Relu fusion: one `_FusedConv2D` node (TF's remapper does the same)."""
from ...devices import device as device_lib
from ...framework import dtypes, registry
from . import fused_conv  # noqa: F401 - registers the _FusedConv2D op

_FUSED = registry.get("_FusedConv2D")
_BIAS_ADDS = ("AddV2", "Add", "BiasAdd")
_FLOATS = (dtypes.float32, dtypes.float64)


def _channels(tensor):
    dims = tensor.shape.as_tuple_or_none()
    return dims[-1] if dims else None


def _bias_of(add, conv_out):
    """The bias of `add` = conv_out + bias, a vector of conv_out's channels (either operand
    order for AddV2/Add; BiasAdd's second input, NHWC), or None."""
    if add.type not in _BIAS_ADDS or len(add.inputs) != 2 or add.members is not None:
        return None
    first, second = add.inputs
    if add.type == "BiasAdd":
        if add.attrs.get("data_format", "NHWC") != "NHWC" or first is not conv_out:
            return None
        bias = second
    elif (first is conv_out) != (second is conv_out):
        bias = second if first is conv_out else first
    else:
        return None
    dims = bias.shape.as_tuple_or_none()
    channels = _channels(conv_out)
    if dims is None or len(dims) != 1 or channels is None or dims[0] != channels:
        return None
    return bias if bias.dtype == conv_out.dtype else None


def _private(ir, node, fetched, control_users):
    """True if the node's output may disappear into a fused node: not fetched, not fed, not
    a control input of another node."""
    return (node.outputs[0] not in fetched and not ir.has_fed_output(node) and
            node not in control_users)


def conv_bias_relu_fusion(ir, context):
    """Conv2D + bias + Relu fusion.

    Pattern: `Conv2D(x, filter)` (NHWC, float32/float64) -> `AddV2`/`Add`/`BiasAdd` of a
    bias vector of the output channels -> optionally `Relu`, where the convolution's value
    is used only by the add (and by `Shape` ops, which then read the fused value: the same
    shape) and the add's only by the Relu, neither fetched, fed nor a control input ->
    one `_FusedConv2D(x, filter, bias)` node with `activation` "Relu" or "", yielding the
    last op's value. Its kernel adds the bias and applies Relu while the convolution's
    outputs are in registers; if it fails, the executor runs the original ops, which report
    the error under their own names.

    Not applied when this rank has GPUs: the device placement that follows the rewrites
    gives each node its GPU kernel by op type, and `_FusedConv2D` has none.
    """
    if device_lib.gpus():
        return 0
    consumers = ir.consumers()
    fetched = ir.fetched()
    control_users = ir.control_users()
    dead = set()
    fused = 0
    for conv in list(ir.nodes):
        if conv.type != "Conv2D" or conv.members is not None or conv.values is not None or \
                conv in dead or conv.attrs.get("data_format") != "NHWC":
            continue
        out = conv.outputs[0]
        if out.dtype not in _FLOATS or not _private(ir, conv, fetched, control_users):
            continue
        users = consumers.get(out, [])
        adds = [u for u in users if u.type != "Shape"]
        shapes = [u for u in users if u.type == "Shape"]
        if len(adds) != 1 or adds[0] in dead:
            continue
        add = adds[0]
        bias = _bias_of(add, out)
        if bias is None:
            continue
        members, activation = [conv, add], ""
        add_users = consumers.get(add.outputs[0], [])
        if _private(ir, add, fetched, control_users) and len(add_users) == 1 and \
                add_users[0].type == "Relu" and add_users[0].members is None and \
                add_users[0].values is None:
            members, activation = [conv, add, add_users[0]], "Relu"
        root = members[-1]
        # A Shape op reading the convolution reads the fused value instead, so it must
        # come after the fused node in creation order (MPI and data-parallel plans run
        # nodes in that order); gradient ops, created after the forward pass, do.
        if any(s.key < root.key for s in shapes):
            continue
        for s in shapes:
            s.inputs = [root.outputs[0] if t is out else t for t in s.inputs]
        dead.update(ir.fuse(root, members, "_FusedConv2D", _FUSED,
                            dict(conv.attrs, activation=activation),
                            [conv.inputs[0], conv.inputs[1], bias]))
        fused += 1
    if dead:
        ir.remove(dead)
    return fused
