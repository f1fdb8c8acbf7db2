"""The local executor: compiles a pruned graph into a plan once, then runs it step after step.

A plan is built per (fetches, feeds, targets) signature. Building it prunes the graph to
what the fetches need (a fed tensor cuts the graph: its producer does not run), copies the
result into a private GraphIR and runs the rewrite passes over it (runtime/rewrites:
constant folding, CSE, arithmetic simplification, pruning, element-wise fusion), orders the
nodes by dependency counts and a ready queue, binds each to its kernel and attrs, assigns
every value a slot, and records after which node each slot can be freed.

Running it is a loop over a flat list of steps: look up inputs, call the kernel, store
outputs, free dead slots. With `inter_op_parallelism_threads` > 1, large kernels that
release the GIL (matmul, convolutions, fused element-wise chains) run on a thread pool
while the loop goes on with the ops that do not depend on them; stateful ops wait for
everything issued before them, so results equal the sequential run's. Plans of MPI
partitions and data-parallel steps (`creation_order=True`) always run sequentially, in
creation order, so that sends, receives and collectives come in the same order on every
rank.
"""
import collections
import concurrent.futures
import functools
import os
import sys
import threading
import time

import numpy as np

from .. import backends
from ..framework import dtypes, errors
from ..devices import copy_insertion, is_device_array
from . import rewrites

# Set HPCFLOW_CHECK_KERNELS=1 (the test suite does) to verify that every kernel output has
# the dtype and a shape compatible with what the op's shape function promised.
CHECK_KERNELS = os.environ.get("HPCFLOW_CHECK_KERNELS", "") not in ("", "0")

# Kernels that spend their time in C with the GIL released (BLAS, Cython nogil loops, large
# numpy ufunc loops): worth running on a pool thread when their inputs are large.
GIL_RELEASING_OPS = frozenset((
    "MatMul", "BatchMatMulV2", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
    "MaxPool", "MaxPoolGrad", "AvgPool", "AvgPoolGrad", "_FusedElementwise", "BiasAddGrad",
    "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits",
))
# Below this many input elements a kernel runs on the calling thread: handing work to a
# pool thread and back costs tens of microseconds.
OFFLOAD_MIN_ELEMENTS = 32768


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
    """One compiled step. `op` is the original op (for a fused chain, its last op)."""

    __slots__ = ("op", "fn", "in_slots", "out_slots", "free_slots", "output_mode", "members",
                 "offload", "ir_type")


# How a node's kernel result is stored: ignored, one value, or a sequence of values.
_NO_OUTPUT, _ONE_OUTPUT, _MANY_OUTPUTS = 0, 1, 2


def _bind_kernel(op, state, executor, preference, record=None, attrs=None):
    """The callable running `op`'s kernel on input arrays (attrs and context bound)."""
    if record is None or record is op._record:
        record = op._record
        _, kernel = backends.kernel_for_op(op, preference)
    else:
        _, kernel = backends.kernel_for(record, preference)
    attrs = op.attrs if attrs is None else attrs
    if record.context:
        ctx = KernelContext(op, state, executor)
        if attrs:
            return functools.partial(kernel, ctx, **attrs)
        return functools.partial(kernel, ctx)
    if attrs:
        return functools.partial(kernel, **attrs)
    return kernel


def _constant_fn(values):
    """The kernel of a folded node: its precomputed, read-only output(s)."""
    if len(values) == 1:
        value = values[0]
        return lambda: value
    return lambda: values


