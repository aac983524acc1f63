"""Turn a lowered graph into buffers with lifetimes [first, last] in node-index units.

Graph inputs and outputs live in the caller's buffers, not in the arena. A node's scratch buffer
lives only during that node. A tensor produced by an op that may run in place on one of its
inputs shares that input's buffer (an alias) when the input dies at that node.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import Graph
from tinygen.ops.base import get

ALIGN = 16


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Buffer:
    name: str  # tensor name, or "<node>/scratch"
    size: int  # bytes, aligned
    first: int  # index of the node that writes it first
    last: int  # index of the last node that reads it


def find_aliases(graph: Graph) -> dict[str, str]:
    """tensor -> tensor whose storage it reuses (in-place ops)."""
    last_use: dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for t in n.inputs:
            last_use[t] = i
    external = set(graph.inputs) | set(graph.outputs)
    aliases: dict[str, str] = {}
    for i, n in enumerate(graph.nodes):
        k = get(n.op).inplace_input(n, graph)
        if k is None:
            continue
        src, dst = n.inputs[k], n.outputs[0]
        root = aliases.get(src, src)
        if dst in external or root in external or last_use.get(src) != i:
            continue
        if graph.t(src).nbytes != graph.t(dst).nbytes or n.inputs.count(src) > 1:
            continue
        aliases[dst] = root
    return aliases


def buffers(graph: Graph, aliases: dict[str, str]) -> list[Buffer]:
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    external = set(graph.inputs) | set(graph.outputs)
    for i, n in enumerate(graph.nodes):
        for t in n.outputs:
            root = aliases.get(t, t)
            first.setdefault(root, i)
            last[root] = max(last.get(root, i), i)
        for t in n.inputs:
            if graph.t(t).is_const:
                continue
            root = aliases.get(t, t)
            last[root] = max(last.get(root, i), i)
    out = [Buffer(t, align(graph.t(t).nbytes), first[t], last[t]) for t in first if t not in external]
    for i, n in enumerate(graph.nodes):
        s = get(n.op).scratch_bytes(n, graph)
        if s:
            out.append(Buffer(f"{n.name}/scratch", align(s), i, i))
    return out


def lower_bound(bufs: list[Buffer], num_nodes: int) -> int:
    """Largest total size of buffers live at one node: no placement can use less."""
    best = 0
    for i in range(num_nodes):
        best = max(best, sum(b.size for b in bufs if b.first <= i <= b.last))
    return best
