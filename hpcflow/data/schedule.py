"""Which examples each step reads, and which of them each shard (rank) reads.

An epoch is a permutation of the examples (seeded by (seed, epoch), so every rank computes
the same one without talking to the others), cut into consecutive global batches. A
global batch is split into consecutive blocks, one per shard, with the data-parallel
runtime's own split (the first `rows % shards` shards get one row more). So across the
shards every example is read exactly once per epoch, each shard reads only its block, and
the global batch of step k is the one a one-process run reads at step k.
"""
import numpy as np

# The same split as a data-parallel step's (each rank reads exactly the rows it computes on).
from ..distributed.dp_ops import split_counts  # noqa: F401


class EpochSchedule:
    """The global batches of every epoch of a dataset of `num_examples` rows.

    Args:
      num_examples: rows in the dataset (> 0).
      batch_size: rows per global batch (> 0).
      shuffle: permute the rows in each epoch.
      seed: the permutations' seed (the same on every rank).
      num_epochs: epochs before the data ends (None: forever).
      drop_remainder: drop each epoch's last batch if it is smaller than `batch_size`.

    Raises:
      ValueError: for a non-positive size, or an epoch with no full batch when
        `drop_remainder` is set.
    """

    def __init__(self, num_examples, batch_size, shuffle=True, seed=0, num_epochs=None,
                 drop_remainder=False):
        if num_examples <= 0:
            raise ValueError("The dataset has no examples")
        if batch_size <= 0:
            raise ValueError("batch_size must be positive, got %d" % batch_size)
        if num_epochs is not None and num_epochs <= 0:
            raise ValueError("num_epochs must be positive or None, got %d" % num_epochs)
        if drop_remainder and batch_size > num_examples:
            raise ValueError("batch_size %d with drop_remainder leaves no batch of the %d "
                             "examples" % (batch_size, num_examples))
        self.num_examples = int(num_examples)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.num_epochs = num_epochs
        self.drop_remainder = bool(drop_remainder)
        if self.drop_remainder:
            self.steps_per_epoch = self.num_examples // self.batch_size
        else:
            self.steps_per_epoch = -(-self.num_examples // self.batch_size)
        self._order_cache = (None, None)

    def order(self, epoch):
        """The permutation of the rows in `epoch`."""
        cached_epoch, cached = self._order_cache
        if cached_epoch == epoch:
            return cached
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)
        else:
            order = np.arange(self.num_examples)
        self._order_cache = (epoch, order)
        return order

    def total_steps(self):
        """Steps until the data ends, or None if it never does."""
        return None if self.num_epochs is None else self.num_epochs * self.steps_per_epoch

    def batch(self, step):
        """(epoch, the global batch's example indices) of global step `step`, or None at the end."""
        total = self.total_steps()
        if total is not None and step >= total:
            return None
        epoch, position = divmod(step, self.steps_per_epoch)
        start = position * self.batch_size
        return epoch, self.order(epoch)[start:start + self.batch_size]

    @staticmethod
    def shard_block(indices, shard_index, num_shards):
        """The block of a global batch's `indices` that shard `shard_index` reads."""
        counts = split_counts(len(indices), num_shards)
        offset = sum(counts[:shard_index])
        return indices[offset:offset + counts[shard_index]]