def _fused_fn(ir_node, state, executor, preference, rank):
    """The kernel of a fused node (`_FusedElementwise`, `_FusedConv2D`), falling back to its
    member ops.

    The fused kernel returns None when the runtime shapes are not ones it handles; it is
    then (and if it raises) replaced by running the member ops one by one with their own
    kernels, so results and errors are those of the unfused graph, naming the member op.
    """
    _, kernel = backends.kernel_for(ir_node.record, preference)
    attrs = ir_node.attrs
    members = [(op, inputs, _bind_kernel(op, state, executor, preference))
               for op, inputs in zip(ir_node.members, ir_node.member_inputs)]
    external = list(ir_node.inputs)
    output = ir_node.outputs[0]
    # In-place output into a dying input buffer is safe in the Cython kernel only: its
    # loops read element i of every operand before writing element i of the output.
    can_donate = (ir_node.type == "_FusedElementwise" and
                  kernel is not rewrites.fused_elementwise.numpy_kernel)
    dtype = np.dtype(attrs["T"]) if can_donate else None

    def run_members(args):
        env = dict(zip(external, args))
        value = None
        for op, inputs, fn in members:
            try:
                value = fn(*[env[t] for t in inputs])
            except errors.OpError as e:
                raise _annotate(e, op, rank) from None
            except Exception as e:  # noqa: BLE001 - named after the member op, as unfused
                raise _wrap(e, op, rank) from e
            env[op._outputs[0]] = value
        return env[output]

    def run(*args):
        try:
            result = kernel(*args, **attrs)
        except Exception:  # noqa: BLE001 - the member ops report it under their own names
            result = None
        return run_members(args) if result is None else result

    def run_donating(values, in_slots, donor_slots):
        # A dying input (`donor_slots`: inputs whose last use is this node, not feeds)
        # that only the slot list references (a count of 2 with getrefcount's argument),
        # owning its memory, of the output's dtype and shape, becomes the output buffer:
        # one full-size array less per step.
        out = None
        for s in donor_slots:
            if sys.getrefcount(values[s]) == 2:
                a = values[s]
                if type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous and \
                        a.flags.writeable and a.flags.owndata:
                    out = a
                    break
        args = [values[s] for s in in_slots]
        if out is not None:
            shape = rewrites.fused_elementwise.output_shape(args)
            if shape is None or shape != out.shape:
                out = None
        try:
            result = kernel(*args, out=out, **attrs) if out is not None else \
                kernel(*args, **attrs)
        except Exception:  # noqa: BLE001
            result = None
        return run_members(args) if result is None else result

    return run, (run_donating if can_donate else None)


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


# Step kinds of the fast loop: how a kernel is called.
_CALL_0, _CALL_1, _CALL_2, _CALL_N, _CALL_SLOTS = 0, 1, 2, 3, 4


