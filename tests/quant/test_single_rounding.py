"""torch mode rounds once, as PyTorch does: the lifted conv/linear bias and mul's shift-0 multiplier
(tinygen/quant/params.py), checked against the numpy reference's requantization itself."""

import numpy as np

from tinygen.ops.common import requantize_to_int8
from tinygen.quant.params import (conv_bias, conv_requant, lifted_conv_bias, mul_requant, quantize_multiplier,
                                  realized_bias)


def _round_half_up(v):
    return np.floor(v + 0.5)


def _layer(seed: int, cout: int = 24):
    rng = np.random.default_rng(seed)
    s_in, s_out = 0.02 + 0.01 * rng.random(), 0.05 + 0.05 * rng.random()
    s_w = 0.002 + 0.004 * rng.random(cout)
    bias = rng.normal(0.0, 0.3, cout)
    bound = rng.integers(2000, 60000, cout).astype(np.float64)  # largest |acc| of each channel
    acc = np.stack([rng.integers(-int(b), int(b) + 1, 4000) for b in bound], axis=1)  # [samples, cout]
    return s_in, s_w, s_out, bias, bound, acc


def test_lifted_bias_makes_the_reference_round_once():
    zp = 5
    for seed in range(3):
        s_in, s_w, s_out, bias, bound, acc = _layer(seed)
        mult, shift = conv_requant(s_in, s_w, s_out, mode="torch")
        b_acc = bias / (s_in * s_w)
        lifted = lifted_conv_bias(b_acc, mult, shift, bound, zp, 1 << 16)
        assert lifted.lift > 0 and np.all(lifted.bias >= bound)  # every operand non-negative
        got = requantize_to_int8(acc + lifted.bias, mult, shift, zp - lifted.lift, -128, 127).astype(np.int64)
        b_real = realized_bias(lifted.bias, mult, shift, lifted.lift, bound)
        assert np.abs(b_real - b_acc).max() <= 0.5  # within the integer bias's own rounding
        m_real = np.asarray(mult) * 2.0 ** (np.asarray(shift) - 31.0)
        want = np.clip(_round_half_up((acc + b_real) * m_real) + zp, -128, 127)
        np.testing.assert_array_equal(got, want)
        # the plain bias double-rounds: some outputs a step away from the same single rounding
        plain = conv_bias(bias, s_in, s_w)
        old = requantize_to_int8(acc + plain.astype(np.int64), mult, shift, zp, -128, 127).astype(np.int64)
        assert np.any(old != np.clip(_round_half_up((acc + plain) * m_real) + zp, -128, 127))


def test_lift_search_cancels_the_bias_residual_of_one_channel():
    # a bias-free one-channel layer (ECA's 1-D kernel): a lift with b' ~= b = 0 exists
    mult, shift = conv_requant(0.013, [0.0041], 0.07, mode="torch")
    lifted = lifted_conv_bias(np.zeros(1), mult, shift, np.array([3000.0]), 0, 1 << 16)
    assert abs(realized_bias(lifted.bias, mult, shift, lifted.lift, 3000.0)[0]) < 0.02


def test_no_lift_where_the_offset_would_leave_its_range():
    mult, shift = conv_requant(0.02, [0.004], 0.05, mode="torch")
    lifted = lifted_conv_bias(np.array([1.3]), mult, shift, np.array([50000.0]), 0, 10)
    assert lifted.lift == 0 and lifted.bias.tolist() == [1]
    assert realized_bias(lifted.bias, mult, shift, 0, 50000.0).tolist() == [1.0]  # the integer bias: no claim


def test_torch_mul_rounds_once_with_shift_zero():
    s1, s2, s_out = 0.031, 1.0 / 255, 0.017
    real = s1 * s2 / s_out
    m, shift = mul_requant(s1, s2, s_out, mode="torch")
    assert shift == 0 and m == round(real * 2**31)
    assert mul_requant(s1, s2, s_out, mode="tflm") == quantize_multiplier(real, saturate=True)
    p = np.arange(-128 * 255, 127 * 255 + 1, dtype=np.int64)
    exact = np.clip(_round_half_up(p * real), -128, 127)
    got = requantize_to_int8(p, m, shift, 0, -128, 127)
    assert (got != exact).mean() < 1e-4
    mt, st = mul_requant(s1, s2, s_out, mode="tflm")
    assert (requantize_to_int8(p, mt, st, 0, -128, 127) != exact).mean() > 1e-3  # double rounding
