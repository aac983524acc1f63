"""`select_kernels`: record one kernel variant per lowered node (see the package docstring)."""

from __future__ import annotations

from tinygen.errors import TinygenError
from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import Kernel, get
from tinygen.select.target import Target

POLICIES = ("auto", "ref")


def candidates(node: Node, graph: Graph, target: Target, policy: str = "auto") -> list[Kernel]:
    """The node's usable variants on `target`, in the op's preference order."""
    if policy not in POLICIES:
        raise TinygenError(f"unknown kernel policy {policy!r}: choose one of {', '.join(POLICIES)}")
    return [k for k in get(node.op).kernels
            if (policy == "auto" or k.reference) and k.needs <= target.features and k.supports(node, graph)]


def select_kernels(graph: Graph, target: Target, policy: str = "auto") -> Graph:
    """Set `node.kernel` on every node of a lowered graph (in place; returns the graph).

    A node that already names a kernel (a test pinning a variant) keeps it after a check that it
    is usable there; `policy="ref"` replaces every non-reference choice."""
    for node in graph.nodes:
        usable = candidates(node, graph, target, policy)
        if node.kernel:
            if any(k.symbol == node.kernel for k in usable):
                continue
            if policy == "auto":
                known = [k.symbol for k in get(node.op).kernels]
                raise TinygenError(f"{node.describe()}: kernel {node.kernel!r} cannot run this node on "
                                   f"{target.name} (variants: {', '.join(known)})")
        if not usable:
            raise TinygenError(f"{node.describe()}: no {node.op} kernel supports this node on {target.name}")
        node.kernel = usable[0].symbol
    return graph