class Plan:
    """A compiled, reusable schedule for one (fetches, feeds, targets) signature.

    Args:
      graph: the Graph (or function graph) to run.
      fetch_tensors, target_ops, feed_tensors: the signature.
      state: the SessionState kernels read and write.
      executor: the Executor (function calls of cond/while go through it).
      preference: the kernel backends in order of preference (None: the CPU default).
      creation_order: run in the ops' creation order, on one thread (MPI partitions and
        data-parallel plans).
      passes: names of the rewrite passes to run (None: the executor's, from its config
        and HPCFLOW_REWRITES).

    Attributes:
      nodes: the compiled steps in execution order; `nodes[i].op` is the original op.
      rewrite_stats: {pass name: number of changes} of the rewrites applied.
    """

    def __init__(self, graph, fetch_tensors, target_ops, feed_tensors, state, executor,
                 preference=None, creation_order=False, passes=None):
        self.graph = graph
        self.fetch_tensors = list(fetch_tensors)
        self.feed_tensors = list(feed_tensors)
        self.creation_order = creation_order
        self.executor_ref = executor
        feed_set = set(feed_tensors)
        ops = prune(self.fetch_tensors, target_ops, feed_set)
        if passes is None:
            passes = executor.passes() if executor is not None else rewrites.PASS_NAMES
        ir = rewrites.GraphIR(ops, self.fetch_tensors, target_ops, feed_set, creation_order)
        self.rewrite_stats = rewrites.rewrite(ir, passes, preference)
        # Ops placed on a GPU: their device kernels, and copies where an edge changes device.
        self.rewrite_stats["device_copies"] = copy_insertion.insert_device_copies(
            ir, rewrites.RewriteContext(preference))
        order = ir.order()
        self.rank = state.rank

        slots = {}

        def slot_of(tensor):
            if tensor not in slots:
                slots[tensor] = len(slots)
            return slots[tensor]

        self.feed_slots = [slot_of(t) for t in self.feed_tensors]
        resolved_fetches = [ir.resolve(t) for t in self.fetch_tensors]
        fetched = set(resolved_fetches)
        consumed = collections.Counter()
        for node in order:
            for t in node.inputs:
                consumed[t] += 1
        nodes = []
        donors = {}
        for ir_node in order:
            node = _Node()
            node.op = ir_node.op
            node.ir_type = ir_node.type
            node.members = ir_node.members
            if ir_node.values is not None:
                node.fn = _constant_fn(ir_node.values)
            elif ir_node.members is not None:
                node.fn, donating = _fused_fn(ir_node, state, executor, preference, self.rank)
                if donating is not None:
                    donors[node] = donating
            else:
                node.fn = _bind_kernel(ir_node.op, state, executor, preference,
                                       ir_node.record, ir_node.attrs)
            node.in_slots = tuple(slot_of(t) for t in ir_node.inputs)
            node.output_mode = min(len(ir_node.outputs), _MANY_OUTPUTS)
            node.out_slots = tuple(slot_of(t) if (consumed[t] or t in fetched) and
                                   t not in feed_set else -1 for t in ir_node.outputs)
            node.free_slots = ()
            node.offload = (not creation_order and ir_node.type in GIL_RELEASING_OPS and
                            not ir_node.stateful)
            nodes.append(node)
        self.fetch_slots = [slot_of(t) for t in resolved_fetches]
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
        # Slot num_slots is a sink for outputs nobody reads (no branch in the loop).
        sink = self.num_slots
        feed_slot_set = set(self.feed_slots)
        steps = []
        for node in nodes:
            ins = node.in_slots
            outs = tuple(s if s >= 0 else sink for s in node.out_slots)
            donating = donors.get(node)
            # A donor slot dies here and is not a feed (the caller's array).
            donor_slots = tuple(s for s in ins if s in node.free_slots and
                                s not in feed_slot_set)
            if donating is not None and donor_slots:
                kind, fn = _CALL_SLOTS, functools.partial(donating, donor_slots=donor_slots)
            else:
                kind = (_CALL_0, _CALL_1, _CALL_2)[len(ins)] if len(ins) <= 2 else _CALL_N
                fn = node.fn
            steps.append((fn, kind, ins[0] if ins else 0, ins[1] if len(ins) > 1 else 0, ins,
                          node.output_mode, outs[0] if len(outs) == 1 else outs,
                          node.free_slots))
        self._steps = steps
        self._parallel = (not creation_order and
                          sum(1 for node in nodes if node.offload) >= 2)

    def run(self, feed_values, step_stats=None):
        """Runs one step with `feed_values` (aligned with the plan's feeds); returns fetches.

        Args:
          feed_values: arrays aligned with the plan's feed tensors.
          step_stats: a list to append (op name, op type, start, end) records to, or None.

        Raises:
          OpError subclasses naming the failing op and rank; the error's
          `failed_node_index` is the index in `nodes` of the failing node.
        """
        values = [None] * (self.num_slots + 1)
        for s, v in zip(self.feed_slots, feed_values):
            values[s] = v
        if step_stats is not None or CHECK_KERNELS:
            self._run_checked(values, step_stats)
        else:
            threads = self._threads()
            if threads > 1 and self._parallel:
                self._run_parallel(values, threads)
            else:
                self._run_fast(values)
        return [values[s] for s in self.fetch_slots]

    def _threads(self):
        executor = self.executor_ref
        return executor.inter_op_threads if executor is not None else 1

    def _run_fast(self, values):
        index = 0
        try:
            for index, (fn, kind, a, b, ins, mode, outs, frees) in enumerate(self._steps):
                if kind == _CALL_1:
                    result = fn(values[a])
                elif kind == _CALL_2:
                    result = fn(values[a], values[b])
                elif kind == _CALL_0:
                    result = fn()
                elif kind == _CALL_N:
                    result = fn(*[values[s] for s in ins])
                else:
                    result = None  # the previous result may be an input it could reuse
                    result = fn(values, ins)
                if mode == _ONE_OUTPUT:
                    values[outs] = result
                elif mode == _MANY_OUTPUTS:
                    for s, v in zip(outs, result):
                        values[s] = v
                for s in frees:
                    values[s] = None
        except Exception as e:  # noqa: BLE001 - re-raised naming the op
            raise self._error(e, index) from (None if isinstance(e, errors.OpError) else e)

    def _error(self, exception, index):
        node = self.nodes[index]
        if isinstance(exception, errors.OpError):
            error = _annotate(exception, node.op, self.rank)
        else:
            error = _wrap(exception, node.op, self.rank)
        error.failed_node_index = index
        return error

    def _run_checked(self, values, step_stats):
        """The loop with per-node timing (traces) and output checks (HPCFLOW_CHECK_KERNELS)."""
        for index, node in enumerate(self.nodes):
            args = [values[s] for s in node.in_slots]
            start = time.time() if step_stats is not None else 0.0
            try:
                result = node.fn(*args)
            except Exception as e:  # noqa: BLE001
                raise self._error(e, index) from (None if isinstance(e, errors.OpError) else e)
            if step_stats is not None:
                record = (node.op.name, node.ir_type if node.members else node.op.type,
                          start, time.time())
                if node.op.type in COMMUNICATION_OPS:
                    record += (_payload_bytes(node.op.type, args, result),
                               node.op.attrs.get("peer"))
                step_stats.append(record)
            self._store(values, node, result)
            if CHECK_KERNELS:
                _check_outputs(node, result)
            for s in node.free_slots:
                values[s] = None

    @staticmethod
    def _store(values, node, result):
        if node.output_mode == _ONE_OUTPUT:
            if node.out_slots[0] >= 0:
                values[node.out_slots[0]] = result
        elif node.output_mode == _MANY_OUTPUTS:
            for s, v in zip(node.out_slots, result):
                if s >= 0:
                    values[s] = v

    def _run_parallel(self, values, threads):
        """Large GIL-releasing kernels on the pool, everything else here, results as sequential.

        A node reading a value still being computed waits for it; a stateful node (or a
        context kernel) waits for everything issued before it, so it sees and changes
        state exactly when the sequential loop would.
        """
        pool = self.executor_ref.thread_pool(threads)
        pending = {}      # slot -> future computing it
        inflight = []     # (future, node index) in issue order
        freed = set()     # slots already dead when their future was still running
        nodes = self.nodes

        def settle(future, index):
            try:
                result = future.result()
            except Exception as e:  # noqa: BLE001
                raise self._error(e, index) from (None if isinstance(e, errors.OpError) else e)
            node = nodes[index]
            self._store(values, node, result)
            for s in node.out_slots:
                pending.pop(s, None)
                if s in freed:
                    values[s] = None

        def drain():
            while inflight:
                future, index = inflight.pop(0)
                settle(future, index)

        try:
            for index, node in enumerate(nodes):
                if _needs_barrier(node):
                    drain()
                for s in node.in_slots:
                    if s in pending:
                        future = pending[s]
                        for i, (f, j) in enumerate(inflight):
                            if f is future:
                                del inflight[i]
                                settle(f, j)
                                break
                args = [values[s] for s in node.in_slots]
                if node.offload and sum(getattr(a, "size", 1) for a in args) >= \
                        OFFLOAD_MIN_ELEMENTS:
                    future = pool.submit(node.fn, *args)
                    inflight.append((future, index))
                    for s in node.out_slots:
                        if s >= 0:
                            pending[s] = future
                else:
                    try:
                        result = node.fn(*args)
                    except Exception as e:  # noqa: BLE001
                        raise self._error(e, index) from (
                            None if isinstance(e, errors.OpError) else e)
                    self._store(values, node, result)
                for s in node.free_slots:
                    if s in pending:
                        freed.add(s)
                    else:
                        values[s] = None
            drain()
        except BaseException:
            # Let kernels still running finish before the error leaves the step: none may
            # touch state after the caller sees the failure.
            for future, _ in inflight:
                try:
                    future.result()
                except Exception:  # noqa: BLE001 - the first error is the one reported
                    pass
            raise


