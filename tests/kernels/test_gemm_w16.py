"""The output stage of the widened GEMM (runtime_c/include/tg_gemm_w16.h) equals TFLM's double
rounding: its formula, evaluated on the records tinygen/ops/conv_gemm.w16_records writes, against
the reference requantization, on every shift it accepts and on the accumulators where a rounding
step changes (the C kernels are then compared with the reference on whole layers by
test_conv2d.py, on the host and under QEMU)."""

import numpy as np
import pytest

from tinygen.ops.conv_gemm import w16_records, w16_stage_ok
from tinygen.reference.fixedpoint import requantize

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
MULTIPLIERS = [0, 1 << 30, (1 << 30) + 1, 1518500250, I32_MAX]


def stage(acc: np.ndarray, rec: np.ndarray) -> np.ndarray:
    """tg_w16_scale before its SSAT, word for word: (acc*m + K - [acc<0]*2^31) >> 32 >> sh."""
    _, m, lo, hi, sh = (int(v) for v in rec)
    k = (hi << 32) | (lo & 0xFFFFFFFF)
    z = acc * np.int64(m) + np.int64(k) - (acc < 0).astype(np.int64) * np.int64(1 << 31)
    return (z >> 32) >> sh


def boundary_accs(m: int, e: int, rng) -> np.ndarray:
    """Accumulators next to every kind of rounding edge: srdhm's half (acc*m + 2^30 at a multiple
    of 2^31) and rdbpot's half (s at j*2^e +- 2^(e-1)), both signs, plus the int32 ends."""
    vals = [I32_MIN, I32_MIN + 1, I32_MAX, I32_MAX - 1, -1, 0, 1, -2, 2]
    vals += rng.integers(I32_MIN, I32_MAX, 400, endpoint=True).tolist()
    if m:
        for j in list(range(-6, 7)) + rng.integers(-(2**20), 2**20, 12).tolist():
            for s in (j << e, (j << e) + (1 << (e - 1)), (j << e) - (1 << (e - 1))):
                a = ((s << 31) - (1 << 30)) // m
                vals += [a - 2, a - 1, a, a + 1, a + 2]
    v = np.array(vals, np.int64)
    return v[(v >= I32_MIN) & (v <= I32_MAX)]


@pytest.mark.parametrize("offset", [-128, 0, 127])
def test_record_stage_equals_double_rounding(offset):
    rng = np.random.default_rng(offset + 500)
    for m in MULTIPLIERS + rng.integers(1 << 30, I32_MAX, 3, endpoint=True).tolist():
        for shift in range(-23, 0):
            assert w16_stage_ok([m], [shift])
            (rec,) = w16_records(np.zeros(1, np.int32), [m], [shift], offset).reshape(1, -1)
            acc = boundary_accs(m, -shift, rng)
            want = requantize(acc, m, shift) + offset
            np.testing.assert_array_equal(stage(acc, rec), want, err_msg=f"m={m} shift={shift}")


def test_stage_contract():
    assert not w16_stage_ok([(1 << 30) - 1], [-3])  # an unnormalized multiplier: [acc<0] != [s<0]
    assert not w16_stage_ok([1 << 30], [0])  # no right shift: e - 1 would be negative
    assert not w16_stage_ok([1 << 30], [-24])  # K could leave int64
    assert w16_stage_ok([0, 1 << 30, I32_MAX], [-1, -23, -7])
