"""conv2d_sparse (groups 1 and depthwise) / fully_connected_sparse: every variant bit-exact against the int8 conv2d /
fully_connected reference on the dense weights (an independent oracle), at the issue's channel
counts (1, 3, 17, 31, 32, 33, 64) and row sparsities 0%, 50%, 90% and 100%."""

import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.common import out_hw
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.conv2d_sparse import Conv2dSparseAttrs
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.fully_connected_sparse import FullyConnectedSparseAttrs
from tinygen.reference import interpreter, sparse
from tinygen.testing import act, const, random_requant, reference_and_host, supported

from tests.kernels.bitpack_host import cases_graph

CHANNELS = (1, 3, 17, 31, 32, 33, 64)
SPARSITY = (0.0, 0.5, 0.9, 1.0)


def sparse_weights(rng, cout, k):
    """[cout, k] int8 with rows at each sparsity of SPARSITY in turn (row o: SPARSITY[o % 4]),
    extremes -128/127 included, and one row with a gap longer than 15."""
    w = rng.integers(-128, 128, (cout, k))
    w[w == 0] = 1
    for o in range(cout):
        zero = rng.permutation(k)[:int(round(SPARSITY[o % 4] * k))]
        w[o, zero] = 0
    if k > 40:
        w[0, 1:40] = 0
        w[0, 0], w[0, -1] = -128, 127
    return w


def _pack(w2d):
    values, steps, pairs = sparse.encode(w2d)
    return [const("v", values), const("s", steps), const("n", pairs)]


