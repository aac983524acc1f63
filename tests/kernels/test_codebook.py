"""conv2d_codebook / fully_connected_codebook: every variant bit-exact against the int8 conv2d /
fully_connected reference on the decoded weights (an independent oracle), at the issue's channel
counts (1, 3, 17, 31, 32, 33, 64) and codebook sizes 2-16, tables per layer and per channel."""

import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.common import out_hw
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.conv2d_codebook import Conv2dCodebookAttrs
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.fully_connected_codebook import FullyConnectedCodebookAttrs
from tinygen.reference import codebook, interpreter
from tinygen.testing import act, const, random_requant, reference_and_host

from tests.kernels.bitpack_host import cases_graph

CHANNELS = (1, 3, 17, 31, 32, 33, 64)
SIZES = (2, 3, 4, 5, 8, 9, 16)  # codebook sizes: 1, 2, 3 and 4-bit indices


def codebook_values(rng, shape, size, per_channel):
    """Weights [Cout, ...] taking `size` distinct int8 values per layer or per output channel
    (extremes -128 and 127 included somewhere)."""
    cout = shape[0]
    rows = []
    for o in range(cout):
        if o == 0 or per_channel:
            levels = rng.choice(np.arange(-128, 128), size, replace=False)
            if o == 0:
                levels[:2] = [-128, 127][:size]
        rows.append(rng.choice(levels, int(np.prod(shape[1:]))))
    return np.stack(rows).reshape(shape)


def _encode(values, per_channel):
    w2d = values.reshape(values.shape[0], -1)
    if per_channel:  # the per-channel form, whatever encode() would prefer
        size = max(len(np.unique(r)) for r in w2d)
        bits = max(1, int(np.ceil(np.log2(max(size, 2)))))
        table = np.zeros((w2d.shape[0], 1 << bits), np.int8)
        idx = np.zeros(w2d.shape, np.int64)
        for o, r in enumerate(w2d):
            u = np.unique(r)
            table[o, :len(u)] = u
            idx[o] = np.searchsorted(u, r)
        return codebook.pack_indices(idx, bits), table, bits
    index, table, bits = codebook.encode(w2d)
    assert table.shape[0] == 1
    return index, table, bits


