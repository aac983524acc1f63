"""The plan handed to codegen: where every arena tensor and scratch buffer lives."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinygen.ir.graph import Graph
from tinygen.plan import greedy, liveness


@dataclass
class MemoryPlan:
    offsets: dict[str, int]  # arena tensor or "<node>/scratch" -> byte offset
    arena_bytes: int
    lower_bound: int
    aliases: dict[str, str] = field(default_factory=dict)  # tensor -> tensor sharing its storage
    buffers: list[liveness.Buffer] = field(default_factory=list)

    def offset_of(self, tensor: str) -> int:
        return self.offsets[self.aliases.get(tensor, tensor)]


def plan_memory(graph: Graph) -> MemoryPlan:
    aliases = liveness.find_aliases(graph)
    bufs = liveness.buffers(graph, aliases)
    offsets = greedy.greedy_by_size(bufs)
    greedy.check_no_overlap(bufs, offsets)
    return MemoryPlan(offsets, greedy.peak(bufs, offsets), liveness.lower_bound(bufs, len(graph.nodes)), aliases, bufs)