def _needs_barrier(node):
    """True for nodes that must see every earlier node finished (state, contexts, `_` ops)."""
    record = node.op._record
    return node.members is None and (record.stateful or record.context or
                                      node.op.type.startswith("_"))


# Ops that move data between ranks: a trace records their payload (bytes) and peer rank.
COMMUNICATION_OPS = frozenset(["_Send", "_Recv", "_DPAllReduce", "_DPAllGatherRows",
                               "_DPFetchRows", "_DPFetchSum"])
_RESULT_IS_PAYLOAD = frozenset(["_Recv", "_DPAllGatherRows", "_DPFetchRows"])


def _payload_bytes(op_type, args, result):
    """Bytes a communication op moved: what it received, else what it sent."""
    values = args
    if op_type in _RESULT_IS_PAYLOAD:
        values = list(result) if isinstance(result, tuple) else [result]
    return int(sum(getattr(v, "nbytes", 0) for v in values if v is not None))


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
        if not isinstance(v, (np.ndarray, np.generic)) and not is_device_array(v):
            raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned %s for %s, "
                                       "expected an array" % (node.op.name, node.op.type,
                                                              type(v).__name__, t.name))
        if np.dtype(v.dtype) != t.dtype.np_dtype:
            raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned dtype %s for %s, "
                                       "expected %s" % (node.op.name, node.op.type, v.dtype,
                                                        t.name, t.dtype.name))
        shape = tuple(v.shape)
        if not t.shape.is_compatible_with(shape):
            raise errors.InternalError(None, node.op, "Kernel of %s (%s) returned shape %s for %s, "
                                       "expected %s" % (node.op.name, node.op.type, shape,
                                                        t.name, t.shape))