def conv_cases(seed):
    rng = np.random.default_rng(seed)
    cases, plain = [], []
    for i, cin in enumerate(CHANNELS):
        cout = CHANNELS[(i + 2 + seed) % len(CHANNELS)]
        k, s, p = [(1, 1, 0), (3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 1, 0)][(i + seed) % 5]
        h, w = int(rng.integers(2, 6)), int(rng.integers(2, 6))
        if i == 3:
            h, w = 1, 1  # one output pixel: the unpaired tail only
        dense = sparse_weights(rng, cout, k * k * cin)
        mult, shift = random_requant(rng, cout, 0.1 / (80 * np.sqrt(k * k * cin)), 3.0 / (80 * np.sqrt(k * k * cin)))
        common = dict(stride=(s, s), padding=(p,) * 4, dilation=(1, 1), input_offset=int(rng.choice([-127, 128, 5])),
                      output_offset=int(rng.integers(-20, 20)), multiplier=mult, shift=shift)
        x, b = act("x", (1, h, w, cin)), const("b", rng.integers(-3000, 3000, cout).astype(np.int32))
        oh, ow = out_hw(x.shape, (cout, k, k, cin), Conv2dAttrs(groups=1, **common))
        cases.append((Conv2dSparseAttrs(kernel=(k, k), **common), [x, *_pack(dense), b], (1, oh, ow, cout), DType.INT8))
        plain.append((Conv2dAttrs(groups=1, **common), [x, const("w", dense.reshape(cout, k, k, cin).astype(np.int8)), b],
                      (1, oh, ow, cout), DType.INT8))
    for i, c in enumerate(CHANNELS):  # depthwise, 3x3 with stride 1 and 2, and 5x5 dilated
        k, s, p, dil = [(3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 2, 2)][(i + seed) % 3]
        h, w = int(rng.integers(5, 8)), int(rng.integers(5, 8))  # >= the dilated 5x5's reach
        dense = sparse_weights(rng, c, k * k)
        for o in range(4, c, 5):  # rows of 1-4 non-zero taps (dw4's unrolled cases)
            dense[o, rng.permutation(k * k)[:k * k - 1 - (o // 5) % 4]] = 0
        mult, shift = random_requant(rng, c, 0.1 / (80 * k), 3.0 / (80 * k))
        common = dict(stride=(s, s), padding=(p,) * 4, dilation=(dil, dil), input_offset=int(rng.choice([-127, 128, 5])),
                      output_offset=int(rng.integers(-20, 20)), multiplier=mult, shift=shift)
        x, b = act("x", (1, h, w, c)), const("b", rng.integers(-3000, 3000, c).astype(np.int32))
        oh, ow = out_hw(x.shape, (c, k, k, 1), Conv2dAttrs(groups=c, **common))
        cases.append((Conv2dSparseAttrs(kernel=(k, k), groups=c, **common), [x, *_pack(dense), b], (1, oh, ow, c),
                      DType.INT8))
        plain.append((Conv2dAttrs(groups=c, **common), [x, const("w", dense.reshape(c, k, k, 1).astype(np.int8)), b],
                      (1, oh, ow, c), DType.INT8))
    # depthwise 3x3 over 11 x 20 x 64: dw4 copies 5 padded rows (3 output rows) per 8 KB band, the last band 2 rows
    c = 64
    dense = sparse_weights(rng, c, 9)
    for o in range(4, c, 5):
        dense[o, rng.permutation(9)[:8 - (o // 5) % 4]] = 0
    mult, shift = random_requant(rng, c, 0.1 / 240, 3.0 / 240)
    common = dict(stride=(1, 1), padding=(1,) * 4, dilation=(1, 1), input_offset=-7, output_offset=3,
                  multiplier=mult, shift=shift)
    x, b = act("x", (1, 11, 20, c)), const("b", rng.integers(-3000, 3000, c).astype(np.int32))
    cases.append((Conv2dSparseAttrs(kernel=(3, 3), groups=c, **common), [x, *_pack(dense), b], (1, 11, 20, c),
                  DType.INT8))
    plain.append((Conv2dAttrs(groups=c, **common), [x, const("w", dense.reshape(c, 3, 3, 1).astype(np.int8)), b],
                  (1, 11, 20, c), DType.INT8))
    return cases, plain


def fc_cases(seed):
    rng = np.random.default_rng(70 + seed)
    cases, plain = [], []
    for i, k in enumerate(CHANNELS):
        cout = CHANNELS[(i + 3) % len(CHANNELS)]
        dense = sparse_weights(rng, cout, k)
        mult, shift = random_requant(rng, cout, 0.1 / (80 * np.sqrt(k)), 3.0 / (80 * np.sqrt(k)))
        common = dict(input_offset=int(rng.choice([-127, 128, 5])), output_offset=int(rng.integers(-20, 20)),
                      multiplier=mult, shift=shift)
        x, b = act("x", (1, k)), const("b", rng.integers(-3000, 3000, cout).astype(np.int32))
        cases.append((FullyConnectedSparseAttrs(**common), [x, *_pack(dense), b], (1, cout), DType.INT8))
        plain.append((FullyConnectedAttrs(**common), [x, const("w", dense.astype(np.int8)), b], (1, cout), DType.INT8))
    return cases, plain


BUILDERS = {"conv2d": conv_cases, "fully_connected": fc_cases}


FAST = {"conv2d": ("tg_conv2d_sparse_s8_px8", "tg_conv2d_sparse_s8_fast", "tg_conv2d_sparse_s8_dw4",
                   "tg_conv2d_sparse_s8_dw"),
        "fully_connected": ("tg_fully_connected_sparse_s8_fast",)}


@pytest.mark.host
@pytest.mark.parametrize("op", ["conv2d", "fully_connected"])
def test_sparse_kernels_equal_int8_reference(op, tmp_path):
    """Each fast variant pinned in turn on every case it supports (the others left to the default
    choice), then the references: all equal the dense int8 oracle."""
    cases, plain = BUILDERS[op](0)
    rng = np.random.default_rng(9)
    graph = cases_graph(f"{op}_sparse", cases)
    inputs = [rng.integers(-128, 128, graph.t(n).shape).astype(np.int8) for n in graph.inputs]
    for x in inputs:
        x.flat[::4] = -128
    expect = interpreter.run(cases_graph(op, plain), inputs)
    ran = set()
    for i, variant in enumerate(FAST[op]):
        graph = cases_graph(f"{op}_sparse", cases)
        for node, case in zip(graph.nodes, cases):
            if supported(f"{op}_sparse", variant, cases_graph(f"{op}_sparse", [case])):
                node.kernel = variant
        assert any(n.kernel == variant for n in graph.nodes), variant
        ref, host = reference_and_host(graph, inputs, tmp_path / str(i))
        for r, h, e in zip(ref, host, expect):
            np.testing.assert_array_equal(r, e)
            np.testing.assert_array_equal(h, e)
        ran |= {n.kernel for n in graph.nodes}
    assert set(FAST[op]) <= ran
    assert len(np.unique(np.concatenate([e.ravel() for e in expect]))) > 40


def test_sparse_format_round_trip_and_size():
    rng = np.random.default_rng(0)
    w = sparse_weights(rng, 12, 100)
    values, steps, pairs = sparse.encode(w)
    np.testing.assert_array_equal(sparse.decode(values, steps, pairs, 100), w)
    nz = np.count_nonzero(w)
    fillers = sum(max(0, (g - 1) // 15) for row in w for g in np.diff(np.flatnonzero(np.r_[1, row]))) if nz else 0
    assert nz <= values.size <= nz + 12 + fillers + 12  # + one pad per row, + bridged gaps
    assert sparse.stored_bytes(values, steps, pairs) == values.size * 3 // 2 + 24
    empty = np.zeros((3, 40), np.int64)
    v, s, n = sparse.encode(empty)
    assert v.size == 0 and n.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="steps past"):
        sparse.decode(np.array([1, 1], np.int8), np.array([0xFF], np.uint8), np.array([1]), 20)

