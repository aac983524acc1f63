"""Requantization parameters of conv/linear, add, mul and mean, from the real scales.

`mode` is "torch" (tinygen's derivation for PyTorch fake-quant scales: exact real multipliers,
an error where one cannot be represented) or "tflm" (TFLM's Prepare-time arithmetic, which an
imported .tflite must match bit for bit: multipliers saturate as TFLM's QuantizeMultiplier does,
and MEAN divides the integer multiplier by the count). All products and quotients of scales are
taken in float64 from the scales as given (the float32 values of a .tflite file, TFLM's double
arithmetic).

    conv/linear  M[c] = s_in * s_w[c] / s_out                 bias_q[c] = round_half_away(bias / (s_in s_w[c]))
    add          both inputs onto 2 * max(s1, s2) with ADD_LEFT_SHIFT bits of headroom:
                 M1 = s1 / (2 max), M2 = s2 / (2 max), Mout = 2 max / (2^ADD_LEFT_SHIFT * s_out)
    mul          M = s1 * s2 / s_out
    mean         torch: M = s_in / (s_out * count)
                 tflm:  (m, e) = QuantizeMultiplier(s_in / s_out), then m * 2^k // count, e - k
                        with k = min(floor(log2 count), 32, 31 + e) bits of headroom
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tinygen.quant.multiplier import quantize_multiplier
from tinygen.quant.rounding import round_half_away

MODES = ("torch", "tflm")
ADD_LEFT_SHIFT = 20  # TFLM's int8 ADD


def _saturate(mode: str) -> bool:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode == "tflm"


def conv_requant(s_in: float, s_w, s_out: float, *, mode: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-output-channel (multipliers, shifts) of conv2d / fully_connected."""
    sat = _saturate(mode)
    ms = [quantize_multiplier(float(s_in) * float(sw) / float(s_out), saturate=sat) for sw in np.ravel(s_w)]
    return tuple(m for m, _ in ms), tuple(s for _, s in ms)


def conv_bias(bias, s_in: float, s_w) -> np.ndarray:
    """Real bias -> integer bias at scale s_in * s_w[c] (float64 array of integers; the caller
    checks it fits int32)."""
    return round_half_away(np.asarray(bias, np.float64) / (np.float64(s_in) * np.asarray(s_w, np.float64)))


class AddRequant(NamedTuple):
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int


def add_requant(s1: float, s2: float, s_out: float, *, mode: str) -> AddRequant:
    sat = _saturate(mode)
    twice_max = 2.0 * max(float(s1), float(s2))
    m1, sh1 = quantize_multiplier(float(s1) / twice_max, saturate=sat)
    m2, sh2 = quantize_multiplier(float(s2) / twice_max, saturate=sat)
    mo, sho = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * float(s_out)), saturate=sat)
    return AddRequant(ADD_LEFT_SHIFT, m1, sh1, m2, sh2, mo, sho)


def mul_requant(s1: float, s2: float, s_out: float, *, mode: str) -> tuple[int, int]:
    return quantize_multiplier(float(s1) * float(s2) / float(s_out), saturate=_saturate(mode))


def mean_requant(s_in: float, s_out: float, count: int, *, mode: str) -> tuple[int, int]:
    count = int(count)
    if not _saturate(mode):
        return quantize_multiplier(float(s_in) / (float(s_out) * count))
    m, shift = quantize_multiplier(float(s_in) / float(s_out), saturate=True)
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (m << k) // count, shift - k
