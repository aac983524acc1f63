"""Plan options: graph inputs in the arena (reused once consumed) and in-place execution off."""

import numpy as np
import pytest

from tests.plan.graphs import Builder, check_plan, random_graph
from tinygen.plan import PlanOptions, apply_schedule, liveness, order_peak, plain_lower_bound, plan_memory
from tinygen.plan import plan_with_schedule, schedule

IN_ARENA = PlanOptions(input_in_arena=True)
NO_FUSION = PlanOptions(fusion=False)


def seeds(n, start=0):
    return pytest.mark.parametrize("seed", range(start, start + n), ids=lambda s: f"seed{s}")


def test_input_in_arena_is_reused_once_consumed():
    """x (96 B) dies at n0, so n1's output takes its bytes: the arena grows only by what is live
    beside x, and the caller's 96 B buffer disappears."""
    b = Builder()
    x = b.input("x", 96)
    (a,) = b.node([x], [("a", 32)])
    (c,) = b.node([a], [("c", 96)])
    (d,) = b.node([c], [("d", 16)])
    b.output(d)
    caller, arena = plan_memory(b.g), plan_memory(b.g, IN_ARENA)
    assert caller.arena_inputs == [] and arena.arena_inputs == ["x"]
    assert caller.arena_bytes == 128 and arena.arena_bytes == 128  # x + a, then a + c
    assert [(u.name, u.first, u.last) for u in arena.buffers][0] == ("x", 0, 0)
    assert arena.offset_of("c") < arena.offset_of("x") + 96  # c reuses x's bytes
    check_plan(b.g, arena)


def test_input_in_arena_may_be_overwritten_in_place():
    b = Builder()
    x = b.input("x", 64)
    (a,) = b.node([x], [("a", 64)], inplace=0)
    (c,) = b.node([a], [("c", 16)])
    b.output(c)
    assert liveness.find_aliases(b.g) == {}  # the caller's buffer: never written
    plan = plan_memory(b.g, IN_ARENA)
    assert plan.aliases == {"a": "x"} and plan.arena_bytes == 64 == plan.lower_bound  # c is the caller's
    check_plan(b.g, plan)


def test_inputs_that_stay_with_the_caller():
    """An input that is also an output, or that nothing reads, is not planned in the arena."""
    b = Builder()
    x, y, z = b.input("x", 32), b.input("y", 32), b.input("z", 32)
    (a,) = b.node([x, y], [("a", 16)])
    b.output(a)
    b.output(y)
    assert liveness.arena_inputs(b.g, IN_ARENA) == ["x"]
    assert z not in plan_memory(b.g, IN_ARENA).offsets
    check_plan(b.g, plan_memory(b.g, IN_ARENA))


def test_fusion_off_plans_layer_at_a_time():
    b = Builder()
    (a,) = b.node([b.input("x", 8)], [("a", 64)])
    (c,) = b.node([a], [("c", 64)], inplace=0)
    (d,) = b.node([c], [("d", 16)])
    b.output(d)
    on, off = plan_memory(b.g), plan_memory(b.g, NO_FUSION)
    assert on.aliases == {"c": "a"} and on.lower_bound == 64
    assert off.aliases == {} and off.lower_bound == 128 == plain_lower_bound(b.g) == plain_lower_bound(b.g, on.options)
    assert schedule(b.g, options=NO_FUSION) == [0, 1, 2]
    check_plan(b.g, off)


@seeds(40, start=300)
def test_random_graphs_with_inputs_in_the_arena(seed):
    """The memory replay holds, the DP's cost model agrees with liveness, and the arena input
    costs at most its own size (it only adds bytes where it is live)."""
    rng = np.random.default_rng(seed)
    g = random_graph(seed, int(rng.integers(2, 25)))
    for opts in (IN_ARENA, PlanOptions(input_in_arena=True, fusion=False)):
        plan = plan_memory(g, opts)
        check_plan(g, plan)
        assert plan.lower_bound == order_peak(g, list(range(len(g.nodes))), opts)
        order = schedule(g, options=opts)
        g2 = apply_schedule(g, order)
        bufs = liveness.buffers(g2, liveness.find_aliases(g2, opts), opts)
        assert order_peak(g, order, opts) == liveness.lower_bound(bufs, len(g2.nodes))
        g3, plan3 = plan_with_schedule(g, opts)
        check_plan(g3, plan3)
        assert plan3.lower_bound <= plain_lower_bound(g3, opts)  # in place never adds bytes
    caller = plan_memory(g)
    arena = plan_memory(g, IN_ARENA)
    in_bytes = sum(liveness.align(g.t(t).nbytes) for t in arena.arena_inputs)
    assert caller.lower_bound <= arena.lower_bound <= caller.lower_bound + in_bytes
