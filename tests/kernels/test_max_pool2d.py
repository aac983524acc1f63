import numpy as np
import pytest

from tinygen.ops.max_pool2d import MaxPool2dAttrs, pool_out_hw
from tinygen.reference import interpreter
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import act, reference_and_host, single_op_graph

# (H, W, C, kernel, stride, padding t/b/l/r, dilation)
CASES = [
    (1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),
    (1, 1, 3, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),  # 1x1 map, only the centre tap is inside
    (7, 5, 3, (2, 2), (2, 2), (0, 0, 0, 0), (1, 1)),
    (7, 5, 17, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    (7, 5, 1, (2, 2), (2, 2), (0, 1, 0, 1), (1, 1)),  # ceil_mode resolved as extra bottom/right pad
    (7, 5, 17, (3, 2), (1, 2), (1, 1, 0, 1), (1, 1)),
    (9, 7, 3, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2)),  # dilated
    (8, 7, 3, (2, 3), (2, 1), (1, 0, 2, 2), (3, 2)),  # dilated, asymmetric
]


def _graph(case, attrs):
    h, w, c = case[:3]
    oh, ow = pool_out_hw((1, h, w, c), attrs.kernel, attrs.stride, attrs.padding, attrs.dilation)
    return single_op_graph("max_pool2d", attrs, [act("x", (1, h, w, c))], (1, oh, ow, c))


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "_".join("x".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in c))
def test_max_pool2d_bit_exact(case, seed, tmp_path):
    h, w, c, k, s, p, d = case
    rng = np.random.default_rng(seed * 1000 + h * 100 + w * 10 + c)
    attrs = MaxPool2dAttrs(k, s, p, d, -128 if seed == 0 else -20, 127 if seed == 0 else 90)
    graph = _graph(case, attrs)
    xin = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)


def test_max_pool2d_reference_matches_direct_loop():
    """The vectorised reference (batched, N=2) against a literal transcription of the formula."""
    rng = np.random.default_rng(11)
    h, w, c, (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = 6, 5, 3, (3, 2), (2, 1), (1, 2, 1, 0), (2, 1)
    a = MaxPool2dAttrs((kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw), -100, 100)
    graph = _graph((h, w, c), a)
    x = rng.integers(-128, 128, (2, h, w, c)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    assert ref.shape[0] == 2
    oh, ow = ref.shape[1:3]
    for n in range(2):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    taps = [int(x[n, oy * sh - pt + i * dh, ox * sw - pl + j * dw, ch])
                            for i in range(kh) for j in range(kw)
                            if 0 <= oy * sh - pt + i * dh < h and 0 <= ox * sw - pl + j * dw < w]
                    assert ref[n, oy, ox, ch] == max(-100, min(100, max(taps)))


# -- tg_max_pool2d_s8_fast: four channels per word, channel tails, taps clipped at every border

FAST_CASES = [
    (h, w, c, k, s, p, (1, 1)) for c in (1, 3, 5, 8, 17, 31, 64, 96)
    for (h, w), k, s, p in (((1, 1), (3, 3), (1, 1), (1, 1, 1, 1)), ((7, 5), (2, 2), (2, 2), (0, 1, 0, 1)),
                            ((9, 7), (3, 3), (2, 2), (1, 1, 1, 1)))]


def _fast_graph(case, seed):
    h, w, c, k, s, p, d = case
    rng = np.random.default_rng(seed * 1000 + h * 100 + w * 10 + c)
    attrs = MaxPool2dAttrs(k, s, p, d, -128 if seed == 0 else -20, 127 if seed == 0 else 90)
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    x.flat[::7] = -128  # extremes: a window of -128s, and 127s that the clamp lowers
    x.flat[3::11] = 127
    return _graph(case, attrs), x


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[0]}x{c[1]}x{c[2]}_k{c[3][0]}s{c[4][0]}")
def test_max_pool2d_fast_bit_exact(case, seed, tmp_path):
    graph, x = _fast_graph(case, seed)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_max_pool2d_s8_fast"
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)


@pytest.mark.qemu
def test_max_pool2d_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    graphs = [_fast_graph(FAST_CASES[i], s)[0] for i in (0, 5, 10, 14, 19, 23) for s in (0, 1)]
    graphs += [_graph(c, MaxPool2dAttrs(*c[3:], -100, 100)) for c in CASES[5:]]
    check_on_qemu(graphs, tmp_path, "tg_max_pool2d_s8_fast")
