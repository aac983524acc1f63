"""Greedy-by-size offset assignment (the algorithm TFLite Micro's GreedyMemoryPlanner uses).

Buffers are placed largest first; each goes at the lowest offset where it overlaps no already
placed buffer whose lifetime intersects its own. Pure function: buffers in, offsets out.
"""

from __future__ import annotations

from tinygen.plan.liveness import Buffer


def overlaps_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def greedy_by_size(bufs: list[Buffer]) -> dict[str, int]:
    placed: list[tuple[Buffer, int]] = []
    offsets: dict[str, int] = {}
    for b in sorted(bufs, key=lambda b: (-b.size, b.first, b.name)):
        busy = sorted((off, off + p.size) for p, off in placed if overlaps_in_time(p, b))
        offset = 0
        for lo, hi in busy:
            if offset + b.size <= lo:
                break
            offset = max(offset, hi)
        offsets[b.name] = offset
        placed.append((b, offset))
    return offsets


def check_no_overlap(bufs: list[Buffer], offsets: dict[str, int]) -> None:
    """The planner's invariant: simultaneously live buffers never share a byte."""
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if overlaps_in_time(a, b):
                oa, ob = offsets[a.name], offsets[b.name]
                if oa < ob + b.size and ob < oa + a.size:
                    raise AssertionError(f"buffers {a.name} and {b.name} overlap in the arena")


def peak(bufs: list[Buffer], offsets: dict[str, int]) -> int:
    return max((offsets[b.name] + b.size for b in bufs), default=0)
