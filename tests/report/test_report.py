"""report.json contents, text and SVG rendering, and the fit check."""

import json

import numpy as np
import pytest

from tests.plan.graphs import Builder
from tinygen.select import HOST, select_kernels
from tinygen.codegen.generate import LayerInfo, generate
from tinygen.errors import TinygenError
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.plan import PlanOptions, plan_memory, plan_with_schedule
from tinygen.report import check_fit, make_report, render_text, timeline_svg
from tinygen.report.make import KERNEL_CODE_BYTES, LAYER_CODE_BYTES, STACK_BYTES

Q = QuantParams.per_tensor(0.05, 0)


def residual_net(seed: int) -> Graph:
    """x[1,8,8,4] -> conv 1x1 (4->16) -> depthwise 3x3 -> conv 1x1 (16->4) -> add(x1, .) -> conv -> y."""
    rng = np.random.default_rng(seed)
    g = Graph(f"resnet{seed}", dialect="lowered")
    g.add_tensor(Tensor("x", (1, 8, 8, 4), DType.INT8, Q))
    g.inputs = ["x"]

    def conv(name, x, cout, k, depthwise=False):
        cin = g.t(x).shape[3]
        groups = cin if depthwise else 1
        a = Conv2dAttrs((1, 1), (k // 2,) * 4, (1, 1), groups, 0, 0, (1 << 30,) * cout, (-4,) * cout)
        w = g.add_const(f"{name}_w", rng.integers(-127, 128, (cout, k, k, cin // groups)).astype(np.int8))
        b = g.add_const(f"{name}_b", rng.integers(-100, 100, cout).astype(np.int32))
        g.add_tensor(Tensor(name, (1, 8, 8, cout), DType.INT8, Q))
        g.add_node(Node(f"L_{name}", "conv2d", [x, w.name, b.name], [name], a))
        return name

    x1 = conv("x1", "x", 4, 1)
    e = conv("e", x1, 16, 1)
    d = conv("d", e, 16, 3, depthwise=True)
    p = conv("p", d, 4, 1)
    g.add_tensor(Tensor("s", (1, 8, 8, 4), DType.INT8, Q))
    g.add_node(Node("L_add", "add", [x1, p], ["s"], add_params(0.05, 0, 0.05, 0, 0.05, 0)))
    conv("y", "s", 2, 1)
    g.outputs = ["y"]
    return g


def built(seed: int = 0):
    # the fused and in-place schedule (patch stages: tests/plan/test_patch.py)
    g, plan = plan_with_schedule(select_kernels(residual_net(seed), HOST), PlanOptions(patch_budget=0))
    return g, plan, generate(g, plan).layers


def test_report_fields_and_estimates():
    g, plan, layers = built()
    r = make_report(g, plan, layers, "f446re", 128 * 1024, 512 * 1024)
    json.dumps(r)  # plain data only
    for key in ("board", "arena_bytes", "stack_bytes", "sram_bytes", "flash_bytes", "weight_bytes", "macs",
                "peak_lower_bound_bytes", "estimate", "layers"):
        assert key in r
    assert r["board"] == "f446re" and r["estimate"] is True
    assert r["arena_bytes"] == plan.arena_bytes and r["peak_lower_bound_bytes"] == plan.lower_bound
    assert r["weight_bytes"] == sum(li.weight_bytes for li in layers) > 0
    assert r["macs"] == sum(li.macs for li in layers) == 8 * 8 * (4 * 4 + 4 * 16 + 16 * 9 + 16 * 4 + 4 * 2)
    io = 8 * 8 * 4 + 8 * 8 * 2
    assert r["sram_bytes"] == plan.arena_bytes + io + STACK_BYTES
    kernels = len({li.symbol for li in layers})  # the distinct kernel variants selected for the host
    assert r["flash_bytes"] == r["weight_bytes"] + kernels * KERNEL_CODE_BYTES + 6 * LAYER_CODE_BYTES
    assert len(r["layers"]) == len(g.nodes)
    live = plan.live_bytes(len(g.nodes))
    for e, node in zip(r["layers"], g.nodes):
        assert e["arena_live_bytes"] == live[e["index"]]
        assert [t["name"] for t in e["outputs"]] == node.outputs
    add = next(e for e in r["layers"] if e["op"] == "add")
    assert [t["shape"] for t in add["inputs"]] == [[1, 8, 8, 4]] * 2 and add["weight_bytes"] == 0
    assert r["peak"]["live_bytes"] == plan.lower_bound == max(live)
    # the inverted residual runs band by band at its add, which writes over its skip input x1
    assert plan.aliases == {"s": "x1"} and set(plan.chains) == {"L_add"} and plan.chains["L_add"].convs == ("L_e", "L_d", "L_p")
    assert [g.nodes[i].name for i in r["schedule"]["inplace_layers"]] == ["L_add"]
    assert [[g.nodes[i].name for i in group] for group in r["schedule"]["fused_layers"]] == \
        [["L_e", "L_d", "L_p", "L_add"]]


def test_report_from_elf_sizes():
    g, plan, layers = built()
    elf = {"text": 9000, "rodata": 7000, "data": 100, "bss": 4000, "stack": 700}
    r = make_report(g, plan, layers, "f746zg", 320 * 1024, 1024 * 1024, elf_sizes=elf)
    assert r["estimate"] is False and r["stack_estimate"] is False
    assert r["flash_bytes"] == 16100 and r["sram_bytes"] == 4800 and r["stack_bytes"] == 700
    assert "sizes from the linked ELF" in render_text(r)


def test_text_and_svg_are_deterministic():
    texts, svgs = set(), set()
    for _ in range(2):
        g, plan, layers = built(3)
        texts.add(render_text(make_report(g, plan, layers, "f446re", 128 * 1024, 512 * 1024)))
        svgs.add(timeline_svg(g, plan))
    assert len(texts) == 1 and len(svgs) == 1
    text, svg = texts.pop(), svgs.pop()
    lines = text.splitlines()
    (l4,) = [line for line in lines if line.startswith("L4 ")]
    assert l4.split()[1] == "add" and "[1,8,8,4] + [1,8,8,4] -> [1,8,8,4]" in l4
    sched = make_report(g, plan, layers, "f446re")["schedule"]
    runs = [w for w, on in (("in place", 4 in sched["inplace_layers"]),
                            ("fused", any(4 in group for group in sched["fused_layers"]))) if on]
    tail = ", ".join(runs).split()
    assert l4.split()[-3 - len(tail):len(l4.split()) - len(tail)] == ["0", "0", f"{r_live(g, plan, 4):,}"]
    assert l4.split()[len(l4.split()) - len(tail):] == tail
    (arena,) = [line for line in lines if line.startswith("  arena ")]
    assert arena.split()[1:3] == [f"{plan.arena_bytes:,}", "B"] and f"lower bound {plan.lower_bound:,} B" in arena
    assert f"of {128 * 1024:,} B (" in text and "[estimate]" in text
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count('class="buffer"') == len(plan.buffers)  # one per arena buffer
    assert svg.count('class="io"') == len(set(g.inputs + g.outputs))  # caller I/O buffers drawn too
    assert "peak L" in svg and "caller I/O buffer" in svg  # peak marked, legend
    assert svg.count('class="inplace"') == len(make_report(g, plan, layers, "f446re")["schedule"]["inplace_layers"]) > 0
    assert f"arena {plan.arena_bytes:,} B" in svg and f"lower bound {plan.lower_bound:,} B" in svg


def r_live(g, plan, index):
    return plan.live_bytes(len(g.nodes))[index]


def test_svg_escapes_names_and_draws_scratch():
    b = Builder("esc")
    (a,) = b.node([b.input("x", 8)], [("a<&>", 64)], scratch=32)
    (y,) = b.node([a], [("y", 8)])
    b.output(y)
    plan = plan_memory(select_kernels(b.g, HOST))
    svg = timeline_svg(b.g, plan)
    assert "a&lt;&amp;&gt;" in svg and "a<&>" not in svg and "n0/scratch" in svg


def test_check_fit_passes_and_fails_with_the_numbers():
    g, plan, layers = built()
    r = make_report(g, plan, layers, "tiny", None, None)
    check_fit(r, r["sram_bytes"], r["flash_bytes"])  # exactly full fits
    check_fit(r, None, None)
    with pytest.raises(TinygenError) as err:
        check_fit(r, r["sram_bytes"] - 100, r["flash_bytes"] - 7)
    lines = str(err.value).splitlines()
    assert lines[0] == f"model '{g.name}' does not fit board tiny:"
    assert lines[1].startswith(f"SRAM: needs {r['sram_bytes']:,} bytes (estimate), the board has "
                               f"{r['sram_bytes'] - 100:,}: over by 100 bytes")
    peak = r["peak"]["buffers"]
    top3 = ", ".join(f"{b['name']} {b['bytes']:,} B" for b in peak[:3])
    assert lines[2].endswith(top3) and f"L{r['peak']['layer']}" in lines[2]
    flash = next(i for i, line in enumerate(lines) if line.startswith("flash:"))
    assert "over by 7 bytes" in lines[flash]
    heavy = sorted(r["layers"], key=lambda e: -e["weight_bytes"])[:3]
    for e in heavy:
        assert f"L{e['index']} {e['op']} '{e['name']}' {e['weight_bytes']:,} B" in lines[flash + 1]


def test_check_fit_only_flash():
    g, plan, layers = built()
    r = make_report(g, plan, layers, "tiny", None, None)
    with pytest.raises(TinygenError, match="flash: needs") as err:
        check_fit(r, 10**9, 1000)
    assert "SRAM" not in str(err.value)


def test_scratch_and_test_op_layers():
    b = Builder("scr")
    (a,) = b.node([b.input("x", 30)], [("a", 100)], scratch=50, macs=7)
    (y,) = b.node([a], [("y", 10)])
    b.output(y)
    plan = plan_memory(select_kernels(b.g, HOST))
    layers = [LayerInfo(i, n.name, n.op, "", n.attrs.macs, 0, "k") for i, n in enumerate(b.g.nodes)]
    r = make_report(b.g, plan, layers, "host")
    assert r["layers"][0]["scratch_bytes"] == 64 and r["layers"][0]["arena_live_bytes"] == 112 + 64
    assert r["macs"] == 7 and r["peak"]["layer"] == 0
    assert "(capacity unknown)" in render_text(r)


def test_check_fit_without_arena_names_io_and_stack():
    b = Builder("io")
    (y,) = b.node([b.input("x", 4000)], [("y", 4000)])
    b.output(y)
    plan = plan_memory(select_kernels(b.g, HOST))
    r = make_report(b.g, plan, [LayerInfo(0, "n0", b.g.nodes[0].op, "", 0, 0, "k")], "tiny")
    with pytest.raises(TinygenError, match="no arena buffers") as err:
        check_fit(r, 5000, None)
    assert f"over by {8000 + STACK_BYTES - 5000:,} bytes" in str(err.value)
