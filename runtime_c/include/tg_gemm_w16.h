/* The int8 GEMM of the fast pointwise and im2col kernels (tg_conv2d_s8_pw4, tg_conv2d_s8_im2col4):
 * y[r][o] = out(sum_k w[o][k] * x_r[k], o) for four rows x_r (pixels) at a time and every output
 * channel o, one channel per inner loop.
 *
 * Why this tile. Each row is widened ONCE per layer into scratch (`cols`, int16 pairs in the
 * order SXTB16 produces them), because every output channel re-reads it; the weights stay int8
 * (flash) and are split by SXTB16 / SXTB16 ROR 8 once per 4 k, shared by the four rows. Per 4 k:
 * 1 weight load + 2 SXTB16 + 4 LDRD + 8 SMLAD for 16 MACs (~1.06 instr/MAC with the loop),
 * against 1.5 for a 2x2 tile on int8 operands. Four accumulators, two weight halves, two pairs of
 * row words and three pointers take 13 of the 14 free registers; a second channel would not fit.
 * tg_fully_connected_s8_w16 shares the widening idea and this output stage.
 *
 * cols layout (tg_w16_widen writes it), for k4 = k rounded up to 4: block b, row r: word
 * 8b + 2r = int16 halves (x_r[4b], x_r[4b+2]), word 8b + 2r + 1 = (x_r[4b+1], x_r[4b+3]);
 * k beyond k and rows beyond `rows` are zero.
 * Weights: [out_c][k4], k in natural order, zero padded to k4 (tinygen/ops/conv_gemm.py).
 *
 * Output stage: q = TG_W16_Q words per channel, {bias, m, k_lo, k_hi, sh} (written offline by
 * conv_gemm.w16_records), and
 *     out = clamp((acc * m + (k_hi:k_lo) - [acc < 0] * 2^31) >> 32 >> sh, act_min, act_max),
 * the acc*m+K in 64 bits (one SMLAL), equal to tg_requantize_clamp(acc, m, shift, offset, act_min,
 * act_max) for m in {0} U [2^30, 2^31) and shift = -(sh + 1) in [-23, -1], where acc already holds
 * bias (the accumulators start from it) and K = 2^30 + 2^(30+e) + offset * 2^(31+e), e = -shift.
 * Why it is equal: TFLM's result is rdbpot(s, e), s = floor((acc*m + 2^30) / 2^31), and
 * rdbpot(s, e) = floor((s + 2^(e-1) - [s < 0]) / 2^e) (round half away from zero); nested
 * floors by integer divisors merge, so it is floor((acc*m + 2^30 + (2^(e-1) - [s<0]) * 2^31)
 * / 2^(31+e)), and the integer offset moves inside the floor as offset * 2^(31+e). [s < 0] =
 * [acc*m + 2^30 < 0] equals [acc < 0] when m >= 2^30 except at acc*m + 2^30 = 0, and for m = 0,
 * where both choices give the same floor (tests/kernels/test_gemm_w16.py checks the edges).
 * |acc * m| < 2^62 and |K| < 2^61.1 for e <= 23, so nothing wraps in 64 bits. */
#ifndef TG_GEMM_W16_H
#define TG_GEMM_W16_H

#include <stdint.h>
#include "tg_dsp.h"

#define TG_W16_ROWS 4
#define TG_W16_Q 5

static inline int32_t tg_w16_k4(int32_t k) { return (k + 3) & ~3; }

/* Scratch bytes of one cols buffer for k values per row. */
static inline int32_t tg_w16_cols_bytes(int32_t k) { return 2 * TG_W16_ROWS * tg_w16_k4(k); }

/* Row r (0 <= r < TG_W16_ROWS) of cols (layout above) from k int8 at x; zeros when x is NULL. */
static inline void tg_w16_widen_row(uint32_t *cols, int32_t r, const int8_t *x, int32_t k)
{
    const int32_t blocks = k >> 2, tail = k & 3;
    uint32_t *d = cols + 2 * r;
    if (!x) {
        for (int32_t b = blocks + (tail != 0); b > 0; --b, d += 8) d[0] = d[1] = 0;
        return;
    }
    for (int32_t b = blocks; b > 0; --b, x += 4, d += 8) {
        const uint32_t u = tg_load_u32(x);
        d[0] = tg_sxtb16(u);
        d[1] = tg_sxtb16_ror8(u);
    }
    if (tail) {
        uint32_t u = 0;
        for (int32_t t = 0; t < tail; ++t) u |= (uint32_t)(uint8_t)x[t] << (8 * t);
        d[0] = tg_sxtb16(u);
        d[1] = tg_sxtb16_ror8(u);
    }
}

