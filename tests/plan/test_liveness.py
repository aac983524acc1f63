"""Liveness and in-place aliasing on hand-made graphs."""

from tests.plan.graphs import Builder, check_plan
from tinygen.plan import liveness, plan_memory


def chain_with_inplace(read_later: bool):
    b = Builder()
    x = b.input("x", 100)
    (a,) = b.node([x], [("a", 64)])
    (c,) = b.node([a], [("c", 64)], inplace=0)  # may overwrite a
    ins = [c, a] if read_later else [c]
    (d,) = b.node(ins, [("d", 32)])
    b.output(d)
    return b.g


def test_inplace_alias_when_input_dies():
    g = chain_with_inplace(read_later=False)
    assert liveness.find_aliases(g) == {"c": "a"}
    bufs = liveness.buffers(g, liveness.find_aliases(g))
    assert [(b.name, b.size, b.first, b.last) for b in bufs] == [("a", 64, 0, 2)]
    plan = plan_memory(g)
    assert plan.offset_of("c") == plan.offset_of("a") and plan.arena_bytes == 64 == plan.lower_bound
    check_plan(g, plan)


def test_no_alias_when_input_is_read_later():
    g = chain_with_inplace(read_later=True)
    assert liveness.find_aliases(g) == {}
    plan = plan_memory(g)
    assert plan.arena_bytes == 128 == plan.lower_bound
    check_plan(g, plan)


def test_alias_chain_follows_the_root():
    b = Builder()
    (a,) = b.node([b.input("x", 8)], [("a", 48)])
    (c,) = b.node([a], [("c", 48)], inplace=0)
    (d,) = b.node([c], [("d", 48)], inplace=0)
    (e,) = b.node([d], [("e", 16)])
    b.output(e)
    assert liveness.find_aliases(b.g) == {"c": "a", "d": "a"}
    check_plan(b.g, plan_memory(b.g))


def test_no_alias_onto_constants_or_caller_buffers_or_a_twice_read_input():
    b = Builder()
    x = b.input("x", 64)
    w = b.tensor("w", 64, const=True)
    (a,) = b.node([w, x], [("a", 64)], inplace=0)  # constant lives in flash
    (c,) = b.node([x, a], [("c", 64)], inplace=0)  # graph input belongs to the caller
    (d,) = b.node([c, c], [("d", 64)], inplace=0)  # read twice through the same pointer
    (e,) = b.node([d], [("e", 64)], inplace=0)  # graph output belongs to the caller
    (f,) = b.node([e], [("f", 32)], inplace=0)  # different size
    b.output(e)
    b.output(f)
    assert liveness.find_aliases(b.g) == {}
    check_plan(b.g, plan_memory(b.g))


def test_scratch_lives_only_during_its_node():
    b = Builder()
    (a,) = b.node([b.input("x", 10)], [("a", 40)], scratch=100)
    (c,) = b.node([a], [("c", 40)], scratch=20)
    b.output(c)
    bufs = liveness.buffers(b.g, {})
    assert [(x.name, x.size, x.first, x.last) for x in bufs] == [("a", 48, 0, 1), ("n0/scratch", 112, 0, 0),
                                                                  ("n1/scratch", 32, 1, 1)]
    assert liveness.lower_bound(bufs) == 160
    plan = plan_memory(b.g)
    assert plan.arena_bytes == 160
    check_plan(b.g, plan)


def test_unread_output_is_live_at_its_producer():
    b = Builder()
    a, unused = b.node([b.input("x", 10)], [("a", 16), ("unused", 32)])
    (c,) = b.node([a], [("c", 16)])
    b.output(c)
    bufs = {x.name: x for x in liveness.buffers(b.g, {})}
    assert (bufs["unused"].first, bufs["unused"].last) == (0, 0)
    check_plan(b.g, plan_memory(b.g))


def test_io_only_graph_has_an_empty_arena():
    b = Builder()
    (y,) = b.node([b.input("x", 10)], [("y", 10)], inplace=0)
    b.output(y)
    plan = plan_memory(b.g)
    assert plan.arena_bytes == 0 and plan.lower_bound == 0 and plan.buffers == []


def test_live_bytes_per_node():
    g = chain_with_inplace(read_later=True)
    plan = plan_memory(g)
    assert plan.live_bytes(len(g.nodes)) == [64, 128, 128]
