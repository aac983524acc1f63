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
    assert mean_requant(s_in, s_out, count, mode="torch") == quantize_multiplier(s_in / (s_out * count))
    m, e = quantize_multiplier(s_in / s_out)
    k = min(count.bit_length() - 1, 32, 31 + e)
    assert mean_requant(s_in, s_out, count, mode="tflm") == ((m << k) // count, e - k)
    assert mean_requant(s_in, s_out, count, mode="tflm") != mean_requant(s_in, s_out, count, mode="torch")
