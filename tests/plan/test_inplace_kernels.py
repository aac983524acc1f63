"""Every kernel that declares `inplace_ok` runs bit-exact with its output over its input.

Each case wraps one op between reshapes (plain copies), so the op's in-place input is an arena
tensor that dies at the op and its output is an arena tensor too: the planner must alias them,
and the host C, run with the output pointer equal to the input pointer, must equal the numpy
reference. A kernel added with `inplace_ok` and no case here fails the coverage test."""

import numpy as np
import pytest

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.add_float import ElementwiseFloatAttrs
from tinygen.ops.base import REGISTRY
from tinygen.ops.lut import LutAttrs, make_table
from tinygen.ops.maximum import MaximumAttrs
from tinygen.ops.mul import mul_params
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.ops.softmax import softmax_params, tflm_softmax_params
from tinygen.ops.softmax_float import SoftmaxFloatAttrs
from tinygen.plan import PlanOptions, plan_memory
from tinygen.reference import interpreter
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import compile_graph

SHAPE = (1, 4, 5, 8)
# the banded executions wherever they apply, not only where they lower the peak: these tests are
# about the mechanisms, on graphs too small for every one of them to matter
EVERYWHERE = PlanOptions(cheapest=False)
QP = (0.05, 0, 0.04, 3, 0.07, -1)  # input1, input2, output: scale, zero point


def wrapped(op, attrs, kernel, shapes, dtype=DType.INT8, const_second=False, rng=None):
    """gx_k -reshape-> x_k -op-> out -reshape-> y: the op's inputs and output are arena tensors."""
    g = Graph(f"inplace_{kernel}", dialect="lowered")
    q = [QuantParams.per_tensor(QP[0], QP[1]), QuantParams.per_tensor(QP[2], QP[3])]
    if op == "maximum":  # inputs and output on one grid
        q[1] = q[0]
    ins = []
    for k, shape in enumerate(shapes):
        quant = q[k] if dtype == DType.INT8 else None
        if const_second and k == 1:
            data = rng.uniform(-2, 2, shape).astype(np.float32)
            g.add_tensor(Tensor(f"c{k}", shape, dtype, None, data))
            ins.append(f"c{k}")
            continue
        g.add_tensor(Tensor(f"gx{k}", shape, dtype, quant))
        g.add_tensor(Tensor(f"x{k}", shape, dtype, quant))
        g.inputs.append(f"gx{k}")
        g.add_node(Node(f"pre{k}", "reshape", [f"gx{k}"], [f"x{k}"], ReshapeAttrs(shape)))
        ins.append(f"x{k}")
    out_q = QuantParams.per_tensor(QP[4], QP[5]) if dtype == DType.INT8 else None
    if op == "softmax":
        out_q = QuantParams.per_tensor(1 / 256, -128)
    if op == "maximum":
        out_q = q[0]
    g.add_tensor(Tensor("out", shapes[0], dtype, out_q))
    g.add_tensor(Tensor("y", shapes[0], dtype, out_q))
    g.add_node(Node("op", op, ins, ["out"], attrs, kernel=kernel))
    g.add_node(Node("post", "reshape", ["out"], ["y"], ReshapeAttrs(shapes[0])))
    g.outputs = ["y"]
    return g


def _lut():
    return LutAttrs(make_table("sigmoid", 0.05, -5, 1 / 256, -128), "sigmoid")


