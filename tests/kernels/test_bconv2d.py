import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinygen.codegen import generate
from tinygen.ir import serialize
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops import bconv2d
from tinygen.ops.base import get
from tinygen.ops.bconv2d import (BConv2dAttrs, binary_conv_dot, bn_sign_thresholds, int8_output_params, out_hw,
                                 output_shape, output_stage)
from tinygen.ops.binarize import BinarizeAttrs
from tinygen.ops.bmax_pool2d import BMaxPool2dAttrs
from tinygen.plan import plan_memory
from tinygen.reference import bitpack, interpreter
from tinygen.testing import act, const, single_op_graph

from tests.kernels.bitpack_host import (EDGE_CHANNELS, assert_cases_bit_exact, cases_graph, random_output_stage,
                                        random_packed, reference_and_host)

# every (kernel, stride, padding) x (pad_value, output) combination, for each input channel count
GEOMETRIES = list(itertools.product((1, 3), (1, 2), (0, 1)))
MODES = list(itertools.product((0, 1), ("binary", "int8")))
# (kernel, stride, padding (t, b, l, r), dilation): dilated and asymmetric (TF "SAME", even kernel)
EXTRA_GEOMETRIES = [(3, 1, (2, 2, 2, 2), 2), (2, 2, (0, 1, 0, 1), 1), (3, 2, (1, 0, 0, 1), 1)]


def bconv_case(rng, h, w, cin, cout, k, stride, padding, dilation, pad_value, output):
    attrs = BConv2dAttrs((stride, stride), padding, (dilation, dilation), cin, pad_value, output,
                         **random_output_stage(rng, output, cout, k * k * cin))
    x = act("x", (1, h, w, bitpack.words_for(cin)), DType.UINT32)
    wt = const("w", random_packed(rng, (cout, k, k), cin))
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    shape, dtype = output_shape((1, oh, ow), cout, output)
    label = f"{h}x{w}x{cin}->{cout} k{k}/{stride} pad{padding} dil{dilation} pad_value{pad_value} {output}"
    return (attrs, [x, wt], shape, dtype), label


@pytest.mark.host
@pytest.mark.parametrize("cin,seed", [(c, i) for i, c in enumerate(EDGE_CHANNELS)],
                         ids=[f"cin{c}-seed{i}" for i, c in enumerate(EDGE_CHANNELS)])
def test_bconv2d_bit_exact(cin, seed, tmp_path):
    """All 32 geometry x mode combinations (plus dilated/asymmetric ones) in one compiled graph."""
    rng = np.random.default_rng(seed)
    cases, labels = [], []
    combos = [(k, s, (p,) * 4, 1, pv, out) for (k, s, p), (pv, out) in itertools.product(GEOMETRIES, MODES)]
    combos += [(k, s, pad, d, pv, out) for (k, s, pad, d), (pv, out) in itertools.product(EXTRA_GEOMETRIES, MODES)]
    for i, (k, s, pad, d, pv, out) in enumerate(combos):
        cout = EDGE_CHANNELS[(i + seed) % len(EDGE_CHANNELS)]
        case, label = bconv_case(rng, 5, 6, cin, cout, k, s, pad, d, pv, out)
        cases.append(case)
        labels.append(label)
    graph = cases_graph("bconv2d", cases)
    inputs = [random_packed(rng, graph.t(n).shape[:3], cin) for n in graph.inputs]
    ref = assert_cases_bit_exact(graph, inputs, labels, tmp_path)
    for (attrs, (_, wt), _, _), r in zip(cases, ref):
        if attrs.output == "binary":
            assert bitpack.padding_bits_zero(r, wt.shape[0])
    binary = np.concatenate([bitpack.unpack_bits(r, c[1][1].shape[0]).ravel() for c, r in zip(cases, ref)
                             if c[0].output == "binary"])
    int8 = np.concatenate([r.ravel() for c, r in zip(cases, ref) if c[0].output == "int8"])
    assert 0.2 < binary.mean() < 0.8 and len(np.unique(int8)) > 20  # outputs are not trivial


def torch_pm1_conv(x_words, w_words, cin, attrs):
    """The independent check: float +-1 convolution in torch on unpacked tensors."""
    x = torch.tensor(bitpack.unpack_pm1(x_words, cin), dtype=torch.float32).permute(0, 3, 1, 2)
    w = torch.tensor(bitpack.unpack_pm1(w_words, cin), dtype=torch.float32).permute(0, 3, 1, 2)
    t, b, l, r = attrs.padding
    x = F.pad(x, (l, r, t, b), value=float(attrs.pad_value))  # zero padding, or +1 (Larq pad_values=1)
    y = F.conv2d(x, w, stride=attrs.stride, dilation=attrs.dilation)
    return y.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("seed", [0])
