"""Sharding rules: how an op propagates a batch-split (data parallel) input, per the registry.

Each op record carries one of these tags in its `sharding` field. The distributed runtime
reads them to decide, edge by edge, whether a tensor stays split across workers on its
first (batch) axis, becomes a partial sum needing an allreduce, or must be gathered first.
An op with no tag is treated as GATHER: always correct, never fast.
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
