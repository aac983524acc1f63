/* ARMv7E-M DSP (SIMD32) operations used by the optimized kernels, each with a portable C
 * definition so the same kernel source runs on the host: the host tier tests a kernel's
 * algorithm, the QEMU tier its real instructions. This is the only place that asks which target
 * it is compiled for.
 *
 * Conventions: a uint32_t holds four int8 lanes (byte 0 = lowest address) or two int16 halves
 * (half 0 = bits 15:0). All functions are pure.
 *   tg_sxtb16(x)        = halves (int16)x.b0, (int16)x.b2          SXTB16
 *   tg_sxtb16_ror8(x)   = halves (int16)x.b1, (int16)x.b3          SXTB16 ROR #8
 *   tg_sxtab16(a, x)    = halves a.h0 + x.b0, a.h1 + x.b2 (mod 2^16)   SXTAB16
 *   tg_smlad(x, y, acc) = acc + x.h0*y.h0 + x.h1*y.h1 (mod 2^32)   SMLAD (Q flag ignored)
 *   tg_smladx(x, y, acc)= acc + x.h0*y.h1 + x.h1*y.h0             SMLADX
 *   tg_smlabb(x, y, acc)= acc + x.h0*y.h0                          SMLABB
 *   tg_smlatt(x, y, acc)= acc + x.h1*y.h1                          SMLATT
 *   tg_qadd8 / tg_qsub8 = per byte signed saturating add / subtract
 *   tg_sadd16 / tg_ssub16 = per half wrapping add / subtract
 *   tg_max_s8x4(a, b)   = per byte signed max                      SSUB8 + SEL
 *   tg_pkhbt(a, b)      = a.h0 | b.h0 << 16                        PKHBT ..., LSL #16
 *   tg_pkhtb(a, b)      = b.h1 | a.h1 << 16  (halves b>>16, a>>16)  PKHTB ..., ASR #16
 */
#ifndef TG_DSP_H
#define TG_DSP_H

#include <stdint.h>
#include <string.h>

/* Unaligned little-endian word access (LDR/STR handle unaligned words on ARMv7-M). */
static inline uint32_t tg_load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void tg_store_u32(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

#define TG_DSP_NATIVE 1

static inline uint32_t tg_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int32_t)x); }

static inline uint32_t tg_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); /* GCC 12 does not fold the rotate itself */
    return r;
}

static inline uint32_t tg_sxtab16(uint32_t a, uint32_t x) { return (uint32_t)__sxtab16((int32_t)a, (int32_t)x); }
static inline int32_t tg_smlad(uint32_t x, uint32_t y, int32_t acc) { return __smlad((int32_t)x, (int32_t)y, acc); }
static inline int32_t tg_smladx(uint32_t x, uint32_t y, int32_t acc) { return __smladx((int32_t)x, (int32_t)y, acc); }
static inline int32_t tg_smlabb(uint32_t x, uint32_t y, int32_t acc) { return __smlabb((int32_t)x, (int32_t)y, acc); }
static inline int32_t tg_smlatt(uint32_t x, uint32_t y, int32_t acc) { return __smlatt((int32_t)x, (int32_t)y, acc); }
static inline uint32_t tg_qadd8(uint32_t a, uint32_t b) { return (uint32_t)__qadd8((int32_t)a, (int32_t)b); }
static inline uint32_t tg_qsub8(uint32_t a, uint32_t b) { return (uint32_t)__qsub8((int32_t)a, (int32_t)b); }
static inline uint32_t tg_sadd16(uint32_t a, uint32_t b) { return (uint32_t)__sadd16((int32_t)a, (int32_t)b); }
static inline uint32_t tg_ssub16(uint32_t a, uint32_t b) { return (uint32_t)__ssub16((int32_t)a, (int32_t)b); }

static inline uint32_t tg_max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t d, r;
    /* SSUB8 sets GE[i] when a.b_i >= b.b_i; SEL then takes a's byte there and b's elsewhere. */
    __asm__("ssub8 %0, %2, %3\n\tsel %1, %2, %3" : "=&r"(d), "=r"(r) : "r"(a), "r"(b) : "cc");
    (void)d;
    return r;
}

