import numpy as np
import pytest

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import LUT_MIN_ELEMENTS, AddAttrs, add_params
from tinygen.ops.mul import mul_params
from tinygen.plan import plan_memory
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import requantize
from tinygen.testing import compile_graph, reference_and_host, single_op_graph

# (shape of input 1, shape of input 2, which input is a constant: "", "1" or "2")
CASES = [
    ((1, 8, 8, 16), (1, 8, 8, 16), ""),
    ((1, 7, 5, 3), (1, 1, 1, 3), "2"),  # per-channel constant
    ((1, 1, 1, 17), (1, 7, 5, 17), "1"),  # constant first operand
    ((1, 7, 5, 17), (1, 1, 1, 1), "2"),  # scalar constant
    ((1, 7, 5, 1), (1, 7, 5, 1), ""),
    ((1, 1, 1, 1), (1, 1, 1, 1), ""),
    ((1, 1, 5, 3), (1, 7, 1, 3), ""),  # both operands broadcast
    ((1, 7, 5, 3), (1, 7, 5, 1), ""),  # activation broadcast over channels
    ((1, 7, 5, 17), (1, 1, 1, 17), ""),  # per-channel activation
    ((1, 17), (1, 17), ""),
    ((1, 17), (1, 1), "2"),
    ((1, 7, 5, 3), (3,), "2"),  # lower-rank constant, numpy right-alignment
]


def q_tensor(name, shape, scale, zp, data=None):
    dtype = DType.INT8
    return Tensor(name, tuple(shape), dtype, QuantParams.per_tensor(scale, zp), data)


def random_qparams(rng):
    """(s1, zp1, s2, zp2, s_out, zp_out) with an output range that fits the sum."""
    s1 = np.exp(rng.uniform(np.log(1e-3), np.log(0.2)))
    s2 = s1 * np.exp(rng.uniform(np.log(0.3), np.log(3.0)))  # comparable: both operands show
    zp1, zp2, zp_out = (int(v) for v in rng.integers(-100, 100, 3))
    return float(s1), zp1, float(s2), zp2, float((s1 + s2) * rng.uniform(0.6, 1.3)), zp_out


def two_operand_graph(op, attrs, shapes, const_which, qp, rng, out_shape=None):
    s1, zp1, s2, zp2, s_out, zp_out = qp
    tensors, feeds = [], []
    for k, (shape, s, zp) in enumerate(zip(shapes, (s1, s2), (zp1, zp2)), 1):
        data = rng.integers(-128, 128, shape).astype(np.int8)
        if const_which == str(k):
            tensors.append(q_tensor(f"c{k}", shape, s, zp, data))
        else:
            tensors.append(q_tensor(f"x{k}", shape, s, zp))
            feeds.append(data)
    out_shape = out_shape or tuple(np.broadcast_shapes(*shapes))
    graph = single_op_graph(op, attrs, tensors, out_shape, out_quant=QuantParams.per_tensor(s_out, zp_out))
    return graph, feeds


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}+{c[1]}c{c[2] or '-'}".replace(" ", ""))
def test_add_bit_exact(case, seed, tmp_path):
    shape1, shape2, const_which = case
    rng = np.random.default_rng(seed * 1000 + sum(map(sum, case[:2])))
    qp = random_qparams(rng)
    act_min = -128 if seed == 0 else qp[5]  # seed 1: fused relu
    attrs = add_params(*qp, act_min, 127)
    graph, feeds = two_operand_graph("add", attrs, (shape1, shape2), const_which, qp, rng)
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)
    if ref.size >= 16 and act_min == -128:  # (a relu may legitimately clamp a whole tensor)
        assert len(np.unique(ref)) > 3
    assert ref.min() >= act_min


