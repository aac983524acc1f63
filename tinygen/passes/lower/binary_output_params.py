"""Parameters of the output stage of bconv2d / bfully_connected (tinygen/ops/bconv2d.py), folded
from the float model at lowering time:

* `bn_sign_thresholds`: sign(BN(alpha * dot)) -> one integer threshold and direction per channel,
  exact at every dot;
* `int8_output_params`: y = a * dot + b quantized to int8 rounding once, with a proven error bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinygen.ops.bconv2d import PRE_SHIFT_MAX
from tinygen.quant.multiplier import quantize_multiplier
from tinygen.quant.rounding import round_half_away
from tinygen.reference import fixedpoint as fx


def bn_sign_thresholds(alpha, gamma, beta, mean, var, eps: float,
                       k_max: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Fold `sign(BN(alpha * dot))` into (thresholds, flip) per output channel, exactly.

    The folded expression is the float64 evaluation of
        y(dot) = gamma * (alpha * dot - mean) / sqrt(var + eps) + beta,   y >= 0 -> +1 (bit 0)
    for every integer dot in [-k_max, k_max] (k_max = kh*kw*Cin). Each operation is a monotone
    rounding, so y is monotone in dot: non-decreasing when alpha*gamma > 0 (bit = dot < t),
    non-increasing when alpha*gamma < 0 (flip, bit = dot > t) and constant when it is 0. The
    threshold is found by evaluating y over the whole range, so it agrees with the float
    expression at every dot, ties included. Constant channels get t = +-(k_max + 1), with flip 0:
    dot < k_max + 1 is always true (-1), dot < -(k_max + 1) never (+1). Arguments broadcast to
    one value per output channel.
    """
    alpha, gamma, beta, mean, var = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, np.float64))
                                                          for v in (alpha, gamma, beta, mean, var)))
    k = int(k_max)
    dots = np.arange(-k, k + 1, dtype=np.float64)
    direction = np.sign(alpha) * np.sign(gamma)
    thresholds, flips = [], []
    for c in range(alpha.size):
        with np.errstate(invalid="raise", divide="raise"):
            y = gamma[c] * (alpha[c] * dots - mean[c]) / np.sqrt(var[c] + np.float64(eps)) + beta[c]
        col = y < 0  # bit 1 (-1)
        n = int(col.sum())
        if n == 0 or n == 2 * k + 1:
            thresholds.append(k + 1 if n else -(k + 1))
            flips.append(0)
            continue
        if direction[c] > 0:  # -1 for the n smallest dots: dot < -k + n
            t, f, expect = -k + n, 0, np.arange(2 * k + 1) < n
        elif direction[c] < 0:  # -1 for the n largest dots: dot > k - n
            t, f, expect = k - n, 1, np.arange(2 * k + 1) >= 2 * k + 1 - n
        else:
            raise AssertionError("a constant channel cannot change sign")
        if not np.array_equal(col, expect):
            raise ValueError(f"channel {c}: sign(BN) is not monotone in dot (NaN or inf parameters?)")
        thresholds.append(t)
        flips.append(f)
    return tuple(thresholds), tuple(flips)


@dataclass(frozen=True)
class Int8OutputStage:
    """The int8 output-stage fields made by `int8_output_params`, and how close they get.

    tolerance[c] bounds |Z - y/s_out| for channel c, Z being the value the output stage rounds
    last (0: the channel is exact); see `int8_output_params`."""

    multiplier: tuple[int, ...]
    shift: tuple[int, ...]
    bias: tuple[int, ...]
    pre_shift: int
    output_offset: int
    act_min: int
    act_max: int
    tolerance: tuple[float, ...]

    def fields(self) -> dict:
        """Keyword arguments for BConv2dAttrs / BFullyConnectedAttrs (output "int8")."""
        return {"output": "int8", "multiplier": self.multiplier, "shift": self.shift, "bias": self.bias,
                "pre_shift": self.pre_shift, "output_offset": self.output_offset,
                "act_min": self.act_min, "act_max": self.act_max}


def _round_half_away(x: float) -> int:
    return int(round_half_away(x))


def _fits(a: float, b: float, s_out: float, k_max: int, pre_shift: int) -> bool:
    """Can a channel with a != 0 use this pre_shift: int32 accumulator, multiplier not flushed to 0."""
    if abs(b / a) >= fx.INT32_MAX:  # also keeps ldexp finite
        return False
    if k_max * 2 ** pre_shift + abs(_round_half_away(math.ldexp(b / a, pre_shift))) > fx.INT32_MAX:
        return False
    return quantize_multiplier(math.ldexp(abs(a) / s_out, -pre_shift))[0] != 0


def int8_tolerance(shift: int) -> float:
    """tolerance of a channel computed through its multiplier (see `int8_output_params`)."""
    return (3.0 if shift <= 0 else 2.0) * math.ldexp(1.0 + 2.0 ** -20, shift - 1)


