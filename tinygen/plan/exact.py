"""Exact offset assignment by branch and bound, for small buffer sets.

Why the search space is small: push every buffer of an optimal placement down as far as it goes
(this never raises the peak). Afterwards each buffer sits at offset 0 or on top of a buffer it is
live with, and taking the buffers by increasing (offset, index), each one's offset equals the
highest top among the already taken buffers it is live with. So it suffices to search over orders
in which every buffer is dropped onto that "skyline" and the offsets never decrease; buffers at
equal offsets are taken by increasing index, and identical buffers (same size and lifetime) in
index order.

Bound: a buffer not yet placed will sit at least at max(current offset, its skyline), and the
buffers not yet placed that are live at one node stack above the lowest of those, so
    peak >= min(those lower limits) + sum(their sizes)   at every node.
A branch is cut when that bound reaches the best peak found so far (the incumbent, seeded by the
heuristics). The search stops when it meets the global lower bound, or after `node_budget`
expansions; a budget, not a clock, keeps the result deterministic.
"""

from __future__ import annotations

from tinygen.plan.greedy import conflicts
from tinygen.plan.liveness import Buffer, lower_bound


def branch_and_bound(bufs: list[Buffer], incumbent: int, node_budget: int = 50_000) -> tuple[list[int] | None, bool]:
    """(offsets indexed like `bufs` with a peak below `incumbent` or None, whether proved optimal).

    "Proved" means no placement has a peak below the returned one (or below `incumbent` when
    nothing better was found)."""
    n = len(bufs)
    size = [b.size for b in bufs]
    conf = conflicts(bufs)
    floor = lower_bound(bufs)
    if incumbent <= floor:
        return None, True
    times = sorted({b.first for b in bufs})
    live_at = [[i for i, b in enumerate(bufs) if b.live_at(t) and b.size] for t in times]
    twin = [-1] * n  # previous identical buffer: taken first, to skip permutations of equals
    for i in range(n):
        for j in range(i - 1, -1, -1):
            if (size[j], bufs[j].first, bufs[j].last) == (size[i], bufs[i].first, bufs[i].last):
                twin[i] = j
                break

    sky = [0] * n
    off = [0] * n
    placed = [size[i] == 0 for i in range(n)]
    todo = sum(1 for i in range(n) if not placed[i])
    state = {"best": incumbent, "best_off": None, "nodes": 0, "aborted": False}

    def bound(o_cur: int, cur_peak: int) -> int:
        b = cur_peak
        for members in live_at:
            total, low = 0, None
            for i in members:
                if not placed[i]:
                    total += size[i]
                    lim = sky[i] if sky[i] > o_cur else o_cur
                    low = lim if low is None or lim < low else low
            if total and low + total > b:
                b = low + total
        return b

    def dfs(o_cur: int, last: int, cur_peak: int, left: int) -> None:
        if left == 0:
            if cur_peak < state["best"]:
                state["best"], state["best_off"] = cur_peak, list(off)
            return
        state["nodes"] += 1
        if state["nodes"] > node_budget:
            state["aborted"] = True
            return
        if bound(o_cur, cur_peak) >= state["best"]:
            return
        cands = [i for i in range(n) if not placed[i] and (sky[i] > o_cur or (sky[i] == o_cur and i > last))
                 and (twin[i] < 0 or placed[twin[i]])]
        cands.sort(key=lambda i: (sky[i], -size[i], i))
        for i in cands:
            o, top = sky[i], sky[i] + size[i]
            if top >= state["best"]:
                continue
            placed[i], off[i] = True, o
            saved = [(j, sky[j]) for j in conf[i] if not placed[j] and sky[j] < top]
            for j, _ in saved:
                sky[j] = top
            dfs(o, i, max(cur_peak, top), left - 1)
            for j, s in saved:
                sky[j] = s
            placed[i] = False
            if state["aborted"] or state["best"] <= floor:
                return

    dfs(0, -1, 0, todo)
    return state["best_off"], not state["aborted"]