/* rows (1..4) rows of k int8 each, row r at src + r * stride, widened into cols; zeros beyond. */
static inline void tg_w16_widen(uint32_t *cols, const int8_t *src, int32_t stride, int32_t k, int32_t rows)
{
    for (int32_t r = 0; r < TG_W16_ROWS; ++r) tg_w16_widen_row(cols, r, r < rows ? src + r * stride : 0, k);
}

/* Per channel: acc = bias + sum over cols of w * x for the four rows (the dot-product loop). */
#if TG_DSP_NATIVE
/* gcc 12 neither pairs the row loads into LDRD nor keeps the loop at 17 instructions per 4 k:
 * 1 LDR + 2 SXTB16 + 4 LDRD (post-indexed) + 8 SMLAD + CMP/BNE. Two row-register pairs
 * alternate so no SMLAD waits on the LDRD just before it: llvm-mca (thumbv7em) gives 17 cycles
 * per 4 k on the Cortex-M4 (22 with one pair) and 18 on the M7 (18 too). */
#define TG_W16_DOT(w, c, end, a0, a1, a2, a3)                                                       \
    do {                                                                                          \
        uint32_t wa_, wo_, x0_, x1_, y0_, y1_;                                                    \
        __asm__ volatile("1:\n\t"                                                                 \
                         "ldr %[wa], [%[w]], #4\n\t"                                              \
                         "ldrd %[x0], %[x1], [%[c]], #8\n\t"                                      \
                         "sxtb16 %[wo], %[wa], ror #8\n\t"                                        \
                         "sxtb16 %[wa], %[wa]\n\t"                                                \
                         "ldrd %[y0], %[y1], [%[c]], #8\n\t"                                      \
                         "smlad %[a0], %[x0], %[wa], %[a0]\n\t"                                   \
                         "smlad %[a0], %[x1], %[wo], %[a0]\n\t"                                   \
                         "ldrd %[x0], %[x1], [%[c]], #8\n\t"                                      \
                         "smlad %[a1], %[y0], %[wa], %[a1]\n\t"                                   \
                         "smlad %[a1], %[y1], %[wo], %[a1]\n\t"                                   \
                         "ldrd %[y0], %[y1], [%[c]], #8\n\t"                                      \
                         "smlad %[a2], %[x0], %[wa], %[a2]\n\t"                                   \
                         "smlad %[a2], %[x1], %[wo], %[a2]\n\t"                                   \
                         "smlad %[a3], %[y0], %[wa], %[a3]\n\t"                                   \
                         "smlad %[a3], %[y1], %[wo], %[a3]\n\t"                                   \
                         "cmp %[c], %[e]\n\t"                                                     \
                         "bne 1b"                                                                 \
                         : [w] "+r"(w), [c] "+r"(c), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),  \
                           [a3] "+r"(a3), [wa] "=&r"(wa_), [wo] "=&r"(wo_), [x0] "=&r"(x0_),      \
                           [x1] "=&r"(x1_), [y0] "=&r"(y0_), [y1] "=&r"(y1_)                      \
                         : [e] "r"(end)                                                           \
                         : "cc", "memory");                                                       \
    } while (0)
/* Row 0 only (a layer's last single pixel): 8 instructions per 4 k instead of the tile's 17. */
#define TG_W16_DOT1(w, c, end, a0)                                                                  \
    do {                                                                                          \
        uint32_t wa_, wo_, x0_, x1_;                                                              \
        __asm__ volatile("1:\n\t"                                                                 \
                         "ldr %[wa], [%[w]], #4\n\t"                                              \
                         "ldrd %[x0], %[x1], [%[c]], #32\n\t"                                     \
                         "sxtb16 %[wo], %[wa], ror #8\n\t"                                        \
                         "sxtb16 %[wa], %[wa]\n\t"                                                \
                         "smlad %[a0], %[x0], %[wa], %[a0]\n\t"                                   \
                         "smlad %[a0], %[x1], %[wo], %[a0]\n\t"                                   \
                         "cmp %[c], %[e]\n\t"                                                     \
                         "bne 1b"                                                                 \
                         : [w] "+r"(w), [c] "+r"(c), [a0] "+r"(a0), [wa] "=&r"(wa_), [wo] "=&r"(wo_), \
                           [x0] "=&r"(x0_), [x1] "=&r"(x1_)                                       \
                         : [e] "r"(end)                                                           \
                         : "cc", "memory");                                                       \
    } while (0)
