"""Queues: `tf.FIFOQueue`, `tf.RandomShuffleQueue`, `tf.PaddingFIFOQueue` and their ops.

A queue is a resource of the session, not of the graph: the queue op (FIFOQueueV2...) is a
stateful kernel that creates the queue in `ctx.state.queues` on first use and outputs a
handle (a variant holding the queue's key); QueueEnqueueV2, QueueDequeueV2 and the other
queue ops take that handle and act on the shared queue. Queue runners call
`Session.run(enqueue_op)` from Python threads while the main thread dequeues, so every
queue guards its elements with one `threading.Condition`; blocked ops wake up on progress,
on `close`, when the session closes (its state's queue table is cleared) and at the
session's `operation_timeout_in_ms` (DeadlineExceededError, as TF).
"""
import collections
import itertools
import threading
import time
import weakref

import numpy as np

from ..framework import dtypes as dtypes_lib
from ..framework import errors, registry, sharding, tensor_util
from ..framework.graph import get_default_graph
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import Dimension, TensorShape, as_shape, unknown_shape
from .logging_ops import graph_for_inputs

# TF names unshared queues "_<n>_<op name>" with a process-wide counter; error messages
# quote that name ("FIFOQueue '_0_fifo_queue' is closed ...").
_resource_ids = itertools.count()
_resource_ids_lock = threading.Lock()

# A blocked queue op re-checks this often whether its session was closed meanwhile.
_POLL_SECONDS = 0.05


# -- the queues themselves (runtime) -----------------------------------------------------------

class _Attempt:
    """One enqueue or dequeue op waiting for its turn: queues serve attempts in FIFO order."""
    __slots__ = ()


