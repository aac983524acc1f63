"""The planner keeps banded execution (in place on row bands, fused chains), which
costs instructions, only where it lowers the peak: the same lower bound as applying it wherever it
can, with the ones off the peak dropped (memory_plan._cheapest)."""

import pytest

from tests.plan.graphs import check_plan
from tests.plan.test_inplace_kernels import conv_chain, expand_dw_project
from tests.plan.test_residual_fusion import block
from tinygen.plan import PlanOptions, plan_memory
from tinygen.select import HOST, select_kernels

EVERYWHERE = PlanOptions(cheapest=False)


def banded(plan) -> set[str]:
    """What runs banded: in place with a lag buffer, fused chains (by their last node)."""
    return {b.name for b in plan.buffers if b.name.endswith("/lag")} | set(plan.chains)


# (graph, what the cheapest plan keeps banded, what it drops): the depthwise in place off the peak
# (the first conv's scratch is larger than what it saves) and on it; an expansion fused on the peak
# (a chain keyed by its last node, the depthwise)
CASES = [
    (lambda: conv_chain(5, 3, 8, 3, 1, 0, seed=1), set(), {"n_d/lag"}),
    (lambda: conv_chain(16, 8, 16, 3, 1, 0, seed=1), {"n_d/lag"}, set()),
    (lambda: expand_dw_project(16, 16, 8, 48, 2, seed=2), {"n_D"}, set()),
]


@pytest.mark.parametrize("k", range(len(CASES)))
def test_cheapest_plan_keeps_the_bound_with_less_banding(k):
    make, kept, dropped = CASES[k]
    g = make()
    select_kernels(g, HOST)
    everywhere, cheapest = plan_memory(g, EVERYWHERE), plan_memory(g)
    check_plan(g, cheapest)
    assert cheapest.lower_bound == everywhere.lower_bound and cheapest.arena_bytes <= everywhere.arena_bytes
    assert banded(cheapest) == kept and banded(everywhere) == kept | dropped


def test_residual_blocks_off_the_peak_run_whole():
    """Two identity blocks, the second at a quarter of the first's size behind a strided conv:
    only the first one decides the peak, so the second runs layer at a time."""
    import numpy as np

    from tinygen.ir.graph import DType, Node, QuantParams, Tensor
    from tinygen.ops.add import add_params
    from tinygen.ops.conv2d import Conv2dAttrs

    g = block(16, 8, 8, 1, "", seed=5)
    rng = np.random.default_rng(5)
    q = QuantParams.per_tensor(0.05, 0)
    y = g.outputs[0]
    last = g.nodes[-1]  # o -1x1-> y: make it o -3x3/2-> z, then a second block on z -> y
    g.nodes.pop()
    g.tensors.pop(y)
    m = tuple(int(v) for v in rng.integers(1 << 30, 1 << 31, 8))

    def conv(src, dst, k, s, pad):  # every tensor of the second block is 8x4x8
        wt = g.add_const("w", rng.integers(-127, 128, (8, k, k, 8)).astype(np.int8))
        b = g.add_const("b", rng.integers(-300, 300, 8).astype(np.int32))
        g.add_tensor(Tensor(dst, (1, 8, 4, 8), DType.INT8, q))
        g.add_node(Node(f"n_{dst}", "conv2d", [src, wt.name, b.name], [dst],
                        Conv2dAttrs((s, s), pad, (1, 1), 1, 3, -2, m, (-9,) * 8)))

    conv("o", "z", 3, 2, (0, 1, 0, 1))  # 16x8 -> 8x4
    conv("z", "z1", 3, 1, (1,) * 4)
    conv("z1", "z2", 3, 1, (1,) * 4)
    g.add_tensor(Tensor("z3", (1, 8, 4, 8), DType.INT8, q))
    g.add_node(Node("n_add2", "add", ["z", "z2"], ["z3"], add_params(0.05, 0, 0.05, 0, 0.06, -3)))
    g.add_tensor(Tensor(y, (1, 8, 4, 3), DType.INT8, q))
    wt = g.add_const("w", rng.integers(-127, 128, (3, 1, 1, 8)).astype(np.int8))
    b = g.add_const("b", rng.integers(-300, 300, 3).astype(np.int32))
    g.add_node(Node(last.name, "conv2d", ["z3", wt.name, b.name], [y],
                    Conv2dAttrs((1, 1), (0,) * 4, (1, 1), 1, 3, -2, m[:3], (-9,) * 3)))
    select_kernels(g, HOST)
    everywhere, cheapest = plan_memory(g, EVERYWHERE), plan_memory(g)
    assert set(everywhere.chains) == {"n_add", "n_add2"}
    assert set(cheapest.chains) == {"n_add"}
    assert cheapest.lower_bound == everywhere.lower_bound
    check_plan(g, cheapest)


def test_inverted_residual_shrinks_to_its_expansion_pair_when_that_keeps_the_bound(tmp_path):
    """An inverted residual behind a wide 1x1 conv whose input and output set the peak (80 channels
    in, 8 out, 8x6): without fusion the depthwise (expansion and its output whole, beside x) is
    above it, the expansion fused into the depthwise as a pair is below it, so the block gives way
    to the pair, which runs whole-tensor project and add calls."""
    import numpy as np

    from tinygen.reference import interpreter
    from tinygen.testing import compile_graph

    g = select_kernels(block(8, 6, 8, 1, "", seed=4, expand=6, cin=80), HOST)
    arena_in = PlanOptions(input_in_arena=True)
    everywhere = plan_memory(g, PlanOptions(input_in_arena=True, cheapest=False))
    cheapest = plan_memory(g, arena_in)
    wide = cheapest.live_bytes(len(g.nodes))[0]  # the wide conv: its input, output and scratch
    assert wide >= g.t("in").nbytes + g.t("x").nbytes
    assert everywhere.chains["n_add"].convs == ("n_y0", "n_y1", "n_y2")
    assert plan_memory(g, PlanOptions(input_in_arena=True, fusion=False)).lower_bound > wide
    assert set(cheapest.chains) == {"n_y1"} and cheapest.chains["n_y1"].convs == ("n_y0", "n_y1")
    assert cheapest.lower_bound == everywhere.lower_bound == wide
    check_plan(g, cheapest)
    host = compile_graph(g, tmp_path, arena_in)
    x = np.random.default_rng(4).integers(-128, 128, g.t("in").shape).astype(np.int8)
    np.testing.assert_array_equal(host.invoke_one([x])[0], interpreter.run(g, [x])[0])
