import numpy as np
import pytest

from tests.kernels.test_add import CASES, FAST_CASES, two_operand_graph, check_against_direct, fast_case_graph
from tinygen.ops.mul import MulAttrs, mul_params
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import requantize
from tinygen.testing import reference_and_host


def random_qparams(rng, ratio=(100.0, 400.0)):
    """(s1, zp1, s2, zp2, s_out, zp_out); s_out = s1 * s2 * ratio keeps products in range."""
    s1, s2 = (float(v) for v in np.exp(rng.uniform(np.log(1e-3), np.log(0.5), 2)))
    zp1, zp2, zp_out = (int(v) for v in rng.integers(-100, 100, 3))
    return s1, zp1, s2, zp2, s1 * s2 * float(rng.uniform(*ratio)), zp_out


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}*{c[1]}c{c[2] or '-'}".replace(" ", ""))
def test_mul_bit_exact(case, seed, tmp_path):
    shape1, shape2, const_which = case
    rng = np.random.default_rng(seed * 1000 + sum(map(sum, case[:2])))
    qp = random_qparams(rng)
    act_min = -128 if seed == 0 else qp[5]  # seed 1: fused relu
    graph, feeds = two_operand_graph("mul", mul_params(*qp, act_min, 127), (shape1, shape2), const_which, qp, rng)
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)
    if ref.size >= 16 and act_min == -128:
        assert len(np.unique(ref)) > 3
    assert ref.min() >= act_min


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
def test_mul_multiplier_above_one(seed, tmp_path):
    """Real multiplier > 1 (positive shift): small operands, many outputs saturate."""
    rng = np.random.default_rng(300 + seed)
    qp = random_qparams(rng, ratio=(0.05, 0.5))
    attrs = mul_params(*qp)
    assert attrs.shift > 0
    graph, feeds = two_operand_graph("mul", attrs, ((1, 7, 5, 3), (1, 7, 5, 3)), "", qp, rng)
    feeds = [(f // 16).astype(np.int8) for f in feeds]
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    np.testing.assert_array_equal(host, ref)


def _direct_mul(a: MulAttrs, v1: int, v2: int) -> int:
    y = int(requantize(np.array((v1 + a.input1_offset) * (v2 + a.input2_offset)), a.multiplier, a.shift))
    return max(a.act_min, min(a.act_max, y + a.output_offset))


def test_mul_reference_matches_direct_loop():
    check_against_direct("mul", mul_params, _direct_mul, ((1, 2, 1, 4), (1, 2, 3, 1)), (-30, 90), 12, random_qparams)


@pytest.mark.parametrize("seed", range(4))
def test_mul_params_track_float(seed):
    """mul_params: the reference's real-valued result is within 1 output step of float64 math."""
    rng = np.random.default_rng(200 + seed)
    for _ in range(10):
        qp = s1, zp1, s2, zp2, s_out, zp_out = random_qparams(rng, (1.0, 400.0))
        attrs = mul_params(*qp)
        graph, _ = two_operand_graph("mul", attrs, ((1, 64), (1, 1)), "", qp, rng)
        x1 = rng.integers(-128, 128, (50, 64)).astype(np.int8)
        x2 = rng.integers(-128, 128, (50, 1)).astype(np.int8)
        (ref,) = interpreter.run(graph, [x1, x2])
        real = s1 * (x1.astype(np.float64) - zp1) * s2 * (x2.astype(np.float64) - zp2)
        expected = np.clip(real / s_out + zp_out, -128, 127)
        # Double rounding: srdhm rounds to 2^shift steps, the right shift rounds again.
        bound = 0.5 + (0.5 * 2.0**attrs.shift if attrs.shift < 0 else 0.0) + 1e-6
        assert float(np.max(np.abs(ref - expected))) <= min(bound, 1.0)


def test_mul_emit_comment():
    from tinygen.ops.base import get

    qp = (0.1, 0, 0.1, 0, 0.01, 0)
    graph, _ = two_operand_graph("mul", mul_params(*qp), ((1, 7, 5, 3), (3,)), "2", qp, np.random.default_rng(0))
    call = get("mul").emit(graph.nodes[0], graph)
    f = dict(call.fields)
    assert (f["in2_sn"], f["in2_sh"], f["in2_sw"], f["in2_sc"]) == (0, 0, 0, 1)
    assert call.comment == "mul [1,7,5,3] * [3]"


def _tflm_mul_params(*qp):
    return mul_params(*qp, mode="tflm")


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])  # 1: PyTorch's single-rounding multipliers, int8-extreme zero points; 0: TFLM's
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[0]}*{c[1]}".replace(" ", ""))
def test_mul_fast_paths_bit_exact(case, seed, tmp_path):
    from tinygen.select import HOST
    from tinygen.select.kernels import candidates

    graph, feeds = fast_case_graph("mul", case, seed, mul_params if seed % 2 else _tflm_mul_params)
    a = graph.nodes[0].attrs
    usable = [k.symbol for k in candidates(graph.nodes[0], graph, HOST)]
    assert "tg_mul_s8_fast" in usable
    if seed % 2 == 0 and a.shift < 0:  # the one-SMLAL stage takes every right shift these scales give
        assert usable[0] == "tg_mul_s8_w16"
    if seed % 2 and a.shift == 0:  # the single-rounding one: every small right shift became shift 0
        assert usable[0] == "tg_mul_s8_once"
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    np.testing.assert_array_equal(host, ref)


