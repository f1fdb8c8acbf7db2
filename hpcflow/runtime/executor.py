"""The local executor: compiles a pruned graph into a plan once, then runs it step after step.

A plan is built per (fetches, feeds, targets) signature. Building it prunes the graph to
what the fetches need (a fed tensor cuts the graph: its producer does not run), orders the
ops by dependency counts and a ready queue, binds each op to its kernel and attrs, assigns
every value a slot, and records after which op each slot can be freed. Running it is then
a loop over a flat list: look up inputs, call the kernel, store outputs, free dead slots.
"""
import collections
import functools
import os
import time

import numpy as np

from .. import backends
from ..framework import dtypes, errors

# Set HPCFLOW_CHECK_KERNELS=1 (the test suite does) to verify that every kernel output has
# the dtype and a shape compatible with what the op's shape function promised.
CHECK_KERNELS = os.environ.get("HPCFLOW_CHECK_KERNELS", "") not in ("", "0")


class KernelContext:
    """What a `context=True` kernel sees: its op, the session's state, and the executor."""

    __slots__ = ("op", "op_name", "state", "executor", "rank")

    def __init__(self, op, state, executor):
        self.op = op
        self.op_name = op.name
        self.state = state
        self.executor = executor
        self.rank = state.rank

    def call_function(self, function_graph, args):
        """Runs a function sub-graph (cond branch, loop body) with `args`; returns its outputs."""
        return self.executor.run_function(function_graph, args)


class _Node:
    __slots__ = ("op", "fn", "in_slots", "out_slots", "free_slots", "output_mode")


# How a node's kernel result is stored: ignored, one value, or a sequence of values.
_NO_OUTPUT, _ONE_OUTPUT, _MANY_OUTPUTS = 0, 1, 2


def _bind_kernel(op, state, executor, preference):
    record = op._record
    _, kernel = backends.kernel_for(record, preference)
    attrs = op.attrs
    if record.context:
        ctx = KernelContext(op, state, executor)
        if attrs:
            return functools.partial(kernel, ctx, **attrs)
        return functools.partial(kernel, ctx)
    if attrs:
        return functools.partial(kernel, **attrs)
    return kernel


def prune(fetch_tensors, target_ops, feed_tensors):
    """The ops needed to compute `fetch_tensors` and run `target_ops`, given `feed_tensors`."""
    needed = set()
    stack = [t.op for t in fetch_tensors if t not in feed_tensors] + list(target_ops)
    while stack:
        op = stack.pop()
        if op in needed:
            continue
        needed.add(op)
        for t in op.inputs:
            if t not in feed_tensors and t.op not in needed:
                stack.append(t.op)
        for c in op._control_inputs:
            if c not in needed:
                stack.append(c)
    return needed


def topological_order(ops, feed_tensors):
    """`ops` ordered by dependency counts and a FIFO ready queue (ties by creation order)."""
    pending = {}
    consumers = collections.defaultdict(list)
    for op in ops:
        deps = set()
        for t in op.inputs:
            if t not in feed_tensors and t.op in ops:
                deps.add(t.op)
        for c in op._control_inputs:
            if c in ops:
                deps.add(c)
        pending[op] = len(deps)
        for d in deps:
            consumers[d].append(op)
    ready = collections.deque(sorted((op for op, n in pending.items() if n == 0),
                                     key=lambda op: op._id))
    order = []
    while ready:
        op = ready.popleft()
        order.append(op)
        for c in consumers[op]:
            pending[c] -= 1
            if pending[c] == 0:
                ready.append(c)
    if len(order) != len(ops):
        stuck = sorted(op.name for op, n in pending.items() if n > 0)
        raise errors.InternalError(None, None, "Graph has a cycle among ops: %s" % stuck[:10])
    return order


