"""Run-time fixed-point arithmetic shared by every int8 op. Mirrors runtime_c/include/tg_fixedpoint.h.

Convention (TFLite Micro's default, i.e. gemmlowp "double rounding"):

    real multiplier M > 0 is stored as (m, shift) with M ~= m * 2^(shift - 31), 2^30 <= m < 2^31
    requantize(x, m, shift) = rounding_divide_by_pot(srdhm(sat32(x * 2^max(shift, 0)), m),
                                                     max(-shift, 0))
    srdhm(a, b)  = saturating rounding doubling high multiply: round-half-away-from-zero of
                   a*b / 2^31, saturating the single overflow case a == b == INT32_MIN
    rounding_divide_by_pot(x, e) = x / 2^e rounded half away from zero

Unlike TFLM we saturate the left-shifted operand to int32 instead of relying on it not to
overflow; the two agree wherever TFLM's behaviour is defined. All functions take and return
numpy int64 arrays (values stay inside int32 range) so they vectorise over whole tensors.
The (m, shift) pairs come from tinygen/quant/multiplier.py (compile time).
"""

from __future__ import annotations

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def _trunc_div_pow2_31(x: np.ndarray) -> np.ndarray:
    # C integer division truncates toward zero.
    return np.where(x >= 0, x >> 31, -((-x) >> 31))


def srdhm(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    res = _trunc_div_pow2_31(ab + nudge)
    return np.where(overflow, INT32_MAX, res).astype(np.int64)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def sat32(x: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x, dtype=np.int64), INT32_MIN, INT32_MAX)


def requantize(x: np.ndarray, m: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """x * M for an int32 accumulator x, with the rounding rule stated in the module docstring."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(srdhm(sat32(x << left), m), right)
