"""tg_requant_smmulr.h's identity, checked on an exact integer transcription of tg_rq_apply against the
reference requantization (the kernel tests then run the C on every layer shape, host and QEMU):
every shift the contract allows, multipliers at their edges and random, and operands at and
around every rounding boundary up to the bound ops/requant_smmulr.py enforces."""

import numpy as np
import pytest

from tinygen.ops import requant_smmulr as rqf
from tinygen.reference import fixedpoint as fx


def _wrap32(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def rq_apply(x: int, m: int, shift: int) -> int:
    """tg_rq_apply(tg_rq_make(m, shift), x), instruction by instruction (SMMULR, biased shift)."""
    pre = max(shift, 0) + 1
    e = max(-shift, 0)
    r = (1 << (e - 1)) if e > 0 else 0
    neg = -1 if e > 0 else 0
    a = _wrap32(x << pre)
    y = (a * m + (1 << 31)) >> 32  # SMMULR
    return (y + r + ((y >> 31) & neg)) >> e


def _operands(bound: int, e: int, rng) -> list[int]:
    vals = {0, 1, -1, bound, -bound, bound - 1, -bound + 1}
    for k in range(0, 31):
        for d in (-1, 0, 1):
            v = (1 << k) + d
            if v <= bound:
                vals |= {v, -v}
    vals |= {int(v) for v in rng.integers(-bound, bound + 1, 200)}
    return sorted(vals)


@pytest.mark.parametrize("shift", range(-30, 13))
def test_fast_requant_equals_reference_within_bound(shift):
    rng = np.random.default_rng(shift + 100)
    bound = (rqf.LIMIT >> max(shift, 0)) - 1  # the largest operand fits() admits
    assert rqf.fits(bound, [shift]) and not rqf.fits(bound + 1, [shift])
    mults = [1 << 30, (1 << 31) - 1, (1 << 30) + 1, -(1 << 31), -(1 << 30), 1, 0] + \
        [int(v) for v in rng.integers(-(1 << 31), 1 << 31, 6)]
    xs = np.array(_operands(bound, max(-shift, 0), rng), np.int64)
    for m in mults:
        want = fx.requantize(xs, m, shift)
        got = np.array([rq_apply(int(x), m, shift) for x in xs])
        np.testing.assert_array_equal(got, want, err_msg=f"m={m} shift={shift}")


def test_fits_rejects_the_saturating_range():
    assert rqf.fits((1 << 30) - 1, [0]) and not rqf.fits(1 << 30, [0])  # 2 * 2^30 overflows SMMULR's operand
    assert not rqf.fits(1, [-31]) and rqf.fits(1, [-30])
    assert rqf.fits((1 << 20) - 1, [10]) and not rqf.fits(1 << 20, [10])