class _FIFOQueueResource:
    """The elements and blocking discipline of one FIFOQueue in one session.

    Elements are tuples of numpy arrays, one per component. Enqueue and dequeue attempts
    are served in arrival order, one at a time; a batch attempt (enqueue_many, dequeue_many)
    makes progress element by element, so a batch larger than the capacity still completes.
    """

    kind = "FIFOQueue"

    def __init__(self, name, component_types, shapes, capacity, table, key):
        self.name = name
        self.component_types = [dtypes_lib.as_dtype(t) for t in component_types]
        # One tuple of dims (None for unknown) per component, or None when unspecified.
        self.shapes = None if not shapes else [tuple(s) for s in shapes]
        self.capacity = capacity if capacity is not None and capacity >= 0 else None
        self._items = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._cancelled = False
        self._enqueuers = collections.deque()
        self._dequeuers = collections.deque()
        # The state's queue table and our key in it: when the session closes the table is
        # cleared, which tells blocked ops to give up.
        self._table = table
        self._key = key

    # -- properties used by the ops --------------------------------------------------------

    def size(self):
        with self._cond:
            return len(self._items)

    def is_closed(self):
        with self._cond:
            return self._closed

    def close(self, cancel_pending_enqueues):
        with self._cond:
            self._closed = True
            if cancel_pending_enqueues:
                self._cancelled = True
            self._cond.notify_all()

    # -- validation ------------------------------------------------------------------------

    def _where(self):
        return "%s '%s'" % (self.kind, self.name)

    def _check_tuple(self, components, types, many):
        if len(components) != len(self.component_types):
            raise errors.InvalidArgumentError(
                None, None, "Wrong number of components in tuple. Expected %d, got %d (%s)"
                % (len(self.component_types), len(components), self._where()))
        for i, (t, expected) in enumerate(zip(types, self.component_types)):
            if dtypes_lib.as_dtype(t) != expected:
                raise errors.InvalidArgumentError(
                    None, None, "Type mismatch in tuple component %d. Expected %s, got %s (%s)"
                    % (i, expected.name, dtypes_lib.as_dtype(t).name, self._where()))
        batch = None
        for i, value in enumerate(components):
            shape = tuple(np.shape(value))
            if many:
                if not shape:
                    raise errors.InvalidArgumentError(
                        None, None, "Shape mismatch in tuple component %d: enqueue_many needs "
                        "a batch of rank >= 1, got a scalar (%s)" % (i, self._where()))
                if batch is None:
                    batch = shape[0]
                elif shape[0] != batch:
                    raise errors.InvalidArgumentError(
                        None, None, "All input tensors must have the same size in the 0th "
                        "dimension. Component %d has %d, and should have %d (%s)"
                        % (i, shape[0], batch, self._where()))
                element_shape = shape[1:]
            else:
                element_shape = shape
            if self.shapes is not None and not self._shape_ok(self.shapes[i], element_shape):
                expected = ((batch,) if many else ()) + self.shapes[i]
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch in tuple component %d. Expected %s, got %s (%s)"
                    % (i, _dims_text(expected), _dims_text(shape), self._where()))
        return batch

    def _shape_ok(self, expected, actual):
        return tuple(expected) == tuple(actual)

    # -- waiting ---------------------------------------------------------------------------

    def _wait(self, ready, deadline, op_name):
        """Waits (holding `_cond`) until `ready()`; raises at the deadline or session close."""
        while not ready():
            if self._table.get(self._key) is not self:
                raise errors.CancelledError(
                    None, None, "Session closed while %s waited on %s" % (op_name, self._where()))
            timeout = _POLL_SECONDS
            if deadline is not None:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise errors.DeadlineExceededError(None, None,
                                                       "Timed out waiting for notification")
                timeout = min(timeout, remaining)
            self._cond.wait(timeout)

    # -- enqueue ---------------------------------------------------------------------------

    def enqueue(self, elements, deadline, op_name):
        """Appends `elements` (a list of tuples of arrays), blocking while the queue is full.

        Raises:
          CancelledError: if the queue is closed before the op starts, or closed with
            `cancel_pending_enqueues` while it waits.
        """
        with self._cond:
            if self._closed:
                raise errors.CancelledError(None, None, "%s is closed." % self._where())
            attempt = _Attempt()
            self._enqueuers.append(attempt)
            try:
                index = 0
                while index < len(elements):
                    self._wait(lambda: self._cancelled or (
                        self._enqueuers[0] is attempt and self._has_room()), deadline, op_name)
                    if self._cancelled:
                        raise errors.CancelledError(None, None, "%s is closed." % self._where())
                    while index < len(elements) and self._has_room():
                        self._items.append(elements[index])
                        index += 1
                    self._cond.notify_all()
            finally:
                self._enqueuers.remove(attempt)
                self._cond.notify_all()

    def _has_room(self):
        return self.capacity is None or len(self._items) < self.capacity

    # -- dequeue ---------------------------------------------------------------------------

    def _available(self):
        return len(self._items)

    def _take(self):
        return self._items.popleft()

    def _restore(self, taken):
        self._items.extendleft(reversed(taken))

    def dequeue(self, n, allow_smaller, deadline, op_name):
        """Removes and returns `n` elements, blocking until they are there.

        With `allow_smaller` (dequeue_up_to), a closed queue hands out what it has left.

        Raises:
          OutOfRangeError: if the queue is closed with too few elements (with
            `allow_smaller`: with none); elements already taken are put back.
        """
        with self._cond:
            attempt = _Attempt()
            self._dequeuers.append(attempt)
            taken = []
            try:
                while len(taken) < n:
                    self._wait(lambda: self._dequeuers[0] is attempt and (
                        self._available() > 0 or self._closed), deadline, op_name)
                    if self._closed and self._available() < n - len(taken):
                        self._restore(taken)
                        taken = []
                        if allow_smaller and self._available() > 0:
                            n = self._available()
                        elif allow_smaller and self._enqueuers:
                            # Pending enqueues may still complete after a close.
                            self._cond.wait(_POLL_SECONDS)
                            continue
                        else:
                            raise errors.OutOfRangeError(
                                None, None, "%s is closed and has insufficient elements "
                                "(requested %d, current size %d)"
                                % (self._where(), n, len(self._items)))
                    while len(taken) < n and self._available() > 0:
                        taken.append(self._take())
                    self._cond.notify_all()
            finally:
                self._dequeuers.remove(attempt)
                self._cond.notify_all()
            return taken

    def batch(self, elements, allow_smaller):
        """Stacks dequeued `elements` into one array per component."""
        if self.shapes is None:
            raise errors.InvalidArgumentError(
                None, None, "%s's DequeueMany and DequeueUpTo require the components to have "
                "specified shapes." % self.kind)
        return [_stack([e[i] for e in elements], self.shapes[i], t)
                for i, t in enumerate(self.component_types)]

    def compatible(self, kind, component_types, shapes, capacity):
        return (kind == self.kind and
                [dtypes_lib.as_dtype(t) for t in component_types] == self.component_types)


