/* DSP (SIMD32) operations the binary kernels use beyond tg_dsp.h, each with a portable C
 * definition for the host (same conventions as tg_dsp.h: four uint8/int8 lanes per word).
 *   tg_usad8(x, y)          = sum over bytes |x.b - y.b|                      USAD8
 *   tg_usada8(x, y, acc)    = acc + sum over bytes |x.b - y.b| (mod 2^32)      USADA8
 *   tg_sel_lt_s8x4(a, b)    = per byte 0xFF where (int8)a.b < (int8)b.b, else 0   SSUB8 + SEL
 */
#ifndef TG_DSP_BITS_H
#define TG_DSP_BITS_H

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

static inline uint32_t tg_usad8(uint32_t x, uint32_t y) { return __usad8(x, y); }
static inline uint32_t tg_usada8(uint32_t x, uint32_t y, uint32_t acc) { return __usada8(x, y, acc); }

static inline uint32_t tg_sel_lt_s8x4(uint32_t a, uint32_t b)
{
    uint32_t d, r;
    /* one asm block: the compiler does not track the GE flags between SSUB8 and SEL */
    __asm__("ssub8 %0, %2, %3\n\tsel %1, %4, %5" : "=&r"(d), "=r"(r) : "r"(a), "r"(b), "r"(0u), "r"(0xFFFFFFFFu)
            : "cc");
    (void)d;
    return r; /* GE[i] = a.b >= b.b selects 0, else 0xFF */
}
#else

static inline uint32_t tg_usad8(uint32_t x, uint32_t y)
{
    uint32_t s = 0;
    for (int i = 0; i < 32; i += 8) {
        const int32_t d = (int32_t)((x >> i) & 0xFFu) - (int32_t)((y >> i) & 0xFFu);
        s += (uint32_t)(d < 0 ? -d : d);
    }
    return s;
}

static inline uint32_t tg_usada8(uint32_t x, uint32_t y, uint32_t acc) { return acc + tg_usad8(x, y); }

static inline uint32_t tg_sel_lt_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        if ((int8_t)(a >> i) < (int8_t)(b >> i)) r |= 0xFFu << i;
    }
    return r;
}
#endif

#endif /* TG_DSP_BITS_H */
