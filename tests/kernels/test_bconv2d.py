import dataclasses
import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinygen.select import HOST, select_kernels
from tinygen.codegen import generate
from tinygen.ir import serialize
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops import bconv2d, bconv2d_hs
from tinygen.ops.base import get
from tinygen.ops.bconv2d import PRE_SHIFT_MAX, BConv2dAttrs, binary_conv_dot, output_shape, output_stage
from tinygen.ops.common import out_hw
from tinygen.passes.lower.binary_output_params import bn_sign_thresholds, int8_output_params
from tinygen.ops.binarize import BinarizeAttrs
from tinygen.ops.bmax_pool2d import BMaxPool2dAttrs
from tinygen.plan import plan_memory
from tinygen.reference import bitpack, interpreter
from tinygen.quant.multiplier import quantize_multiplier
from tinygen.quant.rounding import round_half_away
from tinygen.reference import fixedpoint as fx
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


def int8_target(a, b, s_out, zp, dots, lo=-128, hi=127):
    """The float map the int8 stage approximates: [dots, C] values of y/s_out and their outputs."""
    v = (a * dots + b) / s_out  # float64
    return v, np.clip(round_half_away(v) + zp, lo, hi).astype(np.int64)


def tie_distance(v):
    """Distance of v to the nearest half-integer (a rounding tie)."""
    return np.abs(v - np.floor(v) - 0.5)


def int8_stage_output(stage, dots):
    return output_stage(dots, SimpleNamespace(**stage.fields())).astype(np.int64)


# (k, |a|*sqrt(k)/s_out range in steps): binary FC and conv sizes, narrow and wide output ranges
INT8_REGIMES = [(32, (5, 40)), (65, (10, 60)), (288, (10, 60)), (576, (2, 20)), (1152, (10, 80)), (4608, (10, 60))]


@pytest.mark.parametrize("seed", range(6))
def test_int8_output_params_round_once(seed):
    """For every dot in [-k, k] the int8 stage gives clamp(round_half_away(y/s_out) + zp), y = a*dot + b,
    except where y/s_out is within the proven tolerance of a tie (then one step off at most); zero a
    (constant channels) is exact. The tolerance (1.5 * 2^shift) is ~1e-6 to 1e-5 steps here; no
    output of these sweeps is actually off. The old stage (bias rounded to output units, then
    added) was one step off on ~20% of such outputs."""
    rng = np.random.default_rng(seed)
    k, (lo_steps, hi_steps) = INT8_REGIMES[seed]
    c = 48
    s_out = float(np.exp(rng.uniform(np.log(1e-3), np.log(2.0))))
    a = s_out * np.exp(rng.uniform(np.log(lo_steps), np.log(hi_steps), c)) / np.sqrt(k) * rng.choice([-1, 1], c)
    a[:4] = 0.0
    a[4] = -0.0
    b = s_out * rng.normal(0, 40, c)
    b[0] = 0.0
    b[1] = s_out * 1e4  # a constant channel beyond the clamp
    zp = int(rng.integers(-40, 41))
    act_min, act_max = (-128, 127) if seed % 2 else (int(zp), 100)  # fused ReLU (and a clipped top)
    stage = int8_output_params(a, b, s_out, zp, k, act_min, act_max)
    assert stage.output_offset == zp and (stage.act_min, stage.act_max) == (act_min, act_max)
    dots = np.arange(-k, k + 1)[:, None]
    v, want = int8_target(a, b, s_out, zp, dots, act_min, act_max)
    got = int8_stage_output(stage, dots)
    tol = np.asarray(stage.tolerance)
    changing = (want != want[0]).any(axis=0)
    assert changing.sum() > c // 2 and not changing[:5].any()
    assert all((stage.multiplier[i] < 0) == (a[i] < 0) for i in np.flatnonzero(changing))  # negative a: negative M
    off = got != want
    assert np.abs(got - want).max() <= 1
    assert (tol[~changing] == 0).all() and not off[:, ~changing].any()  # constant channels (zero a...) are exact
    near_tie = tie_distance(v) <= tol + 1e-12 * np.maximum(1.0, np.abs(v))  # + float64 evaluation of v
    assert not (off & ~near_tie).any(), np.argwhere(off & ~near_tie)[:5]
    assert tol.max() < 2e-5, tol.max()
    assert off.mean() < 1e-5
    assert len(np.unique(got)) > 50

    # pre_shift is the largest the int32 accumulator allows: one more overflows some channel
    p = stage.pre_shift
    assert k * 2 ** p + max(abs(x) for x in stage.bias) <= fx.INT32_MAX
    wider = [k * 2 ** (p + 1) + abs(int(round_half_away(b[i] / a[i] * 2.0 ** (p + 1))))
             for i in np.flatnonzero(changing)]
    assert p == PRE_SHIFT_MAX or max(wider) > fx.INT32_MAX or 2 * k * 2 ** (p + 1) + 2 > fx.INT32_MAX


