"""Requantization parameters of conv/linear, add, mul and mean, from the real scales.

`mode` is "torch" (tinygen's derivation for PyTorch fake-quant scales: exact real multipliers,
an error where one cannot be represented) or "tflm" (TFLM's Prepare-time arithmetic, which an
imported .tflite must match bit for bit: multipliers saturate as TFLM's QuantizeMultiplier does,
and MEAN divides the integer multiplier by the count). All products and quotients of scales are
taken in float64 from the scales as given (the float32 values of a .tflite file, TFLM's double
arithmetic).

    conv/linear  M[c] = s_in * s_w[c] / s_out                 tflm:  bias_q[c] = round_half_away(bias / (s_in s_w[c]))
                 torch: bias_q lifted by J output steps so that the requantization rounds once
                 (lifted_conv_bias)
    add          both inputs onto 2 * max(s1, s2) with ADD_LEFT_SHIFT bits of headroom:
                 M1 = s1 / (2 max), M2 = s2 / (2 max), Mout = 2 max / (2^ADD_LEFT_SHIFT * s_out)
    mul          M = s1 * s2 / s_out (torch: unnormalized with shift 0 where that rounds once; mul_requant)
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


LIFT_SEARCH = 256  # lifts tried above the smallest one (the bias residual is minimised over them)
LIFT_ACC_LIMIT = 1 << 30  # |bias| + 2 * acc_bound below this: the fast kernels' operand bound


class LiftedBias(NamedTuple):
    bias: np.ndarray  # int32 values (as int64) at scale s_in * s_w[c]
    lift: int  # J: output steps added by the bias and taken back by the output offset (zp - J)


def acc_bound(weights, input_offset: int) -> np.ndarray:
    """Per output channel (axis 0 of the integer weights), the largest |sum of w * (x + input_offset)|
    over int8 x: the operand bound lifted_conv_bias lifts past."""
    w = np.asarray(weights, np.int64).reshape(len(weights), -1)
    x_max = max(abs(-128 + int(input_offset)), abs(127 + int(input_offset)))
    return (np.abs(w).sum(axis=1) * x_max).astype(np.float64)


def _nudge(mult, shift) -> np.ndarray:
    """In accumulator units, how far the first rounding of tg_requantize moves a non-negative
    operand up before the last one (2^30 / m for a right shift, 0 when it rounds once)."""
    m = np.asarray(mult, np.float64)
    return np.where(np.asarray(shift) < 0, 2.0**30 / np.where(m > 0, m, 1.0), 0.0)


def _real_multiplier(mult, shift) -> np.ndarray:
    return np.asarray(mult, np.float64) * 2.0 ** (np.asarray(shift, np.float64) - 31)


def lifted_conv_bias(bias_acc, mult, shift, acc_bound, output_zero_point: int, offset_limit: int) -> LiftedBias:
    """torch mode: the integer bias of conv/linear that makes TFLM's double rounding round once.

    `bias_acc`: the real bias in accumulator units (bias / (s_in s_w[c])); `acc_bound`: acc_bound(). tg_requantize rounds x * M twice: srdhm
    rounds to 2^-e of an output step (e = -shift), which moves the value 2^-(e+1) of a step away
    from zero before the last rounding (exactly: by 2^30 / m accumulator units up for a
    non-negative srdhm result, down for a negative one), so about 2^-(e+1) of all outputs (0.1 %
    at e = 8) land one step from PyTorch's single round(x * M). Lifting every accumulator to
    non-negative values by J output steps (bias B[c] = round(b[c] + J / M[c] - 2^30 / m[c]),
    output offset zp - J) makes that move one known constant per channel, which B absorbs:

        out = round_half_up((acc + b'[c]) * M[c]) + zp,  b'[c] = B[c] - J / M[c] + 2^30 / m[c]

    exactly (M[c] = m[c] 2^(shift[c] - 31)), with b' within half a unit of b (the rounding of any
    integer bias). J is the lift in [J_min, J_min + LIFT_SEARCH) with the smallest sum |b' - b|
    (a bias-free one-channel layer, e.g. ECA's kernel, gets b' ~= b), where J_min is the first with
    B[c] >= acc_bound[c] in every channel. When no lift fits (a zero multiplier, |zp - J| above
    offset_limit, |B| + 2 * acc_bound reaching LIFT_ACC_LIMIT, a left shift, which rounds once
    already but could saturate the larger operand), the bias is round(b) with no lift: the double
    rounding then stays. `realized_bias` gives b' (tinygen.nn.deploy writes it back
    into the PyTorch model, which then computes what the MCU computes)."""
    b = np.asarray(bias_acc, np.float64)
    a = np.asarray(acc_bound, np.float64)
    M = _real_multiplier(mult, shift)
    plain = LiftedBias(round_half_away(b).astype(np.int64), 0)
    if b.size == 0 or np.any(M <= 0) or np.any(np.asarray(shift) > 0):
        return plain
    nudge = _nudge(mult, shift)
    j_min = max(0, int(np.ceil(np.max((a - b + 2.0) * M))))
    best = None
    # from two below J_min (the loop checks every candidate): a bias moved by half a unit, as
    # realized_bias moves it, then finds the same lift again
    for j in range(max(0, j_min - 2), j_min + LIFT_SEARCH):
        if abs(int(output_zero_point) - j) > offset_limit:
            break
        exact = b + j / M - nudge
        q = round_half_away(exact)
        if np.any(q < a) or np.any(np.abs(q) + 2 * a >= LIFT_ACC_LIMIT):
            continue
        cost = float(np.abs(q - exact).sum())
        if best is None or cost < best[0] - 1e-9:
            best = (cost, q, j)
    if best is None:
        return plain
    return LiftedBias(best[1].astype(np.int64), best[2])


def realized_bias(bias_q, mult, shift, lift: int, acc_bound) -> np.ndarray:
    """b'[c] of lifted_conv_bias, in accumulator units: the real bias with which a lowered
    conv/linear (integer bias, multipliers, output offset zp - lift) rounds once, when every
    operand is non-negative (bias_q >= acc_bound, shifts <= 0); otherwise the integer bias itself
    (the double rounding is then no bias)."""
    q = np.asarray(bias_q, np.float64)
    if not (np.all(np.asarray(mult) > 0) and np.all(np.asarray(shift) <= 0) and np.all(q >= acc_bound)):
        return q
    return q - lift / _real_multiplier(mult, shift) + _nudge(mult, shift)


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


MUL_OUTPUT_STEPS = 1 << 8  # |(x1 + o1) * (x2 + o2) * M| that matters: the int8 range, clamped beyond


def mul_requant(s1: float, s2: float, s_out: float, *, mode: str) -> tuple[int, int]:
    """(m, shift) of mul. torch: when the right shift e is small enough, the multiplier is taken
    unnormalized with shift 0 instead (m = round(M 2^31)), so that tg_requantize rounds once, as
    PyTorch does: its first rounding (srdhm) is then the only one. Normalized, the first rounding
    would move the product 2^-(e+1) of an output step before the last (0.2-0.4 % of ECA's outputs
    one step off at e = 7-8); unnormalized, the multiplier's own error moves an output of at most
    MUL_OUTPUT_STEPS steps by MUL_OUTPUT_STEPS / (2 m), the smaller of the two below e ~ 11."""
    real = float(s1) * float(s2) / float(s_out)
    m, shift = quantize_multiplier(real, saturate=_saturate(mode))
    if mode == "torch" and shift < 0:
        single = int(round_half_away(real * 2.0**31))
        if single > 0 and MUL_OUTPUT_STEPS / (2.0 * single) < 2.0 ** (shift - 1):
            return single, 0
    return m, shift


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
