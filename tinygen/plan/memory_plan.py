"""The plan handed to codegen: where every arena tensor and scratch buffer lives.

`plan_memory(graph)` plans the graph in its node order: liveness (with in-place aliases and
scratch) -> buffers -> `assign.assign_offsets`. `plan_with_schedule(graph)` first looks for a
node order with less live memory (`schedule`) and keeps whichever order gives the smaller arena.
Both take `PlanOptions` (graph inputs in the arena, in-place on or off).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import get
from tinygen.plan import assign, fusion, liveness, patch
from tinygen.plan.liveness import DEFAULT, PlanOptions
from tinygen.plan.schedule import apply_schedule, schedule


@dataclass
class MemoryPlan:
    offsets: dict[str, int]  # arena tensor (alias root) or "<node>/scratch" -> byte offset
    arena_bytes: int
    lower_bound: int  # largest sum of simultaneously live buffers: no plan of this order is smaller
    aliases: dict[str, str] = field(default_factory=dict)  # tensor -> tensor sharing its storage
    buffers: list[liveness.Buffer] = field(default_factory=list)
    method: str = ""  # which placement won, e.g. "size/first-fit" or "exact"
    optimal: bool = False  # proved minimal for this order (equals the lower bound or exact search)
    options: PlanOptions = DEFAULT
    arena_inputs: list[str] = field(default_factory=list)  # graph inputs the caller writes into the arena
    rescheduled: bool = False  # plan_with_schedule changed the node order
    chains: dict[str, fusion.Chain] = field(default_factory=dict)  # last node -> fused chain run there (fusion.py)
    patches: list[patch.Stage] = field(default_factory=list)  # patch-based stages (patch.py)

    def offset_of(self, tensor: str) -> int:
        return self.offsets[self.aliases.get(tensor, tensor)]

    def scratch_buffer(self, node: Node) -> str:
        """The buffer holding a node's scratch: its own, or the one its chain or patch stage shares."""
        for st in self.patches:
            if node.name in st.nodes:
                return patch.scratch_name(st)
        for last, ch in self.chains.items():
            if node.name in ch.members:
                return liveness.chain_scratch_name(last)
        return liveness.scratch_name(node)

    def fused_into(self, node: str) -> str:
        """The node whose call computes this node's output band by band ("" when it runs itself)."""
        for st in self.patches:
            if node in st.nodes and node != st.first:
                return st.first
        for last, ch in self.chains.items():
            if node in ch.members and node != last:
                return last
        return ""

    def live_bytes(self, num_nodes: int) -> list[int]:
        """Arena bytes live at each node index."""
        return liveness.live_bytes(self.buffers, num_nodes)


def _layout(graph: Graph, options: PlanOptions, chains: list, skip: set[int], stages=()):
    aliases = liveness.find_aliases(graph, options, chains, skip, stages)
    return aliases, liveness.buffers(graph, aliases, options, chains, stages)


def _cheapest(graph: Graph, options: PlanOptions, chains: list, bound: int, stages=()):
    """(chains, skip): the executions that cost instructions (a layer in place on row bands, a
    fused chain) kept only where dropping them raises the lower bound above `bound`, the one with
    all of them. Greedy: the one over the most MACs (the costliest to run banded) is dropped first,
    its layers then running whole; free in-place layers always stay. A chain that must stay may
    still shrink to a shorter one without its add (fusion.shorter: fewer, larger calls)."""
    aliases, _ = _layout(graph, options, chains, set(), stages)
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    ext = liveness.external(graph, options)

    def macs(idx) -> int:
        return sum(get(graph.nodes[i].op).macs(graph.nodes[i], graph) for i in idx)

    def fits(ch: list, sk: set[int]) -> bool:
        return liveness.lower_bound(_layout(graph, options, ch, sk, stages)[1], len(graph.nodes)) <= bound

    choices = [(macs([i]), "row", i) for i, n in enumerate(graph.nodes)
               if n.outputs and n.outputs[0] in aliases and liveness.lag_bytes(n, graph)]
    choices += [(macs([index[m] for m in c.members]), "chain", k) for k, c in enumerate(chains)]
    keep, skip = list(chains), set()
    for _, kind, key in sorted(choices, key=lambda c: (-c[0], c[1], c[2])):
        if kind == "row":
            if fits(keep, skip | {key}):
                skip = skip | {key}
            continue
        ch = chains[key]
        rest, sk = [c for c in keep if c is not ch], skip | {index[m] for m in ch.members}
        if fits(rest, sk):
            keep, skip = rest, sk
            continue
        for short in fusion.shorter(graph, ext, ch):
            if fits(rest + [short], sk - {index[m] for m in short.members}):
                keep, skip = rest + [short], sk - {index[m] for m in short.members}
                break
    return keep, skip


