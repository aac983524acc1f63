/* tg_requantize_fast: tg_requantize (tg_fixedpoint.h) as one 64-bit multiply-add (SMLAL) and a
 * branch-free rounding shift in 32 bits, equal to it for every int32 x and shift in [-31, 30] and every multiplier m != INT32_MIN
 * (tests/kernels/test_requant_fast.py checks this on the boundaries of every rounding step).
 *
 * Why it is equal. Write a = sat32(x * 2^max(shift,0)) and e = max(-shift, 0); the slow path is
 * rdbpot(srdhm(a, m), e).
 * 1. srdhm(a, m) = floor((a*m + 2^30) / 2^31) whenever (a, m) != (INT32_MIN, INT32_MIN).
 *    For p = a*m >= 0 srdhm is trunc((p + 2^30) / 2^31) = floor(...). For p < 0 it is
 *    trunc(t / 2^31) with t = p + 1 - 2^30 < 0, and trunc of a negative quotient is the ceiling:
 *    ceil(t / 2^31) = floor((t + 2^31 - 1) / 2^31) = floor((p + 2^30) / 2^31).
 * 2. rdbpot(s, e) for e >= 1 = (s >> e) + ((s mod 2^e + 2^(e-1) - [s < 0]) >> e): its test
 *    "s mod 2^e > 2^(e-1) - 1 + [s < 0]" holds exactly when that sum reaches 2^e, and the sum
 *    stays in [1, 1.5 * 2^31), so it is computed in uint32 without wrapping; [s < 0] is taken as
 *    s >> 31 (0 or -1) added modulo 2^32.
 * 3. s itself fits int32 (|a*m| < 2^62 because m != INT32_MIN), so z = a*m + 2^30 is one
 *    SMLAL into a 64-bit accumulator and s = z >> 31 two instructions on its halves.
 * For e = 0 the result is s. */
#ifndef TG_REQUANT_FAST_H
#define TG_REQUANT_FAST_H

#include <stdint.h>

static inline int32_t tg_requantize_fast(int32_t x, int32_t m, int32_t shift)
{
    int64_t z;
    if (shift >= 0) {
        int64_t a = (int64_t)x * ((int64_t)1 << shift);
        if (a > INT32_MAX) a = INT32_MAX;
        if (a < INT32_MIN) a = INT32_MIN;
        z = a * m + (1LL << 30);
        return (int32_t)(z >> 31);
    }
    const int e = -shift;
    z = (int64_t)x * m + (1LL << 30);
    const int32_t s = (int32_t)(z >> 31);
    const uint32_t half = (uint32_t)1 << (e - 1), mask = 2 * half - 1;
    return (s >> e) + (int32_t)((((uint32_t)s & mask) + half + (uint32_t)(s >> 31)) >> e);
}

/* The output stage with the fast requantization: clamp(r + offset, lo, hi) compared before the
 * addition, exactly as tg_requantize_clamp (tg_fixedpoint.h), so a saturated r cannot overflow. */
static inline int32_t tg_requantize_fast_clamp(int32_t acc, int32_t m, int32_t shift, int32_t offset, int32_t lo,
                                               int32_t hi)
{
    const int32_t r = tg_requantize_fast(acc, m, shift);
    if (r > hi - offset) return hi;
    if (r < lo - offset) return lo;
    return r + offset;
}

#endif /* TG_REQUANT_FAST_H */
