/* tg_requantize_fast: tg_requantize (tg_fixedpoint.h) with one 64-bit multiply-add and one shift,
 * equal to it for every int32 x and shift in [-31, 30] and every multiplier m != INT32_MIN
 * (tests/kernels/test_requant_fast.py checks this on the boundaries of every rounding step).
 *
 * Why it is equal. Write a = sat32(x * 2^max(shift,0)) and e = max(-shift, 0); the slow path is
 * rdbpot(srdhm(a, m), e).
 * 1. srdhm(a, m) = floor((a*m + 2^30) / 2^31) whenever (a, m) != (INT32_MIN, INT32_MIN).
 *    For p = a*m >= 0 srdhm is trunc((p + 2^30) / 2^31) = floor(...). For p < 0 it is
 *    trunc(t / 2^31) with t = p + 1 - 2^30 < 0, and trunc of a negative quotient is the ceiling:
 *    ceil(t / 2^31) = floor((t + 2^31 - 1) / 2^31) = floor((p + 2^30) / 2^31).
 * 2. rdbpot(s, e) for e >= 1 = floor((s + 2^(e-1) - [s < 0]) / 2^e): the remainder test
 *    "s mod 2^e > 2^(e-1) - 1 + [s < 0]" is exactly when adding that constant carries into s >> e.
 * 3. With s = floor(z / 2^31), z = p + 2^30, the integer constant moves inside the floor,
 *    s + c = floor((z + c * 2^31) / 2^31), and nested floors of divisions by powers of two
 *    compose: floor(floor(y / 2^31) / 2^e) = floor(y / 2^(31+e)). So
 *       result = floor((p + 2^30 + 2^(30+e) - [z < 0] * 2^31) / 2^(32 + (e-1)))
 *    = the high word of that int64 sum, arithmetically shifted right by e - 1. [s < 0] is
 *    [z < 0] since s = floor(z / 2^31), i.e. the sign of z's high word.
 *    No int64 overflow: |p| <= 2^62 and the constants total below 2^62 (e <= 31).
 * For e = 0 the result is s itself, z >> 31. */
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
    const int32_t neg = (int32_t)(z >> 32) >> 31; /* 0 or -1: [z < 0] */
    z += ((int64_t)1 << (30 + e)) + (int64_t)neg * ((int64_t)1 << 31);
    return (int32_t)(z >> 32) >> (e - 1);
}

#endif /* TG_REQUANT_FAST_H */
