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