def test_int8_output_params_old_stage_was_off_by_one_often():
    """The measurement behind the fix, on the same kind of sweep: rounding b/s_out to the output grid
    and the requantized dot separately puts ~20% of unclamped outputs one step off."""
    rng = np.random.default_rng(0)
    off = total = 0
    for k, (lo_steps, hi_steps) in INT8_REGIMES:
        c, s_out, zp = 32, 0.05, 3
        a = s_out * np.exp(rng.uniform(np.log(lo_steps), np.log(hi_steps), c)) / np.sqrt(k) * rng.choice([-1, 1], c)
        b = s_out * rng.normal(0, 40, c)
        dots = np.arange(-k, k + 1)[:, None]
        v, want = int8_target(a, b, s_out, zp, dots)
        ms = [quantize_multiplier(abs(x) / s_out) for x in a]
        mult = np.array([m if x > 0 else -m for (m, _), x in zip(ms, a)])
        old = fx.requantize(dots, mult, np.array([s for _, s in ms])) + round_half_away(b / s_out) + zp
        old = np.clip(old, -128, 127)
        new = int8_stage_output(int8_output_params(a, b, s_out, zp, k), dots)
        inside = (want > -128) & (want < 127)
        off += np.array([(old != want)[inside].sum(), (new != want)[inside].sum()])
        total += inside.sum()
    assert off[0] / total > 0.1 and off[1] / total < 1e-5, off / total


def test_int8_output_params_exact_ties_round_half_away():
    """Power-of-two parameters make y/s_out exact, ties included: they round half away from zero,
    like the target, for both signs of a."""
    k = 64
    s_out = 0.25
    a = np.array([0.5, -0.5, 0.25, -0.125]) * s_out  # y/s_out = +-dot/2, +-dot/4, -dot/8 (+ b)
    b = np.array([0.0, 1.5, -0.25, 0.375]) * s_out
    stage = int8_output_params(a, b, s_out, -7, k)
    dots = np.arange(-k, k + 1)[:, None]
    v, want = int8_target(a, b, s_out, -7, dots)
    assert (tie_distance(v) == 0).sum() > k  # many exact ties
    np.testing.assert_array_equal(int8_stage_output(stage, dots), want)


def test_int8_output_params_constant_and_extreme_channels():
    """Channels whose output does not change over the dot range (zero a, saturated, or a far below
    the output grid) are exact constants and do not limit pre_shift; one whose bias would not fit
    int32 at any pre_shift becomes constant within its (tiny) tolerance."""
    k = 1152
    s_out, zp = 0.1, -5
    a = np.array([0.0, 0.0, 0.0, 1e-3, 1e-3, 1e-12, 1e-13, 0.02, -0.02])
    b = np.array([0.0, -0.53, 30.0, 500.0, -500.0, 0.23, 0.05 + 1e-13, 0.1, -0.1])
    stage = int8_output_params(a, b, s_out, zp, k)
    dots = np.arange(-k, k + 1)[:, None]
    v, want = int8_target(a, b, s_out, zp, dots)
    got = int8_stage_output(stage, dots)
    np.testing.assert_array_equal(got[:, :6], want[:, :6])
    np.testing.assert_array_equal(want[0, :6], [zp, zp - 5, 127, 127, -128, zp + 2])
    assert stage.multiplier[0] == 0 and stage.shift[1] == 30 and stage.multiplier[1] == -5
    assert stage.tolerance[:6] == (0.0,) * 6
    # channel 6 changes from 0.5 - 1e-12 to 0.5 + 1e-12 steps: no pre_shift holds b/a = 5e11; constant
    assert 0 < stage.tolerance[6] < 1e-8 and set(got[:, 6]) == {zp + 1} and set(want[:, 6]) == {zp, zp + 1}
    # pre_shift: channels 7 and 8 (|b/a| = 5) allow 20 (1157 * 2^20 < 2^31), the saturating constants
    # need 2 * 1152 * 2^p + 2 < 2^31: 19. Channels 3 to 6 (|b/a| >= 5e5) do not limit it.
    assert stage.pre_shift == 19
    near_tie = tie_distance(v[:, 7:]) <= np.asarray(stage.tolerance[7:]) + 1e-12
    assert not ((got[:, 7:] != want[:, 7:]) & ~near_tie).any()


