"""Greedy offset assignment: place buffers one by one in a chosen order.

Each buffer goes into a gap between the already placed buffers whose lifetimes intersect its own:
the lowest gap that fits (first fit, what TFLite Micro's GreedyMemoryPlanner does) or the
tightest one (best fit). Which order works best depends on the graph, so `ORDERS` holds several
classic ones and the caller keeps the best result:

* size: largest first (TFLM greedy by size);
* area: largest size x lifetime first;
* conflict: largest total size of the buffers it is live with first (greedy by conflict);
* breadth: walk the node indices from the one with the most live bytes down, placing the buffers
  live there largest first (TFLite greedy by breadth);
* duration: longest lifetime first;
* time: earliest first (a left-to-right sweep).

`improve_order` then polishes the winning order by local search: move one buffer to the front,
keep the first move that lowers the peak, repeat until no move helps or the budget of placements
is spent.

Pure functions: buffers in, offsets out.
"""

from __future__ import annotations

from typing import Callable

from tinygen.plan.liveness import ALIGN, Buffer, live_bytes


def overlaps_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def conflicts(bufs: list[Buffer]) -> list[list[int]]:
    """For each buffer, the indices of the other buffers live at some common node."""
    out: list[list[int]] = [[] for _ in bufs]
    for i, a in enumerate(bufs):
        for j in range(i + 1, len(bufs)):
            if overlaps_in_time(a, bufs[j]):
                out[i].append(j)
                out[j].append(i)
    return out


def place_in_order(bufs: list[Buffer], order: list[int], best_fit: bool = False,
                   conf: list[list[int]] | None = None) -> list[int]:
    """Offsets (indexed like `bufs`) from placing the buffers in `order`, first or best fit."""
    conf = conflicts(bufs) if conf is None else conf
    offset: list[int | None] = [None] * len(bufs)
    for i in order:
        size = bufs[i].size
        busy = sorted((offset[j], offset[j] + bufs[j].size) for j in conf[i] if offset[j] is not None)
        chosen, slack, lo = None, None, 0
        for b_lo, b_hi in busy:
            gap = b_lo - lo
            if gap >= size and (slack is None or gap - size < slack):
                chosen, slack = lo, gap - size
                if not best_fit or slack == 0:
                    break
            lo = max(lo, b_hi)
        offset[i] = lo if chosen is None else chosen
    return [o or 0 for o in offset]


def _by(key: Callable[[int], tuple]) -> Callable[[list[Buffer], list[list[int]]], list[int]]:
    return lambda bufs, conf: sorted(range(len(bufs)), key=lambda i: key(bufs, conf, i))


def _breadth(bufs: list[Buffer], conf: list[list[int]]) -> list[int]:
    steps = max((b.last + 1 for b in bufs), default=0)
    live = live_bytes(bufs, steps)
    order: list[int] = []
    seen: set[int] = set()
    for t in sorted(range(steps), key=lambda t: (-live[t], t)):
        here = [i for i, b in enumerate(bufs) if b.live_at(t) and i not in seen]
        for i in sorted(here, key=lambda i: (-bufs[i].size, bufs[i].first, bufs[i].name)):
            seen.add(i)
            order.append(i)
    return order


def _tie(b: Buffer) -> tuple:
    return (b.first, b.name)


ORDERS: dict[str, Callable[[list[Buffer], list[list[int]]], list[int]]] = {
    "size": _by(lambda B, C, i: (-B[i].size, -(B[i].last - B[i].first), *_tie(B[i]))),
    "area": _by(lambda B, C, i: (-B[i].size * (B[i].last - B[i].first + 1), -B[i].size, *_tie(B[i]))),
    "conflict": _by(lambda B, C, i: (-(B[i].size + sum(B[j].size for j in C[i])), -B[i].size, *_tie(B[i]))),
    "breadth": _breadth,
    "duration": _by(lambda B, C, i: (-(B[i].last - B[i].first), -B[i].size, *_tie(B[i]))),
    "time": _by(lambda B, C, i: (B[i].first, -B[i].size, B[i].name)),
}


def _peak_of(bufs: list[Buffer], offs: list[int]) -> int:
    return max((o + b.size for o, b in zip(offs, bufs)), default=0)


def improve_order(bufs: list[Buffer], order: list[int], best_fit: bool, conf: list[list[int]],
                  floor: int, budget: int) -> tuple[int, list[int], list[int]]:
    """(peak, order, offsets) after move-to-front local search from `order`; stops at `floor`."""
    offs = place_in_order(bufs, order, best_fit, conf)
    peak_now = _peak_of(bufs, offs)
    improved = True
    while improved and budget > 0 and peak_now > floor:
        improved = False
        for k in range(1, len(order)):
            if budget <= 0:
                break
            budget -= 1
            cand = [order[k]] + order[:k] + order[k + 1:]
            cand_offs = place_in_order(bufs, cand, best_fit, conf)
            if _peak_of(bufs, cand_offs) < peak_now:
                order, offs, peak_now, improved = cand, cand_offs, _peak_of(bufs, cand_offs), True
                break
    return peak_now, order, offs


def greedy_by_size(bufs: list[Buffer]) -> dict[str, int]:
    """TFLM's planner: largest first, lowest offset that fits."""
    conf = conflicts(bufs)
    offs = place_in_order(bufs, ORDERS["size"](bufs, conf), False, conf)
    return {b.name: o for b, o in zip(bufs, offs)}


def check_no_overlap(bufs: list[Buffer], offsets: dict[str, int]) -> None:
    """The planner's invariant: simultaneously live buffers never share a byte."""
    for i, a in enumerate(bufs):
        if offsets[a.name] < 0 or (a.size and offsets[a.name] % ALIGN):
            raise AssertionError(f"buffer {a.name} has a negative or unaligned offset {offsets[a.name]}")
        for b in bufs[i + 1:]:
            if overlaps_in_time(a, b):
                oa, ob = offsets[a.name], offsets[b.name]
                if oa < ob + b.size and ob < oa + a.size:
                    raise AssertionError(f"buffers {a.name} and {b.name} overlap in the arena")


def peak(bufs: list[Buffer], offsets: dict[str, int]) -> int:
    return max((offsets[b.name] + b.size for b in bufs), default=0)
