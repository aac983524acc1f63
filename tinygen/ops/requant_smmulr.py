"""When a kernel may use tg_requant_smmulr.h instead of tg_requantize: the operand bound it needs,
checked per layer at generation time (the C header states the identity and why it holds)."""

from __future__ import annotations

from typing import Iterable

LIMIT = 1 << 30


def fits(bound: int, shifts: Iterable[int]) -> bool:
    """True when every |x| <= bound (so |x| * 2^max(shift, 0) < 2^30) requantized with each of `shifts` is exact in the fast form."""
    return all(bound * (1 << max(s, 0)) < LIMIT and -s <= 30 for s in shifts)


def srdhm_bound(a: int, multiplier: int) -> int:
    """An upper bound of |srdhm(x, multiplier)| for |x| <= a."""
    return (a * abs(multiplier) >> 31) + 1


def requant_bound(a: int, multiplier: int, shift: int) -> int:
    """An upper bound of |requantize(x, multiplier, shift)| for |x| <= a (no saturation)."""
    v = srdhm_bound(a << max(shift, 0), multiplier)
    return (v >> max(-shift, 0)) + 1


def offset_bound(offset: int) -> int:
    """max |x + offset| over int8 x."""
    return max(abs(-128 + offset), abs(127 + offset))