def plan_memory(graph: Graph, options: PlanOptions = DEFAULT, stages: list[patch.Stage] = ()) -> MemoryPlan:
    """The plan for this order: fused chains and in-place layers where they lower the peak
    (`_cheapest`: the same lower bound as with all of them, at fewer instructions), with the given
    patch stages (their members consecutive in this order; none of them fused). A chain without an
    add takes its convs from in-place execution (a stride-1 same-size conv on row bands holds one
    tensor, a chain two), so the plan without those chains is made too, and the smaller arena wins."""
    ext = liveness.external(graph, options)
    members = {i for i, n in enumerate(graph.nodes) if any(n.name in st.nodes for st in stages)}
    chains = fusion.chains(graph, ext, members) if options.fusion else []
    plan = _plan_with(graph, options, chains, stages)
    if any(not c.add for c in chains):
        other = _plan_with(graph, options, [c for c in chains if c.add], stages)
        if (other.arena_bytes, other.lower_bound) < (plan.arena_bytes, plan.lower_bound):
            plan = other
    return plan


def _plan_with(graph: Graph, options: PlanOptions, chains: list, stages) -> MemoryPlan:
    aliases, bufs = _layout(graph, options, chains, set(), stages)
    placed = assign.assign_offsets(bufs)
    if options.fusion and options.cheapest:
        c, skip = _cheapest(graph, options, chains, liveness.lower_bound(bufs, len(graph.nodes)), stages)
        if skip:
            a2, bufs2 = _layout(graph, options, c, skip, stages)
            placed2 = assign.assign_offsets(bufs2)
            if placed2.arena_bytes <= placed.arena_bytes:  # unless its placement comes out larger
                chains, aliases, bufs, placed = c, a2, bufs2, placed2
    return MemoryPlan(placed.offsets, placed.arena_bytes, liveness.lower_bound(bufs, len(graph.nodes)),
                      aliases, bufs, placed.method, placed.optimal, options, liveness.arena_inputs(graph, options),
                      chains={c.last: c for c in chains}, patches=list(stages))


def plain_lower_bound(graph: Graph, options: PlanOptions = DEFAULT) -> int:
    """The lower bound of this order run layer at a time (no in-place or fused execution), with the
    same input placement: what the chosen schedule is measured against."""
    plain = PlanOptions(input_in_arena=options.input_in_arena, fusion=False)
    return liveness.lower_bound(liveness.buffers(graph, {}, plain), len(graph.nodes))


def plan_with_schedule(graph: Graph, options: PlanOptions = DEFAULT) -> tuple[Graph, MemoryPlan]:
    """(graph in the chosen order, its plan): the scheduled order unless the given one plans smaller."""
    given = plan_memory(graph, options)
    order = schedule(graph, options=options)
    if order != list(range(len(graph.nodes))):
        reordered = apply_schedule(graph, order)
        plan = plan_memory(reordered, options)
        if plan.arena_bytes <= given.arena_bytes:
            plan.rescheduled = True
            graph, given = reordered, plan
    return _patched(graph, given, options)


def _patched(graph: Graph, plan: MemoryPlan, options: PlanOptions) -> tuple[Graph, MemoryPlan]:
    """The graph and plan with patch stages (patch.choose), where they give a smaller arena."""
    if not options.fusion or options.patch_budget <= 0:
        return graph, plan
    ext = liveness.external(graph, options)

    def live(g: Graph, stages) -> list[int]:
        _, bufs = _layout(g, options, [], set(), stages)
        return liveness.live_bytes(bufs, len(g.nodes))

    g2, stages = patch.choose(graph, ext, patch.budget(graph, options.patch_budget), live)
    if not stages:
        return graph, plan
    p2 = plan_memory(g2, options, stages)
    if p2.arena_bytes < plan.arena_bytes:
        p2.rescheduled = plan.rescheduled or g2 is not graph
        return g2, p2
    return graph, plan
