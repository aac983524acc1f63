"""Fused activations as bounds: in real numbers, on an int8 grid, and on an int32 dot product.

An activation is named "none", "relu", "relu_n1_to_1" or "relu6" (the float dialect's names;
TFLite's ActivationFunctionType codes map to them through TFLITE_FUSED). On an integer grid the
bound f becomes zero_point + round(f / scale), clamped to [qmin, qmax]; the rounding is where the
two frameworks differ, so `mode` chooses it:

* "torch": rint(float32(f) * (1 / float32(scale))) (PyTorch fake-quant: multiply by the float32
  reciprocal, round half to even), so a fused clamp equals the fake-quant it replaces;
* "tflm":  round_half_away(float32(f) / float32(scale)) (TFLM CalculateActivationRangeQuantized).
"""

from __future__ import annotations

import numpy as np

from tinygen.quant.rounding import round_half_away

INF = float("inf")
FLOAT_BOUNDS: dict[str, tuple[float, float]] = {
    "none": (-INF, INF), "relu": (0.0, INF), "relu_n1_to_1": (-1.0, 1.0), "relu6": (0.0, 6.0),
}
TFLITE_FUSED = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}  # TANH 4 and SIGN_BIT 5: not fusable
MODES = ("torch", "tflm")


def float_range(activation: str) -> tuple[float, float]:
    return FLOAT_BOUNDS[activation]


def quantized_range(activation: str, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127, *,
                    mode: str) -> tuple[int, int]:
    """Integer bounds of a fused activation on the grid (scale, zero_point) inside [qmin, qmax]."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lo_f, hi_f = FLOAT_BOUNDS[activation]
    s = np.float32(scale)

    def level(f: float) -> int:
        if mode == "torch":
            return int(zero_point) + int(np.rint(np.float32(f) * (np.float32(1.0) / s)))
        return int(zero_point) + int(round_half_away(np.float64(np.float32(f) / s)))

    lo = qmin if lo_f == -INF else max(qmin, level(lo_f))
    hi = qmax if hi_f == INF else min(qmax, level(hi_f))
    return lo, hi


def int32_range(activation: str) -> tuple[int, int]:
    """Bounds on an int32 value that is itself the real number (TFLM CalculateActivationRange<int32>,
    which LCE applies to the binary dot product)."""
    lo_f, hi_f = FLOAT_BOUNDS[activation]
    return (-(2**31) if lo_f == -INF else int(lo_f)), (2**31 - 1 if hi_f == INF else int(hi_f))
