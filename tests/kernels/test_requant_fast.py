"""tg_requantize_fast (runtime_c/include/tg_requant_fast.h) equals tg_requantize for every shift
the contract allows and multipliers of both signs, on accumulators placed on and beside every
rounding boundary of both rounding steps (where a wrong formula would show), plus the int32
extremes and seeded random ones. The header comment gives the argument; this is its check."""

import subprocess

import pytest

from tinygen.compile.host import find_cc
from tinygen.paths import RUNTIME_INCLUDE

PROGRAM = r"""
#include <stdio.h>
#include <stdint.h>
#include "tg_fixedpoint.h"
#include "tg_requant_fast.h"

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) { state = state * 6364136223846793005ull + 1442695040888963407ull; return (uint32_t)(state >> 32); }

/* Single rounding of x*m*2^shift: a plausible but wrong shortcut, which the cases must catch. */
static int32_t single_rounding(int32_t x, int32_t m, int32_t shift)
{
    int64_t p = (int64_t)x * m;
    int s = 31 - shift;
    return (int32_t)((p + ((int64_t)1 << (s - 1))) >> s);
}

static long checked, bad, wrong_caught;

static void check(int64_t x64, int32_t m, int32_t shift)
{
    if (x64 > INT32_MAX || x64 < INT32_MIN) return;
    int32_t x = (int32_t)x64;
    int32_t want = tg_requantize(x, m, shift), got = tg_requantize_fast(x, m, shift);
    ++checked;
    if (want != got) {
        if (bad < 5) printf("MISMATCH x=%d m=%d shift=%d slow=%d fast=%d\n", x, m, shift, want, got);
        ++bad;
    }
    if (shift <= 0 && single_rounding(x, m, shift) != want) ++wrong_caught;
}

int main(void)
{
    int32_t mults[64 + 12] = {1, 2, 3, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 1518500250,
                              -1, -(1 << 30), -INT32_MAX, 0};
    int nm = 12;
    for (; nm < 64 + 12; ++nm) mults[nm] = (int32_t)((1u << 30) | (rnd() >> 2)) * (nm % 5 == 0 ? -1 : 1);
    const int32_t edges[] = {INT32_MIN, INT32_MIN + 1, -65536, -2, -1, 0, 1, 2, 65535, INT32_MAX - 1, INT32_MAX};
    for (int shift = -31; shift <= 30; ++shift) {
        for (int i = 0; i < nm; ++i) {
            const int32_t m = mults[i];
            const int e = shift < 0 ? -shift : 0;
            for (unsigned j = 0; j < sizeof edges / sizeof edges[0]; ++j) check(edges[j], m, shift);
            for (int r = 0; r < 200; ++r) check((int32_t)rnd(), m, shift);
            for (int r = 0; r < 200; ++r) check((int32_t)rnd() >> (rnd() % 31), m, shift);
            if (m == 0) continue;
            /* Accumulators whose products sit on the half-way points of the first rounding
             * (a*m = k*2^31 + 2^30) and of the second (srdhm result = k*2^e + 2^(e-1)). */
            for (int r = 0; r < 60; ++r) {
                int64_t k = (int64_t)(int32_t)rnd() >> (rnd() % 32);
                int64_t target = e ? k * ((int64_t)1 << e) + ((int64_t)1 << (e - 1)) : k;   /* srdhm value */
                double lhs = ((double)target * 2147483648.0 + 1073741824.0) / (double)m;
                if (shift > 0) lhs /= (double)((int64_t)1 << shift);
                if (lhs > 4e9 || lhs < -4e9) continue;
                int64_t x0 = (int64_t)lhs;
                for (int64_t d = -3; d <= 3; ++d) check(x0 + d, m, shift);
            }
        }
    }
    printf("checked %ld mismatches %ld single_rounding_differs %ld\n", checked, bad, wrong_caught);
    return bad != 0;
}
"""


@pytest.mark.host
def test_fast_requantization_equals_double_rounding(tmp_path):
    src = tmp_path / "requant_check.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "requant_check"
    subprocess.run([find_cc(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME_INCLUDE}",
                    "-o", str(exe), str(src)], check=True, capture_output=True, text=True)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout
    _, checked, _, bad, _, caught = last.split()
    assert int(bad) == 0
    assert int(checked) > 1_500_000
    # the boundary cases are sharp: single rounding (a wrong shortcut) differs on many of them
    assert int(caught) > 10_000
