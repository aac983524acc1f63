/* A faster, provably equal form of tg_requantize (tg_fixedpoint.h) for operands whose size the
 * generator bounded offline (tinygen/ops/requant_fast.py checks the bound per layer):
 *
 *   if |x| * 2^max(shift, 0) < 2^30 and max(-shift, 0) <= 30, then
 *   tg_requantize(x, m, shift) == tg_rq_apply(tg_rq_make(m, shift), x)
 *
 * Why. Let a = x * 2^max(shift, 0) (|a| < 2^30, so the reference's sat32 does nothing and 2a
 * fits int32) and e = max(-shift, 0).
 * 1. srdhm(a, m) == SMMULR(2a, m) == floor((a*m + 2^30) / 2^31): for a*m >= 0 the reference's
 *    truncating division of a non-negative value is a floor; for a*m < 0 it computes
 *    trunc((a*m + 1 - 2^30) / 2^31) = ceil((a*m + 1 - 2^30) / 2^31) = floor((a*m + 2^30) / 2^31)
 *    (ceil(n/d) = floor((n + d - 1)/d)). The saturating case a == m == INT32_MIN cannot occur
 *    (|a| < 2^30), and |y| <= |a| < 2^30.
 * 2. rdbpot(y, e) == (y + r + (y < 0 && e > 0 ? -1 : 0)) >> e with r = 2^(e-1) (0 when e == 0):
 *    the reference adds 1 to y >> e when the remainder exceeds 2^(e-1) - 1 (y >= 0) or 2^(e-1)
 *    (y < 0), i.e. it rounds y / 2^e to nearest with ties away from zero, which the biased floor
 *    shift computes; y + r - 1 cannot overflow since |y| < 2^30 and r <= 2^29.
 * tests/kernels/test_requant_fast.py checks the identity on an exact transcription over every
 * shift, edge multipliers and operands at the rounding boundaries; the kernels' tests run the C. */
#ifndef TG_REQUANT_SMMULR_H
#define TG_REQUANT_SMMULR_H

#include <stdint.h>

#include "tg_dsp_extra.h"

typedef struct {
    int32_t m;   /* the int32 multiplier */
    int32_t pre; /* max(shift, 0) + 1: the left shift, plus one for SMMULR's doubling */
    int32_t e;   /* max(-shift, 0): the rounding right shift */
    int32_t r;   /* 2^(e-1), 0 when e == 0 */
    int32_t neg; /* -1 when e > 0 (ties of negative values round down), else 0 */
} tg_rq;

static inline tg_rq tg_rq_make(int32_t m, int32_t shift)
{
    tg_rq q;
    q.m = m;
    q.pre = (shift > 0 ? shift : 0) + 1;
    q.e = shift > 0 ? 0 : -shift;
    q.r = q.e > 0 ? (int32_t)1 << (q.e - 1) : 0;
    q.neg = q.e > 0 ? -1 : 0;
    return q;
}

static inline int32_t tg_rq_apply(const tg_rq *q, int32_t x)
{
    const int32_t y = tg_smmulr((int32_t)((uint32_t)x << q->pre), q->m);
    return (y + q->r + ((y >> 31) & q->neg)) >> q->e;
}

#endif /* TG_REQUANT_SMMULR_H */