@pytest.mark.host
def test_add_saturating_params(tmp_path):
    """Parameters outside the TFLM range: shifted operands and the sum saturate identically."""
    attrs = AddAttrs(128, 127, 3, 22, 1 << 30, 2, (1 << 30) + 12345, 2, 1 << 30, -22, -100, 120)
    rng = np.random.default_rng(5)
    graph, feeds = two_operand_graph("add", attrs, ((1, 4, 4, 5), (1, 4, 4, 5)), "", (1.0, 0, 1.0, 0, 1.0, 0), rng)
    feeds[0][0, 0, 0, :] = 127
    feeds[1][0, 0, 0, :] = 127
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    np.testing.assert_array_equal(host, ref)
    assert ref[0, 0, 0, 0] == 120


def _direct_add(a: AddAttrs, v1: int, v2: int) -> int:
    def rq(x, m, s):
        return int(requantize(np.array(x), m, s))

    x1 = rq((v1 + a.input1_offset) * 2**a.left_shift, a.input1_multiplier, a.input1_shift)
    x2 = rq((v2 + a.input2_offset) * 2**a.left_shift, a.input2_multiplier, a.input2_shift)
    return max(a.act_min, min(a.act_max, rq(x1 + x2, a.output_multiplier, a.output_shift) + a.output_offset))


def check_against_direct(op, make_params, direct, shapes, act, seed, qparams=random_qparams):
    """The vectorised, batched reference of a broadcasting binary op against `direct(attrs, v1, v2)`,
    a literal per-element transcription of its formula. Shared by the add and mul tests."""
    rng = np.random.default_rng(seed)
    shape1, shape2 = shapes
    qp = qparams(rng)
    attrs = make_params(*qp, *act)
    graph, _ = two_operand_graph(op, attrs, (shape1, shape2), "", qp, rng)
    x1 = rng.integers(-128, 128, (3, *shape1[1:])).astype(np.int8)
    x2 = rng.integers(-128, 128, (3, *shape2[1:])).astype(np.int8)
    (ref,) = interpreter.run(graph, [x1, x2])
    assert ref.shape == (3, 2, 3, 4)
    for idx in np.ndindex(ref.shape):
        i1 = tuple(0 if d == 1 else j for d, j in zip(x1.shape, idx))
        i2 = tuple(0 if d == 1 else j for d, j in zip(x2.shape, idx))
        assert ref[idx] == direct(attrs, int(x1[i1]), int(x2[i2])), idx


def test_add_reference_matches_direct_loop():
    check_against_direct("add", add_params, _direct_add, ((1, 1, 3, 4), (1, 2, 3, 1)), (-20, 100), 11)


@pytest.mark.parametrize("seed", range(4))
def test_add_params_track_float(seed):
    """add_params: the reference's real-valued result is within 1 output step of float64 math."""
    rng = np.random.default_rng(100 + seed)
    worst = 0.0
    for _ in range(10):
        qp = s1, zp1, s2, zp2, s_out, zp_out = random_qparams(rng)
        if seed % 2:  # very different input scales
            s2 = s1 * float(rng.choice([1 / 37.0, 23.0]))
            qp = (s1, zp1, s2, zp2, s_out, zp_out)
        graph, _ = two_operand_graph("add", add_params(*qp), ((1, 64), (1, 64)), "", qp, rng)
        x1, x2 = (rng.integers(-128, 128, (50, 64)).astype(np.int8) for _ in range(2))
        (ref,) = interpreter.run(graph, [x1, x2])
        real = s1 * (x1.astype(np.float64) - zp1) + s2 * (x2.astype(np.float64) - zp2)
        expected = np.clip(real / s_out + zp_out, -128, 127)
        worst = max(worst, float(np.max(np.abs(ref - expected))))
    assert worst <= 0.5 + 1e-3  # round to nearest, plus the 20 fractional bits' residue