# kernel -> (op, attrs, input shapes, dtype, constant second operand)
CASES = {
    "tg_add_s8_lut": ("add", add_params(*QP), [(1, 8, 8, 16), (1, 8, 1, 16)], DType.INT8, False),
    "tg_add_s8_fast": ("add", add_params(*QP), [SHAPE, (1, 4, 1, 8)], DType.INT8, False),
    "tg_add_s8_ref": ("add", add_params(*QP, -1, 127), [SHAPE, (1, 1, 1, 8)], DType.INT8, False),
    "tg_sub_s8_ref": ("sub", add_params(*QP), [SHAPE, SHAPE], DType.INT8, False),
    "tg_mul_s8_fast": ("mul", mul_params(*QP), [SHAPE, (1, 4, 5, 1)], DType.INT8, False),
    "tg_mul_s8_w16": ("mul", mul_params(*QP, mode="tflm"), [SHAPE, (1, 1, 1, 8)], DType.INT8, False),
    "tg_mul_s8_once": ("mul", mul_params(*QP), [SHAPE, (1, 1, 1, 8)], DType.INT8, False),
    "tg_mul_s8_ref": ("mul", mul_params(*QP), [SHAPE, SHAPE], DType.INT8, False),
    "tg_lut_s8_fast": ("lut", _lut(), [(1, 4, 5, 7)], DType.INT8, False),  # 140 B: the word loop and a tail
    "tg_lut_s8_ref": ("lut", _lut(), [SHAPE], DType.INT8, False),
    "tg_maximum_s8_ref": ("maximum", MaximumAttrs(), [SHAPE, SHAPE], DType.INT8, False),
    "tg_softmax_s8_ref": ("softmax", softmax_params(0.05, 1.0, 1 / 256, -128), [SHAPE], DType.INT8, False),
    "tg_softmax_tflm_s8_ref": ("softmax", tflm_softmax_params(1.0, 0.05), [SHAPE], DType.INT8, False),
    "tg_elementwise2_f32_ref": ("add_float", ElementwiseFloatAttrs(), [SHAPE, (1, 1, 5, 8)], DType.FLOAT32, False),
    "tg_elementwise2_f32_c_ref": ("mul_float", ElementwiseFloatAttrs(-1.0, 1.5), [SHAPE, (1, 1, 1, 8)],
                                  DType.FLOAT32, True),
    "tg_softmax_f32_ref": ("softmax_float", SoftmaxFloatAttrs(0.5), [(1, 4, 10)], DType.FLOAT32, False),
    "tg_reshape_ref": ("reshape", ReshapeAttrs(SHAPE), [SHAPE], DType.INT8, False),
}


def test_every_inplace_kernel_has_a_case():
    declared = {k.symbol for op in REGISTRY.values() for k in op.kernels if k.inplace_ok and not op.name.startswith("_")}
    assert declared == set(CASES)


@pytest.mark.host
@pytest.mark.parametrize("kernel", sorted(CASES))
def test_kernel_in_place_is_bit_exact(kernel, tmp_path):
    op, attrs, shapes, dtype, const_second = CASES[kernel]
    rng = np.random.default_rng(sum(map(ord, kernel)))
    g = wrapped(op, attrs, kernel, shapes, dtype, const_second, rng)
    assert kernel in [k.symbol for k in candidates(g.nodes[-2], g, HOST)]  # the case reaches this variant
    host = compile_graph(g, tmp_path)
    plan = plan_memory(g)
    assert plan.aliases.get("out") == "x0"  # really in place
    if dtype == DType.INT8:
        feeds = [rng.integers(-128, 128, g.t(t).shape).astype(np.int8) for t in g.inputs]
    else:
        feeds = [rng.uniform(-3, 3, g.t(t).shape).astype(np.float32) for t in g.inputs]
    (ref,) = interpreter.run(g, feeds)
    (got,) = host.invoke_one(feeds)
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3


# --- convolutions in place on row bands (tinygen/ops/inplace_rows.py, tg_inplace_rows.h) ---