class _RandomShuffleQueueResource(_FIFOQueueResource):
    """A queue dequeuing a random element, keeping `min_after_dequeue` until it is closed."""

    kind = "RandomShuffleQueue"

    def __init__(self, name, component_types, shapes, capacity, table, key, min_after_dequeue,
                 seed, seed2):
        super().__init__(name, component_types, shapes, capacity, table, key)
        self.min_after_dequeue = min_after_dequeue
        self._items = []
        self._rng = np.random.default_rng(None if seed == 0 and seed2 == 0
                                          else [int(seed), int(seed2)])

    def _available(self):
        if self._closed:
            return len(self._items)
        return max(0, len(self._items) - self.min_after_dequeue)

    def _take(self):
        index = int(self._rng.integers(len(self._items)))
        self._items[index], self._items[-1] = self._items[-1], self._items[index]
        return self._items.pop()

    def _restore(self, taken):
        self._items.extend(taken)


class _PaddingFIFOQueueResource(_FIFOQueueResource):
    """A FIFO queue of elements of varying shapes, zero-padded per batch by dequeue_many."""

    kind = "PaddingFIFOQueue"

    def _shape_ok(self, expected, actual):
        return len(expected) == len(actual) and all(
            e is None or e == a for e, a in zip(expected, actual))

    def batch(self, elements, allow_smaller):
        result = []
        for i, t in enumerate(self.component_types):
            parts = [e[i] for e in elements]
            spec = self.shapes[i]
            dims = [max([p.shape[k] for p in parts], default=0) if d is None else d
                    for k, d in enumerate(spec)]
            out = _padding_array([len(parts)] + dims, t)
            for j, p in enumerate(parts):
                out[(j,) + tuple(slice(0, s) for s in p.shape)] = p
            result.append(out)
        return result


def _padding_array(shape, dtype):
    if dtype == dtypes_lib.string:
        out = np.empty(shape, dtype=object)
        out.fill(b"")
        return out
    return np.zeros(shape, dtype=dtype.np_dtype)


def _stack(parts, shape, dtype):
    if not parts:
        return np.zeros((0,) + tuple(shape), dtype=dtype.np_dtype) if dtype != dtypes_lib.string \
            else _padding_array([0] + list(shape), dtype)
    return np.stack(parts)


def _dims_text(dims):
    return "[%s]" % ",".join("?" if d is None else str(d) for d in dims)


_RESOURCE_CLASSES = {"FIFOQueueV2": _FIFOQueueResource,
                     "RandomShuffleQueueV2": _RandomShuffleQueueResource,
                     "PaddingFIFOQueueV2": _PaddingFIFOQueueResource}


# -- timeouts: the session's operation_timeout_in_ms ---------------------------------------------

# SessionState does not carry the session config, so blocked ops find it once per state
# through the live sessions (weakly held: a closed, collected session drops out).
_timeout_by_state = weakref.WeakKeyDictionary()


def _operation_timeout_seconds(state):
    try:
        return _timeout_by_state[state]
    except KeyError:
        pass
    config = getattr(state, "config", None)
    if config is None:
        from ..runtime import session as session_lib
        for _ in range(3):  # the set may change under us while other threads open sessions
            try:
                sessions = list(session_lib._live_sessions)
                break
            except RuntimeError:
                sessions = []
        for sess in sessions:
            if getattr(sess, "_state", None) is state:
                config = getattr(sess, "_config", None)
                break
    ms = getattr(config, "operation_timeout_in_ms", 0) or 0
    seconds = ms / 1000.0 if ms > 0 else None
    _timeout_by_state[state] = seconds
    return seconds


class _Deadline:
    """The time a blocked op gives up, computed lazily: most queue ops never block."""

    def __init__(self, state):
        self._state = state
        self._end = False  # not computed yet

    def remaining(self):
        if self._end is False:
            seconds = _operation_timeout_seconds(self._state)
            self._end = None if seconds is None else time.monotonic() + seconds
        return float("inf") if self._end is None else self._end - time.monotonic()


# -- kernels ---------------------------------------------------------------------------------

def _handle_array(key):
    handle = np.empty((), dtype=object)
    handle[()] = key
    return handle


