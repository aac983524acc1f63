import itertools

import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.bconv2d import output_shape
from tinygen.ops.bfully_connected import BFullyConnectedAttrs
from tinygen.reference import bitpack, interpreter
from tinygen.testing import act, const, single_op_graph

from tests.kernels.bitpack_host import (EDGE_CHANNELS, assert_cases_bit_exact, cases_graph, random_output_stage,
                                        random_packed)


def bfc_case(rng, k, cout, output):
    attrs = BFullyConnectedAttrs(k, output, **random_output_stage(rng, output, cout, k))
    x = act("x", (1, bitpack.words_for(k)), DType.UINT32)
    w = const("w", random_packed(rng, (cout,), k))
    shape, dtype = output_shape((1,), cout, output)
    return (attrs, [x, w], shape, dtype), f"{k}->{cout} {output}"


@pytest.mark.host
@pytest.mark.parametrize("output,seed", [("binary", 0), ("int8", 1)], ids=["binary-seed0", "int8-seed1"])
def test_bfully_connected_bit_exact(output, seed, tmp_path):
    """Every (in_features, out_features) pair of edge channel counts in one compiled graph."""
    rng = np.random.default_rng(seed)
    pairs = itertools.product(EDGE_CHANNELS, EDGE_CHANNELS)
    cases, labels = zip(*[bfc_case(rng, k, cout, output) for k, cout in pairs])
    graph = cases_graph("bfully_connected", cases)
    inputs = [random_packed(rng, (1,), c[0].in_features) for c in cases]
    ref = assert_cases_bit_exact(graph, inputs, labels, tmp_path)
    flat = np.concatenate([bitpack.unpack_bits(r, c[1][1].shape[0]).ravel() if output == "binary" else r.ravel()
                           for c, r in zip(cases, ref)])
    assert (0.2 < flat.mean() < 0.8) if output == "binary" else len(np.unique(flat)) > 20


def test_bfully_connected_reference_matches_pm1_matmul():
    rng = np.random.default_rng(5)
    k, cout = 65, 33
    x = rng.choice([-1, 1], (4, k))
    w = rng.choice([-1, 1], (cout, k))
    # acc = 4*dot + 12 (bias 3 in units of 1/4 dot); multiplier 2^30 with shift -1 is exactly 1/4
    attrs = BFullyConnectedAttrs(k, "int8", multiplier=(1 << 30,) * cout, shift=(-1,) * cout, bias=(12,) * cout,
                                 pre_shift=2, output_offset=-5)
    inputs = [act("x", (1, 3), DType.UINT32), const("w", bitpack.pack_pm1(w))]
    graph = single_op_graph("bfully_connected", attrs, inputs, (1, cout))
    (out,) = interpreter.run(graph, [bitpack.pack_pm1(x)])
    np.testing.assert_array_equal(out, np.clip(x @ w.T + 3 - 5, -128, 127))


# in_features covering 8-word carry-save blocks with every tail (words % 8 = 0..7), 31+ blocks
WIDE = [(256, 33), (288, 31), (352, 64), (384, 1), (2304, 65), (416, 128), (8200, 32), (320, 33), (224, 2),
        (448, 7)]


def wide_cases(rng):
    return zip(*[bfc_case(rng, k, cout, out) for (k, cout), out in zip(WIDE, itertools.cycle(("binary", "int8")))])


@pytest.mark.host
def test_bfully_connected_carry_save_wide(tmp_path):
    rng = np.random.default_rng(11)
    cases, labels = wide_cases(rng)
    assert {bitpack.words_for(c[0].in_features) % 8 for c in cases} == set(range(8))
    graph = cases_graph("bfully_connected", cases)
    inputs = [random_packed(rng, (1,), c[0].in_features) for c in cases]
    assert_cases_bit_exact(graph, inputs, labels, tmp_path)


@pytest.mark.qemu
def test_bfully_connected_carry_save_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    rng = np.random.default_rng(12)
    cases, _ = wide_cases(rng)
    small, _ = zip(*[bfc_case(rng, k, c, out) for k, c, out in [(1, 1, "binary"), (33, 65, "int8"), (64, 32, "binary")]])
    graphs = [single_op_graph("bfully_connected", a, ins, shape, out_dtype=dt) for a, ins, shape, dt in cases + small]
    check_on_qemu(graphs, tmp_path, "tg_bfully_connected_b1_hs8")