#else
#define TG_W16_DOT1(w, c, end, a0)                                                                  \
    do {                                                                                          \
        while (c != end) {                                                                        \
            const uint32_t wa_ = tg_load_u32(w);                                                  \
            a0 = tg_smlad(c[1], tg_sxtb16_ror8(wa_), tg_smlad(c[0], tg_sxtb16(wa_), a0));         \
            w += 4;                                                                               \
            c += 8;                                                                               \
        }                                                                                         \
    } while (0)
#define TG_W16_DOT(w, c, end, a0, a1, a2, a3)                                                       \
    do {                                                                                          \
        while (c != end) {                                                                        \
            const uint32_t wa_ = tg_load_u32(w), we_ = tg_sxtb16(wa_), wo_ = tg_sxtb16_ror8(wa_);   \
            a0 = tg_smlad(c[1], wo_, tg_smlad(c[0], we_, a0));                                    \
            a1 = tg_smlad(c[3], wo_, tg_smlad(c[2], we_, a1));                                    \
            a2 = tg_smlad(c[5], wo_, tg_smlad(c[4], we_, a2));                                    \
            a3 = tg_smlad(c[7], wo_, tg_smlad(c[6], we_, a3));                                    \
            w += 4;                                                                               \
            c += 8;                                                                               \
        }                                                                                         \
    } while (0)
#endif

/* The output stage above before the clamp, saturated to int8: (acc*m + K - [acc<0]*2^31) >> 32 >> sh. */
static inline int32_t tg_w16_scale(int32_t acc, int32_t m, uint32_t klo, int32_t khi, int32_t sh)
{
#if TG_DSP_NATIVE
    int32_t s, hi;
    uint32_t lo;
    __asm__("asr %[s], %[acc], #31\n\t"
            "adds %[lo], %[klo], %[s], lsl #31\n\t"
            "adc %[hi], %[khi], %[s]\n\t"
            "smlal %[lo], %[hi], %[acc], %[m]\n\t"
            "asr %[hi], %[hi], %[sh]\n\t"
            "ssat %[hi], #8, %[hi]"
            : [s] "=&r"(s), [lo] "=&r"(lo), [hi] "=&r"(hi)
            : [acc] "r"(acc), [m] "r"(m), [klo] "r"(klo), [khi] "r"(khi), [sh] "r"(sh)
            : "cc");
    return hi;
#else
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)khi << 32) | klo) + (int64_t)(acc >> 31) * 2147483648LL;
    const int32_t r = (int32_t)((uint64_t)((int64_t)acc * m + k) >> 32) >> sh;
    return r > 127 ? 127 : (r < -128 ? -128 : r);
#endif
}

/* Per byte signed min(v, hi) and max(v, lo) of four packed outputs: SSUB8 + SEL twice. */
static inline uint32_t tg_w16_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
#if TG_DSP_NATIVE
    uint32_t d;
    __asm__("ssub8 %[d], %[v], %[hi]\n\t"
            "sel %[v], %[hi], %[v]\n\t"
            "ssub8 %[d], %[v], %[lo]\n\t"
            "sel %[v], %[v], %[lo]"
            : [v] "+r"(v), [d] "=&r"(d)
            : [lo] "r"(lo4), [hi] "r"(hi4)
            : "cc");
    return v;
#else
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) {
        int32_t b = (int32_t)(int8_t)(uint8_t)(v >> (8 * i));
        const int32_t l = (int32_t)(int8_t)(uint8_t)(lo4 >> (8 * i)), h = (int32_t)(int8_t)(uint8_t)(hi4 >> (8 * i));
        b = b < l ? l : (b > h ? h : b);
        r |= ((uint32_t)b & 0xFFu) << (8 * i);
    }
    return r;
#endif
}

/* Byte 1 (at == 8), 2 or 3 of v replaced by the low byte of b: BFI. */
#if TG_DSP_NATIVE
#define TG_W16_BFI(v, b, at) __asm__("bfi %0, %1, #" #at ", #8" : "+r"(v) : "r"(b))
#else
#define TG_W16_BFI(v, b, at) ((v) = ((v) & ~(0xFFu << (at))) | (((uint32_t)(b) & 0xFFu) << (at)))
#endif

