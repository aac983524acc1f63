import numpy as np
import pytest

from tinygen.ops.softmax import SoftmaxAttrs, exp_table, softmax_params, softmax_q30
from tinygen.reference import interpreter
from tinygen.reference.fixedpoint import requantize
from tinygen.testing import act, reference_and_host, single_op_graph

# (input shape, input scale, beta = 1 / temperature); rows along the last axis
CASES = [
    ((1, 17, 3), 0.05, 1 / 3),  # FlyNet: 17 channels x 3 heads, T = 3
    ((1, 1, 3), 0.1, 1.0),
    ((1, 3, 1), 0.1, 1.0),  # one value per row: probability 1
    ((1, 7, 5, 17), 0.02, 1.0),
    ((1, 5, 10), 0.2, 0.1),  # T = 10
    ((1, 17), 0.5, 2.0),  # steep: the table is cut short
]


def _out_q():
    return 1.0 / 256, -128  # probabilities [0, 1) as torch.quint8-like int8


def _graph(shape, attrs):
    return single_op_graph("softmax", attrs, [act("x", shape)], shape)


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + f"_b{c[2]:.2f}")
def test_softmax_bit_exact(case, seed, tmp_path):
    shape, s_in, beta = case
    rng = np.random.default_rng(seed * 1000 + sum(shape))
    attrs = softmax_params(s_in, beta, *_out_q())
    x = rng.integers(-128, 128, shape).astype(np.int8)
    if seed == 1:
        x[..., 0] = 127  # ties and the widest differences
        x[..., -1] = -128
    (ref,), (host,) = reference_and_host(_graph(shape, attrs), [x], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == shape
    np.testing.assert_array_equal(host, ref)


def test_softmax_reference_matches_direct_loop():
    rng = np.random.default_rng(7)
    shape = (1, 4, 5)
    a = softmax_params(0.07, 0.5, 1 / 255, -128)
    x = rng.integers(-128, 128, (3, *shape[1:])).astype(np.int8)
    (ref,) = interpreter.run(_graph(shape, a), [x])
    table = list(a.table) + [0] * (256 - len(a.table))
    for b in range(3):
        for r in range(4):
            row = [int(v) for v in x[b, r]]
            e = [table[max(row) - v] for v in row]
            s = sum(e)
            for i in range(5):
                p = ((e[i] << 30) + (s >> 1)) // s
                v = int(requantize(np.array(p), a.multiplier, a.shift)) + a.output_offset
                assert ref[b, r, i] == max(-128, min(127, v))


@pytest.mark.parametrize("seed", range(4))
def test_softmax_tracks_torch(seed):
    """Statistical contract against torch.softmax(x / T) of the dequantized input: >= 99% of the
    outputs within one output step, none more than two, probabilities summing to ~1."""
    import torch

    rng = np.random.default_rng(500 + seed)
    s_in, t = float(rng.uniform(0.01, 0.2)), float(rng.choice([1.0, 3.0, 10.0]))
    zp_in = int(rng.integers(-20, 20))
    s_out, zp_out = _out_q()
    a = softmax_params(s_in, 1 / t, s_out, zp_out)
    shape = (1, 64, 3)
    x = rng.integers(-128, 128, (50, *shape[1:])).astype(np.int8)
    (ref,) = interpreter.run(_graph(shape, a), [x])
    real = torch.from_numpy((np.float32(s_in) * (x.astype(np.float32) - zp_in)))
    expect = torch.softmax(real / t, dim=-1)
    expect = torch.fake_quantize_per_tensor_affine(expect, s_out, zp_out, -128, 127).numpy()
    steps = np.abs((ref.astype(np.float64) - zp_out) * s_out - expect) / s_out
    assert (steps <= 1 + 1e-6).mean() >= 0.99 and steps.max() <= 2 + 1e-6
    q30 = softmax_q30(x, a.table)
    assert np.all(np.abs(q30.sum(-1) - (1 << 30)) <= 3)


def test_exp_table():
    t = exp_table(0.05, 1 / 3)
    assert len(t) == 256 and t[0] == 32768 and t[1] == round(32768 * np.exp(-0.05 / 3))
    assert exp_table(1.0, 1.0)[-1] >= 1 and len(exp_table(1.0, 1.0)) == 12  # 2^15 exp(-12) < 0.5


def test_softmax_check_rejects_bad_table():
    from tinygen.ir.verify import verify

    a = softmax_params(0.1, 1.0, 1 / 256, -128)
    g = _graph((1, 3, 3), SoftmaxAttrs((32768, 40000), a.output_offset, a.multiplier, a.shift))
    with pytest.raises(ValueError, match="table"):
        verify(g)