def test_bconv2d_reference_equals_torch_pm1_conv(seed, monkeypatch):
    monkeypatch.setattr(bconv2d, "_TEMP_WORDS", 1)  # one sample per step: exercises the batch chunking
    rng = np.random.default_rng(seed)
    geometries = [(k, s, (p,) * 4, 1) for k, s, p in GEOMETRIES] + EXTRA_GEOMETRIES
    for cin, (k, s, pad, d), pad_value in itertools.product(EDGE_CHANNELS, geometries, (0, 1)):
        cout = int(rng.choice(EDGE_CHANNELS))
        attrs = BConv2dAttrs((s, s), pad, (d, d), cin, pad_value, "binary", (0,) * cout, (0,) * cout)
        x = random_packed(rng, (2, 6, 5), cin)
        w = random_packed(rng, (cout, k, k), cin)
        expect = torch_pm1_conv(x, w, cin, attrs)
        dot = binary_conv_dot(x, w, attrs)
        assert dot.dtype == np.int32
        np.testing.assert_array_equal(dot, expect.astype(np.int64), err_msg=f"cin {cin} {attrs}")
        # and through the op: threshold 0 gives the sign of the float convolution (0 -> +1)
        graph = single_op_graph("bconv2d", attrs, [act("x", (1, 6, 5, x.shape[3]), DType.UINT32), const("w", w)],
                                output_shape((1, *dot.shape[1:3]), cout, "binary")[0], out_dtype=DType.UINT32)
        (bits,) = interpreter.run(graph, [x])
        np.testing.assert_array_equal(bitpack.unpack_bits(bits, cout), expect < 0)


# -- folds ----------------------------------------------------------------------------------------
def bn_float_sign_bits(alpha, gamma, beta, mean, var, eps, dots):
    y = gamma * (alpha * dots - mean) / np.sqrt(var + eps) + beta  # [dots, C], float64
    return y < 0  # sign(y) >= 0 -> +1 (bit 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bn_sign_thresholds_exact_for_every_dot(seed):
    rng = np.random.default_rng(seed)
    k, c = 3 * 3 * 33, 64
    alpha = rng.uniform(0.2, 2.0, c) * rng.choice([-1, 1], c)
    alpha[:2] = 0.0
    gamma = rng.normal(0, 1, c)
    gamma[2:8] = 0.0  # zero BN scale: constant channels
    gamma[8:30] = -np.abs(gamma[8:30])  # negative BN scale
    beta = rng.normal(0, 1, c)
    beta[2:5] = -beta[2:5]
    var = rng.uniform(0.01, 4.0, c)
    mean = rng.normal(0, 20, c)
    mean[30:40] = alpha[30:40] * rng.integers(-k, k + 1, 10)  # boundary exactly on an integer dot ...
    beta[30:40] = 0.0  # ... where y == 0 -> +1
    mean[40:44] = alpha[40:44] * 1e6  # beyond the dot range: constant channels
    eps = 1e-5
    thresholds, flip = bn_sign_thresholds(alpha, gamma, beta, mean, var, eps, k)
    assert len(thresholds) == len(flip) == c and all(isinstance(t, int) for t in thresholds)
    dots = np.arange(-k, k + 1)[:, None]
    expect = bn_float_sign_bits(alpha, gamma, beta, mean, var, eps, dots.astype(np.float64))
    stage = SimpleNamespace(output="binary", thresholds=thresholds, flip=flip)
    bits = bitpack.unpack_bits(output_stage(dots, stage), c)
    np.testing.assert_array_equal(bits, expect)
    # channels that do not change sign over [-k, k] get thresholds beyond it
    for ch in np.flatnonzero(expect.all(axis=0) | (~expect).all(axis=0)):
        assert abs(thresholds[ch]) == k + 1 and flip[ch] == 0
    assert expect[:, 2:8].any() and not expect[:, 2:8].all()  # zero gamma: both signs of beta covered


def test_bn_sign_thresholds_scalar_and_direction():
    # y = dot - 2.5: -1 for dot <= 2; negative gamma mirrors it
    assert bn_sign_thresholds(1.0, 1.0, 0.0, 2.5, 1.0, 0.0, 10) == ((3,), (0,))
    assert bn_sign_thresholds(1.0, -1.0, 0.0, 2.5, 1.0, 0.0, 10) == ((2,), (1,))
    assert bn_sign_thresholds(-1.0, 1.0, 0.0, 2.5, 1.0, 0.0, 10) == ((-3,), (1,))
    assert bn_sign_thresholds(1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 10) == ((11,), (0,))
    with pytest.raises(FloatingPointError):
        bn_sign_thresholds(1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 10)