def conv_cases(seed, per_channel):
    rng = np.random.default_rng(seed)
    cases, plain = [], []
    for i, cin in enumerate(CHANNELS):
        size = SIZES[(i + seed) % len(SIZES)]
        cout = CHANNELS[(i + 3) % len(CHANNELS)] if i % 2 else int(rng.integers(1, 6))
        k, s, p, g = [(1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (2, 1, 0, 1)][i % 4]
        if i == 1:
            g = cin  # depthwise (reference only)
            cout = cin
        h, w = int(rng.integers(3, 7)), int(rng.integers(3, 7))
        values = codebook_values(rng, (cout, k, k, cin // g), size, per_channel)
        index, table, bits = _encode(values, per_channel)
        mult, shift = random_requant(rng, cout, 0.1 / (80 * np.sqrt(k * k * cin / g)), 3.0 / (80 * np.sqrt(k * k * cin / g)))
        ioff = int(rng.choice([-127, 128, int(rng.integers(-128, 128))]))
        common = dict(stride=(s, s), padding=(p,) * 4, dilation=(1, 1), groups=g, input_offset=ioff,
                      output_offset=int(rng.integers(-20, 20)), multiplier=mult, shift=shift)
        x, b = act("x", (1, h, w, cin)), const("b", rng.integers(-3000, 3000, cout).astype(np.int32))
        oh, ow = out_hw(x.shape, values.shape, Conv2dAttrs(**common))
        attrs = Conv2dCodebookAttrs(kernel=(k, k), index_bits=bits, **common)
        cases.append((attrs, [x, const("i", index), const("t", table), b], (1, oh, ow, cout), DType.INT8))
        plain.append((Conv2dAttrs(**common), [x, const("w", values.astype(np.int8)), b], (1, oh, ow, cout), DType.INT8))
    return cases, plain


def fc_cases(seed, per_channel):
    rng = np.random.default_rng(50 + seed)
    cases, plain = [], []
    for i, k in enumerate(CHANNELS):
        size = SIZES[(i + seed) % len(SIZES)]
        cout, n = CHANNELS[(i + 2) % len(CHANNELS)], 1 + i % 2
        values = codebook_values(rng, (cout, k), size, per_channel)
        index, table, bits = _encode(values, per_channel)
        mult, shift = random_requant(rng, cout, 0.1 / (80 * np.sqrt(k)), 3.0 / (80 * np.sqrt(k)))
        common = dict(input_offset=int(rng.choice([-127, 128, int(rng.integers(-128, 128))])),
                      output_offset=int(rng.integers(-20, 20)), multiplier=mult, shift=shift)
        x, b = act("x", (n, k)), const("b", rng.integers(-3000, 3000, cout).astype(np.int32))
        cases.append((FullyConnectedCodebookAttrs(index_bits=bits, **common),
                      [x, const("i", index), const("t", table), b], (n, cout), DType.INT8))
        plain.append((FullyConnectedAttrs(**common), [x, const("w", values.astype(np.int8)), b], (n, cout), DType.INT8))
    return cases, plain


BUILDERS = {"conv2d": conv_cases, "fully_connected": fc_cases}


def _inputs(graph, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, graph.t(n).shape).astype(np.int8) for n in graph.inputs]
    for x in xs:
        x.flat[::5] = -128 if seed % 2 else 127
    return xs


@pytest.mark.host
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-layer", "per-channel"])
@pytest.mark.parametrize("op", ["conv2d", "fully_connected"])
def test_codebook_kernels_equal_int8_reference(op, per_channel, tmp_path):
    seed = 2 * int(per_channel) + (op == "fully_connected")
    cases, plain = BUILDERS[op](seed, per_channel)
    graph = cases_graph(f"{op}_codebook", cases)
    inputs = _inputs(graph, seed)
    ref, host = reference_and_host(graph, inputs, tmp_path)  # fast variants (where supported), then references
    expect = interpreter.run(cases_graph(op, plain), inputs)
    for r, h, e in zip(ref, host, expect):
        np.testing.assert_array_equal(r, e)
        np.testing.assert_array_equal(h, e)
    fast = {n.kernel for n in graph.nodes}
    assert f"tg_{op}_codebook_s8_fast" in fast
    assert len(np.unique(np.concatenate([e.ravel() for e in expect]))) > 40


def test_indices_pack_little_endian_across_bytes():
    idx = np.array([[1, 2, 3, 4, 5, 6, 7, 0, 5]])  # 9 3-bit fields: 27 bits, 4 bytes, fields straddle bytes
    packed = codebook.pack_indices(idx, 3)
    bits = "".join(format(v, "03b")[::-1] for v in idx[0])  # little-endian bit stream
    expect = [int(bits[i:i + 8][::-1], 2) for i in range(0, 27, 8)]
    assert packed.tolist() == [expect] and packed.shape == (1, 4)
    np.testing.assert_array_equal(codebook.unpack_indices(packed, 3, 9), idx)
    assert codebook.padding_zero(packed, 3, 9)


def test_encode_refuses_more_than_16_values_and_picks_the_smaller_form():
    rng = np.random.default_rng(0)
    assert codebook.encode(np.arange(17)[None, :].repeat(3, 0)) is None
    many = codebook_values(rng, (8, 64), 4, per_channel=True)  # 4 per channel, up to 32 in the layer
    index, table, bits = codebook.encode(many)
    assert bits == 2 and table.shape == (8, 4)
    np.testing.assert_array_equal(codebook.decode(index, table, bits, 64), many)
    shared = codebook_values(rng, (8, 64), 5, per_channel=False)
    index, table, bits = codebook.encode(shared)
    assert bits == 3 and table.shape == (1, 8)
    np.testing.assert_array_equal(codebook.decode(index, table, bits, 64), shared)