@pytest.mark.host
def test_add_mul_in_place_chain(tmp_path):
    """add -> mul -> add: the middle ops run in place on their full-shape activation operand."""
    rng = np.random.default_rng(21)
    qp = (0.05, 3, 0.02, -4, 0.06, 1)
    shape = (1, 7, 5, 3)
    g = Graph("chain", dialect="lowered")
    g.add_tensor(q_tensor("x", shape, 0.05, 3))
    g.inputs.append("x")
    for name, shp in (("c1", (1, 1, 1, 3)), ("c2", (1, 7, 5, 3)), ("c3", (1, 1, 1, 1))):
        g.add_tensor(q_tensor(name, shp, 0.02, -4, rng.integers(-128, 128, shp).astype(np.int8)))
    for name in ("t1", "t2", "out"):
        g.add_tensor(q_tensor(name, shape, 0.05, 3))
    g.add_node(Node("a1", "add", ["x", "c1"], ["t1"], add_params(*qp)))
    g.add_node(Node("m", "mul", ["c2", "t1"], ["t2"], mul_params(0.02, -4, 0.05, 3, 0.01, 3)))
    g.add_node(Node("a2", "add", ["t2", "c3"], ["out"], add_params(*qp)))
    g.outputs = ["out"]
    assert plan_memory(g).aliases == {"t2": "t1"}
    x = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,) = interpreter.run(g, [x])
    (host,) = compile_graph(g, tmp_path).invoke_one([x])
    np.testing.assert_array_equal(host, ref)
    assert len(np.unique(ref)) > 3


def test_add_check_rejects_bad_broadcast():
    from tinygen.ir.verify import verify

    qp = (0.1, 0, 0.1, 0, 0.1, 0)
    graph, _ = two_operand_graph("add", add_params(*qp), ((1, 7, 5, 3), (1, 7, 1, 2)), "", qp,
                            np.random.default_rng(0), out_shape=(1, 7, 5, 3))
    with pytest.raises(ValueError, match="does not broadcast"):
        verify(graph)


def test_add_emit_strides_and_comment():
    from tinygen.ops.base import get

    qp = (0.1, 0, 0.1, 0, 0.1, 0)
    graph, _ = two_operand_graph("add", add_params(*qp), ((1, 8, 8, 16), (1, 1, 1, 16)), "2", qp,
                            np.random.default_rng(0))
    call = get("add").emit(graph.nodes[0], graph)
    f = dict(call.fields)
    assert (f["in1_sn"], f["in1_sh"], f["in1_sw"], f["in1_sc"]) == (0, 128, 16, 1)  # N == 1: stride 0
    assert (f["in2_sn"], f["in2_sh"], f["in2_sw"], f["in2_sc"]) == (0, 0, 0, 1)
    assert call.comment == "add [1,8,8,16] + [1,1,1,16]"


# -- tg_add_s8_fast: the flat (no broadcast) and per-channel-constant paths, channel tails, extremes

FAST_CASES = [((1, h, w, c), (1, h, w, c) if full else (1, 1, 1, c), "" if full else "2")
              for c in (1, 3, 5, 8, 17, 31, 64, 96) for (h, w) in ((1, 1), (7, 5)) for full in (True, False)]


def fast_case_graph(op, case, seed, make_params):
    """A binary graph with int8-extreme inputs and zero points -128 / 127 on odd seeds."""
    rng = np.random.default_rng(seed * 977 + sum(map(sum, case[:2])))
    qp = random_qparams(rng)
    if seed % 2:
        qp = (qp[0], -128, qp[2], 127, qp[4], int(rng.choice([-128, 127])))
    graph, feeds = two_operand_graph(op, make_params(*qp), case[:2], case[2], qp, rng)
    for f in feeds:
        f.flat[: min(4, f.size)] = [-128, 127, -128, 127][: min(4, f.size)]
    return graph, feeds


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[0]}+{c[1]}".replace(" ", ""))
def test_add_fast_paths_bit_exact(case, seed, tmp_path):
    graph, feeds = fast_case_graph("add", case, seed, add_params)
    from tinygen.select.kernels import candidates
    from tinygen.select import HOST

    usable = [k.symbol for k in candidates(graph.nodes[0], graph, HOST)]
    assert "tg_add_s8_fast" in usable
    assert ("tg_add_s8_lut" in usable) == (graph.t("out").size >= LUT_MIN_ELEMENTS)
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    np.testing.assert_array_equal(host, ref)


