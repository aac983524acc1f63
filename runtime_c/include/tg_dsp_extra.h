/* DSP operations the int8 element-wise, pooling and packed kernels need beyond tg_dsp.h, in
 * tg_dsp.h's conventions (a uint32_t holds four int8 lanes, byte 0 = lowest address), each with a
 * portable C definition for the host build.
 *   tg_smmulr(a, b)    = (a*b + 2^31) >> 32 (64-bit product, arithmetic shift)   SMMULR
 *   tg_min_s8x4(a, b)  = per byte signed min: ~max(~a, ~b), since ~x = -1 - x reverses int8 order
 */
#ifndef TG_DSP_EXTRA_H
#define TG_DSP_EXTRA_H

#include "tg_dsp.h"

#if TG_DSP_NATIVE
static inline int32_t tg_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
static inline int32_t tg_smmulr(int32_t a, int32_t b)
{
    /* the sum fits int64: |a*b| <= 2^62; >> of a negative value is arithmetic on every host compiler */
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

static inline uint32_t tg_min_s8x4(uint32_t a, uint32_t b) { return ~tg_max_s8x4(~a, ~b); }

#endif /* TG_DSP_EXTRA_H */