class Plan:
    """A compiled, reusable schedule for one (fetches, feeds, targets) signature."""

    def __init__(self, graph, fetch_tensors, target_ops, feed_tensors, state, executor,
                 preference=None, creation_order=False):
        self.graph = graph
        self.fetch_tensors = list(fetch_tensors)
        self.feed_tensors = list(feed_tensors)
        feed_set = set(feed_tensors)
        ops = prune(self.fetch_tensors, target_ops, feed_set)
        if creation_order:
            # Partitions of a distributed graph run in the global creation order on every
            # rank, which with non-blocking sends makes cross-rank waits deadlock-free.
            order = sorted(ops, key=lambda op: op._id)
        else:
            order = topological_order(ops, feed_set)

        slots = {}

        def slot_of(tensor):
            if tensor not in slots:
                slots[tensor] = len(slots)
            return slots[tensor]

        self.feed_slots = [slot_of(t) for t in self.feed_tensors]
        consumed = collections.Counter()
        for op in order:
            for t in op.inputs:
                consumed[t] += 1
        nodes = []
        for op in order:
            node = _Node()
            node.op = op
            node.fn = _bind_kernel(op, state, executor, preference)
            node.in_slots = tuple(slot_of(t) for t in op.inputs)
            node.output_mode = min(len(op._outputs), _MANY_OUTPUTS)
            node.out_slots = tuple(slot_of(t) if (consumed[t] or t in self.fetch_tensors) and
                                   t not in feed_set else -1 for t in op._outputs)
            node.free_slots = ()
            nodes.append(node)
        self.fetch_slots = [slot_of(t) for t in self.fetch_tensors]
        # A slot dies after its last consumer unless it is fetched.
        last_use = {}
        for index, node in enumerate(nodes):
            for s in node.in_slots:
                last_use[s] = index
        keep = set(self.fetch_slots)
        frees = collections.defaultdict(list)
        for s, index in last_use.items():
            if s not in keep:
                frees[index].append(s)
        for index, node in enumerate(nodes):
            node.free_slots = tuple(frees.get(index, ()))
        self.nodes = nodes
        self.num_slots = len(slots)
        self.rank = state.rank

    def run(self, feed_values, step_stats=None):
        """Runs one step with `feed_values` (aligned with the plan's feeds); returns fetches."""
        values = [None] * self.num_slots
        for s, v in zip(self.feed_slots, feed_values):
            values[s] = v
        for index, node in enumerate(self.nodes):
            args = [values[s] for s in node.in_slots]
            start = time.time() if step_stats is not None else 0.0
            try:
                result = node.fn(*args)
            except errors.OpError as e:
                error = _annotate(e, node.op, self.rank)
                error.failed_node_index = index
                raise error from None
            except Exception as e:  # a kernel bug or a bad runtime value: say which op
                error = _wrap(e, node.op, self.rank)
                error.failed_node_index = index
                raise error from e
            if step_stats is not None:
                step_stats.append((node.op.name, node.op.type, start, time.time()))
            if node.output_mode == _ONE_OUTPUT:
                if node.out_slots[0] >= 0:
                    values[node.out_slots[0]] = result
            elif node.output_mode == _MANY_OUTPUTS:
                for s, v in zip(node.out_slots, result):
                    if s >= 0:
                        values[s] = v
            if CHECK_KERNELS:
                _check_outputs(node, result)
            for s in node.free_slots:
                values[s] = None
        return [values[s] for s in self.fetch_slots]


def _annotate(error, op, rank):
    if op is not None and "[[node " not in error.message:
        message = "%s\n\t [[node %s (%s) on rank %d]]" % (error.message, op.name, op.type, rank)
        new = type(error)(error.node_def, op, message) if type(error) is not errors.OpError \
            else errors.OpError(error.node_def, op, message, error.error_code)
        return new
    return error


_ERROR_CLASS = {
    MemoryError: errors.ResourceExhaustedError,
    ValueError: errors.InvalidArgumentError,
    IndexError: errors.InvalidArgumentError,
    TypeError: errors.InvalidArgumentError,
    ZeroDivisionError: errors.InvalidArgumentError,
    FloatingPointError: errors.InvalidArgumentError,
    np.linalg.LinAlgError: errors.InvalidArgumentError,
    NotImplementedError: errors.UnimplementedError,
}


def _wrap(exception, op, rank):
    cls = errors.InternalError
    for base, mapped in _ERROR_CLASS.items():
        if isinstance(exception, base):
            cls = mapped
            break
    message = "%s: %s\n\t [[node %s (%s) on rank %d]]" % (
        type(exception).__name__, exception, op.name, op.type, rank)
    return cls(None, op, message)


def _check_outputs(node, result):
    outputs = node.op._outputs
    if node.output_mode == _NO_OUTPUT:
        return
    values = result if node.output_mode == _MANY_OUTPUTS else (result,)
    if len(values) != len(outputs):
        raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned %d outputs, expected "
                                   "%d" % (node.op.name, node.op.type, len(values), len(outputs)))
    for t, v in zip(outputs, values):
        if t.dtype in (dtypes.variant,):
            continue
        if not isinstance(v, (np.ndarray, np.generic)):
            raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned %s for %s, "
                                       "expected a numpy array" % (node.op.name, node.op.type,
                                                                   type(v).__name__, t.name))
        if np.dtype(v.dtype) != t.dtype.np_dtype:
            raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned dtype %s for %s, "
                                       "expected %s" % (node.op.name, node.op.type, v.dtype,
                                                        t.name, t.dtype.name))
        if not t.shape.is_compatible_with(np.shape(v)):
            raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned shape %s for %s, "
                                       "expected %s" % (node.op.name, node.op.type, np.shape(v),
                                                        t.name, t.shape))


class Executor:
    """Runs plans for one session's state; caches plans by signature."""

    def __init__(self, state, preference=None):
        self.state = state
        self.preference = preference
        self._plans = {}

    def plan(self, graph, fetch_tensors, target_ops, feed_tensors):
        key = (id(graph), graph._mutation_version, tuple(fetch_tensors), tuple(target_ops),
               tuple(feed_tensors))
        plan = self._plans.get(key)
        if plan is None:
            plan = Plan(graph, fetch_tensors, target_ops, feed_tensors, self.state, self,
                        self.preference)
            self._plans[key] = plan
        return plan

    def run_function(self, function_graph, args):
        """Runs a function graph (see control_flow_ops) on `args`; returns its output values."""
        plan = self.plan(function_graph, function_graph.outputs, function_graph.control_outputs,
                         function_graph.inputs)
        return plan.run(args)

    def clear(self):
        self._plans.clear()
