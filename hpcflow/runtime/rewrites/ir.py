"""The private copy of a pruned graph that the rewrite passes change and a Plan compiles.

A user's Graph is never modified by a rewrite. A Plan copies the pruned graph into a
`GraphIR`: one `IRNode` per op, naming its input values by the original `Tensor` objects,
so that fetched and fed tensors keep their identity. Passes replace nodes (folded
constants, fused chains), redirect a value to an equal one (`GraphIR.replace`), or drop
nodes; every node keeps the original Operation it stands for, so kernel errors, traces and
context kernels (variables, queues) still see the user's op.
"""
import collections

from ...framework import errors


class IRNode:
    """One node of a GraphIR.

    Attributes:
      op: the original Operation (for a fused chain: its last op, whose output it yields).
      type: the op type whose kernel runs ("Const" after folding, "_FusedElementwise").
      record: the registry record of `type`.
      attrs: the attrs passed to the kernel.
      inputs: list of input Tensors (original tensors, after `GraphIR.resolve`).
      outputs: tuple of the Tensors this node produces.
      controls: list of IRNodes that must run before this one.
      key: the ordering key (the creation index of the original op).
      members: for a fused node, the original ops in evaluation order; else None.
      member_inputs: for a fused node, each member's input tensors as rewritten (e.g. an
        Identity removed), aligned with `members`; else None.
      values: for a folded node, the tuple of its constant output arrays; else None.
    """

    __slots__ = ("op", "type", "record", "attrs", "inputs", "outputs", "controls", "key",
                 "members", "member_inputs", "values")

    def __init__(self, op):
        self.op = op
        self.type = op.type
        self.record = op._record
        self.attrs = op.attrs
        self.inputs = list(op.inputs)
        self.outputs = tuple(op._outputs)
        self.controls = []
        self.key = op._id
        self.members = None
        self.member_inputs = None
        self.values = None

    @property
    def stateful(self):
        """True for ops that must run exactly as written (state, context, internal family)."""
        record = self.record
        return bool(record.stateful or record.context
                    or (self.type.startswith("_") and self.members is None))

    def __repr__(self):
        return "<IRNode %s (%s)>" % (self.op.name, self.type)


class GraphIR:
    """A pruned graph as a list of IRNodes plus the fetches, feeds and targets of a plan.

    Args:
      ops: the pruned set of Operations (see executor.prune).
      fetch_tensors: the tensors the plan returns.
      target_ops: the operations the plan must run.
      feed_tensors: the tensors the caller feeds (sources: their producers do not run).
      creation_order: True for MPI partitions and data-parallel plans, whose ops must run
        in the original creation order on every rank.
    """

    def __init__(self, ops, fetch_tensors, target_ops, feed_tensors, creation_order=False):
        self.feeds = frozenset(feed_tensors)
        self.fetches = list(fetch_tensors)
        self.creation_order = creation_order
        self.nodes = [IRNode(op) for op in sorted(ops, key=lambda op: op._id)]
        node_of = {node.op: node for node in self.nodes}
        for node in self.nodes:
            node.controls = [node_of[c] for c in node.op._control_inputs if c in node_of]
        self.targets = {node_of[op] for op in target_ops if op in node_of}
        self._alias = {}

    # -- values ------------------------------------------------------------------------------

    def resolve(self, tensor):
        """The tensor whose value `tensor` now takes (itself unless a pass replaced it)."""
        alias = self._alias
        while tensor in alias:
            tensor = alias[tensor]
        return tensor

    def replace(self, old, new):
        """Makes every use of value `old` (inputs and fetches) use the equal value `new`.

        Raises:
          InternalError: if `old` is fed (a fed value is the caller's, never replaced).
        """
        if old in self.feeds:
            raise errors.InternalError(None, old.op, "rewrite tried to replace fed tensor %s"
                                       % old.name)
        if old is not new:
            self._alias[old] = new

    def producers(self):
        """{Tensor: IRNode producing it}, fed tensors excluded."""
        feeds = self.feeds
        return {t: node for node in self.nodes for t in node.outputs if t not in feeds}

    def consumers(self):
        """{Tensor: list of IRNodes reading it (a node once per input position)}."""
        result = collections.defaultdict(list)
        for node in self.nodes:
            for t in node.inputs:
                result[t].append(node)
        return result

    def control_users(self):
        """The set of nodes that are a control input of some node."""
        return {c for node in self.nodes for c in node.controls}

    def fetched(self):
        """The set of (resolved) fetched tensors."""
        return {self.resolve(t) for t in self.fetches}

    def has_fed_output(self, node):
        return any(t in self.feeds for t in node.outputs)

    # -- structure ---------------------------------------------------------------------------

    def remove(self, dead, replacement=None):
        """Drops the nodes in `dead`; control edges on them move to `replacement[node]`.

        Args:
          dead: a set of IRNodes.
          replacement: {dead node: live node} for nodes others may depend on by control.
        """
        replacement = replacement or {}
        kept = []
        for node in self.nodes:
            if node in dead:
                continue
            if node.controls:
                controls = []
                for c in node.controls:
                    c = replacement.get(c, c) if c in dead else c
                    if c not in dead and c is not node and c not in controls:
                        controls.append(c)
                node.controls = controls
            kept.append(node)
        self.nodes = kept
        self.targets = {replacement.get(n, n) for n in self.targets
                        if n not in dead or n in replacement}

    def fuse(self, root, members, op_type, record, attrs, inputs):
        """Makes `root` (the last of `members`, whose output the fused node yields) one
        fused node running `members`, and returns the other members, for `remove`.

        The node keeps each member's original op and inputs (the executor's fallback runs
        them one by one) and the control inputs of all members from outside the group.
        """
        group = set(members)
        controls = []
        for m in members:
            for c in m.controls:
                if c not in group and c not in controls:
                    controls.append(c)
        root.members = [m.op for m in members]
        root.member_inputs = [tuple(m.inputs) for m in members]
        root.type = op_type
        root.record = record
        root.attrs = attrs
        root.inputs = list(inputs)
        root.controls = controls
        return group - {root}

    def normalize(self):
        """Rewrites every input through `resolve` (call after a pass that used `replace`)."""
        if self._alias:
            for node in self.nodes:
                node.inputs = [self.resolve(t) for t in node.inputs]

    def order(self):
        """The nodes in execution order.

        Creation-order plans sort by key (every rank runs its sends, receives and
        collectives in the same global order). Others use dependency counts and a FIFO
        ready queue, ties broken by key (creation order).

        Raises:
          InternalError: if the nodes form a cycle.
        """
        if self.creation_order:
            return sorted(self.nodes, key=lambda n: n.key)
        producers = self.producers()
        pending = {}
        users = collections.defaultdict(list)
        for node in self.nodes:
            deps = set()
            for t in node.inputs:
                p = producers.get(t)
                if p is not None:
                    deps.add(p)
            deps.update(node.controls)
            deps.discard(node)
            pending[node] = len(deps)
            for d in deps:
                users[d].append(node)
        ready = collections.deque(sorted((n for n, c in pending.items() if c == 0),
                                         key=lambda n: n.key))
        order = []
        while ready:
            node = ready.popleft()
            order.append(node)
            for u in users[node]:
                pending[u] -= 1
                if pending[u] == 0:
                    ready.append(u)
        if len(order) != len(self.nodes):
            stuck = sorted(n.op.name for n, c in pending.items() if c > 0)
            raise errors.InternalError(None, None, "Graph has a cycle among ops: %s" % stuck[:10])
        return order
