"""Offsets for a set of buffers: the best of several greedy placements, then an exact search.

Every order in `greedy.ORDERS` is placed with first fit and with best fit; the lowest peak wins
(ties go to the earlier entry, so the result is deterministic), and `greedy.improve_order`
polishes it. If the peak is still above the lower bound and there are at most
`exact_max_buffers` buffers, `exact.branch_and_bound` looks for a better placement, seeded with
that peak. Both searches have budgets (placements, expansions) that shrink as the buffer count,
and so the cost of one step, grows: about a second at worst, and deterministic. The result is
checked against the invariant (no two simultaneously live buffers share a byte) before it is
returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.plan import exact, greedy
from tinygen.plan.liveness import Buffer, lower_bound

LOCAL_SEARCH_WORK = 2_000_000  # placements x buffers^2 (one placement costs ~buffers^2 steps)
EXACT_MAX_BUFFERS = 256
EXACT_NODE_BUDGET = 50_000  # expansions for up to ~28 buffers
EXACT_WORK_BUDGET = 40_000_000  # expansions x buffers^2 (one expansion costs ~buffers^2 steps)


def node_budget_for(num_buffers: int, node_budget: int = EXACT_NODE_BUDGET) -> int:
    return max(100, min(node_budget, EXACT_WORK_BUDGET // max(1, num_buffers) ** 2))


@dataclass(frozen=True)
class Placement:
    offsets: dict[str, int]
    arena_bytes: int
    method: str  # e.g. "size/first-fit", "exact"
    optimal: bool  # proved: equals the lower bound, or the exact search finished


def assign_offsets(bufs: list[Buffer], exact_max_buffers: int = EXACT_MAX_BUFFERS,
                   node_budget: int | None = None) -> Placement:
    floor = lower_bound(bufs)
    conf = greedy.conflicts(bufs)
    best: tuple[int, str, list[int], bool, list[int]] | None = None  # peak, method, order, best fit, offsets
    for name, order_fn in greedy.ORDERS.items():
        order = order_fn(bufs, conf)
        for best_fit in (False, True):
            offs = greedy.place_in_order(bufs, order, best_fit, conf)
            peak = max((o + b.size for o, b in zip(offs, bufs)), default=0)
            if best is None or peak < best[0]:
                best = (peak, f"{name}/{'best' if best_fit else 'first'}-fit", order, best_fit, offs)
            if peak <= floor:
                break
        if best[0] <= floor:
            break
    if best is None:
        return Placement({}, 0, "empty", True)
    peak, method, order, best_fit, offs = best
    if peak > floor:
        budget = max(10, LOCAL_SEARCH_WORK // max(1, len(bufs)) ** 2)
        peak2, _, offs2 = greedy.improve_order(bufs, order, best_fit, conf, floor, budget)
        if peak2 < peak:
            peak, method, offs = peak2, method + "+local", offs2
    optimal = peak <= floor
    if not optimal and len(bufs) <= exact_max_buffers:
        budget = node_budget_for(len(bufs)) if node_budget is None else node_budget
        found, proved = exact.branch_and_bound(bufs, peak, budget)
        if found is not None:
            offs, method = found, "exact"
            peak = max(o + b.size for o, b in zip(offs, bufs))
        optimal = proved
    offsets = {b.name: o for b, o in zip(bufs, offs)}
    greedy.check_no_overlap(bufs, offsets)
    return Placement(offsets, peak, method, optimal)