/* One channel's four accumulators -> four clamped int8 outputs packed in a word (row r in byte r). */
static inline uint32_t tg_w16_pack(const int32_t *q, int32_t a0, int32_t a1, int32_t a2, int32_t a3, uint32_t lo4,
                                   uint32_t hi4)
{
    const int32_t m = q[1], khi = q[3], sh = q[4];
    const uint32_t klo = (uint32_t)q[2];
    uint32_t v = (uint32_t)tg_w16_scale(a0, m, klo, khi, sh);
    TG_W16_BFI(v, tg_w16_scale(a1, m, klo, khi, sh), 8);
    TG_W16_BFI(v, tg_w16_scale(a2, m, klo, khi, sh), 16);
    TG_W16_BFI(v, tg_w16_scale(a3, m, klo, khi, sh), 24);
    return tg_w16_clamp4(v, lo4, hi4);
}

/* Byte r of v to y[r * ystride], r < 4 (gcc keeps four row pointers and spills them). */
static inline void tg_w16_store4(int8_t *y, int32_t ystride, uint32_t v)
{
#if TG_DSP_NATIVE
    uint32_t t;
    int8_t *p;
    __asm__ volatile("strb %[v], [%[y]]\n\t"
                     "lsrs %[t], %[v], #8\n\t"
                     "strb %[t], [%[y], %[s]]\n\t"
                     "add %[p], %[y], %[s], lsl #1\n\t"
                     "lsrs %[t], %[v], #16\n\t"
                     "strb %[t], [%[p]]\n\t"
                     "lsrs %[t], %[v], #24\n\t"
                     "strb %[t], [%[p], %[s]]"
                     : [t] "=&r"(t), [p] "=&r"(p)
                     : [v] "r"(v), [y] "r"(y), [s] "r"(ystride)
                     : "cc", "memory");
#else
    for (int32_t r = 0; r < 4; ++r) y[r * ystride] = (int8_t)(v >> (8 * r));
#endif
}

static inline uint32_t tg_w16_rep4(int32_t b) { return (uint32_t)(uint8_t)b * 0x01010101u; }

/* y[r * ystride + o] for the four rows and every o < n, from cols (k4 values per row). */
__attribute__((always_inline)) static inline void tg_w16_gemm4(const int8_t *w, const int32_t *q, int32_t n,
                                                                int32_t k4, const uint32_t *cols, int8_t *y,
                                                                int32_t ystride, int32_t lo, int32_t hi)
{
    const uint32_t *const end = cols + 2 * k4;
    const uint32_t lo4 = tg_w16_rep4(lo), hi4 = tg_w16_rep4(hi);
    for (int8_t *const yend = y + n; y != yend; ++y, q += TG_W16_Q) {
        int32_t a0 = q[0], a1 = a0, a2 = a0, a3 = a0;
        const uint32_t *c = cols;
        TG_W16_DOT(w, c, end, a0, a1, a2, a3);
        tg_w16_store4(y, ystride, tg_w16_pack(q, a0, a1, a2, a3, lo4, hi4));
    }
}

/* The same for the first `rows` (1..3) rows only (a layer's last pixels; cols holds zeros beyond),
 * one row through the one-row loop. */
__attribute__((noinline, unused)) static void tg_w16_gemm_tail(const int8_t *w, const int32_t *q, int32_t n, int32_t k4, const uint32_t *cols,
                             int8_t *y, int32_t ystride, int32_t rows, int32_t lo, int32_t hi)
{
    const uint32_t *const end = cols + 2 * k4;
    const uint32_t lo4 = tg_w16_rep4(lo), hi4 = tg_w16_rep4(hi);
    for (int32_t o = 0; o < n; ++o, q += TG_W16_Q) {
        int32_t a0 = q[0], a1 = a0, a2 = a0, a3 = a0;
        const uint32_t *c = cols;
        if (rows == 1) {
            TG_W16_DOT1(w, c, end, a0);
        } else {
            TG_W16_DOT(w, c, end, a0, a1, a2, a3);
        }
        const uint32_t v = tg_w16_pack(q, a0, a1, a2, a3, lo4, hi4);
        for (int32_t r = 0; r < rows; ++r) y[r * ystride + o] = (int8_t)(v >> (8 * r));
    }
}

#endif /* TG_GEMM_W16_H */