def _queue_kernel(ctx, *, component_types, shapes, capacity, container, shared_name,
                  **extra):
    table = ctx.state.queues
    key = ("shared_name", shared_name) if shared_name else ctx.op_name
    queue = table.get(key)
    if queue is None:
        with ctx.state.lock:
            queue = table.get(key)
            if queue is None:
                cls = _RESOURCE_CLASSES[ctx.op.type]
                if cls is _RandomShuffleQueueResource and \
                        capacity >= 0 and extra["min_after_dequeue"] >= capacity:
                    raise errors.InvalidArgumentError(
                        None, None, "min_after_dequeue %d must be < capacity %d"
                        % (extra["min_after_dequeue"], capacity))
                if shared_name:
                    name = shared_name
                else:
                    with _resource_ids_lock:
                        name = "_%d_%s" % (next(_resource_ids), ctx.op_name)
                queue = cls(name, component_types, shapes, capacity, table, key, **extra)
                table[key] = queue
    elif shared_name and not queue.compatible(_RESOURCE_CLASSES[ctx.op.type].kind,
                                              component_types, shapes, capacity):
        raise errors.InvalidArgumentError(
            None, None, "Shared queue '%s' (%s of %s) is incompatible with op %s (%s of %s)"
            % (shared_name, queue.kind, [t.name for t in queue.component_types], ctx.op_name,
               _RESOURCE_CLASSES[ctx.op.type].kind, list(component_types)))
    return _handle_array(key)


def _lookup(ctx, handle):
    key = handle[()] if isinstance(handle, np.ndarray) else handle
    queue = ctx.state.queues.get(key)
    if queue is None:
        raise errors.CancelledError(None, None, "Queue %r of op %s no longer exists in this "
                                    "session (was the session closed?)" % (key, ctx.op_name))
    return queue


def _own(array):
    # The queue keeps elements across steps: it must not share memory a feed or a variable
    # may change later. Read-only arrays (constants) are safe to keep.
    array = np.asarray(array)
    return array if not array.flags.writeable else array.copy()


def _enqueue_kernel(ctx, handle, *components, Tcomponents, timeout_ms=-1):
    queue = _lookup(ctx, handle)
    queue._check_tuple(components, Tcomponents, many=False)
    queue.enqueue([tuple(_own(c) for c in components)], _Deadline(ctx.state), ctx.op_name)


def _enqueue_many_kernel(ctx, handle, *components, Tcomponents, timeout_ms=-1):
    queue = _lookup(ctx, handle)
    batch = queue._check_tuple(components, Tcomponents, many=True)
    owned = [_own(c) for c in components]
    elements = [tuple(c[i, ...] for c in owned) for i in range(batch or 0)]
    queue.enqueue(elements, _Deadline(ctx.state), ctx.op_name)


def _dequeue_kernel(ctx, handle, *, component_types, timeout_ms=-1):
    queue = _lookup(ctx, handle)
    element = queue.dequeue(1, False, _Deadline(ctx.state), ctx.op_name)[0]
    return element[0] if len(element) == 1 else tuple(element)


def _dequeue_n(ctx, handle, n, allow_smaller):
    queue = _lookup(ctx, handle)
    n = int(n)
    if n < 0:
        raise errors.InvalidArgumentError(None, None, "Dequeue of %s: n (%d) must be >= 0"
                                          % (queue._where(), n))
    elements = queue.dequeue(n, allow_smaller, _Deadline(ctx.state), ctx.op_name)
    batch = queue.batch(elements, allow_smaller)
    return batch[0] if len(batch) == 1 else tuple(batch)


def _dequeue_many_kernel(ctx, handle, n, *, component_types, timeout_ms=-1):
    return _dequeue_n(ctx, handle, n, allow_smaller=False)


def _dequeue_up_to_kernel(ctx, handle, n, *, component_types, timeout_ms=-1):
    return _dequeue_n(ctx, handle, n, allow_smaller=True)


def _close_kernel(ctx, handle, *, cancel_pending_enqueues):
    _lookup(ctx, handle).close(cancel_pending_enqueues)


def _size_kernel(ctx, handle):
    return np.array(_lookup(ctx, handle).size(), dtype=np.int32)


def _is_closed_kernel(ctx, handle):
    return np.array(_lookup(ctx, handle).is_closed(), dtype=np.bool_)


# -- shape functions ---------------------------------------------------------------------------

def _handle_shape(op):
    return [(TensorShape([]), dtypes_lib.variant)]