def test_mul_fast_refuses_a_large_left_shift():
    from tinygen.select import HOST
    from tinygen.select.kernels import candidates

    attrs = MulAttrs(128, 128, 0, 1 << 30, 15)  # (255 * 255) << 15 > 2^30
    graph, _ = two_operand_graph("mul", attrs, ((1, 2, 2, 3), (1, 2, 2, 3)), "", (1.0, 0, 1.0, 0, 1.0, 0),
                            np.random.default_rng(0))
    assert [k.symbol for k in candidates(graph.nodes[0], graph, HOST)] == ["tg_mul_s8_ref"]


def test_mul_w16_refuses_a_left_shift():
    """tg_mul_s8_w16's stage needs a right shift in [-23, -1] (tg_gemm_w16.h)."""
    from tinygen.select import HOST
    from tinygen.select.kernels import candidates

    for shift, usable in ((1, False), (-1, True), (-23, True), (-24, False)):
        attrs = MulAttrs(3, -5, 0, 1 << 30, shift)
        graph, _ = two_operand_graph("mul", attrs, ((1, 2, 2, 3), (1, 2, 2, 3)), "", (1.0, 0, 1.0, 0, 1.0, 0),
                                     np.random.default_rng(0))
        assert ("tg_mul_s8_w16" in [k.symbol for k in candidates(graph.nodes[0], graph, HOST)]) == usable


@pytest.mark.qemu
def test_mul_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    picks = [FAST_CASES[i] for i in (0, 3, 9, 14, 22, 29)]
    graphs = [fast_case_graph("mul", c, s, mul_params)[0] for c in picks for s in (0, 1)]
    check_on_qemu(graphs, tmp_path, "tg_mul_s8_fast")


@pytest.mark.qemu
def test_mul_w16_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    picks = [FAST_CASES[i] for i in (0, 3, 9, 14, 22, 29)]
    graphs = [g for c in picks for s in (0, 1) for g in [fast_case_graph("mul", c, s, _tflm_mul_params)[0]]
              if g.nodes[0].attrs.shift < 0]
    assert len(graphs) >= 6
    check_on_qemu(graphs, tmp_path, "tg_mul_s8_w16")


@pytest.mark.qemu
def test_mul_once_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    picks = [FAST_CASES[i] for i in (0, 3, 9, 14, 22, 29)]
    graphs = [g for c in picks for s in (0, 1) for g in [fast_case_graph("mul", c, s, mul_params)[0]]
              if g.nodes[0].attrs.shift == 0]
    assert len(graphs) >= 6
    check_on_qemu(graphs, tmp_path, "tg_mul_s8_once")