def test_int8_output_stage_checks_the_accumulator_range():
    graph_attrs = dict(output="int8", multiplier=(1 << 30,), shift=(0,), act_min=-128, act_max=127)
    ok = SimpleNamespace(bias=(fx.INT32_MAX - 100 * 2 ** 4,), pre_shift=4, output_offset=0, **graph_attrs)
    bconv2d.check_output_stage(ok, 1, 100)
    with pytest.raises(ValueError, match="overflow"):
        bconv2d.check_output_stage(SimpleNamespace(**{**vars(ok), "pre_shift": 5}), 1, 100)
    with pytest.raises(ValueError, match="overflow"):
        bconv2d.check_output_stage(ok, 1, 101)
    with pytest.raises(ValueError, match="pre_shift"):
        bconv2d.check_output_stage(SimpleNamespace(**{**vars(ok), "pre_shift": -1}), 1, 100)


def test_bconv2d_flash_bytes():
    """Packed weights go to flash as uint32 words: Cout*kh*kw*ceil(Cin/32)*4 bytes."""
    rng = np.random.default_rng(0)
    cin, cout, k = 65, 33, 3
    (attrs, inputs, shape, dtype), _ = bconv_case(rng, 6, 6, cin, cout, k, 1, (1,) * 4, 1, 0, "binary")
    graph = single_op_graph("bconv2d", attrs, inputs, shape, out_dtype=dtype)
    for policy in ("ref", "auto"):
        graph.nodes[0].kernel = ""
        select_kernels(graph, HOST, policy)
        fields = dict(get("bconv2d").emit(graph.nodes[0], graph).fields)
        weight = fields["weight"]
        words = k * k * ((cin + 31) // 32)  # a graph input: no compaction (test_bconv2d_compact_field_chains)
        assert weight.ctype == "uint32_t" and weight.values.size == cout * words
        (layer,) = generate(graph, plan_memory(graph)).layers
        if policy == "ref":
            assert layer.weight_bytes == cout * k * k * 3 * 4 + cout * 4 + cout  # + int32 thresholds + uint8 flips
        else:  # 3x3 padding 1 on 6x6: 3 row x 3 column border classes of int16 thresholds, class ids (flips
            # are folded into inverted weights)
            assert graph.nodes[0].kernel == "tg_bconv2d_b1_hs8k27"
            assert layer.weight_bytes == cout * words * 4 + 9 * cout * 2 + 6 + 6


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


# -- carry-save variants: wide layers, every tail length, 5x5, odd sizes ---------------------------
# (cin, cout, kernel, stride, padding, dilation): the words per output (bconv2d_hs.field_words) % 8 cover tails 0..7
WIDE_CASES = [(128, 128, 3, 1, 1, 1), (256, 33, 3, 2, 1, 1), (160, 31, 1, 1, 0, 1), (192, 65, 3, 1, 1, 1),
              (224, 32, 3, 1, 2, 2), (33, 45, 5, 1, 2, 1), (128, 63, 5, 2, 2, 1), (256, 256, 3, 1, 1, 1),
              (96, 64, 3, 2, 1, 1), (31, 1, 5, 1, 2, 2)]


def wide_cases(rng):
    cases, labels = [], []
    for i, (cin, cout, k, s, p, d) in enumerate(WIDE_CASES):
        for pv, out in MODES[i % 2::2] if cout > 64 else MODES:
            case, label = bconv_case(rng, 9, 11, cin, cout, k, s, (p,) * 4, d, pv, out)
            cases.append(case)
            labels.append(label)
    return cases, labels


@pytest.mark.host
def test_bconv2d_carry_save_wide_layers(tmp_path):
    rng = np.random.default_rng(7)
    cases, labels = wide_cases(rng)
    graph = cases_graph("bconv2d", cases)
    select_kernels(graph, HOST)
    assert all(n.kernel.startswith("tg_bconv2d_b1_hs8") for n in graph.nodes)
    for n in graph.nodes:
        n.kernel = ""
    tails = {bconv2d_hs.tail_of(c[1][1].shape[1], c[1][1].shape[2], c[0].in_channels) for c in cases}
    assert tails == set(range(8))
    inputs = [random_packed(rng, graph.t(n).shape[:3], c[0].in_channels) for n, c in zip(graph.inputs, cases)]
    assert_cases_bit_exact(graph, inputs, labels, tmp_path)


@pytest.mark.qemu
def test_bconv2d_carry_save_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu
    from tinygen.testing import single_op_graph as one

    rng = np.random.default_rng(8)
    cases, _ = wide_cases(rng)
    small = [bconv_case(rng, 5, 6, cin, cout, k, s, (p,) * 4, 1, pv, out)[0]
             for cin, cout, k, s, p, pv, out in [(1, 31, 3, 1, 1, 0, "binary"), (33, 64, 3, 2, 1, 1, "int8"),
                                                  (63, 65, 1, 1, 0, 0, "binary"), (32, 33, 3, 1, 1, 0, "int8"),
                                                  # 31 blocks + 2 words (the asm count's limit), 34 + 3 (C path)
                                                  (320, 33, 5, 1, 0, 0, "binary"), (352, 32, 5, 1, 0, 1, "binary")]]
    groups: dict[int, list] = {}  # the eight tails' kernels in three firmwares per board (one does not fit the F446RE)
    for attrs, ins, shape, dtype in cases + small:
        wt = ins[1]
        tail = bconv2d_hs.tail_of(wt.shape[1], wt.shape[2], attrs.in_channels)
        groups.setdefault(tail % 3, []).append((one("bconv2d", attrs, ins, shape, out_dtype=dtype), f"tg_bconv2d_b1_hs8r{tail}"))
    assert len({k for g in groups.values() for _, k in g}) == 8
    for t, group in sorted(groups.items()):
        check_on_qemu([g for g, _ in group], tmp_path / str(t), [k for _, k in group])


def saturated_case(cin, cout, k):
    """All-ones input (every real bit -1) and weights +1 except field word 7 (-1): XOR words all ones
    but one in the first block, so 8*nb - 1 set bits per position leave every carry-save plane full
    when the tail starts, and an all-ones tail: the largest per-byte sums of the asm count. (Flip
    channels are stored inverted: their count is the complement.) Thresholds dot + (-1, 0, 1) make
    a count off by one flip bits."""
    words = bitpack.words_for(cin)
    bits = np.zeros((cout, k, k, cin), np.uint8)
    tap, j = divmod(7, words)
    bits[:, tap // k, tap % k, 32 * j:32 * j + 32] = 1
    x = act("x", (1, k + 2, k + 1, words), DType.UINT32)
    wt = const("w", bitpack.pack_bits(bits))
    ones = np.broadcast_to(bitpack.pack_bits(np.ones(x.shape[:3] + (cin,), np.uint8)), x.shape).copy()
    probe = BConv2dAttrs((1, 1), (0, 0, 0, 0), (1, 1), cin, 1, "binary", thresholds=(0,) * cout, flip=(0,) * cout)
    dot = int(binary_conv_dot(ones, wt.data, probe)[0, 0, 0, 0])
    attrs = dataclasses.replace(probe, thresholds=tuple(dot + (o % 3) - 1 for o in range(cout)),
                                flip=tuple((o // 3) % 2 for o in range(cout)))
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    shape, dtype = output_shape((1, oh, ow), cout, "binary")
    return single_op_graph("bconv2d", attrs, [x, wt], shape, out_dtype=dtype), ones


@pytest.mark.qemu
def test_bconv2d_carry_save_saturated_counts_on_qemu(tmp_path):
    """Every tail length 0..7 and the 31-block limit at the maximal count, both variant families."""
    from tests.device.models import missing_tools, write_build
    from tests.kernels.qemu_tier import BOARDS
    from tinygen.device.validate import validate
    from tinygen.testing import merge_graphs

    if missing_tools():
        pytest.skip(missing_tools())
    # (cin, k): 3x3 fields of 9 * words words give every tail 9 * words % 8; 5x5x320: 31 blocks + 2
    cases = [(cin, 3) for cin in (256, 32, 160, 96, 64, 128, 192, 224)] + [(320, 5)]
    graphs, inputs = zip(*(saturated_case(cin, 33, k) for cin, k in cases))
    tails = {bconv2d_hs.tail_of(k, k, cin) for cin, k in cases}
    assert tails == set(range(8))
    ref = interpreter.run(merge_graphs(list(graphs), "saturated"), list(inputs))
    assert all(0 < bitpack.unpack_bits(r, 33).mean() < 1 for r in ref)  # both signs in every case
    # the run-time block loop variants on the M4 stand-in, the fixed-size (unrolled) ones on the M7
    for board, family in zip(BOARDS, ("tg_bconv2d_b1_hs8r", "tg_bconv2d_b1_hs8k")):
        merged = merge_graphs(list(graphs), "saturated")
        if family.endswith("r"):
            for n, (cin, k) in zip(merged.nodes, cases):
                n.kernel = f"{family}{bconv2d_hs.tail_of(k, k, cin)}"
        program = write_build(merged, tmp_path / board, board)
        kernels = [n.kernel for n in program.graph.nodes]
        assert all(k.startswith(family) for k in kernels[:-1]) and kernels[-1].startswith("tg_bconv2d_b1_hs8r"), kernels
        r = validate(program, qemu=True, board=board, inputs=list(inputs))
        assert r.passed, r.summary_text()


@pytest.mark.qemu
def test_bconv2d_fixed_size_variants_on_qemu(tmp_path):
    """The unrolled tg_bconv2d_b1_hs8k<K> variants in one firmware per stand-in: both output modes,
    both pad values, border classes, stride 2, K = 9..72."""
    from tests.device.models import missing_tools, write_build
    from tests.kernels.qemu_tier import BOARDS
    from tinygen.device.validate import validate
    from tinygen.testing import merge_graphs

    if missing_tools():
        pytest.skip(missing_tools())
    rng = np.random.default_rng(9)
    specs = [(32, 33, 1, 0, "int8"), (64, 65, 2, 1, "binary"), (96, 31, 1, 0, "binary"), (128, 64, 1, 1, "int8"),
             (160, 32, 2, 0, "int8"), (192, 63, 1, 1, "binary"), (224, 1, 1, 0, "binary"), (256, 40, 1, 0, "binary"),
             (45, 45, 1, 0, "int8")]
    graphs = [single_op_graph("bconv2d", attrs, ins, shape, out_dtype=dtype)
              for attrs, ins, shape, dtype in (bconv_case(rng, 6, 7, cin, cout, 3, s, (1,) * 4, 1, pv, out)[0]
                                              for cin, cout, s, pv, out in specs)]
    for board in BOARDS[1:]:  # the M7 stand-in: the M4 runs the same instructions (saturated test: both)
        program = write_build(merge_graphs(graphs, "fixed"), tmp_path / board, board)
        assert {n.kernel for n in program.graph.nodes} == {f"tg_bconv2d_b1_hs8k{k}" for k in bconv2d_hs.FIXED_WORDS[1:]}
        r = validate(program, qemu=True, board=board, count=1)
        assert r.passed, r.summary_text()



def compact_chain(rng, cases):
    """int8 -> binarize -> bconv2d per case: the bconv2d input is written by a node (padding bits 0),
    which lets the carry-save variants run each output's kh*kw*in_c bits together."""
    g = Graph("compact", dialect="lowered")
    labels = []
    for i, (h, w, cin, cout, k, s, p, d, pv, out) in enumerate(cases):
        attrs = BConv2dAttrs((s, s), (p,) * 4, (d, d), cin, pv, out, **random_output_stage(rng, out, cout, k * k * cin))
        x = g.add_tensor(Tensor(f"x{i}", (1, h, w, cin), DType.INT8, QuantParams.per_tensor(1.0, 0)))
        g.inputs.append(x.name)
        b = g.add_tensor(Tensor(f"b{i}", (1, h, w, bitpack.words_for(cin)), DType.UINT32))
        g.add_node(Node(f"bin{i}", "binarize", [x.name], [b.name], BinarizeAttrs(int(rng.integers(-3, 4)))))
        wt = g.add_const(f"w{i}", random_packed(rng, (cout, k, k), cin))
        oh, ow = out_hw(b.shape, wt.shape, attrs)
        shape, dtype = output_shape((1, oh, ow), cout, out)
        o = g.add_tensor(Tensor(f"out{i}", shape, dtype, QuantParams.per_tensor(1.0, 0)))
        g.add_node(Node(f"conv{i}", "bconv2d", [b.name, wt.name], [o.name], attrs))
        g.outputs.append(o.name)
        labels.append(f"{h}x{w}x{cin}->{cout} k{k}/{s} pad{p} dil{d} pad_value{pv} {out}")
    return g, labels


COMPACT_CASES = [(7, 9, 45, 45, 3, 1, 1, 1, 0, "binary"), (6, 7, 31, 33, 3, 2, 1, 1, 1, "int8"),
                 (9, 8, 33, 64, 5, 1, 2, 1, 0, "binary"), (8, 9, 63, 31, 3, 1, 2, 2, 0, "int8"),
                 (7, 7, 65, 65, 3, 1, 1, 1, 1, "binary"), (6, 9, 1, 32, 3, 1, 1, 1, 0, "int8"),
                 (9, 9, 100, 40, 5, 2, 2, 1, 0, "binary")]


@pytest.mark.host
def test_bconv2d_compact_field_chains(tmp_path):
    rng = np.random.default_rng(21)
    g, labels = compact_chain(rng, COMPACT_CASES)
    select_kernels(g, HOST)
    convs = [n for n in g.nodes if n.op == "bconv2d"]
    assert all(bconv2d_hs.compacts(n, g) and n.kernel.startswith("tg_bconv2d_b1_hs8") for n in convs)
    for n in g.nodes:
        n.kernel = ""
    inputs = [rng.integers(-128, 128, g.t(x).shape).astype(np.int8) for x in g.inputs]
    assert_cases_bit_exact(g, inputs, labels, tmp_path)


@pytest.mark.qemu
def test_bconv2d_compact_field_chains_on_qemu(tmp_path):
    from tests.device.models import missing_tools, write_build
    from tests.kernels.qemu_tier import BOARDS
    from tinygen.device.validate import validate

    if missing_tools():
        pytest.skip(missing_tools())
    g, _ = compact_chain(np.random.default_rng(22), [COMPACT_CASES[i] for i in (0, 1, 3, 6)])
    kernels = {n.kernel for n in select_kernels(g, HOST).nodes if n.op == "bconv2d"}
    assert "tg_bconv2d_b1_hs8k13" in kernels and any(k.startswith("tg_bconv2d_b1_hs8r") for k in kernels), kernels
    for board in BOARDS[:1]:  # the M4 stand-in (the fixed-size test runs the M7)
        program = write_build(g, tmp_path / board, board)
        r = validate(program, qemu=True, board=board, count=1)
        assert r.passed, r.summary_text()


def test_compact_fields_only_where_padding_bits_are_zero():
    """binarize (-> bmax_pool2d) writes 0 padding bits: compact; a packed graph input, or a pool
    of one, may carry any padding bits, which the reference counts: not compact."""
    rng = np.random.default_rng(3)
    g, _ = compact_chain(rng, COMPACT_CASES[:1])
    conv = g.nodes[-1]
    assert bconv2d_hs.compacts(conv, g)
    pooled = g.add_tensor(Tensor("p", g.t(conv.inputs[0]).shape, DType.UINT32))
    g.add_node(Node("pool", "bmax_pool2d", [conv.inputs[0]], ["p"], BMaxPool2dAttrs((1, 1), (1, 1), (0, 0, 0, 0))), 1)
    conv.inputs[0] = "p"
    assert bconv2d_hs.compacts(conv, g)
    g.nodes[0].inputs, g.inputs = [g.nodes[0].outputs[0]], [g.nodes[0].outputs[0]]  # the pool reads a graph input
    g.nodes.pop(0)
    assert not bconv2d_hs.compacts(conv, g)
    (attrs, ins, shape, dtype), _ = bconv_case(rng, 5, 6, 45, 8, 3, 1, (1,) * 4, 1, 0, "binary")
    one = single_op_graph("bconv2d", attrs, ins, shape, out_dtype=dtype)
    assert not bconv2d_hs.compacts(one.nodes[0], one)


def test_carry_save_int8_output_needs_the_fast_requant_contract():
    """The carry-save variants requantize with tg_requantize_fast_clamp, equal to the reference for
    multipliers != INT32_MIN only: a layer with one such multiplier keeps the reference."""
    rng = np.random.default_rng(4)
    (attrs, ins, shape, dtype), _ = bconv_case(rng, 6, 6, 128, 8, 3, 1, (1,) * 4, 1, 0, "int8")
    g = single_op_graph("bconv2d", attrs, ins, shape, out_dtype=dtype)
    select_kernels(g, HOST)
    assert g.nodes[0].kernel == "tg_bconv2d_b1_hs8k36"
    g.nodes[0].attrs = dataclasses.replace(attrs, multiplier=(fx.INT32_MIN,) + attrs.multiplier[1:])
    g.nodes[0].kernel = ""
    select_kernels(g, HOST)
    assert g.nodes[0].kernel == "tg_bconv2d_b1_ref"