def _config_threads(config):
    """Inter-op threads from HPCFLOW_INTER_OP_THREADS, else the config (0 or unset: 1)."""
    env = os.environ.get("HPCFLOW_INTER_OP_THREADS")
    if env:
        return max(1, int(env))
    threads = getattr(config, "inter_op_parallelism_threads", 0) if config is not None else 0
    return max(1, int(threads or 1))


class Executor:
    """Runs plans for one session's state; caches plans by signature.

    Args:
      state: the SessionState.
      preference: kernel backends in order of preference (None: the CPU default).
      config: the session's ConfigProto (rewrite_options, inter_op_parallelism_threads).
    """

    def __init__(self, state, preference=None, config=None):
        self.state = state
        self.preference = preference
        self.config = config
        self.inter_op_threads = _config_threads(config)
        self._plans = {}
        self._pool = None
        self._pool_lock = threading.Lock()
        self._passes_cache = (None, None)

    def passes(self):
        """The rewrite passes new plans run (config, then HPCFLOW_REWRITES)."""
        env = os.environ.get("HPCFLOW_REWRITES", "")
        cached_env, cached = self._passes_cache
        if cached is None or cached_env != env:
            cached = rewrites.enabled_passes(self.config)
            self._passes_cache = (env, cached)
        return cached

    def plan(self, graph, fetch_tensors, target_ops, feed_tensors, creation_order=False):
        """The compiled Plan for this signature (built on first use)."""
        passes = self.passes()
        key = (id(graph), graph._mutation_version, tuple(fetch_tensors), tuple(target_ops),
               tuple(feed_tensors), passes, creation_order)
        plan = self._plans.get(key)
        if plan is None:
            plan = Plan(graph, fetch_tensors, target_ops, feed_tensors, self.state, self,
                        self.preference, creation_order=creation_order, passes=passes)
            self._plans[key] = plan
        return plan

    def thread_pool(self, threads):
        """The executor's pool of `threads` worker threads (created on first use)."""
        with self._pool_lock:
            if self._pool is None or self._pool._max_workers != threads:
                if self._pool is not None:
                    self._pool.shutdown(wait=True)
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    threads, thread_name_prefix="hpcflow-inter-op")
            return self._pool

    def run_function(self, function_graph, args):
        """Runs a function graph (see control_flow_ops) on `args`; returns its output values."""
        plan = self.plan(function_graph, function_graph.outputs, function_graph.control_outputs,
                         function_graph.inputs)
        return plan.run(args)

    def clear(self):
        self._plans.clear()
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