static inline uint32_t tg_pkhbt(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t tg_pkhtb(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

#else /* portable definitions: the same results, lane by lane */

#define TG_DSP_NATIVE 0

static inline int32_t tg__b(uint32_t x, int i) { return (int32_t)(int8_t)(uint8_t)(x >> (8 * i)); }
static inline int32_t tg__h(uint32_t x, int i) { return (int32_t)(int16_t)(uint16_t)(x >> (16 * i)); }
static inline uint32_t tg__halves(int32_t h0, int32_t h1)
{
    return ((uint32_t)h0 & 0xFFFFu) | (((uint32_t)h1 & 0xFFFFu) << 16);
}
static inline int32_t tg__sat8(int32_t v) { return v > 127 ? 127 : (v < -128 ? -128 : v); }

static inline uint32_t tg_sxtb16(uint32_t x) { return tg__halves(tg__b(x, 0), tg__b(x, 2)); }
static inline uint32_t tg_sxtb16_ror8(uint32_t x) { return tg__halves(tg__b(x, 1), tg__b(x, 3)); }
static inline uint32_t tg_sxtab16(uint32_t a, uint32_t x)
{
    return tg__halves(tg__h(a, 0) + tg__b(x, 0), tg__h(a, 1) + tg__b(x, 2));
}
static inline int32_t tg_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tg__h(x, 0) * tg__h(y, 0)) + (uint32_t)(tg__h(x, 1) * tg__h(y, 1)));
}
static inline int32_t tg_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tg__h(x, 0) * tg__h(y, 1)) + (uint32_t)(tg__h(x, 1) * tg__h(y, 0)));
}
static inline int32_t tg_smlabb(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tg__h(x, 0) * tg__h(y, 0)));
}
static inline int32_t tg_smlatt(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tg__h(x, 1) * tg__h(y, 1)));
}
static inline uint32_t tg__bytes(int32_t b0, int32_t b1, int32_t b2, int32_t b3)
{
    return ((uint32_t)b0 & 0xFFu) | (((uint32_t)b1 & 0xFFu) << 8) | (((uint32_t)b2 & 0xFFu) << 16)
           | (((uint32_t)b3 & 0xFFu) << 24);
}
static inline uint32_t tg_qadd8(uint32_t a, uint32_t b)
{
    return tg__bytes(tg__sat8(tg__b(a, 0) + tg__b(b, 0)), tg__sat8(tg__b(a, 1) + tg__b(b, 1)),
                     tg__sat8(tg__b(a, 2) + tg__b(b, 2)), tg__sat8(tg__b(a, 3) + tg__b(b, 3)));
}
static inline uint32_t tg_qsub8(uint32_t a, uint32_t b)
{
    return tg__bytes(tg__sat8(tg__b(a, 0) - tg__b(b, 0)), tg__sat8(tg__b(a, 1) - tg__b(b, 1)),
                     tg__sat8(tg__b(a, 2) - tg__b(b, 2)), tg__sat8(tg__b(a, 3) - tg__b(b, 3)));
}
static inline uint32_t tg_sadd16(uint32_t a, uint32_t b) { return tg__halves(tg__h(a, 0) + tg__h(b, 0), tg__h(a, 1) + tg__h(b, 1)); }
static inline uint32_t tg_ssub16(uint32_t a, uint32_t b) { return tg__halves(tg__h(a, 0) - tg__h(b, 0), tg__h(a, 1) - tg__h(b, 1)); }
static inline uint32_t tg_max_s8x4(uint32_t a, uint32_t b)
{
    int32_t m[4];
    for (int i = 0; i < 4; ++i) m[i] = tg__b(a, i) >= tg__b(b, i) ? tg__b(a, i) : tg__b(b, i);
    return tg__bytes(m[0], m[1], m[2], m[3]);
}
static inline uint32_t tg_pkhbt(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
static inline uint32_t tg_pkhtb(uint32_t a, uint32_t b) { return (b >> 16) | (a & 0xFFFF0000u); }

#endif

#endif /* TG_DSP_H */
