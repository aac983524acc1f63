import numpy as np
import pytest

from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import requantize
from tinygen.testing import act, const, random_requant, reference_and_host, single_op_graph

# (N, K, Cout)
CASES = [(1, 1, 1), (1, 17, 3), (1, 3, 17), (1, 64, 10), (1, 200, 7), (2, 7, 5),
         (1, 5, 8), (1, 31, 64), (1, 96, 31), (3, 64, 17), (4, 8, 96), (2, 1280, 10)]


def make_graph(rng, n, k, cout, act_min=-128):
    typical = 40.0 / (5500.0 * np.sqrt(k))  # |acc| ~ 5500 sqrt(K) for uniform int8 -> outputs ~ +-40
    mult, shift = random_requant(rng, cout, typical / 3, typical * 3)
    attrs = FullyConnectedAttrs(int(rng.integers(-128, 128)), int(rng.integers(-20, 20)), mult, shift,
                                act_min, 127)
    w = rng.integers(-127, 128, (cout, k)).astype(np.int8)
    b = rng.integers(-5000, 5000, cout).astype(np.int32)
    graph = single_op_graph("fully_connected", attrs, [act("x", (n, k)), const("w", w), const("b", b)], (n, cout))
    return graph, attrs, w, b


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c)))
def test_fully_connected_bit_exact(case, seed, tmp_path):
    n, k, cout = case
    rng = np.random.default_rng(seed * 1000 + sum(case))
    graph, attrs, _, _ = make_graph(rng, n, k, cout, act_min=-128 if seed == 0 else -10)
    x = rng.integers(-128, 128, (n, k)).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == (n, cout)
    np.testing.assert_array_equal(host, ref)
    if ref.size >= 16:
        assert len(np.unique(ref)) > 3
    assert ref.min() >= attrs.act_min


@pytest.mark.host
@pytest.mark.parametrize("zp", [-128, 127])
def test_fully_connected_int8_extremes(zp, tmp_path):
    """Inputs and weights at -128/127, input zero point at both ends, saturating requantization."""
    rng = np.random.default_rng(400 + zp)
    n, k, cout = 2, 37, 9
    mult, shift = random_requant(rng, cout, 0.5, 4.0)
    attrs = FullyConnectedAttrs(-zp, 127 if zp < 0 else -128, mult, shift)
    w = rng.choice(np.array([-128, 127], np.int8), (cout, k))
    b = rng.integers(-100000, 100000, cout).astype(np.int32)
    graph = single_op_graph("fully_connected", attrs, [act("x", (n, k)), const("w", w), const("b", b)], (n, cout))
    x = rng.choice(np.array([-128, 127, zp], np.int8), (n, k))
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)
    assert (ref == -128).any() and (ref == 127).any()


@pytest.mark.host
def test_fully_connected_saturating_right_shift(tmp_path):
    """Scales below 1/2 (right shifts, as tg_fully_connected_s8_w16 needs) that still saturate, an
    activation range narrower than int8 on both sides, extreme operands, 9 channels (a tail of 1)."""
    rng = np.random.default_rng(401)
    n, k, cout = 1, 37, 9
    mult, shift = random_requant(rng, cout, 0.05, 0.45)
    attrs = FullyConnectedAttrs(128, -128, mult, shift, -100, 90)
    w = rng.choice(np.array([-128, 127], np.int8), (cout, k))
    b = rng.integers(-100000, 100000, cout).astype(np.int32)
    graph = single_op_graph("fully_connected", attrs, [act("x", (n, k)), const("w", w), const("b", b)], (n, cout))
    x = rng.choice(np.array([-128, 127], np.int8), (n, k))
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)
    assert (ref == -100).any() and (ref == 90).any()


@pytest.mark.qemu
def test_fully_connected_rows_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    rng = np.random.default_rng(5)
    # batch-1 cases: the device input protocol sizes a merged firmware's inputs by one batch row; the
    # two-row tile itself runs on QEMU through the conv2d 1x1/im2col variants
    graphs = [make_graph(rng, *c)[0] for c in CASES if c[0] == 1]
    check_on_qemu(graphs, tmp_path, "tg_fully_connected_s8_rows")


@pytest.mark.qemu
def test_fully_connected_w16_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    from tinygen.testing import supported

    rng = np.random.default_rng(6)
    graphs = [make_graph(rng, *c)[0] for c in CASES if c[0] == 1]
    graphs = [g for g in graphs if supported("fully_connected", "tg_fully_connected_s8_w16", g)]
    assert len(graphs) >= 5  # 17, 10, 8, 64, 31 outputs: channel tails 1, 2, 0, 0, 3; K tails 3, 0, 1, 3, 0
    check_on_qemu(graphs, tmp_path, "tg_fully_connected_s8_w16")


def test_fully_connected_reference_matches_direct_loop():
    """The vectorised, batched reference against a literal transcription of the formula."""
    rng = np.random.default_rng(9)
    k, cout = 6, 4
    graph, a, w, b = make_graph(rng, 1, k, cout, act_min=-50)
    x = rng.integers(-128, 128, (3, k)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    assert ref.shape == (3, cout)
    for n in range(3):
        for o in range(cout):
            acc = int(b[o]) + sum(int(w[o, j]) * (int(x[n, j]) + a.input_offset) for j in range(k))
            v = int(requantize(np.array(acc), a.multiplier[o], a.shift[o])) + a.output_offset
            assert ref[n, o] == max(-50, min(127, v))


def test_fully_connected_macs_and_comment():
    from tinygen.ops.base import get

    from tinygen.select import HOST, select_kernels

    graph, _, _, _ = make_graph(np.random.default_rng(0), 1, 64, 10)
    select_kernels(graph, HOST)
    op = get("fully_connected")
    assert op.macs(graph.nodes[0], graph) == 640
    assert op.emit(graph.nodes[0], graph).comment == "fully_connected 64->10"
