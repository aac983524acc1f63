"""conv2d_bits (int8 conv -> threshold -> packed signs): every variant bit-exact to the reference,
and the reference to an independent per-pixel loop."""

import itertools

import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.common import out_hw
from tinygen.ops.conv2d_bits import Conv2dBitsAttrs
from tinygen.reference import bitpack, interpreter
from tinygen.testing import act, const, single_op_graph

from tests.kernels.bitpack_host import assert_cases_bit_exact, cases_graph

COUT = (1, 31, 32, 33, 63, 64, 65, 128, 256)
# (kernel, stride, padding t,b,l,r, dilation)
GEOMETRIES = [(3, 1, (1, 1, 1, 1), 1), (3, 2, (1, 1, 1, 1), 1), (1, 1, (0, 0, 0, 0), 1), (5, 1, (2, 2, 2, 2), 1),
              (3, 1, (2, 2, 2, 2), 2), (3, 2, (0, 1, 0, 1), 1), (5, 2, (0, 0, 0, 0), 1)]


def case(rng, h, w, cin, cout, k, stride, padding, dilation):
    zp = int(rng.integers(-20, 21))
    wt = rng.integers(-127, 128, (cout, k, k, cin)).astype(np.int8)
    wt[rng.random(cout) < 0.05] = 0  # constant channels
    spread = int(60 * np.sqrt(k * k * cin))
    thr = rng.integers(-spread, spread + 1, cout)
    thr = np.where(np.abs(wt.reshape(cout, -1)).sum(1) == 0, rng.choice([-2**31, 2**31 - 1], cout), thr)
    attrs = Conv2dBitsAttrs((stride, stride), padding, (dilation, dilation), -zp, tuple(int(t) for t in thr),
                            tuple(int(f) for f in rng.integers(0, 2, cout)))
    x = act("x", (1, h, w, cin), DType.INT8)
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    label = f"{h}x{w}x{cin}->{cout} k{k}/{stride} pad{padding} dil{dilation} zp{zp}"
    return (attrs, [x, const("w", wt)], (1, oh, ow, bitpack.words_for(cout)), DType.UINT32), label


def cases(seed):
    rng = np.random.default_rng(seed)
    out, labels = [], []
    for i, ((k, s, pad, d), cin) in enumerate(itertools.product(GEOMETRIES, (1, 3, 4))):
        c, label = case(rng, 7 + i % 3, 5 + i % 4, cin, COUT[(i + seed) % len(COUT)], k, s, pad, d)
        out.append(c)
        labels.append(label)
    return out, labels


def naive(x, w, a):
    """Per-output loop of the op's docstring (independent of the reference's windows/matmul)."""
    _, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    oh, ow = out_hw(x.shape, w.shape, a)
    bits = np.zeros((1, oh, ow, cout), bool)
    for oy, ox in itertools.product(range(oh), range(ow)):
        acc = np.zeros(cout, np.int64)
        for i, j in itertools.product(range(kh), range(kw)):
            iy, ix = oy * a.stride[0] - a.padding[0] + i * a.dilation[0], ox * a.stride[1] - a.padding[2] + j * a.dilation[1]
            if 0 <= iy < h and 0 <= ix < wd:
                acc += w[:, i, j, :].astype(np.int64) @ (x[0, iy, ix].astype(np.int64) + a.input_offset)
        for o in range(cout):
            bits[0, oy, ox, o] = acc[o] > a.thresholds[o] if a.flip[o] else acc[o] < a.thresholds[o]
    return bitpack.pack_bits(bits)


def test_reference_equals_naive_loop():
    cs, labels = cases(7)
    rng = np.random.default_rng(1)
    signs = []
    for (attrs, (x, w), shape, dtype), label in list(zip(cs, labels))[::4]:
        xi = rng.integers(-128, 128, x.shape).astype(np.int8)
        g = single_op_graph("conv2d_bits", attrs, [x, w], shape, out_dtype=dtype)
        (ref,) = interpreter.run(g, [xi])
        np.testing.assert_array_equal(ref, naive(xi, w.data, attrs), err_msg=label)
        assert bitpack.padding_bits_zero(ref, w.shape[0])
        signs.append(bitpack.unpack_bits(ref, w.shape[0]).reshape(-1))
    assert 0.2 < np.concatenate(signs).mean() < 0.8  # the thresholds cut the accumulators: both signs


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
def test_conv2d_bits_bit_exact(seed, tmp_path):
    cs, labels = cases(seed)
    rng = np.random.default_rng(100 + seed)
    inputs = [rng.integers(-128, 128, c[1][0].shape).astype(np.int8) for c in cs]
    assert_cases_bit_exact(cases_graph("conv2d_bits", cs), inputs, labels, tmp_path)


@pytest.mark.qemu
def test_conv2d_bits_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    rng = np.random.default_rng(3)
    graphs = []
    for (k, s, pad, d), cin, cout in [(GEOMETRIES[0], 3, 64), (GEOMETRIES[1], 1, 33), (GEOMETRIES[3], 3, 31),
                                      (GEOMETRIES[4], 4, 65)]:
        (attrs, ins, shape, dtype), _ = case(rng, 9, 7, cin, cout, k, s, pad, d)
        graphs.append(single_op_graph("conv2d_bits", attrs, ins, shape, out_dtype=dtype))
    check_on_qemu(graphs, tmp_path, "tg_conv2d_bits_s8_fast")
