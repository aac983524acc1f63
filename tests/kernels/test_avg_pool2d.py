import numpy as np
import pytest

from tinygen.ops.avg_pool2d import avg_pool_params
from tinygen.ops.max_pool2d import pool_out_hw
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import requantize
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import act, reference_and_host, single_op_graph

# (H, W, C, kernel, stride, padding t/b/l/r, count_include_pad)
CASES = [
    (1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0), False),
    (1, 1, 3, (3, 3), (1, 1), (1, 1, 1, 1), True),
    (1, 1, 3, (3, 3), (1, 1), (1, 1, 1, 1), False),
    (7, 5, 3, (2, 2), (2, 2), (0, 0, 0, 0), False),
    (7, 5, 17, (3, 3), (2, 2), (1, 1, 1, 1), True),
    (7, 5, 17, (3, 3), (2, 2), (1, 1, 1, 1), False),
    (7, 5, 1, (2, 2), (2, 2), (0, 1, 0, 1), False),  # ceil_mode resolved as extra bottom/right pad
    (6, 7, 3, (3, 3), (1, 1), (1, 1, 1, 1), True),
    (7, 5, 3, (3, 2), (2, 1), (1, 0, 1, 1), False),
]


def _graph(case, attrs):
    h, w, c = case[:3]
    oh, ow = pool_out_hw((1, h, w, c), attrs.kernel, attrs.stride, attrs.padding)
    return single_op_graph("avg_pool2d", attrs, [act("x", (1, h, w, c))], (1, oh, ow, c))


def _random_quant(rng):
    s_in = float(np.exp(rng.uniform(np.log(0.01), np.log(0.1))))
    return s_in, int(rng.integers(-60, 60)), s_in * float(rng.uniform(0.5, 1.5)), int(rng.integers(-30, 30))


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "_".join("x".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in c))
def test_avg_pool2d_bit_exact(case, seed, tmp_path):
    h, w, c, k, s, p, cip = case
    rng = np.random.default_rng(seed * 1000 + h * 100 + w * 10 + c + 7 * cip)
    attrs = avg_pool_params(k, s, p, cip, *_random_quant(rng), -128 if seed == 0 else -20, 127 if seed == 0 else 90)
    graph = _graph(case, attrs)
    xin = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)
    if ref.size >= 16:
        assert len(np.unique(ref)) > 3


@pytest.mark.parametrize("cip", [False, True])
def test_avg_pool2d_reference_matches_direct_loop(cip):
    """The vectorised reference (batched, N=2) against a literal transcription of the formula."""
    rng = np.random.default_rng(21 + cip)
    h, w, c, (kh, kw), (sh, sw), (pt, pb, pl, pr) = 5, 6, 2, (3, 2), (2, 2), (1, 1, 1, 1)
    a = avg_pool_params((kh, kw), (sh, sw), (pt, pb, pl, pr), cip, 0.05, 3, 0.04, -7, -110, 120)
    graph = _graph((h, w, c), a)
    x = rng.integers(-128, 128, (2, h, w, c)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    oh, ow = ref.shape[1:3]
    for n in range(2):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    taps = [int(x[n, oy * sh - pt + i, ox * sw - pl + j, ch]) + a.input_offset
                            for i in range(kh) for j in range(kw)
                            if 0 <= oy * sh - pt + i < h and 0 <= ox * sw - pl + j < w]
                    cnt = kh * kw if cip else len(taps)
                    v = int(requantize(np.array(sum(taps) << a.left_shift), a.multipliers[cnt], a.shifts[cnt])) + a.output_offset
                    assert ref[n, oy, ox, ch] == max(-110, min(120, v))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cip", [False, True])
def test_avg_pool_params_accuracy(seed, cip):
    """Dequantized output within one output step of the float64 average of the dequantized input."""
    rng = np.random.default_rng(100 + seed)
    s_in, zp_in, s_out, zp_out = _random_quant(rng)
    k, s, p = (3, 3), (2, 2), (1, 1, 1, 1)
    a = avg_pool_params(k, s, p, cip, s_in, zp_in, s_out, zp_out)
    h, w, c = 7, 5, 4
    graph = _graph((h, w, c), a)
    x = rng.integers(-128, 128, (3, h, w, c)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    real = np.pad(s_in * (x.astype(np.float64) - zp_in), ((0, 0), (1, 1), (1, 1), (0, 0)))  # pad = real 0
    inside = np.pad(np.ones((h, w)), 1)
    oh, ow = ref.shape[1:3]
    for oy in range(oh):
        for ox in range(ow):
            win = real[:, oy * 2:oy * 2 + 3, ox * 2:ox * 2 + 3]
            cnt = 9 if cip else inside[oy * 2:oy * 2 + 3, ox * 2:ox * 2 + 3].sum()
            expect = np.clip(win.sum(axis=(1, 2)) / cnt, s_out * (-128 - zp_out), s_out * (127 - zp_out))
            got = s_out * (ref[:, oy, ox].astype(np.float64) - zp_out)
            assert np.abs(got - expect).max() <= s_out * (1 + 1e-9)


def test_avg_pool2d_rejects_empty_window():
    from tinygen.ir.verify import verify

    a = avg_pool_params((2, 2), (1, 1), (2, 0, 0, 0), False, 0.1, 0, 0.1, 0)
    g = single_op_graph("avg_pool2d", a, [act("x", (1, 3, 3, 1))], (1, 4, 2, 1))
    with pytest.raises(ValueError, match="no tap inside"):
        verify(g)


# -- rounding "divide": TFLite Micro's int8 average pool (raw sum / count, rounded half away) ---------
def _divide_attrs(case, rng):
    from tinygen.ops.avg_pool2d import AvgPool2dAttrs

    _, _, _, k, s, p, cip = case
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2)) if rng.random() < 0.5 else (-128, 127)
    return AvgPool2dAttrs(k, s, p, cip, 0, 0, (), (), lo, hi, "divide")


