"""Real multiplier -> (m, shift) with real ~= m * 2^(shift - 31), 2^30 <= m < 2^31.

This is TFLM's QuantizeMultiplier: frexp, m = round_half_away(frac * 2^31) (exact: frac * 2^31
is below 2^31, so adding 0.5 loses nothing in float64), renormalised when m rounds up to 2^31;
multipliers below 2^-32 (shift < -31) flush to (0, 0). The one choice is what happens above
2^30 (shift > 30), which no int32 multiplier/shift pair represents:

* saturate=False (the default): raise ValueError. A PyTorch model whose scales ask for such a
  multiplier is wrong, and the user should hear it.
* saturate=True: return (INT32_MAX, 30) like TFLM, which an imported .tflite must reproduce.
"""

from __future__ import annotations

import math

INT32_MAX = 2**31 - 1


def quantize_multiplier(real: float, saturate: bool = False) -> tuple[int, int]:
    """(m, shift) of a finite real >= 0; see the module docstring for shift > 30."""
    real = float(real)
    if real < 0 or not math.isfinite(real):
        raise ValueError(f"multiplier must be finite and non-negative, got {real}")
    if real == 0.0:
        return 0, 0
    frac, shift = math.frexp(real)  # real = frac * 2^shift, 0.5 <= frac < 1
    m = math.floor(frac * (1 << 31) + 0.5)  # round half away from zero (frac > 0)
    if m == 1 << 31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        if saturate:
            return INT32_MAX, 30
        raise ValueError(f"multiplier {real} is too large to represent")
    return int(m), int(shift)