def _queue_component_shapes(op, count):
    """Static element shapes of the queue whose handle is `op.inputs[0]` (unknown if hidden)."""
    handle_op = op.inputs[0].op
    if handle_op.type in _RESOURCE_CLASSES:
        shapes = handle_op.get_attr("shapes")
        if shapes and len(shapes) == count:
            return [TensorShape(s) for s in shapes]
    return [unknown_shape() for _ in range(count)]


def _no_output_shape(op):
    return []


def _dequeue_shape(op):
    types = [dtypes_lib.as_dtype(t) for t in op.get_attr("component_types")]
    shapes = _queue_component_shapes(op, len(types))
    return list(zip(shapes, types))


def _dequeue_many_shape(op):
    types = [dtypes_lib.as_dtype(t) for t in op.get_attr("component_types")]
    shapes = _queue_component_shapes(op, len(types))
    batch = None
    if op.type == "QueueDequeueManyV2":
        n = tensor_util.constant_value(op.inputs[1])
        batch = None if n is None else int(n)
    return [(TensorShape([batch]).concatenate(s), t) for s, t in zip(shapes, types)]


def _scalar_shape(dtype):
    return lambda op: [(TensorShape([]), dtype)]


for _type in _RESOURCE_CLASSES:
    registry.register_op(_type, shape=_handle_shape, numpy=_queue_kernel, context=True,
                         stateful=True, sharding=sharding.GATHER)
