"""Pruning: drops the nodes that earlier rewrites left without a use."""


def pruning(ir, context):
    """Dead node elimination after rewriting.

    Pattern: a node none of whose outputs is fetched or read, that is not a target nor a
    control input of a kept node -> removed. Stateful nodes and context kernels of the
    pruned graph are always kept (they ran before the rewrites, so they still run: a
    random op feeding a folded `Shape` still advances its generator).
    """
    producers = ir.producers()
    live = set()
    stack = [producers[t] for t in ir.fetched() if t in producers]
    stack.extend(ir.targets)
    stack.extend(node for node in ir.nodes if node.stateful)
    while stack:
        node = stack.pop()
        if node in live:
            continue
        live.add(node)
        for t in node.inputs:
            p = producers.get(t)
            if p is not None and p not in live:
                stack.append(p)
        stack.extend(c for c in node.controls if c not in live)
    dead = {node for node in ir.nodes if node not in live}
    if dead:
        ir.remove(dead)
    return len(dead)
