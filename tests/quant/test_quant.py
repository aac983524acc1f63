"""tinygen.quant: the one QuantizeMultiplier (and its explicit overflow choice), rounding, ranges."""

import math

import numpy as np
import pytest

from tinygen.quant.activation_range import float_range, int32_range, quantized_range
from tinygen.quant.multiplier import quantize_multiplier
from tinygen.quant.params import mean_requant
from tinygen.quant.rounding import round_half_away


def test_quantize_multiplier_values():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(math.ldexp(1.0, -33)) == (0, 0)  # below 2^-32: flushed
    assert quantize_multiplier(math.nextafter(1.0, 0.0)) == (1 << 30, 1)  # m rounds up to 2^31: renormalised


def test_quantize_multiplier_above_2_30_raises_unless_saturating():
    assert quantize_multiplier(math.ldexp(0.75, 30)) == (3 << 29, 30)
    for real in (2.0**30, 2.0**31, 1e12):
        with pytest.raises(ValueError, match="too large"):
            quantize_multiplier(real)
        assert quantize_multiplier(real, saturate=True) == (2**31 - 1, 30)
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            quantize_multiplier(bad, saturate=True)


def test_round_half_away():
    assert round_half_away([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999999]).tolist() == [-3, -2, -1, 1, 2, 3, 2]


def test_activation_ranges():
    assert float_range("relu6") == (0.0, 6.0) and int32_range("none") == (-(2**31), 2**31 - 1)
    assert quantized_range("relu6", 0.05, -10, mode="torch") == quantized_range("relu6", 0.05, -10, mode="tflm") == (-10, 110)
    assert quantized_range("relu_n1_to_1", 0.5, 3, mode="tflm") == (1, 5)
    assert quantized_range("none", 0.1, 0, -127, 127, mode="torch") == (-127, 127)
    with pytest.raises(ValueError):
        quantized_range("relu", 0.1, 0, mode="numpy")


def test_mean_modes_differ_as_documented():
    s_in, s_out, count = 0.05, 0.04, 49
    bound = count * 255
    # torch: the real multiplier, pre-scaled by the most bits that keep bound << L below 2^30
    assert mean_requant(s_in, s_out, count, bound, mode="torch") == \
        (16, *quantize_multiplier(s_in / (s_out * count) / 2**16))
    assert bound << 16 < 2**30 <= bound << 17
    m, e = quantize_multiplier(s_in / s_out)
    k = min(count.bit_length() - 1, 32, 31 + e)
    assert mean_requant(s_in, s_out, count, bound, mode="tflm") == (0, (m << k) // count, e - k)
    assert mean_requant(s_in, s_out, count, bound, mode="tflm") != mean_requant(s_in, s_out, count, bound, mode="torch")


def _requantized(x, r):
    from tinygen.reference.fixedpoint import requantize

    return requantize(np.asarray(x, np.int64) << r.left_shift, r.multiplier, r.shift)


@pytest.mark.parametrize("seed", range(6))
def test_prescaled_requant_rounds_once(seed):
    """Every operand |x| <= bound comes out as round_half_away(x * real) (one rounding, as PyTorch's
    float arithmetic), where the plain requantization rounds twice and misses on a few percent."""
    from tinygen.quant.params import Prescaled, prescaled_requant

    rng = np.random.default_rng(seed)
    count = int(rng.choice([4, 16, 49, 196]))
    real = float(rng.uniform(0.3, 1.5)) / count  # a mean's multiplier
    bound = count * 255
    x = np.arange(-bound, bound + 1)
    want = round_half_away(x * real)
    exact = np.abs(np.abs(x * real) % 1 - 0.5) > 1e-5  # away from the ties float64 cannot settle
    r = prescaled_requant(real, bound, mode="torch")
    assert r.left_shift > 0 and (bound << r.left_shift) < 2**30 and r.shift >= -30
    np.testing.assert_array_equal(_requantized(x, r)[exact], want[exact])
    plain = Prescaled(0, *quantize_multiplier(real))
    assert (_requantized(x, plain)[exact] != want[exact]).mean() > 0.001  # the double rounding fixed here


def test_prescaled_requant_limits():
    from tinygen.quant.params import ADD_LEFT_SHIFT, prescaled_requant

    assert prescaled_requant(0.4, 255, mode="torch").left_shift == ADD_LEFT_SHIFT  # at most add's 20 bits
    assert prescaled_requant(0.01, 2**29, mode="torch").left_shift == 0  # no headroom: plain
    r = prescaled_requant(2.0**-25, 255, mode="torch")  # a tiny multiplier keeps its right shift <= 30
    assert r.shift >= -30 and r.multiplier * 2.0 ** (r.shift - 31 + r.left_shift) == 2.0**-25


def test_avg_pool_requant_rounds_once_for_every_count():
    """One pre-scale for all divisor counts; each count's result is the window sum times its real
    multiplier rounded once (FX QAT pools on the input's grid: a mean of 4 rounded twice was off
    on 40% of outputs)."""
    from tinygen.quant.params import avg_pool_requant

    s_in, s_out, taps = 0.053, 0.053, 9
    bound = taps * 255
    left, ms, shifts = avg_pool_requant(s_in, s_out, taps, bound)
    assert left > 0 and bound << left < 2**30 and len(ms) == len(shifts) == taps + 1
    x = np.arange(-bound, bound + 1)
    for c in range(1, taps + 1):
        real = s_in / (s_out * c)
        want = round_half_away(x * real)
        exact = np.abs(np.abs(x * real) % 1 - 0.5) > 1e-6
        got = _requantized(x, type("R", (), {"left_shift": left, "multiplier": ms[c], "shift": shifts[c]}))
        np.testing.assert_array_equal(got[exact], want[exact])
