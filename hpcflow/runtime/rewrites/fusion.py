"""Element-wise fusion: chains of element-wise ops become one `_FusedElementwise` node."""
from ...framework import dtypes, registry, sharding
from .fused_elementwise import OPCODES, PARAM_ATTRS

_FUSED = registry.get("_FusedElementwise")
_FLOAT_TYPES = (dtypes.float32, dtypes.float64)
# Below this many members a chain is left alone: one op gains nothing from fusion.
MIN_GROUP_SIZE = 2


def _fusible(ir, node):
    """True if `node` may be a member of a fused chain."""
    entry = OPCODES.get(node.type)
    if entry is None or node.stateful or node.values is not None:
        return False
    if sharding.kind_of(node.record.sharding) != sharding.ELEMENTWISE or len(node.outputs) != 1:
        return False
    out = node.outputs[0]
    if out.dtype not in _FLOAT_TYPES or len(node.inputs) != entry[1]:
        return False
    if any(t.dtype != out.dtype for t in node.inputs) or ir.has_fed_output(node):
        return False
    attr = PARAM_ATTRS.get(node.type)
    return attr is None or isinstance(node.attrs.get(attr), (int, float))


def _same_or_scalar(t, out):
    """True if `t`'s static shape says it is of `out`'s shape or of size 1.

    The kernels also check at run time; this keeps chains with broadcast operands (a bias
    row added to a batch) unfused, instead of fused and then run op by op.
    """
    if t.shape.is_fully_defined() and t.shape.num_elements() == 1:
        return True
    dims, out_dims = t.shape.as_tuple_or_none(), out.shape.as_tuple_or_none()
    if dims is None or out_dims is None or len(dims) != len(out_dims):
        return False
    for a, b in zip(dims, out_dims):
        if a is not None and b is not None and a != b:
            return False
        if a == 1 and b is None:
            return False
    return True


def _grow(root, fusible, producers, consumers, fetched, control_users, taken):
    """The members of the chain ending at `root`: producers whose single use is inside."""
    out = root.outputs[0]
    if not all(_same_or_scalar(t, out) for t in root.inputs):
        return {root}
    group = {root}
    changed = True
    while changed:
        changed = False
        for member in list(group):
            for t in member.inputs:
                p = producers.get(t)
                if p is None or p in group or p in taken or not fusible(p):
                    continue
                if t in fetched or p in control_users:
                    continue
                if all(c in group for c in consumers[t]) and \
                        all(_same_or_scalar(i, out) for i in p.inputs):
                    group.add(p)
                    changed = True
    return group


def _program(members, output):
    """(program, external input tensors, number of registers) for ordered `members`."""
    inputs = []
    register_of = {}
    for node in members:
        for t in node.inputs:
            if t not in register_of and not any(t in m.outputs for m in members):
                register_of[t] = len(inputs)
                inputs.append(t)
    last_use = {}
    for index, node in enumerate(members):
        for t in node.inputs:
            last_use[t] = index
    free = []
    num_registers = len(inputs)
    program = []
    for index, node in enumerate(members):
        opcode, arity = OPCODES[node.type]
        operands = [register_of[t] for t in node.inputs]
        # The destination is never an operand of its own instruction (the numpy steps
        # write their output before reading every operand).
        if free:
            dst = free.pop()
        else:
            dst = num_registers
            num_registers += 1
        register_of[node.outputs[0]] = dst
        for t in set(node.inputs):
            if last_use[t] == index and register_of[t] >= len(inputs):
                free.append(register_of[t])
        attr = PARAM_ATTRS.get(node.type)
        param = float(node.attrs[attr]) if attr else 0.0
        program.append((opcode, dst, operands[0], operands[1] if arity == 2 else -1, param))
    return tuple(program), inputs, num_registers


def elementwise_fusion(ir, context):
    """Element-wise fusion.

    Pattern: a connected chain of element-wise ops (registry sharding tag ELEMENTWISE, in
    fused_elementwise.OPCODES), all float32 or all float64, in which every intermediate
    value has all its uses inside the chain and is not fetched, fed, nor produced by a
    control input of another op -> one `_FusedElementwise(inputs...)` node yielding the
    chain's last value, e.g. `Sub(Mul(Relu(Add(Mul(x, 1.5), .25)), Sigmoid(x)), RealDiv(x,
    2))`. The fused kernel evaluates the chain block by block (no full-size temporaries);
    inputs of other shapes than the output's or size 1 make it run the original ops, which
    also report any error under their own names.
    """
    producers = ir.producers()
    consumers = ir.consumers()
    fetched = ir.fetched()
    control_users = ir.control_users()
    fusible_memo = {}

    def fusible(node):
        result = fusible_memo.get(node)
        if result is None:
            result = fusible_memo[node] = _fusible(ir, node)
        return result

    taken = set()
    fused = 0
    dead = set()
    for root in sorted(ir.nodes, key=lambda n: n.key, reverse=True):
        if root in taken or not fusible(root):
            continue
        group = _grow(root, fusible, producers, consumers, fetched, control_users, taken)
        taken.update(group)
        if len(group) < MIN_GROUP_SIZE:
            continue
        members = sorted(group, key=lambda n: n.key)
        output = root.outputs[0]
        program, inputs, num_registers = _program(members, output)
        attrs = {"program": program, "num_registers": num_registers, "T": output.dtype.name}
        dead.update(ir.fuse(root, members, "_FusedElementwise", _FUSED, attrs, inputs))
        fused += 1
    if dead:
        ir.remove(dead)
    return fused
