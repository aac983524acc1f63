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
    fused: dict[str, str] = field(default_factory=dict)  # node m -> node n computing m's rows (fusion.py)
    residual: dict[str, fusion.Residual] = field(default_factory=dict)  # block's add -> block (fusion.py)
    patches: list[patch.Stage] = field(default_factory=list)  # patch-based stages (patch.py)

    def offset_of(self, tensor: str) -> int:
        return self.offsets[self.aliases.get(tensor, tensor)]

    def scratch_buffer(self, node: Node) -> str:
        """The buffer holding a node's scratch: its own, or the one its residual block or patch stage shares."""
        for st in self.patches:
            if node.name in st.nodes:
                return patch.scratch_name(st)
        for add, blk in self.residual.items():
            if node.name in blk.members:
                return liveness.residual_scratch_name(add)
        return liveness.scratch_name(node)

    def fused_into(self, node: str) -> str:
        """The node whose call computes this node's output band by band ("" when it runs itself)."""
        if node in self.fused:
            return self.fused[node]
        for st in self.patches:
            if node in st.nodes and node != st.first:
                return st.first
        for add, blk in self.residual.items():
            if node in blk.members and node != add:
                return add
        return ""

    def live_bytes(self, num_nodes: int) -> list[int]:
        """Arena bytes live at each node index."""
        return liveness.live_bytes(self.buffers, num_nodes)


def _layout(graph: Graph, options: PlanOptions, fused: dict, blocks: list, skip: set[int], stages=()):
    aliases = liveness.find_aliases(graph, options, fused, blocks, skip, stages)
    return aliases, liveness.buffers(graph, aliases, options, fused, blocks, stages)


def _cheapest(graph: Graph, options: PlanOptions, fused: dict, blocks: list, bound: int, stages=(),
              inner: dict | None = None):
    """(fused, blocks, skip): the executions that cost instructions (a layer in place on row bands,
    a fused pair, a residual block) kept only where dropping them raises the lower bound above
    `bound`, the one with all of them. Greedy: the one over the most MACs (the costliest to run
    banded) is dropped first, its layers then running whole; free in-place layers always stay. A
    block that must stay may still shrink to a fused pair among its convs (`inner`: the pairs the
    blocks took), which runs fewer, larger calls."""
    aliases, _ = _layout(graph, options, fused, blocks, set(), stages)
    index = {n.name: i for i, n in enumerate(graph.nodes)}

    def macs(idx) -> int:
        return sum(get(graph.nodes[i].op).macs(graph.nodes[i], graph) for i in idx)

    choices = [(macs([i]), "row", i) for i, n in enumerate(graph.nodes)
               if n.outputs and n.outputs[0] in aliases and liveness.lag_bytes(n, graph)]
    choices += [(macs([m, n]), "pair", m) for m, (n, _) in fused.items()]
    choices += [(macs([index[m] for m in b.members]), "block", k) for k, b in enumerate(blocks)]
    keep_fused, keep_blocks, skip = dict(fused), list(blocks), set()
    for _, kind, key in sorted(choices, key=lambda c: (-c[0], c[1], c[2])):
        f, b, sk = dict(keep_fused), list(keep_blocks), set(skip)
        if kind == "row":
            sk.add(key)
        elif kind == "pair":
            sk |= {key, f.pop(key)[0]}
        else:
            sk |= {index[m] for m in blocks[key].members}
            b.remove(blocks[key])
        _, bufs = _layout(graph, options, f, b, sk, stages)
        if liveness.lower_bound(bufs, len(graph.nodes)) <= bound:
            keep_fused, keep_blocks, skip = f, b, sk
        elif kind == "block":
            pair = [(m, v) for m, v in (inner or {}).items() if graph.nodes[m].name in blocks[key].members]
            if pair:
                f2 = {**f, **dict(pair)}
                _, bufs = _layout(graph, options, f2, b, sk - {i for m, (n, _) in pair for i in (m, n)}, stages)
                if liveness.lower_bound(bufs, len(graph.nodes)) <= bound:
                    keep_fused, keep_blocks, skip = f2, b, sk - {i for m, (n, _) in pair for i in (m, n)}
    return keep_fused, keep_blocks, skip


def plan_memory(graph: Graph, options: PlanOptions = DEFAULT, stages: list[patch.Stage] = ()) -> MemoryPlan:
    """The plan for this order: fused pairs, residual blocks and in-place layers where they lower
    the peak (`_cheapest`: the same lower bound as with all of them, at fewer instructions), with
    the given patch stages (their members consecutive in this order; none of them fused)."""
    ext = liveness.external(graph, options)
    members = {i for i, n in enumerate(graph.nodes) if any(n.name in st.nodes for st in stages)}
    # blocks first: an inverted residual's expand -> depthwise would otherwise be taken as a pair
    blocks = fusion.residual_blocks(graph, ext, members) if options.fusion else []
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    taken = members | {index[m] for b in blocks for m in b.members}
    pairs = fusion.fused_pairs(graph, ext) if options.fusion else {}
    fused = {i: v for i, v in pairs.items() if i not in taken and v[0] not in taken}
    inner = {i: v for i, v in pairs.items() if i not in members and i not in fused}  # pairs inside blocks
    aliases, bufs = _layout(graph, options, fused, blocks, set(), stages)
    placed = assign.assign_offsets(bufs)
    if options.fusion and options.cheapest:
        f, b, skip = _cheapest(graph, options, fused, blocks, liveness.lower_bound(bufs, len(graph.nodes)), stages,
                               inner)
        if skip:
            a2, bufs2 = _layout(graph, options, f, b, skip, stages)
            placed2 = assign.assign_offsets(bufs2)
            if placed2.arena_bytes <= placed.arena_bytes:  # unless its placement comes out larger
                fused, blocks, aliases, bufs, placed = f, b, a2, bufs2, placed2
    names = {graph.nodes[i].name: graph.nodes[j].name for i, (j, _) in fused.items()}
    return MemoryPlan(placed.offsets, placed.arena_bytes, liveness.lower_bound(bufs, len(graph.nodes)),
                      aliases, bufs, placed.method, placed.optimal, options, liveness.arena_inputs(graph, options),
                      fused=names, residual={b.add: b for b in blocks}, patches=list(stages))


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
        _, bufs = _layout(g, options, {}, [], set(), stages)
        return liveness.live_bytes(bufs, len(g.nodes))

    g2, stages = patch.choose(graph, ext, patch.budget(graph, options.patch_budget), live)
    if not stages:
        return graph, plan
    p2 = plan_memory(g2, options, stages)
    if p2.arena_bytes < plan.arena_bytes:
        p2.rescheduled = plan.rescheduled or g2 is not graph
        return g2, p2
    return graph, plan
