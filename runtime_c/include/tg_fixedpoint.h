/* Fixed-point arithmetic shared by every int8 kernel. Mirrors tinygen/reference/fixedpoint.py.
 *
 * A real multiplier M > 0 is stored as (m, shift): M ~= m * 2^(shift - 31), 2^30 <= m < 2^31.
 *   tg_requantize(x, m, shift) = tg_rdbpot(tg_srdhm(sat32(x * 2^max(shift,0)), m), max(-shift,0))
 * srdhm rounds a*b/2^31 half away from zero and saturates INT32_MIN*INT32_MIN; rdbpot divides
 * by 2^e rounding half away from zero. This is TFLite Micro's default ("double rounding"), except
 * that the left-shifted operand saturates instead of overflowing.
 */
#ifndef TG_FIXEDPOINT_H
#define TG_FIXEDPOINT_H

#include <stdint.h>

static inline int32_t tg_sat32(int64_t x)
{
    if (x > INT32_MAX) return INT32_MAX;
    if (x < INT32_MIN) return INT32_MIN;
    return (int32_t)x;
}

static inline int32_t tg_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31)); /* C division truncates toward zero */
}

static inline int32_t tg_rdbpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1LL << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t tg_requantize(int32_t x, int32_t m, int32_t shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return tg_rdbpot(tg_srdhm(tg_sat32((int64_t)x * ((int64_t)1 << left)), m), right);
}

static inline int32_t tg_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* The output stage of every requantizing int8 kernel:
 *   out = clamp(tg_requantize(acc, m, shift) + offset, lo, hi)
 * evaluated exactly, as the reference does in int64: the comparisons are made before the addition,
 * so no int32 overflow for any acc, m, shift (the parameter verifier keeps offset, lo and hi
 * within +-2^16, tinygen/ir/verify_params.py). */
static inline int32_t tg_requantize_clamp(int32_t acc, int32_t m, int32_t shift, int32_t offset, int32_t lo, int32_t hi)
{
    const int32_t r = tg_requantize(acc, m, shift);
    if (r > hi - offset) return hi;
    if (r < lo - offset) return lo;
    return r + offset;
}

#endif /* TG_FIXEDPOINT_H */