registry.register_op("QueueEnqueueV2", shape=_no_output_shape, numpy=_enqueue_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.register_op("QueueEnqueueManyV2", shape=_no_output_shape, numpy=_enqueue_many_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.register_op("QueueDequeueV2", shape=_dequeue_shape, numpy=_dequeue_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.register_op("QueueDequeueManyV2", shape=_dequeue_many_shape,
                     numpy=_dequeue_many_kernel, context=True, stateful=True,
                     sharding=sharding.GATHER)
registry.register_op("QueueDequeueUpToV2", shape=_dequeue_many_shape,
                     numpy=_dequeue_up_to_kernel, context=True, stateful=True,
                     sharding=sharding.GATHER)
registry.register_op("QueueCloseV2", shape=_no_output_shape, numpy=_close_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.register_op("QueueSizeV2", shape=_scalar_shape(dtypes_lib.int32), numpy=_size_kernel,
                     context=True, stateful=True, sharding=sharding.GATHER)
registry.register_op("QueueIsClosedV2", shape=_scalar_shape(dtypes_lib.bool),
                     numpy=_is_closed_kernel, context=True, stateful=True,
                     sharding=sharding.GATHER)
registry.not_differentiable(*_RESOURCE_CLASSES, "QueueEnqueueV2", "QueueEnqueueManyV2",
                            "QueueDequeueV2", "QueueDequeueManyV2", "QueueDequeueUpToV2",
                            "QueueCloseV2", "QueueSizeV2", "QueueIsClosedV2")


# -- Python API ----------------------------------------------------------------------------

def _as_type_list(dtypes):
    if isinstance(dtypes, (list, tuple)):
        return [dtypes_lib.as_dtype(d) for d in dtypes]
    return [dtypes_lib.as_dtype(dtypes)]


def _as_shape_list(shapes, unknown_dim_allowed=False, unknown_rank_allowed=False):
    """TF's normalization: None, one shape, or a list of shapes -> list of TensorShape."""
    if unknown_dim_allowed:
        if (not isinstance(shapes, (list, tuple)) or not shapes or
                any(shape is None or isinstance(shape, int) for shape in shapes)):
            raise ValueError("When providing partial shapes, a list of shapes must be provided.")
    if shapes is None:
        return None
    if isinstance(shapes, TensorShape):
        shapes = [shapes]
    if not isinstance(shapes, (tuple, list)):
        raise TypeError("Shapes must be a TensorShape or a list or tuple of TensorShapes, got "
                        "%s instead." % type(shapes))
    if all(shape is None or isinstance(shape, (int, Dimension)) for shape in shapes):
        shapes = [shapes]  # a single shape
    shapes = [as_shape(shape) for shape in shapes]
    if not unknown_dim_allowed and any(not shape.is_fully_defined() for shape in shapes):
        raise ValueError("All shapes must be fully defined: %s" % (shapes,))
    if not unknown_rank_allowed and any(shape.ndims is None for shape in shapes):
        raise ValueError("All shapes must have a defined rank: %s" % (shapes,))
    return shapes


def _as_name_list(names, dtypes):
    if names is None:
        return None
    if not isinstance(names, (list, tuple)):
        names = [names]
    if len(names) != len(dtypes):
        raise ValueError("List of names must have the same length as the list of dtypes")
    return list(names)


def _shape_attr(shapes):
    return [list(s.as_tuple_or_none()) for s in shapes] if shapes is not None else []


class QueueBase:
    """Base class of queues (TF1 `tf.QueueBase`): enqueue/dequeue ops over a queue handle.

    Subclasses create the queue op; this class builds the ops that use it. Elements are
    tuples of tensors ("components") with fixed dtypes and, optionally, fixed shapes and
    names (then elements are dicts).
    """

    def __init__(self, dtypes, shapes, names, queue_ref):
        """Wraps the queue handle `queue_ref` (the output of a queue op).

        Raises:
          ValueError: if `shapes` or `names` do not have one entry per dtype.
        """
        self._dtypes = dtypes
        if shapes is not None:
            if len(shapes) != len(dtypes):
                raise ValueError("Queue shapes must have the same length as dtypes, received "
                                 "len(shapes)=%d, len(dtypes)=%d" % (len(shapes), len(dtypes)))
            self._shapes = [as_shape(s) for s in shapes]
        else:
            self._shapes = [unknown_shape() for _ in self._dtypes]
        if names is not None:
            if len(names) != len(dtypes):
                raise ValueError("Queue names must have the same length as dtypes, received "
                                 "len(names)=%d, len(dtypes)=%d" % (len(names), len(dtypes)))
            self._names = names
        else:
            self._names = None
        self._queue_ref = queue_ref
        self._name = self._queue_ref.op.name.split("/")[-1]

    @property
    def queue_ref(self):
        """The underlying queue handle (a variant Tensor)."""
        return self._queue_ref

    @property
    def name(self):
        """The name of the underlying queue op."""
        return self._queue_ref.op.name

    @property
    def dtypes(self):
        return self._dtypes

    @property
    def shapes(self):
        return self._shapes

    @property
    def names(self):
        return self._names

    @property
    def graph(self):
        return self._queue_ref.graph

    # -- helpers -----------------------------------------------------------------------------

    def _scope_vals(self, vals):
        if isinstance(vals, (list, tuple)):
            return list(vals)
        if isinstance(vals, dict):
            return list(vals.values())
        return [vals]

    def _check_enqueue_dtypes(self, vals):
        """Converts `vals` to one Tensor per component, in the queue's dtypes."""
        if isinstance(vals, dict):
            if not self._names:
                raise ValueError("Queue must have names to enqueue a dictionary")
            if sorted(self._names, key=str) != sorted(vals.keys(), key=str):
                raise ValueError("Keys in dictionary to enqueue do not match names of Queue.  "
                                 "Dictionary: %s,Queue: %s"
                                 % (sorted(vals.keys(), key=str), sorted(self._names, key=str)))
            vals = [vals[k] for k in self._names]
        else:
            if self._names:
                raise ValueError("You must enqueue a dictionary in a Queue with names")
            if not isinstance(vals, (list, tuple)):
                vals = [vals]
        return [convert_to_tensor(val, dtype=dtype, name="component_%d" % i)
                for i, (val, dtype) in enumerate(zip(vals, self._dtypes))]

    def _graph_for_ops(self):
        # Inside a cond/while body the ops go to the function graph, which captures the
        # queue handle (so a loop dequeues at every iteration).
        return graph_for_inputs([self._queue_ref])

    def _op(self, op_type, inputs, attrs, scope):
        graph = self._graph_for_ops()
        with graph.colocate_with(self._queue_ref.op):
            return graph.create_op(op_type, inputs, attrs, name=scope)

    def _dequeue_return_value(self, tensors):
        if self._names:
            return {n: tensors[i] for i, n in enumerate(self._names)}
        if len(tensors) == 1:
            return tensors[0]
        return tensors

    # -- ops ---------------------------------------------------------------------------------

    def enqueue(self, vals, name=None):
        """Enqueues one element (op QueueEnqueueV2); it blocks while the queue is full.

        Args:
          vals: a tensor, a list or tuple of tensors (one per component), or a dict keyed by
            the queue's names.
          name: op name (default "<queue>_enqueue").

        Returns:
          The enqueue Operation.

        Raises:
          ValueError: if a component's static shape is incompatible with the queue's.
          TypeError: if a component cannot be converted to its dtype.
        """
        graph = self._graph_for_ops()
        with graph.name_scope(name or "%s_enqueue" % self._name) as scope:
            vals = self._check_enqueue_dtypes(vals)
            for val, shape in zip(vals, self._shapes):
                val.shape.assert_is_compatible_with(shape)
            return self._op("QueueEnqueueV2", [self._queue_ref] + vals,
                            {"Tcomponents": [v.dtype.name for v in vals], "timeout_ms": -1},
                            scope)

    def enqueue_many(self, vals, name=None):
        """Enqueues the slices of `vals` along dimension 0 as separate elements.

        Returns:
          The enqueue Operation (QueueEnqueueManyV2).

        Raises:
          ValueError: if a component has rank 0, the components' first dimensions differ,
            or the element shapes are incompatible with the queue's.
        """
        graph = self._graph_for_ops()
        with graph.name_scope(name or "%s_EnqueueMany" % self._name) as scope:
            vals = self._check_enqueue_dtypes(vals)
            batch_dim = Dimension(vals[0].shape.with_rank_at_least(1)[0]) if vals else None
            for val, shape in zip(vals, self._shapes):
                val_batch_dim = Dimension(val.shape.with_rank_at_least(1)[0])
                batch_dim = batch_dim.merge_with(val_batch_dim)
                val.shape[1:].assert_is_compatible_with(shape)
            return self._op("QueueEnqueueManyV2", [self._queue_ref] + vals,
                            {"Tcomponents": [v.dtype.name for v in vals], "timeout_ms": -1},
                            scope)

    def dequeue(self, name=None):
        """Dequeues one element; blocks while the queue is empty.

        Returns:
          A Tensor for a one-component queue, a list of Tensors, or a dict for named queues.
          At run time, a closed empty queue raises OutOfRangeError.
        """
        graph = self._graph_for_ops()
        scope_name = name or "%s_Dequeue" % self._name
        with graph.name_scope(scope_name) as scope:
            op = self._op("QueueDequeueV2", [self._queue_ref],
                          {"component_types": [d.name for d in self._dtypes], "timeout_ms": -1},
                          scope)
        for output, shape in zip(op.outputs, self._shapes):
            output.set_shape(shape)
        return self._dequeue_return_value(op.outputs)

    def _dequeue_n(self, op_type, n, name, batch_static):
        graph = self._graph_for_ops()
        with graph.name_scope(name) as scope:
            n = convert_to_tensor(n, dtype=dtypes_lib.int32, name="n")
            op = self._op(op_type, [self._queue_ref, n],
                          {"component_types": [d.name for d in self._dtypes], "timeout_ms": -1},
                          scope)
        batch_dim = None
        if batch_static:
            value = tensor_util.constant_value(n)
            batch_dim = None if value is None else int(value)
        for output, shape in zip(op.outputs, self._shapes):
            output.set_shape(TensorShape([batch_dim]).concatenate(shape))
        return self._dequeue_return_value(op.outputs)

    def dequeue_many(self, n, name=None):
        """Dequeues `n` elements and stacks each component along a new dimension 0.

        Returns:
          Like `dequeue`, with a leading dimension `n`. At run time, a queue closed with
          fewer than `n` elements raises OutOfRangeError.
        """
        return self._dequeue_n("QueueDequeueManyV2", n, name or "%s_DequeueMany" % self._name,
                               batch_static=True)

    def dequeue_up_to(self, n, name=None):
        """Like `dequeue_many`, but a closed queue returns its last (< n) elements."""
        return self._dequeue_n("QueueDequeueUpToV2", n, name or "%s_DequeueUpTo" % self._name,
                               batch_static=False)

    def close(self, cancel_pending_enqueues=False, name=None):
        """Closes the queue: later enqueues fail; dequeues drain what is left.

        Args:
          cancel_pending_enqueues: also fail enqueues blocked on a full queue.

        Returns:
          The close Operation (QueueCloseV2).
        """
        graph = self._graph_for_ops()
        with graph.name_scope(name or "%s_Close" % self._name) as scope:
            return self._op("QueueCloseV2", [self._queue_ref],
                            {"cancel_pending_enqueues": bool(cancel_pending_enqueues)}, scope)

    def is_closed(self, name=None):
        """A scalar bool Tensor: whether the queue is closed."""
        graph = self._graph_for_ops()
        with graph.name_scope(name or "%s_Is_Closed" % self._name) as scope:
            return self._op("QueueIsClosedV2", [self._queue_ref], {}, scope).outputs[0]

    def size(self, name=None):
        """A scalar int32 Tensor: the number of elements in the queue."""
        graph = self._graph_for_ops()
        with graph.name_scope(name or "%s_Size" % self._name) as scope:
            return self._op("QueueSizeV2", [self._queue_ref], {}, scope).outputs[0]


def _create_queue(op_type, attrs, name):
    graph = get_default_graph()
    # As TF's init_scope: the queue op does not depend on the surrounding control inputs.
    with graph.control_dependencies(None):
        return graph.create_op(op_type, [], attrs, name=name).outputs[0]


def _queue_attrs(dtypes, shapes, capacity, shared_name):
    return {"component_types": [d.name for d in dtypes], "shapes": _shape_attr(shapes),
            "capacity": int(capacity), "container": "", "shared_name": shared_name or ""}


class FIFOQueue(QueueBase):
    """A queue that dequeues elements in first-in first-out order (TF1 `tf.FIFOQueue`)."""

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None,
                 name="fifo_queue"):
        """Creates the queue op (FIFOQueueV2).

        Args:
          capacity: the most elements the queue holds; enqueues block beyond it.
          dtypes: a DType or list of DTypes, one per component.
          shapes: None, one fully defined shape, or one shape per component.
          names: None or one name per component (elements are then dicts).
          shared_name: queues with the same shared name in a session are one queue.
          name: the queue op's name.

        Raises:
          ValueError: if shapes are not fully defined or shapes/names mismatch dtypes.
        """
        dtypes = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, dtypes)
        queue_ref = _create_queue("FIFOQueueV2",
                                  _queue_attrs(dtypes, shapes, capacity, shared_name), name)
        super().__init__(dtypes, shapes, names, queue_ref)


class PaddingFIFOQueue(QueueBase):
    """A FIFOQueue whose dequeue_many pads components of varying shapes with zeros."""

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None,
                 name="padding_fifo_queue"):
        """Creates the queue op (PaddingFIFOQueueV2).

        Args:
          shapes: one shape per component, of known rank; None dims vary between elements
            and are padded to the batch's largest size by dequeue_many.

        Raises:
          ValueError: if shapes are not given per component or have unknown rank.
        """
        dtypes = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes, unknown_dim_allowed=True)
        names = _as_name_list(names, dtypes)
        if len(dtypes) != len(shapes):
            raise ValueError("Shapes must be provided for all components, but received %d "
                             "dtypes and %d shapes." % (len(dtypes), len(shapes)))
        queue_ref = _create_queue("PaddingFIFOQueueV2",
                                  _queue_attrs(dtypes, shapes, capacity, shared_name), name)
        super().__init__(dtypes, shapes, names, queue_ref)


