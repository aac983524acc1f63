"""Operator order: valid, never worse than the given order, optimal on small graphs."""

import numpy as np
import pytest

from tests.plan.graphs import Builder, check_plan, random_graph, topological_orders
from tinygen.plan import apply_schedule, liveness, order_peak, plan_memory, plan_with_schedule, schedule
from tinygen.plan.schedule import search


def seeds(n, start=0):
    return pytest.mark.parametrize("seed", range(start, start + n), ids=lambda s: f"seed{s}")


def liveness_peak(graph, order) -> int:
    """The lower bound of an order computed the slow way: reorder, then liveness."""
    g = apply_schedule(graph, order)
    return liveness.lower_bound(liveness.buffers(g, liveness.find_aliases(g)), len(g.nodes))


def is_topological(graph, order) -> bool:
    written = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const}
    for i in order:
        if any(t not in written for t in graph.nodes[i].inputs):
            return False
        written.update(graph.nodes[i].outputs)
    return sorted(order) == list(range(len(graph.nodes)))


@seeds(40)
def test_small_graphs_match_brute_force_over_all_orders(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(seed, int(rng.integers(2, 8)))
    best = min(liveness_peak(g, o) for o in topological_orders(g))
    order = schedule(g)
    assert is_topological(g, order)
    assert liveness_peak(g, order) == order_peak(g, order) == best
    assert search(g)[2]  # exact: no level of the DP was cut


@seeds(40, start=100)
def test_cost_model_agrees_with_liveness(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(seed, int(rng.integers(2, 30)))
    orders = [list(range(len(g.nodes))), schedule(g)]
    for o in orders:
        assert order_peak(g, o) == liveness_peak(g, o)


@seeds(30, start=200)
def test_schedule_is_valid_and_never_worse(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(seed, int(rng.integers(10, 40)))
    given = list(range(len(g.nodes)))
    order = schedule(g)
    assert is_topological(g, order)
    assert order_peak(g, order) <= order_peak(g, given)
    if order != given:
        assert order_peak(g, order) < order_peak(g, given)
    g2, plan = plan_with_schedule(g)
    assert plan.arena_bytes <= plan_memory(g).arena_bytes
    assert plan.lower_bound == order_peak(g2, list(range(len(g2.nodes))))
    check_plan(g2, plan)


@seeds(10, start=300)
def test_narrow_beam_is_still_valid(seed):
    g = random_graph(seed, 40)
    order, peak, exact = search(g, beam_width=8)
    assert is_topological(g, order) and peak == order_peak(g, order)
    assert order_peak(g, schedule(g, beam_width=8)) <= order_peak(g, list(range(40)))


def two_branches():
    """x -> a1 (big) -> a2 (small); x -> b1 (big) -> b2 (small); join(a2, b2), given breadth-first."""
    b = Builder()
    x = b.input("x", 16)
    (a1,) = b.node([x], [("a1", 1000)])
    (b1,) = b.node([x], [("b1", 1000)])
    (a2,) = b.node([a1], [("a2", 10)])
    (b2,) = b.node([b1], [("b2", 10)])
    (y,) = b.node([a2, b2], [("y", 16)])
    b.output(y)
    return b.g


def test_schedule_runs_one_branch_to_its_end_first():
    g = two_branches()
    assert order_peak(g, [0, 1, 2, 3, 4]) == 2 * 1008 + 16
    order = schedule(g)
    assert order == [0, 2, 1, 3, 4]
    assert order_peak(g, order) == 1008 + 16 + 16
    g2, plan = plan_with_schedule(g)
    assert [n.name for n in g2.nodes] == ["n0", "n2", "n1", "n3", "n4"]
    assert plan.arena_bytes == plan.lower_bound == 1040


def test_schedule_keeps_the_given_order_on_ties():
    b = Builder()
    x = b.input("x", 16)
    (a,) = b.node([x], [("a", 32)])
    (c,) = b.node([x], [("c", 32)])
    (y,) = b.node([a, c], [("y", 16)])
    b.output(y)
    assert schedule(b.g) == [0, 1, 2]


def test_schedule_uses_inplace_when_it_pays():
    """Running the in-place consumer last lets it overwrite its input instead of allocating."""
    b = Builder()
    x = b.input("x", 16)
    (a,) = b.node([x], [("a", 512)])
    (r,) = b.node([a], [("r", 512)], inplace=0)  # in place only if it is a's last reader
    (s,) = b.node([a], [("s", 16)])
    (y,) = b.node([r, s], [("y", 16)])
    b.output(y)
    assert order_peak(b.g, [0, 1, 2, 3]) == 512 * 2 + 16
    order = schedule(b.g)
    assert order == [0, 2, 1, 3] and order_peak(b.g, order) == 512 + 16
    g2 = apply_schedule(b.g, order)
    assert liveness.find_aliases(g2) == {"r": "a"}


def test_apply_schedule_rejects_bad_orders():
    g = two_branches()
    with pytest.raises(ValueError, match="permutation"):
        apply_schedule(g, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="before"):
        apply_schedule(g, [2, 0, 1, 3, 4])
    g2 = apply_schedule(g, [1, 3, 0, 2, 4])
    assert [n.name for n in g.nodes] == ["n0", "n1", "n2", "n3", "n4"]  # the original is untouched
    assert [n.name for n in g2.nodes] == ["n1", "n3", "n0", "n2", "n4"]
