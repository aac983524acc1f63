import itertools

import numpy as np
import pytest

from tinygen.select import HOST, select_kernels
from tinygen.codegen import generate
from tinygen.ir.graph import DType
from tinygen.ops.base import get
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.conv2d_packed import Conv2dPackedAttrs, out_hw
from tinygen.plan import plan_memory
from tinygen.reference import bitpack, interpreter
from tinygen.testing import act, const, random_requant, single_op_graph

from tests.kernels.bitpack_host import cases_graph, reference_and_host

# (bits, weight_offset, levels): binary, 2-bit, ternary {-1,0,1}, 4-bit, 15-level symmetric 4-bit
WEIGHT_FORMATS = [(1, 0, 2), (2, -2, 4), (2, -1, 3), (4, -8, 16), (4, -7, 15)]
# (H, W, Cin, Cout, groups) x (kernel, stride, padding); row lengths are rarely whole bytes
CHANNELS = [(5, 6, 3, 5, 1), (6, 5, 5, 10, 5), (4, 4, 33, 7, 1)]
GEOMETRIES = list(itertools.product((1, 3), (1, 2), (0, 1)))


def random_weights(rng, shape, bits, offset, levels):
    if bits == 1:
        return rng.choice([-1, 1], shape)
    return rng.integers(offset, offset + levels, shape)


def make_cases(rng, bits, offset, levels):
    """conv2d_packed cases and the int8 conv2d cases on the same (unpacked) weights."""
    packed, plain, labels = [], [], []
    for (h, w, cin, cout, g), (k, s, p) in itertools.product(CHANNELS, GEOMETRIES):
        cg = cin // g
        wrms = np.sqrt(np.mean(np.square(np.arange(offset, offset + levels)))) if bits > 1 else 1.0
        typical = 40.0 / (74.0 * wrms * np.sqrt(k * k * cg))
        mult, shift = random_requant(rng, cout, typical / 3, typical * 3)
        common = dict(stride=(s, s), padding=(p,) * 4, dilation=(1, 1), groups=g,
                      input_offset=int(rng.integers(-128, 128)), output_offset=int(rng.integers(-20, 20)),
                      multiplier=mult, shift=shift, act_min=-128, act_max=127)
        values = random_weights(rng, (cout, k, k, cg), bits, offset, levels)
        bias = const("b", rng.integers(-500, 500, cout).astype(np.int32))
        pattrs = Conv2dPackedAttrs(kernel=(k, k), weight_bits=bits, weight_offset=offset, **common)
        x = act("x", (1, h, w, cin))
        oh, ow = out_hw(x.shape, pattrs)
        wpacked = const("w", bitpack.pack_weights(values, bits, offset))
        packed.append((pattrs, [x, wpacked, bias], (1, oh, ow, cout), DType.INT8))
        wplain = const("w", values.astype(np.int8))
        plain.append((Conv2dAttrs(**common), [x, wplain, bias], (1, oh, ow, cout), DType.INT8))
        labels.append(f"{h}x{w}x{cin}->{cout} groups{g} k{k}/{s} pad{p}")
    return packed, plain, labels


@pytest.mark.host
@pytest.mark.parametrize("fmt,seed", [(f, i) for i, f in enumerate(WEIGHT_FORMATS)],
                         ids=[f"bits{b}-offset{o}-levels{n}-seed{i}" for i, (b, o, n) in enumerate(WEIGHT_FORMATS)])
def test_conv2d_packed_equals_int8_conv2d(fmt, seed, tmp_path):
    rng = np.random.default_rng(seed)
    packed, plain, labels = make_cases(rng, *fmt)
    graph = cases_graph("conv2d_packed", packed)
    inputs = [rng.integers(-128, 128, graph.t(n).shape).astype(np.int8) for n in graph.inputs]
    ref, host = reference_and_host(graph, inputs, tmp_path)
    expect = interpreter.run(cases_graph("conv2d", plain), inputs)  # int8 conv2d on the unpacked weights
    for label, r, h, e in zip(labels, ref, host, expect):
        np.testing.assert_array_equal(h, e, err_msg=label)
        np.testing.assert_array_equal(r, e, err_msg=label)
    assert len(np.unique(np.concatenate([e.ravel() for e in expect]))) > 40


