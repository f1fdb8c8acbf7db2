"""Sharding rules: how an op propagates a batch-split (data parallel) input, per the registry.

Each op record's `sharding` field holds one of these tags, or a Rule: the tag plus a
function deciding for that op type (the rules themselves are in sharding_rules.py). The
data-parallel runtime (distributed/data_parallel.py) asks `decide` for every op whether a
tensor stays split across ranks on its first (batch) axis, becomes a partial sum needing an
allreduce, or must be gathered first. An op with no tag is treated as GATHER: always
correct, never fast. Graph rewrites read the tags too (only ELEMENTWISE ops are fused).
"""

# A source whose value is the same on every rank (constants, variable reads).
REPLICATED = "replicated"
# A graph input fed per step; its first axis is the batch and may be split across workers.
BATCH_INPUT = "batch_input"
# Output element i depends only on input elements i (with broadcasting): a split stays split.
ELEMENTWISE = "elementwise"
# Rows of the first input are processed independently, other inputs are used whole
# (matmul's left operand, softmax, conv2d and pooling in NHWC, bias_add, gather's indices).
ROW_WISE = "row_wise"
# A reduction: reducing over the batch axis turns a split into a partial result to combine.
REDUCTION = "reduction"
# Needs its whole input on one rank (the default for ops that declare nothing).
GATHER = "gather"

ALL = (REPLICATED, BATCH_INPUT, ELEMENTWISE, ROW_WISE, REDUCTION, GATHER)

# -- rules -------------------------------------------------------------------------------------
#
# In a data-parallel step a tensor is in one of three states:
R = "R"  # replicated: every rank holds the one-process value
S = "S"  # split: each rank holds its rows (axis 0) of the one-process value
P = "P"  # partial: the one-process value is the sum over ranks of the ranks' values


class Decision:
    """What an op does in a data-parallel step.

    Attributes:
      outputs: the state of each output.
      convert: {input index: R or "local_rows"}: inputs to convert first (gather the rows of
        an S input, sum a P input, or take this rank's rows of an R input).
      rewrite: the op type to run instead (e.g. "_DPShardMean"), or None.
      local_shape_inputs: inputs holding the output's global shape, which each rank must
        replace by its local shape.
    """

    __slots__ = ("outputs", "convert", "rewrite", "local_shape_inputs")

    def __init__(self, outputs, convert=None, rewrite=None, local_shape_inputs=()):
        self.outputs = outputs
        self.convert = convert or {}
        self.rewrite = rewrite
        self.local_shape_inputs = local_shape_inputs


class Rule:
    """An op's own sharding rule: `decide(op, states, state_of)` returns a Decision, or None
    to fall back to what `kind` (one of the tags above) does for any op."""

    __slots__ = ("kind", "decide")

    def __init__(self, kind, decide):
        if kind not in ALL:
            raise ValueError("unknown sharding kind %r" % (kind,))
        self.kind = kind
        self.decide = decide

    def __repr__(self):
        return "Rule(%s, %s)" % (self.kind, getattr(self.decide, "__name__", self.decide))


def kind_of(field):
    """The tag of an op record's `sharding` field (a tag, a Rule, or None)."""
    if isinstance(field, Rule):
        return field.kind
    return field or GATHER


def decide(op, states, state_of=None):
    """The decision of the rule in `op`'s registry record, given its inputs' states.

    `state_of(tensor)`, when given, is the state of any tensor decided before `op`.
    """
    field = op._record.sharding
    if isinstance(field, Rule):
        decision = field.decide(op, states, state_of)
        if decision is not None:
            return decision
    if kind_of(field) == ELEMENTWISE and op.outputs:
        from .sharding_rules import elementwise
        return elementwise(op, states)
    return all_replicated(op, states)


def all_replicated(op, states):
    """Every input made R first (rows gathered, partial sums summed): always correct."""
    return Decision([R] * len(op.outputs), {i: R for i, s in enumerate(states) if s != R})


def same(op, state):
    return Decision([state] * len(op.outputs))
