"""Residual blocks run band by band (tinygen/plan/fusion.py, Chain; tg_chain_rows): conv1 ->
conv2 -> add with x or a shortcut conv of x, and MobileNetV2's inverted residual (expand 1x1 ->
depthwise 3x3 -> project 1x1 -> add), the convs' outputs only band buffers, the add's output over
x where no later band reads what it covers. Each case checks the plan by the
row-level replay (tests/plan/graphs.py) and the host C against the numpy reference, bit for bit."""

import numpy as np
import pytest

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.inplace_rows import BAND_ROWS
from tinygen.plan import PlanOptions, plan_memory
from tinygen.reference import interpreter
from tinygen.testing import compile_graph

Q = QuantParams.per_tensor(0.05, 0)


def block(h, w, c, stride, shortcut, seed, order="r_first", pad1=None, kernels=(), pre=True, k1=3, expand=0, cin=0):
    """[pre conv ->] x -k1 x k1/stride (relu)-> y1 -3x3-> y2, add(r, y2) (relu) -1x1-> y; r = x, or a
    shortcut conv of x ("1x1": 1x1/stride, "3x3": 3x3/stride) with 2c channels when stride 2. With
    `expand`, the chain is an inverted residual instead (see below); `cin` widens the pre conv's input."""
    rng = np.random.default_rng(seed)
    g = Graph(f"res{h}x{w}s{stride}{shortcut}", dialect="lowered")
    g.add_tensor(Tensor("in", (1, h, w, cin or c), DType.INT8, Q))
    g.inputs = ["in"]

    def conv(src, dst, cout, k, s, pad, relu=False, groups=1):
        cin = g.t(src).shape[3] // groups
        hh, ww = g.t(src).shape[1:3]
        oh, ow = (hh + pad[0] + pad[1] - k) // s + 1, (ww + pad[2] + pad[3] - k) // s + 1
        m = tuple(int(v) for v in rng.integers(1 << 30, 1 << 31, cout))
        attrs = Conv2dAttrs((s, s), pad, (1, 1), groups, 3, -2, m, (-9,) * cout, -2 if relu else -128, 127)
        wt = g.add_const("w", rng.integers(-127, 128, (cout, k, k, cin)).astype(np.int8))
        b = g.add_const("b", rng.integers(-300, 300, cout).astype(np.int32))
        g.add_tensor(Tensor(dst, (1, oh, ow, cout), DType.INT8, Q))
        g.add_node(Node(f"n_{dst}", "conv2d", [src, wt.name, b.name], [dst], attrs))

    x = "in"
    if pre:
        conv("in", "x", c, 1, 1, (0,) * 4)
        x = "x"
    cout = c * stride
    if expand:  # MobileNetV2: x -1x1 (relu)-> y0 (expand x c channels) -dw 3x3 (relu)-> y1 -1x1-> y2
        conv(x, "y0", expand * c, 1, 1, (0,) * 4, relu=True)
        conv("y0", "y1", expand * c, 3, stride, pad1 or (1,) * 4, relu=True, groups=expand * c)
        conv("y1", "y2", cout, 1, 1, (0,) * 4)
    else:
        conv(x, "y1", cout, k1, stride, pad1 or ((k1 - 1) // 2,) * 4, relu=True)
        conv("y1", "y2", cout, 3, 1, (1,) * 4)
    r = x
    if shortcut == "1x1":
        conv(x, "s", cout, 1, stride, (0,) * 4)
        r = "s"
    elif shortcut == "3x3":
        conv(x, "s", cout, 3, stride, pad1 or (1,) * 4)
        r = "s"
    g.add_tensor(Tensor("o", g.t("y2").shape, DType.INT8, Q))
    ins = [r, "y2"] if order == "r_first" else ["y2", r]
    g.add_node(Node("n_add", "add", ins, ["o"], add_params(0.05, 0, 0.05, 0, 0.06, -3, -3, 127)))
    conv("o", "y", 3, 1, 1, (0,) * 4)
    g.outputs = ["y"]
    for name, kernel in kernels:
        g.nodes[[n.name for n in g.nodes].index(name)].kernel = kernel
    return g


# (h, w, c, stride, shortcut, order, padding of the strided convs, pinned kernels, pre, over x):
# identity blocks (band edges, odd heights, a one-row tail), stride 2 with the 1x1 and 3x3
# shortcut in both operand orders, TF "same" for even inputs (top 0), the kernels without scratch,
# the references, and x the caller's input (the output cannot go over it)
CASES = [
    (8, 5, 8, 1, "", "r_first", None, (), True, True),
    (7, 3, 4, 1, "", "y2_first", None, (), True, True),
    (9, 6, 8, 1, "", "r_first", None, (("n_y1", "tg_conv2d_s8_im2col"), ("n_y2", "tg_conv2d_s8_ref")), True, True),
    (8, 8, 4, 2, "1x1", "y2_first", (0, 1, 0, 1), (), True, True),
    (9, 5, 4, 2, "1x1", "r_first", None, (("n_s", "tg_conv2d_s8_ref"),), True, True),
    (10, 6, 4, 2, "3x3", "r_first", (0, 1, 0, 1), (("n_s", "tg_conv2d_s8_im2col"),), True, True),
    (10, 4, 8, 1, "", "r_first", None, (), False, False),
]
# inverted residuals (h, w, c, expansion, order, pinned kernels, over x): band edges and odd
# heights, the operand order, the depthwise reference and the expansion without scratch, and a
# one-row image
INVERTED = [
    (8, 6, 8, 6, "r_first", (), True),
    (9, 5, 4, 4, "y2_first", (("n_y1", "tg_conv2d_s8_ref"), ("n_y0", "tg_conv2d_s8_ref")), True),
    (7, 7, 16, 3, "r_first", (), True),
]


@pytest.mark.host
@pytest.mark.parametrize("case", CASES, ids=lambda c: "h{}w{}c{}s{}{}_{}".format(*c[:6]))
def test_residual_block_band_by_band_is_bit_exact(case, tmp_path):
    from tests.plan.graphs import check_plan

    h, w, c, stride, shortcut, order, pad1, kernels, pre, over_x = case
    g = block(h, w, c, stride, shortcut, seed=h * 10 + stride, order=order, pad1=pad1, kernels=kernels, pre=pre)
    host = compile_graph(g, tmp_path)
    for name, kernel in kernels:
        assert g.nodes[[n.name for n in g.nodes].index(name)].kernel == kernel
    plan = plan_memory(g)
    (blk,) = plan.chains.values()
    assert blk.add == "n_add" and blk.shortcut == ("n_s" if shortcut else "") and blk.in_place == over_x
    assert plan.aliases.get("o") == ("x" if over_x else None)
    sizes = {b.name: b.size for b in plan.buffers}
    assert sizes["y1"] < g.t("y1").nbytes and sizes["y2"] < g.t("y2").nbytes  # bands, not whole tensors
    check_plan(g, plan)  # the row-level replay of the block
    plain = plan_memory(g, PlanOptions(fusion=False))
    assert plan.lower_bound < plain.lower_bound
    x = np.random.default_rng(h).integers(-128, 128, g.t("in").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (got,) = host.invoke_one([x])
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3


def without_add(g):
    """The block's graph with its add removed: the chain's output feeds the last conv directly."""
    g.nodes = [n for n in g.nodes if n.name != "n_add"]
    g.tensors.pop("o")
    g.nodes[-1].inputs[0] = "y2"
    return g


@pytest.mark.host
def test_inverted_block_without_add_over_its_input(tmp_path):
    """expand -> depthwise -> project with x dying in the chain and the output x's size: the output
    is written over x band by band, the expansion and depthwise output exist only as bands."""
    from tests.plan.graphs import check_plan

    g = without_add(block(9, 7, 8, 1, "", seed=12, expand=4))
    host = compile_graph(g, tmp_path)
    plan = plan_memory(g)
    ch = plan.chains["n_y2"]
    assert ch.convs == ("n_y0", "n_y1", "n_y2") and not ch.add and ch.in_place and plan.aliases["y2"] == "x"
    check_plan(g, plan)
    assert plan.lower_bound < plan_memory(g, PlanOptions(fusion=False)).lower_bound
    x = np.random.default_rng(12).integers(-128, 128, g.t("in").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    np.testing.assert_array_equal(host.invoke_one([x])[0], ref)
    assert len(np.unique(ref)) > 3


@pytest.mark.host
@pytest.mark.parametrize("case", INVERTED, ids=lambda c: "h{}w{}c{}t{}_{}".format(*c[:5]))
def test_inverted_residual_band_by_band_is_bit_exact(case, tmp_path):
    """The three convs and the add in one call: the expansion and the depthwise output exist only
    as a few rows (the expansion's rows the depthwise band reads, kept across bands)."""
    from tests.plan.graphs import check_plan

    h, w, c, t, order, kernels, over_x = case
    g = block(h, w, c, 1, "", seed=h * 7 + t, order=order, kernels=kernels, expand=t)
    host = compile_graph(g, tmp_path)
    plan = plan_memory(g)
    (blk,) = plan.chains.values()
    assert blk.convs == ("n_y0", "n_y1", "n_y2") and blk.add == "n_add" and blk.in_place == over_x
    assert set(plan.chains) == {"n_add"}  # the expansion is the block's, not a shorter chain's
    sizes = {b.name: b.size for b in plan.buffers}
    row = w * t * c  # bytes of one row of the expansion (and of the depthwise output)
    assert sizes["y0"] == min(BAND_ROWS + 2, h) * row and sizes["y1"] == min(BAND_ROWS, h) * row
    check_plan(g, plan)
    plain = plan_memory(g, PlanOptions(fusion=False))
    assert plan.lower_bound < plain.lower_bound
    x = np.random.default_rng(h + t).integers(-128, 128, g.t("in").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (got,) = host.invoke_one([x])
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3


def test_chain_constants_match_the_header():
    """The planner sizes bands and chains by the C's constants (tg_inplace_rows.h)."""
    from pathlib import Path
    import re

    from tinygen.plan import fusion

    text = (Path(__file__).resolve().parents[2] / "runtime_c/include/tg_inplace_rows.h").read_text()
    defined = dict(re.findall(r"#define (TG_\w+) (\d+)", text))
    assert int(defined["TG_INPLACE_BAND_ROWS"]) == BAND_ROWS
    assert int(defined["TG_CHAIN_MAX_CONVS"]) == fusion.MAX_CHAIN


def test_output_not_over_x_when_a_later_band_reads_what_it_covers(tmp_path, monkeypatch):
    """A 5x5 conv1 reads two rows above its output: band k+1's conv1 needs x rows band k's add
    would have covered, so the output gets its own buffer (still bit-exact); forcing it over x
    anyway must fail the replay (the replay is not vacuous)."""
    from tests.plan.graphs import check_plan
    from tinygen.plan import fusion

    g = block(8, 5, 8, 1, "", seed=3, k1=5)
    host = compile_graph(g, tmp_path, PlanOptions(cheapest=False))
    plan = plan_memory(g, PlanOptions(cheapest=False))
    (blk,) = plan.chains.values()
    assert not blk.in_place and "o" not in plan.aliases
    check_plan(g, plan)
    x = np.random.default_rng(3).integers(-128, 128, g.t("in").shape).astype(np.int8)
    np.testing.assert_array_equal(host.invoke_one([x])[0], interpreter.run(g, [x])[0])
    monkeypatch.setattr(fusion, "_overwrite_safe", lambda *a: True)
    forced = plan_memory(g, PlanOptions(cheapest=False))
    assert forced.chains["n_add"].in_place and forced.aliases["o"] == "x"
    with pytest.raises(AssertionError, match="overwritten before it is read"):
        check_plan(g, forced)


@pytest.mark.qemu
def test_chains_on_qemu(tmp_path):
    """An inverted residual and one without its add, both written over their input, and a stride-2
    expand -> depthwise -> project, as firmware for the M4 and M7 stand-ins: the fast kernels' DSP
    paths on the chains' row bands, bit-exact."""
    import json

    from tests.device.models import missing_tools
    from tests.plan.test_inplace_kernels import expand_dw_project
    from tinygen.codegen.generate import generate
    from tinygen.device.validate import validate
    from tinygen.ir import serialize
    from tinygen.program import Program
    from tinygen.select import HOST, select_kernels
    from tinygen.testing import merge_graphs

    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    graphs = [block(11, 10, 8, 1, "", seed=5, expand=6), without_add(block(9, 7, 8, 1, "", seed=12, expand=4)),
              expand_dw_project(16, 16, 32, 64, 2, seed=7, inplace_before=True)]
    g = select_kernels(merge_graphs(graphs, "chains"), HOST)  # one firmware per board
    plan = plan_memory(g, PlanOptions(cheapest=False))
    chains = {(c.convs, c.in_place) for c in plan.chains.values()}
    assert chains == {(("g0_n_y0", "g0_n_y1", "g0_n_y2"), True), (("g1_n_y0", "g1_n_y1", "g1_n_y2"), True),
                      (("g2_n_E", "g2_n_D", "g2_n_y"), False)}
    for board in ("f446re", "f746zg"):
        out = tmp_path / board
        gen = generate(g, plan)
        gen.write(out / "model")
        serialize.save(g, out / "graph")
        (out / "tinygen.json").write_text(json.dumps({"prefix": gen.prefix, "board": board}))
        r = validate(Program(out, g, gen.prefix, board), qemu=True, board=board, count=3, seed=0)
        assert r.passed, f"{board}: {r.summary_text()}"