def test_conv2d_packed_flash_bytes():
    """4-bit weights take Cout * ceil(kh*kw*Cin*4/8) bytes of flash, each row byte aligned."""
    rng = np.random.default_rng(0)
    cin, cout, k = 3, 5, 3  # 27 weights per row: 13.5 bytes -> 14
    values = rng.integers(-8, 8, (cout, k, k, cin))
    attrs = Conv2dPackedAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 0, 0, (1 << 30,) * cout, (-5,) * cout, (k, k), 4, -8)
    graph = single_op_graph("conv2d_packed", attrs, [act("x", (1, 6, 6, cin)),
                                                     const("w", bitpack.pack_weights(values, 4, -8)),
                                                     const("b", np.zeros(cout, np.int32))], (1, 6, 6, cout))
    graph.nodes[0].kernel = "tg_conv2d_packed_s8_ref"
    weight = dict(get("conv2d_packed").emit(graph.nodes[0], graph).fields)["weight"]
    assert weight.ctype == "uint8_t" and weight.values.size == cout * ((k * k * cin * 4 + 7) // 8) == 70
    (layer,) = generate(graph, plan_memory(select_kernels(graph, HOST))).layers
    assert layer.weight_bytes == 70 + 3 * 4 * cout  # + int32 bias, multiplier, shift
    # the fast kernel's rows are whole words: 27 codes -> 4 words
    graph.nodes[0].kernel = "tg_conv2d_packed_s8_fast"
    (layer,) = generate(graph, plan_memory(select_kernels(graph, HOST))).layers
    assert layer.weight_bytes == cout * 16 + 3 * 4 * cout


# -- tg_conv2d_packed_s8_fast: im2col row + pair-ordered packed dot products

FAST_GEOMETRY = [  # (H, W, Cin, Cout, kernel, stride, padding t/b/l/r)
    (1, 1, 1, 3, (1, 1), (1, 1), (0, 0, 0, 0)),
    (1, 1, 3, 5, (3, 3), (1, 1), (1, 1, 1, 1)),
    (7, 5, 5, 8, (3, 3), (2, 2), (1, 1, 1, 1)),
    (7, 5, 8, 17, (1, 1), (1, 1), (0, 0, 0, 0)),
    (7, 5, 17, 4, (3, 3), (1, 1), (1, 1, 1, 1)),
    (5, 5, 31, 3, (2, 2), (2, 2), (0, 1, 0, 1)),
    (3, 3, 64, 5, (1, 1), (1, 1), (0, 0, 0, 0)),
    (3, 3, 96, 2, (3, 3), (2, 2), (1, 1, 1, 1)),
]


def _fast_conv_graph(fmt, seed):
    bits, offset, levels = fmt
    rng = np.random.default_rng(200 + seed)
    cases = []
    for h, w, cin, cout, k, s, p in FAST_GEOMETRY:
        shape = (cout, k[0], k[1], cin)
        values = rng.choice([-1, 1], shape) if bits == 1 else rng.integers(offset, offset + levels, shape)
        values[0] = values.max() if seed % 2 else values.min()
        mult, shift = random_requant(rng, cout, 1e-4, 2e-2)
        ioff = 128 if seed % 2 else -127  # zero points -128 and 127
        attrs = Conv2dPackedAttrs(s, p, (1, 1), 1, ioff, int(rng.integers(-20, 20)), mult, shift, k, bits, offset)
        oh, ow = out_hw((1, h, w, cin), attrs)
        cases.append((attrs, [act("x", (1, h, w, cin)), const("w", bitpack.pack_weights(values, bits, offset)),
                              const("b", rng.integers(-5000, 5000, cout).astype(np.int32))], (1, oh, ow, cout), DType.INT8))
    graph = cases_graph("conv2d_packed", cases)
    inputs = []
    for name in graph.inputs:
        x = rng.integers(-128, 128, graph.t(name).shape).astype(np.int8)
        x.flat[::3] = -128 if seed % 2 else 127
        inputs.append(x)
    return graph, inputs


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fmt", [(1, 0, 2), (2, -2, 4), (4, -8, 16), (4, 2, 9)], ids=lambda f: f"bits{f[0]}-offset{f[1]}")
def test_conv2d_packed_fast_bit_exact(fmt, seed, tmp_path):
    from tinygen.select.kernels import candidates

    graph, inputs = _fast_conv_graph(fmt, seed)
    assert all(candidates(n, graph, HOST)[0].symbol == "tg_conv2d_packed_s8_fast" for n in graph.nodes)
    ref, host = reference_and_host(graph, inputs, tmp_path)
    for r, h in zip(ref, host):
        np.testing.assert_array_equal(h, r)


@pytest.mark.qemu
def test_conv2d_packed_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    graphs = [_fast_conv_graph(fmt, seed)[0] for fmt, seed in (((1, 0, 2), 0), ((2, -2, 4), 1), ((4, -8, 16), 0))]
    check_on_qemu(graphs, tmp_path, "tg_conv2d_packed_s8_fast")