def int8_output_params(a, b, s_out: float, zp_out: int, k_max: int, act_min: int = -128,
                       act_max: int = 127) -> Int8OutputStage:
    """Int8 output stage for y = a[c]*dot + b[c] (|dot| <= k_max) quantized with scale s_out and
    zero point zp_out, rounding once. The target is, for every dot,
        clamp(round_half_away(y / s_out) + zp_out, act_min, act_max).

    Channels whose target changes over [-k_max, k_max] (y is monotone in dot, so: whose target
    differs at the two ends) go through the multiplier, with one pre_shift p for the layer:
        bias[c] = round_half_away(b[c] / a[c] * 2^p)            (a[c] < 0 included)
        acc     = dot * 2^p + bias[c] = 2^p * (dot + b[c]/a[c]) + d,        |d| <= 1/2
        M[c]    = a[c] / (s_out * 2^p) -> (multiplier, shift): negative for a[c] < 0
        acc * M[c] = y / s_out + d * M[c]
    p is the largest value <= PRE_SHIFT_MAX for which every such channel keeps
    k_max * 2^p + |bias[c]| inside int32 and |M[c]| >= 2^-32 (representable).

    Error bound. Let s = shift[c] and M' = multiplier * 2^(s-31) (|M' - M| <= 2^(s-32), |M| < 2^s).
    For s <= 0, requantize first rounds acc * M' to a multiple of 2^s steps (srdhm), then to an
    integer (divide by 2^-s, half away from zero); for s > 0 srdhm rounds acc * M' to an integer
    directly (or saturates, far beyond the clamp). The value Z rounded to an integer is within
        |d| * |M| + |acc| * |M' - M| + [s <= 0] * 2^(s-1)  <  (2 + [s <= 0]) * 2^(s-1)
    of y/s_out (|acc| < 2^31; `int8_tolerance` adds 2^-20 relative for the float64 evaluation of
    b/a and |a|/s_out). So the output equals the target wherever y/s_out is further than that from
    a half-integer, and is one step off at most elsewhere. As p is as large as possible, 2^s < 2M
    and M < (k_max + max|b/a|) * |a[c]| / s_out * 2^-30 (2^-29 if the saturating constants below
    cost a bit), so the tolerance is about 1e-6 to 1e-5 steps for layers whose outputs span a few
    hundred steps.

    Channels whose target is the same at both ends are exact (tolerance 0) with target value t:
    t == zp_out: multiplier 0; otherwise multiplier t - zp_out, shift 30, bias k_max * 2^p + 2,
    so acc >= 2, acc * 2^30 saturates to INT32_MAX and srdhm(INT32_MAX, t - zp_out) = t - zp_out.
    This needs 2 * k_max * 2^p + 2 inside int32, which can cost p one bit. (a[c] == 0 is such a
    channel: y = b[c].)

    A changing channel that no p >= 0 can hold (|b/a| near 2^31, or |a|/s_out < 2^-32) varies by
    less than k_max * |a| / s_out (negligible) over the whole range; it is made constant at its
    target for dot = 0, with that as its tolerance.
    """
    a, b = np.broadcast_arrays(np.atleast_1d(np.asarray(a, np.float64)), np.atleast_1d(np.asarray(b, np.float64)))
    s_out, k, zp = float(s_out), int(k_max), int(zp_out)
    if not (np.isfinite(a).all() and np.isfinite(b).all() and math.isfinite(s_out) and s_out > 0):
        raise ValueError("a, b and s_out must be finite, s_out > 0")
    if k < 1 or 2 * k + 2 > fx.INT32_MAX:
        raise ValueError(f"k_max {k} out of range")
    if not -128 <= act_min <= act_max <= 127 or abs(zp) > 1 << 24:
        raise ValueError(f"activation range [{act_min}, {act_max}] or zero point {zp} out of range")

    def target(dot: int) -> np.ndarray:
        q = round_half_away((a * np.float64(dot) + b) / s_out) + zp
        return np.clip(q, act_min, act_max).astype(np.int64)

    changing = target(-k) != target(k)
    constant = target(0)
    tolerance = np.zeros(a.size)
    p_max = {}  # changing channel -> largest pre_shift it allows
    for c in np.flatnonzero(changing):
        p = next((p for p in range(PRE_SHIFT_MAX, -1, -1) if _fits(a[c], b[c], s_out, k, p)), -1)
        if p >= 0:
            p_max[c] = p
        else:
            changing[c] = False
            tolerance[c] = k * abs(a[c]) / s_out * (1 + 2.0 ** -20)
    saturating = bool((constant[~changing] != zp).any())
    pre_shift = min([PRE_SHIFT_MAX, *p_max.values()])
    while pre_shift > 0 and (2 if saturating else 1) * k * 2 ** pre_shift + (2 if saturating else 0) > fx.INT32_MAX:
        pre_shift -= 1

    channels = []  # (multiplier, shift, bias)
    for c in range(a.size):
        if changing[c]:
            m, s = quantize_multiplier(math.ldexp(abs(a[c]) / s_out, -pre_shift))
            channels.append((-m if a[c] < 0 else m, s, _round_half_away(math.ldexp(b[c] / a[c], pre_shift))))
            tolerance[c] = int8_tolerance(s)
        elif constant[c] == zp:
            channels.append((0, 0, 0))
        else:  # saturating: see above
            channels.append((int(constant[c]) - zp, 30, k * 2 ** pre_shift + 2))
    mult, shift, bias = (tuple(v) for v in zip(*channels))
    return Int8OutputStage(mult, shift, bias, pre_shift, zp, int(act_min), int(act_max),
                           tuple(float(t) for t in tolerance))
