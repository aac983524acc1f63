"""Helpers shared by the float32 ops (LCE models): bit-pattern constants and float activation bounds.

Float parameters reach the C code as their IEEE-754 bit patterns in `uint32_t` arrays (read back
with tg_f32() in runtime_c/include/tg_float.h), so every value is exact and no decimal literal is
ever rounded. Float kernels and their numpy references evaluate every product and sum as a separate
float32 operation, in the order the op's docstring states; the generated code is compiled in ISO C
mode, where GCC does not fuse a*b+c into an FMA, so the C output equals the reference bit for bit.
"""

from __future__ import annotations

import numpy as np

from tinygen.ops.base import CArray

F32 = np.float32
NO_ACTIVATION = (float("-inf"), float("inf"))


def f32_bits(values, comment: str = "") -> CArray:
    """float32 values -> a uint32_t CArray of their bit patterns."""
    v = np.ascontiguousarray(np.asarray(values, np.float32)).reshape(-1)
    return CArray("uint32_t", v.view(np.uint32), (comment + " " if comment else "") + "(float32 bit patterns)")


def bits(x: float) -> int:
    """The IEEE-754 bit pattern of float32(x), as an int (for uint32_t params fields)."""
    return int(np.asarray([x], np.float32).view(np.uint32)[0])


def clamp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Float activation clamp as the C kernels do it: x < lo ? lo : (x > hi ? hi : x)."""
    return np.where(x < F32(lo), F32(lo), np.where(x > F32(hi), F32(hi), x)).astype(np.float32)
