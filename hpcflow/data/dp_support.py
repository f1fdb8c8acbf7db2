"""What the data-parallel runtime needs to know about ops that produce batch rows themselves.

An input op tagged `sharding.BATCH_INPUT` (the HDF5 reader) yields on each rank that rank's
block of a global batch, exactly as a fed batch is split. The data-parallel analysis must
therefore treat its outputs as split (S) tensors, and the step must learn the global batch
size from the op (there may be no fed batch to learn it from).

TEMPORARY: `install()` wraps `hpcflow.distributed.data_parallel.decide` with that rule until
the rule lives in data_parallel.py itself (see the lead's note in the report); then
`install()` sees the marker attribute and does nothing.
"""
from ..framework import errors, sharding
from .schedule import split_counts


def install():
    from ..distributed import data_parallel
    if getattr(data_parallel.decide, "knows_batch_sources", False):
        return
    original = data_parallel.decide

    def decide(op, states):
        if op._record.sharding == sharding.BATCH_INPUT:
            return data_parallel.Decision(
                [data_parallel.S] * len(op.outputs),
                {i: data_parallel.R for i, s in enumerate(states) if s != data_parallel.R})
        return original(op, states)

    decide.knows_batch_sources = True
    decide.__doc__ = original.__doc__
    data_parallel.decide = decide


def set_global_rows(step, global_rows, op_name):
    """Tells a DataParallelStep that this step's batch has `global_rows` rows.

    Raises:
      InvalidArgumentError: if the step already has a batch of another size (a fed batch or
        another reader with a different batch size).
    """
    if step.global_rows not in (0, global_rows):
        raise errors.InvalidArgumentError(
            None, None, "%s yields a batch of %d rows in a step whose batch has %d rows (a fed "
            "batch or another reader): a data-parallel step has one batch size"
            % (op_name, global_rows, step.global_rows))
    counts = split_counts(global_rows, len(step.counts))
    step.counts = counts
    step.global_rows = global_rows
    step.local_rows = counts[step.rank]
    step.offset = sum(counts[:step.rank])