def conv_chain(h, w, c, k, dil, groups, seed):
    """x -3x3-> a -conv kxk (same, stride 1, c -> c)-> d -1x1-> y: d may overwrite a on row bands."""
    from tinygen.ops.conv2d import Conv2dAttrs

    rng = np.random.default_rng(seed)
    q = QuantParams.per_tensor(0.05, 0)
    g = Graph(f"dw{h}x{w}x{c}k{k}d{dil}", dialect="lowered")
    g.add_tensor(Tensor("x", (1, h, w, 4), DType.INT8, q))
    g.inputs = ["x"]

    def conv(src, dst, cout, kk, groups, pad):
        cin = g.t(src).shape[3]
        m = tuple(int(v) for v in rng.integers(1 << 30, 1 << 31, cout))  # normalised: every variant applies
        attrs = Conv2dAttrs((1, 1), (pad,) * 4, (dil, dil) if kk > 1 else (1, 1), groups, 3, -2, m, (-8,) * cout)
        wt = g.add_const("w", rng.integers(-127, 128, (cout, kk, kk, cin // groups)).astype(np.int8))
        b = g.add_const("b", rng.integers(-300, 300, cout).astype(np.int32))
        g.add_tensor(Tensor(dst, (1, h, w, cout), DType.INT8, q))
        g.add_node(Node(f"n_{dst}", "conv2d", [src, wt.name, b.name], [dst], attrs))

    conv("x", "a", c, 3, 1, dil)  # not pointwise: nothing to fuse with d
    conv("a", "d", c, k, groups or c, (k - 1) // 2 * dil)
    conv("d", "y", 3, 1, 1, 0)
    g.outputs = ["y"]
    return g


# (h, w, c, k, dilation, groups (0: depthwise), kernel (None: the one selected)): band edges, odd
# heights, a tail band of one row, 5x5, dilation, dense 3x3 and 1x1, the reference
ROW_CASES = [
    (5, 3, 8, 3, 1, 0, "tg_conv2d_s8_dw3x3s1"), (6, 4, 16, 3, 1, 0, None), (7, 5, 12, 3, 1, 0, None),
    (8, 3, 8, 5, 1, 0, "tg_conv2d_s8_dw"), (11, 3, 8, 3, 2, 0, "tg_conv2d_s8_dw"),
    (7, 4, 8, 3, 1, 1, "tg_conv2d_s8_im2col"), (5, 3, 12, 1, 1, 1, "tg_conv2d_s8_1x1"),
    (7, 4, 12, 3, 1, 1, "tg_conv2d_s8_im2col4"), (5, 3, 20, 1, 1, 1, "tg_conv2d_s8_pw4"),  # the w16 GEMM
    (6, 3, 8, 3, 1, 2, "tg_conv2d_s8_ref"),  # grouped, on the reference
    (7, 3, 8, 1, 1, 1, "tg_conv2d_s8_ref"),  # pointwise on pixel bands (21 = 8 + 8 + 5), on the reference
    (4, 4, 8, 3, 1, 0, None),  # lag (4 rows) as large as the tensor: not worth it, planned apart
]


@pytest.mark.host
@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: "h{}w{}c{}k{}d{}g{}".format(*c[:6]))
def test_conv_in_place_on_row_bands_is_bit_exact(case, tmp_path):
    from tests.plan.graphs import check_plan
    from tinygen.ops import inplace_rows
    from tinygen.plan import liveness

    h, w, c, k, dil, groups, pin = case
    g = conv_chain(h, w, c, k, dil, groups, seed=h * 100 + k)
    if pin:
        g.nodes[1].kernel = pin
    host = compile_graph(g, tmp_path, EVERYWHERE)  # selects kernels, plans, compiles
    dw = g.nodes[1]
    kernel = REGISTRY["conv2d"].kernel(dw)
    assert kernel.inplace_lag is not None, dw.kernel  # a variant that runs on row bands
    plan = plan_memory(g, EVERYWHERE)
    check_plan(g, plan)  # the memory replay, with the lag buffer written during the node
    # the lag: BAND_ROWS + reach rows, or for a pointwise conv BAND_PIXELS pixels (tg_conv2d_pixels_inplace)
    lag = (min(inplace_rows.BAND_PIXELS, h * w) if k == 1 else min(inplace_rows.BAND_ROWS + (k - 1) * dil, h) * w) * c
    if lag < h * w * c:
        assert plan.aliases.get("d") == "a"
        assert [b.size for b in plan.buffers if b.name == liveness.lag_name(dw)] == [liveness.align(lag)]
    else:
        assert "d" not in plan.aliases
    x = np.random.default_rng(h).integers(-128, 128, g.t("x").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (got,) = host.invoke_one([x])
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3


def test_every_row_band_kernel_has_a_case():
    declared = {k.symbol for op in REGISTRY.values() for k in op.kernels if k.inplace_lag and not op.name.startswith("_")}
    # stride 2 never runs in place (the output is smaller): it runs fused, test_fused_expand_depthwise_is_bit_exact
    assert declared == {c[-1] for c in ROW_CASES if c[-1]} | {"tg_conv2d_s8_dw3x3s2"}


# --- fused row bands: pointwise expand -> depthwise, the expanded tensor never materialised ---

def expand_dw_project(h, w, c, e, stride, seed, inplace_before=False):
    """x -1x1 (c -> e)-> E -depthwise 3x3 / stride-> D -1x1 (e -> c)-> y; with `inplace_before` a
    depthwise 3x3 that runs in place makes the expansion's input (an alias of an earlier tensor)."""
    from tinygen.ops.conv2d import Conv2dAttrs

    rng = np.random.default_rng(seed)
    q = QuantParams.per_tensor(0.05, 0)
    g = Graph(f"ir{h}x{w}s{stride}", dialect="lowered")
    g.add_tensor(Tensor("x", (1, h, w, c), DType.INT8, q))
    g.inputs = ["x"]

    def conv(src, dst, cout, k, groups, s, pad):
        cin = g.t(src).shape[3]
        n, hh, ww, _ = g.t(src).shape
        oh, ow = (hh + 2 * pad - k) // s + 1, (ww + 2 * pad - k) // s + 1
        m = tuple(int(v) for v in rng.integers(1 << 30, 1 << 31, cout))  # normalised: every variant applies
        attrs = Conv2dAttrs((s, s), (pad,) * 4, (1, 1), groups, 3, -2, m, (-8,) * cout)
        wt = g.add_const("w", rng.integers(-127, 128, (cout, k, k, cin // groups)).astype(np.int8))
        b = g.add_const("b", rng.integers(-300, 300, cout).astype(np.int32))
        g.add_tensor(Tensor(dst, (1, oh, ow, cout), DType.INT8, q))
        g.add_node(Node(f"n_{dst}", "conv2d", [src, wt.name, b.name], [dst], attrs))

    if inplace_before:  # x -3x3 (no fusion with the depthwise)-> a -dw in place-> a2
        conv("x", "a", c, 3, 1, 1, 1)
        conv("a", "a2", c, 3, c, 1, 1)
        conv("a2", "E", e, 1, 1, 1, 0)
    else:
        conv("x", "a", c, 1, 1, 1, 0)
        conv("a", "E", e, 1, 1, 1, 0)
    conv("E", "D", e, 3, e, stride, 1)
    conv("D", "y", c, 1, 1, 1, 0)
    g.outputs = ["y"]
    return g


# the expansion on the kernel without scratch (tg_conv2d_s8_1x1) and with (pw4), in a fused chain
FUSED_CASES = [(5, 1, "tg_conv2d_s8_1x1"), (8, 1, "tg_conv2d_s8_pw4"), (7, 2, "tg_conv2d_s8_1x1"),
               (7, 2, "tg_conv2d_s8_pw4"), (8, 2, "tg_conv2d_s8_pw4"), (3, 2, "tg_conv2d_s8_1x1")]


@pytest.mark.host
@pytest.mark.parametrize("h, stride, expand", FUSED_CASES, ids=lambda v: str(v))
def test_fused_expand_depthwise_is_bit_exact(h, stride, expand, tmp_path):
    from tests.plan.graphs import check_plan
    from tinygen.ops.inplace_rows import BAND_ROWS

    g = expand_dw_project(h, 4, 4, 24, stride, seed=h * 10 + stride)
    g.nodes[1].kernel = expand
    host = compile_graph(g, tmp_path, EVERYWHERE)
    assert g.nodes[1].kernel == expand
    assert g.nodes[2].kernel == f"tg_conv2d_s8_dw3x3s{stride}"
    plan = plan_memory(g, EVERYWHERE)
    check_plan(g, plan)  # the replay: x stays intact until the chain's last node, the bands are written there
    # the expansion E only exists as the rows one band of the depthwise reads, D as one band
    e, d = g.t("E"), g.t("D")
    oh = d.shape[1]  # the depthwise's band [r0, r1) reads E rows [r0 * s - 1, (r1 - 1) * s + 2), clipped
    rows = max(min(h, (min(r0 + BAND_ROWS, oh) - 1) * stride + 2) - max(0, r0 * stride - 1)
               for r0 in range(0, oh, BAND_ROWS))
    band_e = rows * e.shape[2] * e.shape[3]
    band_d = min(BAND_ROWS, d.shape[1]) * d.shape[2] * d.shape[3]
    chain = next((c for c in plan.chains.values() if "n_E" in c.convs[:-1]), None)
    if band_e + g.t("a").nbytes < e.nbytes:  # fusing E into D saves bytes even with a live to the end
        assert chain is not None and chain.convs[chain.convs.index("n_E") + 1] == "n_D"
        sizes = {b.name: b.size for b in plan.buffers}
        assert sizes["E"] == -(-band_e // 16) * 16 < e.nbytes
        if "n_D" in chain.convs[:-1]:  # ... -> project: D is a band too
            assert sizes["D"] == -(-band_d // 16) * 16 < d.nbytes
    x = np.random.default_rng(h).integers(-128, 128, g.t("x").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (got,) = host.invoke_one([x])
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3


@pytest.mark.host
def test_fused_pair_after_an_in_place_layer_keeps_its_input(tmp_path):
    """The expansion's input is the in-place output of the layer before (an alias): it must stay
    live, under its root's storage, until the pair's second node, clear of that node's scratch."""
    from tests.plan.graphs import check_plan

    g = expand_dw_project(16, 16, 32, 64, 2, seed=7, inplace_before=True)
    host = compile_graph(g, tmp_path, EVERYWHERE)
    plan = plan_memory(g, EVERYWHERE)
    assert plan.aliases.get("a2") == "a" and any(c.convs[:2] == ("n_E", "n_D") for c in plan.chains.values())
    check_plan(g, plan)
    x = np.random.default_rng(7).integers(-128, 128, g.t("x").shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (got,) = host.invoke_one([x])
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 3
