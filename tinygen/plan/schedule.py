"""Operator order: a topological order of the nodes with the smallest peak of live arena bytes.

The cost of an order is its memory lower bound: the largest, over nodes, of the bytes live while
the node runs, counted exactly as `liveness` counts them (arena tensors, the node's scratch, an
in-place output sharing its input's storage when the node is that input's last reader).

Search: dynamic programming over topological states. A state is the set S of nodes already run;
the bytes resident after S (tensors produced in S that a node outside S still reads) depend on S
alone, so among all orders reaching S only the one with the smallest peak so far matters. Running
node m from S costs  resident(S) + outputs(m) - (output sharing an input in place, less its lag
buffer when it runs in place on row bands) + scratch(m).
States are expanded level by level (level k = k nodes run). When a level holds more than the beam
width, only the states with the smallest (peak so far, resident bytes) are kept: a beam search,
exact whenever no level was cut (small or mostly sequential graphs), a heuristic otherwise.
The given order is returned unless the search found a strictly smaller peak.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import Graph
from tinygen.ops.base import get
from tinygen.plan.liveness import DEFAULT, PlanOptions, align, arena_inputs, external, inplace_candidate, lag_bytes

BEAM_WIDTH = 2000
TRANSITION_BUDGET = 150_000  # the beam narrows on long or wide graphs: about a second at worst


@dataclass
class _Node:
    preds: int  # bitmask of producer nodes
    succs: list[int]
    allocs: list[tuple[int, int]]  # (arena output bytes, consumer mask) per arena output
    scratch: int
    reads: list[tuple[int, int]]  # (bytes, consumer mask) per distinct arena input
    inplace: tuple[int, int] | None  # (bytes saved, consumer mask of the input) when it may alias


class _Problem:
    """The graph as bitmasks, so a transition costs a few integer operations."""

    def __init__(self, graph: Graph, options: PlanOptions = DEFAULT):
        ext = external(graph, options)
        producer: dict[str, int] = {}
        for i, n in enumerate(graph.nodes):
            for t in n.outputs:
                producer[t] = i
        consumers: dict[str, int] = {}
        for i, n in enumerate(graph.nodes):
            for t in n.inputs:
                consumers[t] = consumers.get(t, 0) | (1 << i)

        def arena(t: str) -> bool:
            return t not in ext and not graph.t(t).is_const

        self.nodes: list[_Node] = []
        for i, n in enumerate(graph.nodes):
            preds = 0
            for t in n.inputs:
                if t in producer:
                    preds |= 1 << producer[t]
            allocs = [(align(graph.t(t).nbytes), consumers.get(t, 0)) for t in n.outputs if arena(t)]
            reads = [(align(graph.t(t).nbytes), consumers[t]) for t in dict.fromkeys(n.inputs) if arena(t)]
            cand = inplace_candidate(graph, n, ext) if options.fusion else None
            saved = align(graph.t(cand[1]).nbytes) - align(lag_bytes(n, graph)) if cand else 0
            inplace = (saved, consumers[cand[0]]) if cand else None
            scratch = align(get(n.op).scratch_bytes(n, graph))
            self.nodes.append(_Node(preds, [], allocs, scratch, reads, inplace))
        # arena inputs are resident before the first node runs
        self.initial = sum(align(graph.t(t).nbytes) for t in arena_inputs(graph, options))
        for i, nd in enumerate(self.nodes):
            for j in range(len(self.nodes)):
                if nd.preds >> j & 1:
                    self.nodes[j].succs.append(i)

    def step(self, done: int, resident: int, m: int) -> tuple[int, int]:
        """(bytes live while m runs, bytes resident after it) from state `done`."""
        nd = self.nodes[m]
        after = done | (1 << m)
        during = resident + nd.scratch + sum(size for size, _ in nd.allocs)
        if nd.inplace is not None and nd.inplace[1] & ~after == 0:
            during -= nd.inplace[0]
        res = resident + sum(size for size, cons in nd.allocs if cons & ~after)
        res -= sum(size for size, cons in nd.reads if cons & ~after == 0)
        return during, res

    def peak(self, order: list[int]) -> int:
        done = best = 0
        resident = self.initial
        for m in order:
            during, resident = self.step(done, resident, m)
            done |= 1 << m
            best = max(best, during)
        return best


def order_peak(graph: Graph, order: list[int], options: PlanOptions = DEFAULT) -> int:
    """Peak live arena bytes when the nodes run in `order` (equals the plan's lower bound)."""
    return _Problem(graph, options).peak(order)


def search(graph: Graph, beam_width: int = BEAM_WIDTH,
           options: PlanOptions = DEFAULT) -> tuple[list[int], int, bool]:
    """(order, its peak, exact): the level-by-level DP described in the module docstring."""
    prob = _Problem(graph, options)
    n = len(prob.nodes)
    if n == 0:
        return [], 0, True
    start_ready = tuple(i for i, nd in enumerate(prob.nodes) if nd.preds == 0)
    level: dict[int, tuple[int, int, tuple[int, ...]]] = {0: (0, prob.initial, start_ready)}  # peak, resident, ready
    back: list[dict[int, tuple[int, int]]] = []  # per level: state -> (previous state, node)
    exact = True
    for _ in range(n):
        nxt: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        links: dict[int, tuple[int, int]] = {}
        moves = sum(len(ready) for _, _, ready in level.values())
        width = max(8, min(beam_width, TRANSITION_BUDGET * len(level) // max(1, n * moves)))
        for done, (pk, res, ready) in level.items():
            for m in ready:
                during, res2 = prob.step(done, res, m)
                pk2 = max(pk, during)
                after = done | (1 << m)
                if after in nxt and nxt[after][0] <= pk2:
                    continue
                new = [r for r in ready if r != m]
                new += [s for s in prob.nodes[m].succs if prob.nodes[s].preds & ~after == 0]
                nxt[after] = (pk2, res2, tuple(sorted(new)))
                links[after] = (done, m)
        if not nxt:
            raise ValueError("the graph has a cycle or reads a tensor nothing writes")
        if len(nxt) > width:
            exact = False
            keep = sorted(nxt, key=lambda s: (nxt[s][0], nxt[s][1]))[:width]
            nxt = {s: nxt[s] for s in keep}
        back.append(links)
        level = nxt
    (final, (pk, _, _)), = level.items()
    order = []
    for links in reversed(back):
        final, m = links[final]
        order.append(m)
    order.reverse()
    return order, pk, exact


def schedule(graph: Graph, beam_width: int = BEAM_WIDTH, options: PlanOptions = DEFAULT) -> list[int]:
    """A topological order of node indices; the given order unless another has a smaller peak."""
    given = list(range(len(graph.nodes)))
    order, pk, _ = search(graph, beam_width, options)
    return order if pk < order_peak(graph, given, options) else given


def apply_schedule(graph: Graph, order: list[int]) -> Graph:
    """A copy of `graph` with its nodes in `order` (which must be a topological order)."""
    if sorted(order) != list(range(len(graph.nodes))):
        raise ValueError(f"order must be a permutation of 0..{len(graph.nodes) - 1}")
    g = graph.copy()
    g.nodes = [g.nodes[i] for i in order]
    written = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const}
    for node in g.nodes:
        missing = [t for t in node.inputs if t not in written]
        if missing:
            raise ValueError(f"order runs {node.describe()} before {missing[0]!r} is written")
        written.update(node.outputs)
    return g
