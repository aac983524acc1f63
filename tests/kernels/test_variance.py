import numpy as np
import pytest

from tinygen.ops.mean import mean_out_shape
from tinygen.ops.variance import VarianceAttrs, numerator_bound, pre_shift_for, variance_params
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import INT32_MAX, requantize
from tinygen.testing import act, reference_and_host, single_op_graph

# (input shape, axes, keepdims, correction)
CASES = [
    ((1, 1, 1, 1), (1, 2), False, 0),
    ((1, 7, 5, 3), (1, 2), True, 0),
    ((1, 7, 5, 17), (1, 2), False, 0),  # per-channel variance of a feature map (ECA)
    ((1, 7, 5, 17), (1, 2), False, 1),  # unbiased
    ((1, 7, 5, 3), (1,), False, 0),
    ((1, 5, 7, 1), (2,), True, 0),
    ((1, 7, 5, 17), (3,), True, 0),
    ((1, 3, 17), (2,), False, 0),  # rank 3
    ((1, 45, 43, 3), (1, 2), False, 0),  # 1935 values: pre_shift > 0
]


def _graph(shape, attrs):
    return single_op_graph("variance", attrs, [act("x", shape)], mean_out_shape(shape, attrs.axes, attrs.keepdims))


def _random_quant(rng):
    s_in = float(np.exp(rng.uniform(np.log(0.01), np.log(0.1))))
    return s_in, int(rng.integers(-60, 60)), s_in * s_in * float(rng.uniform(10.0, 40.0)), int(rng.integers(-128, -100))


def _count(shape, axes):
    return int(np.prod([shape[a] for a in axes]))


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'x'.join(map(str, c[0]))}_ax{''.join(map(str, c[1]))}"
                         f"_{'keep' if c[2] else 'drop'}_c{c[3]}")
def test_variance_bit_exact(case, seed, tmp_path):
    shape, axes, keep, corr = case
    rng = np.random.default_rng(seed * 1000 + sum(shape) + 10 * axes[0] + keep + 7 * corr)
    count = _count(shape, axes)
    if count - corr < 1:
        pytest.skip("undefined")
    attrs = variance_params(axes, keep, count, *_random_quant(rng), correction=corr)
    graph = _graph(shape, attrs)
    # seed 1: two-valued inputs at the int8 extremes, the worst case the pre-shift is sized for
    x = rng.integers(-128, 128, shape) if seed == 0 else rng.choice([-128, 127], shape)
    x = x.astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)


@pytest.mark.parametrize("count", [1, 2, 3, 35, 196, 1935, 12544, 50176, 1 << 22])
def test_pre_shift_is_minimal_and_sufficient(count):
    r = pre_shift_for(count)
    bound = numerator_bound(count)
    if r > 0:
        assert (bound + (1 << (r - 1))) >> r <= INT32_MAX
        assert (bound + ((1 << (r - 1)) >> 1)) >> (r - 1) > INT32_MAX
    else:  # the largest left shift that keeps the bound in int32
        assert max(bound, 1) << -r <= INT32_MAX < max(bound, 1) << (1 - r)
    # the bound is attained: half the values at each end of the int8 range (even count)
    n = count - count % 2
    if 0 < n <= 4096:
        d = np.array([-128] * (n // 2) + [127] * (n // 2), np.int64)
        assert n * int((d * d).sum()) - int(d.sum()) ** 2 == numerator_bound(n)


@pytest.mark.parametrize("axes", [(1, 2), (1,), (2,)])
def test_variance_reference_matches_direct_loop(axes):
    """The vectorised reference (batched, N=2, keepdims) against a literal transcription."""
    rng = np.random.default_rng(41 + len(axes) + axes[0])
    n, h, w, c = 2, 4, 3, 5
    count = _count((n, h, w, c), axes)
    a = variance_params(axes, True, count, 0.05, 4, 0.05**2 * 20, -120)
    graph = _graph((1, h, w, c), a)
    x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    for b in range(n):
        for y in range(ref.shape[1]):
            for xx in range(ref.shape[2]):
                for ch in range(c):
                    ys = range(h) if 1 in axes else [y]
                    xs = range(w) if 2 in axes else [xx]
                    d = [int(x[b, i, j, ch]) + a.input_offset for i in ys for j in xs]
                    num = count * sum(v * v for v in d) - sum(d) ** 2
                    if a.pre_shift > 0:
                        num = (num + (1 << (a.pre_shift - 1))) >> a.pre_shift
                    else:
                        num <<= -a.pre_shift
                    v = int(requantize(np.array(num), a.multiplier, a.shift)) + a.output_offset
                    assert ref[b, y, xx, ch] == max(-128, min(127, v))


@pytest.mark.parametrize("seed", range(6))
def test_variance_params_accuracy(seed):
    """Dequantized output within one output step of the float64 variance of the dequantized input."""
    rng = np.random.default_rng(300 + seed)
    s_in, zp_in, s_out, zp_out = _random_quant(rng)
    shape, axes = [((1, 7, 5, 17), (1, 2)), ((1, 56, 56, 3), (1, 2)), ((1, 7, 5, 17), (3,))][seed % 3]
    corr = seed % 2
    count = _count(shape, axes)
    a = variance_params(axes, False, count, s_in, zp_in, s_out, zp_out, correction=corr)
    x = rng.integers(-128, 128, (3, *shape[1:])).astype(np.int8)
    x[0] = np.clip(x[0] // 16, -128, 127)  # a low-variance sample too
    (ref,) = interpreter.run(_graph(shape, a), [x])
    expect = (s_in * (x.astype(np.float64) - zp_in)).var(axis=axes, ddof=corr)
    expect = np.clip(expect, s_out * (-128 - zp_out), s_out * (127 - zp_out))
    got = s_out * (ref.astype(np.float64) - zp_out)
    assert np.abs(got - expect).max() <= s_out * (1 + 1e-9)


def test_variance_check_rejects():
    from tinygen.ir.verify import verify

    good = variance_params((1, 2), False, 35, 0.05, 0, 0.05, -128)
    g = _graph((1, 7, 5, 3), good)
    verify(g)
    import dataclasses

    g.nodes[0].attrs = dataclasses.replace(good, pre_shift=good.pre_shift + 1)
    with pytest.raises(ValueError, match="pre_shift"):
        verify(g)
    g.nodes[0].attrs = VarianceAttrs((0,), False, 0, 0, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match="axes"):
        verify(g)
    with pytest.raises(ValueError, match="undefined"):
        variance_params((1,), False, 1, 0.1, 0, 0.1, 0, correction=1)


@pytest.mark.qemu
def test_variance_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    rng = np.random.default_rng(5)
    graphs = [_graph(shape, variance_params(axes, keep, _count(shape, axes), *_random_quant(rng), correction=corr))
              for shape, axes, keep, corr in CASES[1:6]]
    check_on_qemu(graphs, tmp_path, "tg_variance_s8_fast")