def test_add_fast_refuses_operands_beyond_its_bound():
    """Saturating parameters (left shift 22, positive shifts) stay on the reference."""
    from tinygen.select.kernels import candidates
    from tinygen.select import HOST

    attrs = AddAttrs(128, 127, 3, 22, 1 << 30, 2, (1 << 30) + 12345, 2, 1 << 30, -22, -100, 120)
    graph, _ = two_operand_graph("add", attrs, ((1, 4, 4, 5), (1, 4, 4, 5)), "", (1.0, 0, 1.0, 0, 1.0, 0),
                            np.random.default_rng(5))
    assert [k.symbol for k in candidates(graph.nodes[0], graph, HOST)] == ["tg_add_s8_ref"]


@pytest.mark.host
@pytest.mark.parametrize("seed", range(6))
def test_add_lut_tables_by_formula(seed, tmp_path):
    """tg_add_s8_lut at every input value pair (a 256 x 256 grid, so every table entry is read with
    every other): equal to the reference, and the reference to the per-element formula."""
    rng = np.random.default_rng(300 + seed)
    qp = random_qparams(rng)
    if seed % 2:
        qp = (qp[0], -128, qp[2] * 7.0, 127, qp[4] * 3.0, int(rng.choice([-128, 127])))
    attrs = add_params(*qp, -128 if seed < 4 else qp[5], 127)
    graph, _ = two_operand_graph("add", attrs, ((1, 256, 256, 1), (1, 256, 256, 1)), "", qp, rng)
    graph.nodes[0].kernel = "tg_add_s8_lut"
    v = np.arange(-128, 128, dtype=np.int8)
    x1, x2 = np.broadcast_to(v[:, None], (256, 256)), np.broadcast_to(v[None, :], (256, 256))
    feeds = [x1.reshape(1, 256, 256, 1).copy(), x2.reshape(1, 256, 256, 1).copy()]
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    np.testing.assert_array_equal(host, ref)
    for i, j in ((0, 0), (0, 255), (255, 0), (255, 255), (128, 128), (37, 201)):
        assert ref[0, i, j, 0] == _direct_add(attrs, int(v[i]), int(v[j]))


def test_add_lut_only_where_flash_is_roomy():
    """The tables' flash is spent on the 1 MB boards, not on the F446RE (nor its QEMU stand-in)."""
    from tinygen.boards import load_board
    from tinygen.select.kernels import candidates
    from tinygen.select.target import target_of

    qp = (0.05, 3, 0.04, -4, 0.08, 1)
    graph, _ = two_operand_graph("add", add_params(*qp), ((1, 8, 8, 16), (1, 8, 8, 16)), "", qp,
                                 np.random.default_rng(0))
    first = {b: candidates(graph.nodes[0], graph, target_of(load_board(b)))[0].symbol
             for b in ("f746zg", "f767zi", "f446re", "mps2-an386")}
    assert first == {"f746zg": "tg_add_s8_lut", "f767zi": "tg_add_s8_lut", "f446re": "tg_add_s8_fast",
                     "mps2-an386": "tg_add_s8_fast"}


@pytest.mark.qemu
def test_add_lut_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    picks = [c for c in FAST_CASES if np.prod(np.broadcast_shapes(c[0], c[1])) >= LUT_MIN_ELEMENTS][:4]
    graphs = [fast_case_graph("add", c, s, add_params)[0] for c in picks for s in (0, 1)]
    check_on_qemu(graphs, tmp_path, "tg_add_s8_lut")


@pytest.mark.qemu
def test_add_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    picks = [FAST_CASES[i] for i in (0, 3, 9, 14, 22, 29)]
    graphs = [fast_case_graph("add", c, s, add_params)[0] for c in picks for s in (0, 1)]
    check_on_qemu(graphs, tmp_path, "tg_add_s8_fast")
