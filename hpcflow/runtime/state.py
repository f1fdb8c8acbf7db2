"""Per-session mutable state on one rank: variable values, queues and random generators."""
import threading

import numpy as np

from ..framework import errors


class SessionState:
    """The resources a session's stateful kernels read and write, keyed by op/shared name.

    In TF1 variables live in the session (or the server), not the graph: two sessions on
    one graph hold separate values. In an MPI job each rank holds the state of the ops
    placed on it.
    """

    def __init__(self, rank=0, config=None):
        self.rank = rank
        self.config = config  # the session's ConfigProto (timeouts), None on worker ranks
        self.variables = {}
        self.queues = {}
        self.rngs = {}
        self.lock = threading.RLock()
        # ids of arrays owned by variables: fetching one must copy it (see Session.run).
        self._owned_ids = set()

    def read_variable(self, name):
        try:
            return self.variables[name]
        except KeyError:
            raise errors.FailedPreconditionError(
                None, None, "Attempting to use uninitialized value %s" % name) from None

    def write_variable(self, name, value):
        """Stores `value` (taking ownership: callers pass a fresh array) as variable `name`."""
        old = self.variables.get(name)
        if old is not None:
            self._owned_ids.discard(id(old))
        value = np.asarray(value)
        self.variables[name] = value
        self._owned_ids.add(id(value))
        return value

    def is_initialized(self, name):
        return name in self.variables

    def owns(self, array):
        return id(array) in self._owned_ids

    def rng(self, key, seed):
        """The random generator of op `key`: seeded once per session, advancing every run."""
        gen = self.rngs.get(key)
        if gen is None:
            gen = np.random.default_rng(seed)
            self.rngs[key] = gen
        return gen
