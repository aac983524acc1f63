"""Patch-based execution (tinygen/plan/patch.py): a high-resolution stem (conv 3x3/2 -> lut ->
depthwise 3x3/2, and a second 3x3/2 branch off the lut) run tile by tile, halos recomputed, its
largest output stored over the input. Each case checks the plan by the tile-level memory replay
(tests/plan/graphs.py) and the host C against the numpy reference, bit for bit."""

import numpy as np
import pytest

from tinygen.codegen import generate
from tinygen.compile.host import HostModel, compile_shared
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.lut import LutAttrs, make_table
from tinygen.plan import PlanOptions, liveness, patch, plan_memory, plan_with_schedule
from tinygen.plan.schedule import apply_schedule
from tinygen.reference import interpreter
from tinygen.select import select_kernels
from tinygen.testing import HOST, specs_of

Q = QuantParams.per_tensor(0.05, 0)


def stem(h, w, seed, c=8):
    """x [h, w, 3] -conv 3x3/2-> a -hardswish-> hs; hs -dw 3x3/2-> f; hs -conv 3x3/2-> r; add(f, r)
    -1x1-> y: the add reads two stage outputs, so the stage stops there."""
    rng = np.random.default_rng(seed)
    g = Graph(f"stem{h}x{w}", dialect="lowered")
    g.add_tensor(Tensor("x", (1, h, w, 3), DType.INT8, Q))
    g.inputs = ["x"]

    def conv(src, dst, cout, k, s, groups=1):
        cin = g.t(src).shape[3]
        hh, ww = g.t(src).shape[1:3]
        p = (k - 1) // 2
        oh, ow = (hh + 2 * p - k) // s + 1, (ww + 2 * p - k) // s + 1
        m = tuple(int(v) for v in rng.integers(1 << 30, 1 << 31, cout))
        attrs = Conv2dAttrs((s, s), (p,) * 4, (1, 1), groups, 3, -2, m, (-8,) * cout)
        wt = g.add_const("w", rng.integers(-127, 128, (cout, k, k, cin // groups)).astype(np.int8))
        b = g.add_const("b", rng.integers(-300, 300, cout).astype(np.int32))
        g.add_tensor(Tensor(dst, (1, oh, ow, cout), DType.INT8, Q))
        g.add_node(Node(f"n_{dst}", "conv2d", [src, wt.name, b.name], [dst], attrs))

    conv("x", "a", c, 3, 2)
    g.add_tensor(Tensor("hs", g.t("a").shape, DType.INT8, Q))
    g.add_node(Node("n_hs", "lut", ["a"], ["hs"], LutAttrs(make_table("hardswish", 0.05, 0, 0.05, 0), "hardswish")))
    conv("hs", "f", c, 3, 2, groups=c)
    conv("hs", "r", c, 3, 2)
    g.add_tensor(Tensor("s", g.t("f").shape, DType.INT8, Q))
    g.add_node(Node("n_add", "add", ["f", "r"], ["s"], add_params(0.05, 0, 0.05, 0, 0.06, -3, -3, 127)))
    conv("s", "y", 4, 1, 1)
    g.outputs = ["y"]
    return g


def compile_plan(g, plan, tmp_path):
    gen = generate(g, plan)
    gen.write(tmp_path / "model")
    lib = compile_shared(tmp_path / "model", tmp_path / f"lib{gen.prefix}.so")
    return HostModel(lib, gen.prefix, specs_of(g, g.inputs), specs_of(g, g.outputs))


def check_bit_exact(g, host, seed):
    x = np.random.default_rng(seed).integers(-128, 128, g.t("x").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (got,) = host.invoke_one([x])
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3


# (h, w, input in the arena, tiles, pinned kernels): uneven tiles of an odd height, one output row
# per tile, the input the caller's (nothing over it), the reference kernels
CASES = [
    (48, 40, True, 4, ()),
    (45, 36, True, 7, ()),
    (48, 40, True, 12, ()),
    (48, 40, False, 4, ()),
    (45, 36, True, 5, (("n_a", "tg_conv2d_s8_ref"), ("n_hs", "tg_lut_s8_ref"), ("n_f", "tg_conv2d_s8_ref"))),
]


@pytest.mark.host
@pytest.mark.parametrize("case", CASES, ids=lambda c: "h{}w{}{}t{}{}".format(
    c[0], c[1], "arena" if c[2] else "caller", c[3], "ref" if c[4] else ""))
def test_stem_tile_by_tile_is_bit_exact(case, tmp_path):
    """The four-layer stage forced with a given tile count (the mechanism, whatever `choose` picks)."""
    from tests.plan.graphs import check_plan

    h, w, arena, tiles, kernels = case
    options = PlanOptions(input_in_arena=arena)
    g = stem(h, w, seed=h + tiles)
    select_kernels(g, HOST)
    for name, kernel in kernels:
        g.nodes[[n.name for n in g.nodes].index(name)].kernel = kernel
    ext = liveness.external(g, options)
    g = apply_schedule(g, patch.contiguous(g, ("n_a", "n_hs", "n_f", "n_r")))
    st = patch.make_stage(g, "x", ("n_a", "n_hs", "n_f", "n_r"), tiles, ext)
    assert set(st.outputs) == {"f", "r"} and len(st.bands) == tiles
    assert st.over_input == ("f" if arena else "")
    assert st.extra_macs > 0  # the halo rows of a and hs are computed twice
    plan = plan_memory(g, options, [st])
    assert not any(b.name in ("a", "hs") for b in plan.buffers)  # only tile buffers
    check_plan(g, plan)  # the tile-level replay
    check_bit_exact(g, compile_plan(g, plan, tmp_path), h)


@pytest.mark.host
def test_chosen_patches_lower_the_arena_within_the_budget(tmp_path):
    from tests.plan.graphs import check_plan

    g = stem(48, 40, seed=5)
    select_kernels(g, HOST)
    options = PlanOptions(input_in_arena=True)
    g, plan = plan_with_schedule(g, options)
    assert plan.patches
    assert sum(st.extra_macs for st in plan.patches) <= 0.10 * sum(interpreter_macs(g))
    plain = plan_memory(g, PlanOptions(input_in_arena=True, patch_budget=0))
    assert plan.arena_bytes < plain.arena_bytes
    check_plan(g, plan)
    check_bit_exact(g, compile_plan(g, plan, tmp_path), 5)


def interpreter_macs(g):
    from tinygen.ops.base import get

    return [get(n.op).macs(n, g) for n in g.nodes]


def _recompute(g, st):
    """(extra MACs, extra estimated instructions) of a stage by the rule of plan/patch.py, from its
    steps: each member's output rows over all tiles against its output height."""
    from tinygen.ops.base import get
    from tinygen.passes.compress.sparse_cost import dense_instructions

    macs = instr = 0.0
    for k, n in enumerate(n for n in g.nodes if n.name in st.nodes):
        h = g.t(n.outputs[0]).shape[1]
        extra = (sum(tile[k].out_h for tile in st.steps) - h) / h
        macs += extra * get(n.op).macs(n, g)
        instr += extra * dense_instructions(g, n)
    return macs, instr


def test_instruction_cap_binds_where_the_macs_alone_allow_more(monkeypatch):
    """On a 96x80 stem the MAC budget alone lets the stage take tiles whose recomputed stem conv
    costs more estimated instructions than the cap; with both caps the stage is still chosen (the
    arena drops) and its recompute is within both."""
    from tinygen.passes.compress.sparse_cost import dense_instructions

    g = stem(96, 80, seed=5)
    select_kernels(g, HOST)
    options = PlanOptions(input_in_arena=True)
    mac_cap = options.patch_budget * sum(interpreter_macs(g))
    instr_cap = options.patch_budget * patch.INSTRUCTION_SHARE * sum(dense_instructions(g, n) for n in g.nodes)
    with monkeypatch.context() as m:
        m.setattr(patch, "INSTRUCTION_SHARE", 1e6)  # MACs alone
        g_free, free = plan_with_schedule(g.copy(), options)
    free_figs = [_recompute(g_free, st) for st in free.patches]
    assert free.patches and 0 < sum(f[0] for f in free_figs) <= mac_cap
    assert sum(f[1] for f in free_figs) > instr_cap  # what the instruction cap is there to refuse
    g, plan = plan_with_schedule(g, options)
    assert plan.patches and plan.arena_bytes < plan_memory(g, PlanOptions(input_in_arena=True, patch_budget=0)).arena_bytes
    figs = [_recompute(g, st) for st in plan.patches]
    assert sum(f[0] for f in figs) <= mac_cap and sum(f[1] for f in figs) <= instr_cap
    for st, (macs, instr) in zip(plan.patches, figs):  # the planner's own figures are the rule's
        assert abs(st.extra_macs - macs) <= len(st.bands) and abs(st.extra_instructions - instr) <= 1


def test_budget_zero_plans_no_patches():
    g = stem(48, 40, seed=1)
    select_kernels(g, HOST)
    _, plan = plan_with_schedule(g, PlanOptions(input_in_arena=True, patch_budget=0))
    assert plan.patches == []


def test_replay_catches_an_output_over_the_rows_its_step_reads():
    """A stage of the first conv alone would write its output over X rows the same call still
    reads: `_writes_safe` refuses it, and the replay must fail on it when forced (the replay is
    not vacuous)."""
    from dataclasses import replace

    from tests.plan.graphs import check_plan

    g = stem(48, 40, seed=2)
    select_kernels(g, HOST)
    options = PlanOptions(input_in_arena=True)
    st = patch.make_stage(g, "x", ("n_a",), 4, liveness.external(g, options))
    assert st.over_input == "" and not patch._writes_safe(g, st, "a")
    check_plan(g, plan_memory(g, options, [st]))
    with pytest.raises(AssertionError, match="over the rows it reads"):
        check_plan(g, plan_memory(g, options, [replace(st, over_input="a")]))


def test_report_shows_the_tiled_layers():
    from tinygen.report.make import make_report
    from tinygen.report.text import render_text

    g = stem(48, 40, seed=5)
    select_kernels(g, HOST)
    g, plan = plan_with_schedule(g, PlanOptions(input_in_arena=True))
    r = make_report(g, plan, generate(g, plan).layers, "f446re")
    (st,) = r["schedule"]["patched_layers"]
    assert [g.nodes[i].name for i in st["layers"]] == list(plan.patches[0].nodes)
    assert r["schedule"]["extra_macs"] == plan.patches[0].extra_macs and r["schedule"]["kind"].startswith("patch")
    assert r["schedule"]["extra_instructions"] == plan.patches[0].extra_instructions == st["extra_instructions"]
    text = render_text(r)
    assert f"tiles, +{st['extra_macs']:,} MACs, +{st['extra_instructions']:,} est. instructions)" in text
    est = r["schedule"]["patch_limit"]["estimated_instructions"]
    assert f"MACs, cap 10%; +{st['extra_instructions'] / est:.1%} of the {est:,} estimated instructions, cap" in text
    rows = [line for line in text.splitlines() if line.startswith(tuple(f"L{i} " for i in st["layers"]))]
    assert len(rows) == len(st["layers"]) and all("tiled" in line for line in rows)


@pytest.mark.qemu
def test_stem_tile_by_tile_on_qemu(tmp_path):
    """The forced four-layer stage (uneven tiles) as firmware for the M4 and M7 stand-ins: the
    fast kernels' DSP instructions on tile rows, bit-exact to the reference."""
    import json

    from tests.device.models import missing_tools
    from tinygen.device.validate import validate
    from tinygen.ir import serialize
    from tinygen.program import Program

    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    options = PlanOptions(input_in_arena=True)
    g = stem(45, 36, seed=7)
    select_kernels(g, HOST)
    g = apply_schedule(g, patch.contiguous(g, ("n_a", "n_hs", "n_f", "n_r")))
    st = patch.make_stage(g, "x", ("n_a", "n_hs", "n_f", "n_r"), 7, liveness.external(g, options))
    plan = plan_memory(g, options, [st])
    assert plan.patches and st.over_input == "f"
    for board in ("f446re", "f746zg"):
        out = tmp_path / board
        gen = generate(g, plan)
        gen.write(out / "model")
        assert "tg_patch_step" in gen.files[f"{gen.prefix}.c"]  # the tile loop is what runs
        serialize.save(g, out / "graph")
        (out / "tinygen.json").write_text(json.dumps({"prefix": gen.prefix, "board": board}))
        r = validate(Program(out, g, gen.prefix, board), qemu=True, board=board, count=3, seed=0)
        assert r.passed, f"{board}: {r.summary_text()}"
