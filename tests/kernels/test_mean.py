import numpy as np
import pytest

from tinygen.ops.mean import mean_out_shape, mean_params
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import requantize
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import act, reference_and_host, single_op_graph

# (input shape, axes, keepdims)
CASES = [
    ((1, 1, 1, 1), (1, 2), False),
    ((1, 1, 1, 3), (1, 2), True),
    ((1, 7, 5, 3), (1, 2), True),
    ((1, 7, 5, 17), (1, 2), False),  # global average pooling [1,H,W,C] -> [1,C]
    ((1, 7, 5, 3), (1,), False),
    ((1, 7, 5, 17), (2,), True),
    ((1, 5, 7, 1), (2,), False),
    ((1, 7, 5, 17), (3,), True),
]


def _graph(shape, attrs):
    return single_op_graph("mean", attrs, [act("x", shape)], mean_out_shape(shape, attrs.axes, attrs.keepdims))


def _random_quant(rng):
    s_in = float(np.exp(rng.uniform(np.log(0.01), np.log(0.1))))
    return s_in, int(rng.integers(-60, 60)), s_in * float(rng.uniform(0.3, 1.2)), int(rng.integers(-30, 30))


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'x'.join(map(str, c[0]))}_ax{''.join(map(str, c[1]))}_{'keep' if c[2] else 'drop'}")
def test_mean_bit_exact(case, seed, tmp_path):
    shape, axes, keep = case
    rng = np.random.default_rng(seed * 1000 + sum(shape) + 10 * axes[0] + keep)
    count = int(np.prod([shape[a] for a in axes]))
    attrs = mean_params(axes, keep, count, *_random_quant(rng))
    graph = _graph(shape, attrs)
    xin = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)


@pytest.mark.parametrize("axes", [(1, 2), (1,), (2,)])
def test_mean_reference_matches_direct_loop(axes):
    """The vectorised reference (batched, N=2, keepdims) against a literal transcription."""
    rng = np.random.default_rng(31 + len(axes) + axes[0])
    n, h, w, c = 2, 4, 3, 5
    count = int(np.prod([(n, h, w, c)[a] for a in axes]))
    a = mean_params(axes, True, count, 0.05, 4, 0.03, -9)
    graph = _graph((1, h, w, c), a)
    x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    for b in range(n):
        for y in range(ref.shape[1]):
            for xx in range(ref.shape[2]):
                for ch in range(c):
                    ys = range(h) if 1 in axes else [y]
                    xs = range(w) if 2 in axes else [xx]
                    acc = sum(int(x[b, i, j, ch]) + a.input_offset for i in ys for j in xs)
                    v = int(requantize(np.array(acc << a.left_shift), a.multiplier, a.shift)) + a.output_offset
                    assert ref[b, y, xx, ch] == max(-128, min(127, v))


@pytest.mark.parametrize("seed", range(8))
def test_mean_params_accuracy(seed):
    """Dequantized output within one output step of the float64 mean of the dequantized input."""
    rng = np.random.default_rng(200 + seed)
    s_in, zp_in, s_out, zp_out = _random_quant(rng)
    shape, axes = (1, 7, 5, 17), [(1, 2), (1,), (2,)][seed % 3]
    count = int(np.prod([shape[a] for a in axes]))
    a = mean_params(axes, False, count, s_in, zp_in, s_out, zp_out)
    x = rng.integers(-128, 128, (4, *shape[1:])).astype(np.int8)
    (ref,) = interpreter.run(_graph(shape, a), [x])
    expect = (s_in * (x.astype(np.float64) - zp_in)).mean(axis=axes)
    expect = np.clip(expect, s_out * (-128 - zp_out), s_out * (127 - zp_out))
    got = s_out * (ref.astype(np.float64) - zp_out)
    assert np.abs(got - expect).max() <= s_out * (1 + 1e-9)


@pytest.mark.parametrize("axes", [(0,), (1, 3), (2, 1), (4,), ()])
def test_mean_check_rejects_bad_axes(axes):
    from tinygen.ir.verify import verify
    from tinygen.ops.mean import MeanAttrs

    g = single_op_graph("mean", MeanAttrs(axes, True, 0, 0, 1 << 30, 0), [act("x", (1, 3, 4, 5))], (1, 1, 1, 1))
    with pytest.raises(ValueError, match="axes"):
        verify(g)


# -- tg_mean_s8_fast: SXTAB16 sums over four inner positions, tails, > 256 reduced rows

FAST_CASES = [((1, h, w, c), axes, False) for c in (1, 3, 5, 8, 17, 31, 64, 96)
              for (h, w), axes in (((1, 1), (1, 2)), ((7, 5), (1, 2)), ((7, 5), (1,)))] + [
    ((1, 20, 19, 6), (1, 2), False), ((1, 300, 1, 9), (1,), True), ((1, 3, 300), (2,), False)]


def _fast_graph(case, seed):
    shape, axes, keep = case
    rng = np.random.default_rng(seed * 1000 + sum(shape) + 10 * axes[0] + keep)
    count = int(np.prod([shape[a] for a in axes]))
    s_in, zp_in, s_out, zp_out = _random_quant(rng)
    if seed == 1:
        zp_in, zp_out = -128, 127
    x = rng.integers(-128, 128, shape).astype(np.int8)
    x.flat[::3] = 127 if seed == 1 else -128
    return _graph(shape, mean_params(axes, keep, count, s_in, zp_in, s_out, zp_out)), x


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{'x'.join(map(str, c[0]))}_ax{''.join(map(str, c[1]))}")
def test_mean_fast_bit_exact(case, seed, tmp_path):
    graph, x = _fast_graph(case, seed)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_mean_s8_fast"
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)


@pytest.mark.qemu
def test_mean_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    graphs = [_fast_graph(FAST_CASES[i], s)[0] for i in (1, 4, 10, 16, 22, 24, 25, 26) for s in (0, 1)]
    check_on_qemu(graphs, tmp_path, "tg_mean_s8_fast")