class RandomShuffleQueue(QueueBase):
    """A queue that dequeues elements in random order (TF1 `tf.RandomShuffleQueue`)."""

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None,
                 shared_name=None, name="random_shuffle_queue"):
        """Creates the queue op (RandomShuffleQueueV2).

        Args:
          min_after_dequeue: dequeues block unless more than this many elements remain
            (until the queue is closed), which keeps the shuffle well mixed.
          seed: op seed, combined with the graph seed as for random ops.
        """
        dtypes = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, dtypes)
        from . import random_ops
        seed1, seed2 = random_ops.get_seed(seed)
        if seed1 is None and seed2 is None:
            seed1, seed2 = 0, 0
        elif seed is None and shared_name is not None:
            # As TF: a shared queue's stream depends on the graph seed and shared name only.
            import hashlib
            digest = hashlib.md5((str(seed1) + shared_name).encode("utf-8")).hexdigest()
            seed2 = int(digest[:8], 16) & 0x7FFFFFFF
        attrs = _queue_attrs(dtypes, shapes, capacity, shared_name)
        attrs.update(min_after_dequeue=int(min_after_dequeue), seed=int(seed1), seed2=int(seed2))
        queue_ref = _create_queue("RandomShuffleQueueV2", attrs, name)
        super().__init__(dtypes, shapes, names, queue_ref)
