import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.conv2d import Conv2dAttrs, out_hw
from tinygen.testing import act, const, random_requant, reference_and_host, single_op_graph

# (H, W, Cin, Cout, k, stride, pad, dilation, groups)
CASES = [
    (1, 1, 1, 1, 1, 1, 0, 1, 1),
    (7, 5, 3, 17, 3, 1, 1, 1, 1),
    (7, 5, 3, 8, 3, 2, 1, 1, 1),
    (9, 9, 17, 17, 3, 2, 0, 1, 17),  # depthwise
    (6, 7, 4, 12, 3, 1, 1, 1, 4),  # depthwise, channel multiplier 3
    (8, 8, 6, 4, 3, 1, 2, 2, 2),  # grouped, dilated
    (5, 5, 1, 3, 5, 1, 2, 1, 1),
    (4, 6, 8, 5, 1, 1, 0, 1, 1),  # pointwise
    # pointwise (tg_conv2d_s8_1x1): channel counts around the 4-k blocks and channel pairs
    (7, 5, 5, 3, 1, 1, 0, 1, 1),
    (3, 3, 17, 31, 1, 1, 0, 1, 1),
    (1, 1, 64, 96, 1, 1, 0, 1, 1),
    (5, 7, 96, 17, 1, 1, 0, 1, 1),
    (1, 1, 3, 1, 1, 1, 0, 1, 1),
    (9, 7, 31, 8, 1, 2, 0, 1, 1),  # 1x1 stride 2: im2col
    # general conv through im2col, first layers with 1 and 3 input channels, odd sizes, stride 2
    (9, 7, 3, 16, 3, 2, 1, 1, 1),
    (11, 9, 1, 5, 3, 2, 0, 1, 1),
    (7, 5, 8, 31, 3, 1, 1, 1, 1),
    (9, 7, 5, 8, 3, 1, 0, 2, 1),
    (1, 1, 64, 8, 3, 1, 1, 1, 1),
    # depthwise 3x3 stride 1 and 2, general depthwise (5x5, dilated), channel tails of 1..3
    (7, 5, 8, 8, 3, 1, 1, 1, 8),
    (7, 5, 31, 31, 3, 1, 1, 1, 31),
    (9, 11, 17, 17, 3, 2, 1, 1, 17),
    (1, 1, 64, 64, 3, 1, 1, 1, 64),
    (8, 6, 96, 96, 3, 2, 0, 1, 96),
    (7, 7, 5, 5, 5, 1, 2, 1, 5),
    (9, 9, 3, 3, 3, 1, 2, 2, 3),
    (6, 5, 1, 1, 3, 2, 1, 1, 1),
    # four-pixel tiles (tg_conv2d_s8_pw4, tg_conv2d_s8_im2col4): a tail of 2 pixels (3 and 1 above)
    (2, 3, 31, 64, 1, 1, 0, 1, 1),
    (5, 3, 3, 31, 3, 2, 1, 1, 1),
    # depthwise with channel multiplier (tg_conv2d_s8_dwm): 3x3 s1/s2, 5x5 s2, 2x7, 1x1 images
    (7, 5, 3, 6, 3, 2, 1, 1, 3),
    (9, 7, 5, 15, 5, 2, 2, 1, 5),
    (1, 1, 17, 34, 3, 1, 1, 1, 17),
    (7, 7, 2, 8, 3, 1, 0, 2, 2),
    (5, 5, 4, 8, 1, 1, 0, 1, 4),  # 1 tap: the run-time-size instantiation
]


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c)))
def test_conv2d_bit_exact(case, seed, tmp_path):
    h, w, cin, cout, k, s, p, d, g = case
    rng = np.random.default_rng(seed * 1000 + sum(case))
    mult, shift = random_requant(rng, cout, 1e-3, 0.05)
    attrs = Conv2dAttrs((s, s), (p, p, p, p), (d, d), g, int(rng.integers(-128, 128)), int(rng.integers(-20, 20)),
                        mult, shift, -128 if seed == 0 else -10, 127)
    x = act("x", (1, h, w, cin))
    wt = const("w", rng.integers(-127, 128, (cout, k, k, cin // g)).astype(np.int8))
    b = const("b", rng.integers(-5000, 5000, cout).astype(np.int32))
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    graph = single_op_graph("conv2d", attrs, [x, wt, b], (1, oh, ow, cout))
    xin = rng.integers(-128, 128, x.shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == (1, oh, ow, cout)
    np.testing.assert_array_equal(host, ref)
    if ref.size >= 16:
        assert len(np.unique(ref)) > 3  # the requantization ranges make outputs non-trivial


# Int8 extremes: inputs at -128/127, zero points -128 and 127, weights at -128/127, requantization
# that saturates (large multipliers), every TFLite padding mode (VALID = 0, SAME with odd and even
# totals = asymmetric top/left vs bottom/right).
EXTREME = [
    # (H, W, Cin, Cout, k, stride, padding (t, b, l, r), groups, input zero point)
    (7, 5, 8, 6, 1, 1, (0, 0, 0, 0), 1, -128),
    (7, 5, 8, 6, 1, 1, (0, 0, 0, 0), 1, 127),
    (8, 6, 3, 8, 3, 2, (0, 1, 0, 1), 1, -128),  # SAME, even size, stride 2
    (7, 5, 3, 8, 3, 2, (1, 1, 1, 1), 1, 127),  # SAME, odd
    (7, 5, 17, 17, 3, 1, (1, 1, 1, 1), 17, -128),
    (8, 6, 17, 17, 3, 2, (0, 1, 0, 1), 17, 127),
    (7, 5, 17, 17, 3, 2, (0, 0, 0, 0), 17, -128),  # VALID
    (7, 5, 8, 24, 3, 1, (1, 1, 1, 1), 8, 127),  # depthwise, multiplier 3
    (8, 6, 5, 10, 5, 2, (1, 2, 1, 2), 5, -128),  # depthwise 5x5, multiplier 2, SAME even
]


def extreme_graph(case, seed, mode):
    h, w, cin, cout, k, s, pad, g, zp = case
    rng = np.random.default_rng(seed * 77 + sum(case[:6]) + zp + 1000)
    # saturate_rshift: scales below 1/2 (right shifts only, as the four-pixel kernels need) that
    # still saturate, with an activation range narrower than int8 on both sides
    lo, hi = {"saturate": (0.5, 4.0), "saturate_rshift": (0.05, 0.45)}.get(mode, (1e-3, 0.05))
    mult, shift = random_requant(rng, cout, lo, hi)
    act_range = (-100, 90) if mode == "saturate_rshift" else (-128, 127)
    attrs = Conv2dAttrs((s, s), pad, (1, 1), g, -zp, int(rng.choice([-128, 127, 0])), mult, shift, *act_range)
    x = act("x", (1, h, w, cin))
    wt = const("w", rng.choice(np.array([-128, 127, -1, 1], np.int8), (cout, k, k, cin // g)))
    b = const("b", rng.integers(-100000, 100000, cout).astype(np.int32))
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    graph = single_op_graph("conv2d", attrs, [x, wt, b], (1, oh, ow, cout))
    xin = rng.choice(np.array([-128, 127, zp], np.int8), x.shape)
    return graph, xin


EXTREME_MODES = [(c, m) for c in EXTREME for m in ("saturate", "typical")]
EXTREME_MODES += [(c, "saturate_rshift") for c in EXTREME if c[7] == 1]


@pytest.mark.host
@pytest.mark.parametrize("case,mode", EXTREME_MODES, ids=lambda v: v if isinstance(v, str) else "x".join(map(str, v)))
def test_conv2d_int8_extremes(case, mode, tmp_path):
    graph, xin = extreme_graph(case, 0, mode)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    np.testing.assert_array_equal(host, ref)
    if mode == "saturate":
        assert (ref == -128).any() or (ref == 127).any()
    if mode == "saturate_rshift":
        assert (ref == -100).any() and (ref == 90).any()


def conv_case_graph(case, seed=0):
    h, w, cin, cout, k, s, p, d, g = case
    rng = np.random.default_rng(seed * 1000 + sum(case))
    mult, shift = random_requant(rng, cout, 1e-3, 0.05)
    attrs = Conv2dAttrs((s, s), (p, p, p, p), (d, d), g, int(rng.integers(-128, 128)), int(rng.integers(-20, 20)),
                        mult, shift, -128, 127)
    x = act("x", (1, h, w, cin))
    wt = const("w", rng.integers(-127, 128, (cout, k, k, cin // g)).astype(np.int8))
    b = const("b", rng.integers(-5000, 5000, cout).astype(np.int32))
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    return single_op_graph("conv2d", attrs, [x, wt, b], (1, oh, ow, cout))


QEMU_VARIANTS = {
    "tg_conv2d_s8_pw4": [c for c in CASES if c[4] == 1 and c[5] == 1 and c[8] == 1],
    "tg_conv2d_s8_im2col4": [c for c in CASES if c[8] == 1 and (c[4] > 1 or c[5] > 1)][:6] + [CASES[-1]],
    "tg_conv2d_s8_1x1": [c for c in CASES if c[4] == 1 and c[5] == 1 and c[8] == 1],
    "tg_conv2d_s8_im2col": [c for c in CASES if c[8] == 1 and (c[4] > 1 or c[5] > 1)][:6],
    "tg_conv2d_s8_dw3x3s1": [c for c in CASES if c[8] == c[2] == c[3] and c[4] == 3 and c[5] == 1 and c[7] == 1],
    "tg_conv2d_s8_dw3x3s2": [c for c in CASES if c[8] == c[2] == c[3] and c[4] == 3 and c[5] == 2 and c[7] == 1],
    "tg_conv2d_s8_dw": [c for c in CASES if c[8] == c[2] == c[3] and c[2] > 1],
    "tg_conv2d_s8_dwm": [c for c in CASES if c[8] == c[2] > 1 and c[3] > c[2]],
    "tg_conv2d_s8_dwm_w16": [c for c in CASES if c[8] == c[2] > 1 and c[3] > c[2]],
}


@pytest.mark.qemu
@pytest.mark.parametrize("kernel", sorted(QEMU_VARIANTS))
def test_conv2d_fast_variants_on_qemu(kernel, tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu
    from tinygen.testing import supported

    graphs = [conv_case_graph(c) for c in QEMU_VARIANTS[kernel]]
    graphs += [extreme_graph(c, 0, m)[0] for c, m in EXTREME_MODES]
    graphs = [gr for gr in graphs if supported("conv2d", kernel, gr)]
    assert len(graphs) >= 3
    check_on_qemu(graphs, tmp_path, kernel)


def test_conv2d_reference_matches_direct_loop():
    """The vectorised reference against a literal transcription of the formula."""
    rng = np.random.default_rng(7)
    h, w, cin, cout, k, s, p, g = 5, 4, 4, 4, 3, 2, 1, 2
    mult, shift = random_requant(rng, cout, 1e-3, 0.05)
    a = Conv2dAttrs((s, s), (p, p, p, p), (1, 1), g, 5, -3, mult, shift)
    x = rng.integers(-128, 128, (1, h, w, cin)).astype(np.int8)
    wt = rng.integers(-127, 128, (cout, k, k, cin // g)).astype(np.int8)
    b = rng.integers(-500, 500, cout).astype(np.int32)
    graph = single_op_graph("conv2d", a, [act("x", x.shape), const("w", wt), const("b", b)],
                            (1, *out_hw(x.shape, wt.shape, a), cout))
    from tinygen.reference import interpreter
    from tinygen.reference.fixedpoint import requantize

    (ref,) = interpreter.run(graph, [x])
    oh, ow = ref.shape[1:3]
    cg, og = cin // g, cout // g
    for oy in range(oh):
        for ox in range(ow):
            for o in range(cout):
                acc = int(b[o])
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * s - p + ky, ox * s - p + kx
                        if 0 <= iy < h and 0 <= ix < w:
                            for c in range(cg):
                                acc += int(wt[o, ky, kx, c]) * (int(x[0, iy, ix, (o // og) * cg + c]) + 5)
                v = int(requantize(np.array(acc), mult[o], shift[o])) - 3
                assert ref[0, oy, ox, o] == max(-128, min(127, v))


def test_conv2d_dtype():
    assert DType.INT8.ctype == "int8_t"
