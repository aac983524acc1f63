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
    mean         torch: M = s_in / (s_out * count), pre-scaled (below)
                 tflm:  (m, e) = QuantizeMultiplier(s_in / s_out), then m * 2^k // count, e - k
                        with k = min(floor(log2 count), 32, 31 + e) bits of headroom; no pre-scale
    concat       M = s_in / s_out per requantized input, pre-scaled
    avg_pool2d   M[c] = s_in / (s_out * c) per divisor count c, pre-scaled by one shift for all c

Pre-scaling (what TFLM's ADD does with its fixed left shift of 20): an integer operand |x| <= bound
is shifted left by L bits before the requantization by M / 2^L. The requantization rounds twice
(srdhm to an integer, then the rounding right shift, tinygen/reference/fixedpoint.py); on a small
operand (a sum of a few dozen int8 values, one int8 value) the first rounding lands on a tie of
the second often enough to put a few percent of outputs one step away from round(x * M), which
PyTorch computes. With L bits of headroom the first rounding is 2^-L finer than the last and the
result is round(x * M) except within about 2^-L of a tie. L is the largest value <= ADD_LEFT_SHIFT
with bound << L below 2^30 (the operand bound of tg_requant_smmulr.h's fast form, so the fast
kernels still apply) and M / 2^L still an int32 multiplier with a right shift of at most 30.
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


PRESCALE_LIMIT = 1 << 30  # |x << L| stays below this (tg_requant_smmulr.h's operand bound)


class Prescaled(NamedTuple):
    left_shift: int  # L: the operand is x << L
    multiplier: int  # M / 2^L as (multiplier, shift)
    shift: int


def prescaled_requant(real: float, bound: int, *, mode: str) -> Prescaled:
    """Requantization of an integer |x| <= bound by `real`, pre-scaled (see the module docstring)."""
    sat = _saturate(mode)
    bound = max(int(bound), 1)
    for left in range(ADD_LEFT_SHIFT, 0, -1):
        if bound << left >= PRESCALE_LIMIT:
            continue
        m, shift = quantize_multiplier(float(real) / (1 << left), saturate=sat)
        if (m > 0 or real == 0) and shift >= -30 and (bound << left) << max(shift, 0) < PRESCALE_LIMIT:
            return Prescaled(left, m, shift)
    return Prescaled(0, *quantize_multiplier(float(real), saturate=sat))


def mean_requant(s_in: float, s_out: float, count: int, bound: int, *, mode: str) -> Prescaled:
    """`bound`: the largest |sum of count values + offsets| (pre-scaling in mode "torch" only)."""
    count = int(count)
    if not _saturate(mode):
        return prescaled_requant(float(s_in) / (float(s_out) * count), bound, mode=mode)
    m, shift = quantize_multiplier(float(s_in) / float(s_out), saturate=True)
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return Prescaled(0, (m << k) // count, shift - k)


def avg_pool_requant(s_in: float, s_out: float, taps: int, bound: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """(left_shift, multipliers, shifts) of a requantizing average pool, indexed by divisor count
    1..taps (entry 0 unused); `bound`: the largest |window sum|. One pre-scale serves every count:
    the smallest any count allows."""
    reals = [float(s_in) / (float(s_out) * c) for c in range(1, int(taps) + 1)]
    left = min(prescaled_requant(r, bound, mode="torch").left_shift for r in reals)
    ms = [quantize_multiplier(r / (1 << left)) for r in reals]
    return left, (0,) + tuple(m for m, _ in ms), (0,) + tuple(s for _, s in ms)


def concat_requant(s_in: float, s_out: float, bound: int) -> Prescaled:
    """One requantized concat input, |x + offset| <= bound (a torch-only path: TFLM's CONCATENATION
    needs every input on the output's grid)."""
    return prescaled_requant(float(s_in) / float(s_out), bound, mode="torch")