@pytest.mark.parametrize("seed", [0, 1])
def test_int8_output_params_track_the_affine_map(seed):
    """Against the float map: the requantized dot and the bias are rounded separately, so the
    output may be 1 step off round(a*dot + b), never more."""
    rng = np.random.default_rng(seed)
    c, k = 16, 576
    a = rng.uniform(0.001, 0.05, c) * rng.choice([-1, 1], c)
    a[0] = 0.0
    b = rng.normal(0, 1, c)
    s_out, zp = 0.05, int(rng.integers(-20, 20))
    mult, shift, bias = int8_output_params(a, b, s_out, zp)
    assert mult[0] == 0 and all((m < 0) == (x < 0) for m, x in zip(mult[1:], a[1:]))
    dots = np.arange(-k, k + 1, 3)[:, None]
    got = output_stage(dots, SimpleNamespace(output="int8", multiplier=mult, shift=shift, bias=bias,
                                             act_min=-128, act_max=127))
    want = np.clip(np.rint((a * dots + b) / s_out) + zp, -128, 127)
    assert np.abs(got.astype(np.int64) - want).max() <= 1
    assert len(np.unique(got)) > 50


def test_bconv2d_flash_bytes():
    """Packed weights go to flash as uint32 words: Cout*kh*kw*ceil(Cin/32)*4 bytes."""
    rng = np.random.default_rng(0)
    cin, cout, k = 65, 33, 3
    (attrs, inputs, shape, dtype), _ = bconv_case(rng, 6, 6, cin, cout, k, 1, (1,) * 4, 1, 0, "binary")
    graph = single_op_graph("bconv2d", attrs, inputs, shape, out_dtype=dtype)
    fields = dict(get("bconv2d").emit(graph.nodes[0], graph).fields)
    weight = fields["weight"]
    assert weight.ctype == "uint32_t" and weight.values.size * 4 == cout * k * k * ((cin + 31) // 32) * 4
    (layer,) = generate(graph, plan_memory(graph)).layers
    assert layer.weight_bytes == cout * k * k * 3 * 4 + cout * 4 + cout  # + int32 thresholds + uint8 flips


@pytest.mark.host
@pytest.mark.parametrize("seed", [0])
def test_binary_chain_through_the_arena(seed, tmp_path):
    """binarize -> bconv2d (binary) -> bmax_pool2d -> bconv2d (int8): packed tensors live in the
    arena as uint32_t, and the graph survives a save/load round trip."""
    rng = np.random.default_rng(seed)
    g = Graph("chain", dialect="lowered")
    q = QuantParams.per_tensor(1.0, 0)
    c0, c1, c2 = 33, 40, 7
    a1 = BConv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), c0, 0, "binary", **random_output_stage(rng, "binary", c1, 9 * c0))
    a2 = BConv2dAttrs((1, 1), (0, 0, 0, 0), (1, 1), c1, 1, "int8", **random_output_stage(rng, "int8", c2, 9 * c1))
    for t in [Tensor("x", (1, 8, 8, c0), DType.INT8, q), Tensor("b0", (1, 8, 8, 2), DType.UINT32, q),
              Tensor("b1", (1, 8, 8, 2), DType.UINT32, q), Tensor("b2", (1, 4, 4, 2), DType.UINT32, q),
              Tensor("y", (1, 2, 2, c2), DType.INT8, q),
              Tensor("w1", (c1, 3, 3, 2), DType.UINT32, None, random_packed(rng, (c1, 3, 3), c0)),
              Tensor("w2", (c2, 3, 3, 2), DType.UINT32, None, random_packed(rng, (c2, 3, 3), c1))]:
        g.add_tensor(t)
    g.add_node(Node("bin", "binarize", ["x"], ["b0"], BinarizeAttrs(-3)))
    g.add_node(Node("conv1", "bconv2d", ["b0", "w1"], ["b1"], a1))
    g.add_node(Node("pool", "bmax_pool2d", ["b1"], ["b2"], BMaxPool2dAttrs((2, 2), (2, 2), (0, 0, 0, 0))))
    g.add_node(Node("conv2", "bconv2d", ["b2", "w2"], ["y"], a2))
    g.inputs, g.outputs = ["x"], ["y"]
    serialize.save(g, tmp_path / "graph")
    g = serialize.load(tmp_path / "graph")
    assert g.nodes[1].attrs == a1 and g.nodes[3].attrs == a2
    x = rng.integers(-128, 128, (1, 8, 8, c0)).astype(np.int8)
    (ref,), (host,) = reference_and_host(g, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)
    assert len(np.unique(ref)) > 5
