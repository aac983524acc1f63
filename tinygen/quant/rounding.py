"""Rounding of real values to integers at parameter-derivation time."""

from __future__ import annotations

import numpy as np


def round_half_away(x) -> np.ndarray:
    """Round to nearest, ties away from zero (C's round(), TFLite's TfLiteRound), in float64.

    Exact for every float64 input: floor(|x| + 0.5) only rounds where |x| >= 2^52, where x is
    already an integer."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)