@pytest.mark.host
@pytest.mark.parametrize("case", CASES, ids=lambda c: "_".join("x".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in c))
def test_avg_pool2d_divide_bit_exact(case, tmp_path):
    h, w, c = case[:3]
    rng = np.random.default_rng(h * 100 + w * 10 + c + 5)
    graph = _graph(case, _divide_attrs(case, rng))
    xin = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    np.testing.assert_array_equal(host, ref)


@pytest.mark.parametrize("cip", [False, True])
def test_avg_pool2d_divide_matches_direct_loop(cip):
    """round half away from zero of the raw sum over the divisor count, C-style integer division."""
    from tinygen.ops.avg_pool2d import AvgPool2dAttrs

    rng = np.random.default_rng(61 + cip)
    h, w, c, (kh, kw), (sh, sw), (pt, pb, pl, pr) = 5, 6, 3, (3, 2), (2, 2), (1, 1, 1, 1)
    a = AvgPool2dAttrs((kh, kw), (sh, sw), (pt, pb, pl, pr), cip, 0, 0, (), (), -100, 110, "divide")
    graph = _graph((h, w, c), a)
    x = rng.integers(-128, 128, (3, h, w, c)).astype(np.int8)
    x[0] = 1  # sums that tie (e.g. 3/2, -3/2) exercise the rounding direction
    x[1] = -1
    (ref,) = interpreter.run(graph, [x])
    oh, ow = ref.shape[1:3]
    for n in range(3):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    taps = [int(x[n, oy * sh - pt + i, ox * sw - pl + j, ch]) for i in range(kh) for j in range(kw)
                            if 0 <= oy * sh - pt + i < h and 0 <= ox * sw - pl + j < w]
                    cnt = kh * kw if cip else len(taps)
                    acc = sum(taps)
                    v = (acc + cnt // 2) // cnt if acc >= 0 else -((-acc + cnt // 2) // cnt)
                    assert ref[n, oy, ox, ch] == max(-100, min(110, v))


def test_avg_pool2d_divide_rejects_multipliers():
    from tinygen.ir.verify import verify
    from tinygen.ops.avg_pool2d import AvgPool2dAttrs

    a = AvgPool2dAttrs((2, 2), (2, 2), (0, 0, 0, 0), False, 0, 0, (0,) * 5, (0,) * 5, -128, 127, "divide")
    with pytest.raises(ValueError, match="none for 'divide'"):
        verify(_graph((4, 4, 1), a))


# -- tg_avg_pool2d_s8_fast: SXTAB16 window sums on four channels, tails, both rounding modes

FAST_CASES = [(h, w, c, k, s, p, cip) for c in (1, 3, 5, 8, 17, 31, 64, 96)
              for (h, w), k, s, p, cip in (((1, 1), (3, 3), (1, 1), (1, 1, 1, 1), False),
                                           ((7, 5), (2, 2), (2, 2), (0, 1, 0, 1), True),
                                           ((9, 7), (3, 3), (2, 2), (1, 1, 1, 1), False),
                                           ((7, 5), (7, 5), (1, 1), (0, 0, 0, 0), False))]  # global


def _fast_graph(case, seed):
    h, w, c, k, s, p, cip = case
    rng = np.random.default_rng(seed * 1000 + h * 100 + w * 10 + c + 7 * cip)
    s_in, zp_in, s_out, zp_out = _random_quant(rng)
    if seed == 1:  # extreme zero points: the largest offset sums
        zp_in, zp_out = 127, -128
    attrs = avg_pool_params(k, s, p, cip, s_in, zp_in, s_out, zp_out, -128, 127)
    if seed == 2:
        import dataclasses

        attrs = dataclasses.replace(attrs, rounding="divide", multipliers=(), shifts=(), input_offset=0, output_offset=0,
                                    left_shift=0)
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    x.flat[::5] = -128 if seed != 2 else 127
    return _graph(case, attrs), x


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[0]}x{c[1]}x{c[2]}_k{c[3][0]}{c[3][1]}s{c[4][0]}{'_cip' if c[6] else ''}")
def test_avg_pool2d_fast_bit_exact(case, seed, tmp_path):
    graph, x = _fast_graph(case, seed)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_avg_pool2d_s8_fast"
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)


def test_avg_pool2d_fast_needs_int16_window_sums():
    attrs = avg_pool_params((17, 16), (1, 1), (0, 0, 0, 0), False, 0.1, 0, 0.1, 0, -128, 127)
    graph = _graph((17, 16, 4), attrs)
    assert [k.symbol for k in candidates(graph.nodes[0], graph, HOST)] == ["tg_avg_pool2d_s8_ref"]


@pytest.mark.qemu
def test_avg_pool2d_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    graphs = [_fast_graph(FAST_CASES[i], s)[0] for i in (0, 5, 10, 15, 22, 27, 31) for s in (0, 1, 2)]
    check_on_qemu(graphs, tmp_path, "tg_avg_pool2d_s8_fast")
