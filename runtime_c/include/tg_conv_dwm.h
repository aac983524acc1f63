/* Fast int8 depthwise convolution with channel multiplier M (groups == in_c, out_c = M * in_c),
 * used by tg_conv2d_s8_dwm and tg_conv2d_s8_dwm_w16, which instantiate it with constant kernel
 * sizes, multipliers and output stages.
 *
 * Output channel o = c * M + m reads input channel c. Per output pixel and input channel the taps'
 * inputs are packed once into int16 pairs (tap 2q in the low half, tap 2q+1 in the high half;
 * an odd last tap alone, its high half multiplied by 0), then each of the M outputs is one SMLAD
 * per pair against its weights: the packing is shared by the M outputs. Weights are written
 * offline as int16 pairs, [in_c][ceil(k_h*k_w / 2)][M] words (low half tap 2q, high half tap
 * 2q+1, 0 after the last tap), word aligned: with M a constant the M outputs of a channel
 * accumulate together, each pair packed once and read from a register M times (no pair array to
 * spill), their weights one after the other. The input offset is folded into the bias offline (over all
 * taps), so a tap outside the image reads `zrow`, in_c bytes of the input zero point in scratch.
 *
 * Per pixel a table holds each tap's input pointer (the window's corner plus the tap's offset, or
 * zrow outside the image), so interior and border pixels run the same channel loop: two loads per
 * tap (the pointer, then its channel c byte), with no test. Every pointer the output loop walks
 * (weights, bias or records, output) moves by one step per output, so with kh, kw and M constants
 * the channel body is straight-line code.
 *
 * Output stages (`stage`, a constant per instantiation):
 *   TG_DWM_RQ       tg_dw_requant (bias, multiplier, shift arrays), clamp to act_min..act_max
 *   TG_DWM_RQ_FULL  the same, the clamp to the whole int8 range as one SSAT
 *   TG_DWM_W16      tg_gemm_w16.h's record stage: `bias` holds {bias, m, k_lo, k_hi, sh} per
 *                   output (conv_gemm.w16_records), offset and rounding in one SMLAL, then the
 *                   clamp to act_min..act_max (one SSAT when it is the whole int8 range) */
#ifndef TG_CONV_DWM_H
#define TG_CONV_DWM_H

#include "tg_conv_dw.h"
#include "tg_gemm_w16.h"

#define TG_DWM_MAX_TAPS 64
#define TG_DWM_MAX_M 4 /* the largest multiplier instantiated as a constant */

#define TG_DWM_RQ 0
#define TG_DWM_RQ_FULL 1
#define TG_DWM_W16 2
#define TG_DWM_W16_FULL 3

/* A weight word: the weights are word aligned (TG_ALIGNED(8) arrays, 4-byte records), which lets
 * gcc pair neighbouring loads into LDRD. */
static inline uint32_t tg_dwm_w(const int8_t *w)
{
    return tg_load_u32(__builtin_assume_aligned(w, 4));
}

/* tg_dw_requant before its clamp (the same contract: shift in [-30, -1], |acc| < 2^30). */
static inline int32_t tg_dwm_rq(int32_t acc, int32_t m, int32_t shift, int32_t offset)
{
    const int32_t y = tg_smmulr((int32_t)((uint32_t)acc << 1), m);
    return ((y + ((int32_t)1 << ~shift) + (y >> 31)) >> -shift) + offset;
}

static inline int32_t tg_dwm_clamp(int32_t v, int32_t lo, int32_t hi, const int full)
{
    if (full) {
#if TG_DSP_NATIVE
        return __ssat(v, 8);
#else
        lo = -128;
        hi = 127;
#endif
    }
    return v > hi ? hi : (v < lo ? lo : v);
}

/* One output: acc through the stage; b points at the output's bias (or record), *mu and *s at its
 * multiplier and shift (TG_DWM_RQ*, which advance them). */
static inline __attribute__((always_inline)) int32_t tg_dwm_out(int32_t acc, const int32_t *b, const int32_t **mu,
                                                                const int32_t **s, int32_t out_off, int32_t lo,
                                                                int32_t hi, const int stage)
{
    const int full = stage == TG_DWM_RQ_FULL || stage == TG_DWM_W16_FULL;
    if (stage >= TG_DWM_W16) {
        const int32_t v = tg_w16_scale(acc, b[1], (uint32_t)b[2], b[3], b[4]);
        return full ? v : tg_dwm_clamp(v, lo, hi, 0);
    }
    return tg_dwm_clamp(tg_dwm_rq(acc, *(*mu)++, *(*s)++, out_off), lo, hi, full);
}

/* kh, kw: the kernel size; mc: the multiplier, or 0 for out_c / in_c at run time; stage: one of
 * the output stages above (the caller checks act_min == -128 and act_max == 127 for *_FULL). */
static inline __attribute__((always_inline)) void tg_dwm_s8(const tg_conv2d_params *p, const int8_t *input,
                                                            int8_t *restrict output, int8_t *zrow,
                                                            const int32_t kh, const int32_t kw, const int32_t mc,
                                                            const int stage)
{
    /* Everything read per output is a local: the int8 output stores could alias *p. */
    const int32_t C = p->in_c, M = mc ? mc : p->out_c / p->in_c, taps = kh * kw, pairs = (taps + 1) / 2;
    const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dil_h, dw = p->dil_w;
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t pad_t = p->pad_t, pad_l = p->pad_l, out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t step = stage >= TG_DWM_W16 ? TG_W16_Q : 1; /* words of bias per output */
    const int32_t *const bias = p->bias, *const mult = p->multiplier, *const shift = p->shift;
    const int8_t *const weight = p->weight;
    const int8_t *tap[TG_DWM_MAX_TAPS];
    for (int32_t c = 0; c < C; ++c) zrow[c] = (int8_t)(-p->input_offset);
    int8_t *restrict out = output;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * sh - pad_t;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t ix0 = ox * sw - pad_l;
            /* unsigned compares test both bounds at once */
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int32_t iy = iy0 + ky * dh;
                const int8_t *row = input + iy * in_w * C;
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const int32_t ix = ix0 + kx * dw;
                    tap[ky * kw + kx] = ((uint32_t)iy < (uint32_t)in_h && (uint32_t)ix < (uint32_t)in_w) ? row + ix * C
                                                                                                       : zrow;
                }
            }
            const int8_t *w = weight;
            const int32_t *b = bias, *mu = mult, *s = shift;
            for (int32_t c = 0; c < C; ++c) {
                /* c opaque: gcc would otherwise turn each tap[t][c] into its own incremented
                 * pointer, which it cannot keep in registers (load, load, store per tap). */
                int32_t ci = c;
#if defined(__GNUC__)
                __asm__("" : "+r"(ci));
#endif
#define TG_DWM_PAIR(q)                                                                                \
    (2 * (q) + 1 < taps ? tg_pkhbt((uint32_t)(int32_t)tap[2 * (q)][ci], (uint32_t)(int32_t)tap[2 * (q) + 1][ci]) \
                        : (uint32_t)(int32_t)tap[2 * (q)][ci])
                int32_t acc[TG_DWM_MAX_M];
                if (mc) {
                    /* M accumulators at once: each pair is packed, used M times and dropped */
#pragma GCC unroll 4
                    for (int32_t m = 0; m < mc; ++m) acc[m] = b[m * step];
#pragma GCC unroll 32
                    for (int32_t q = 0; q < pairs; ++q) {
                        const uint32_t x = TG_DWM_PAIR(q);
#pragma GCC unroll 4
                        for (int32_t m = 0; m < mc; ++m) acc[m] = tg_smlad(x, tg_dwm_w(w + 4 * (q * mc + m)), acc[m]);
                    }
                    w += 4 * pairs * mc;
#pragma GCC unroll 4
                    for (int32_t m = 0; m < mc; ++m, b += step) *out++ = (int8_t)tg_dwm_out(acc[m], b, &mu, &s, out_off, lo, hi, stage);
                } else {
                    uint32_t xp[(TG_DWM_MAX_TAPS + 1) / 2];
                    for (int32_t q = 0; q < pairs; ++q) xp[q] = TG_DWM_PAIR(q);
                    for (int32_t m = 0; m < M; ++m, b += step) {
                        int32_t a = *b;
                        for (int32_t q = 0; q < pairs; ++q) a = tg_smlad(xp[q], tg_dwm_w(w + 4 * (q * M + m)), a);
                        *out++ = (int8_t)tg_dwm_out(a, b, &mu, &s, out_off, lo, hi, stage);
                    }
                    w += 4 * pairs * M;
                }
#undef TG_DWM_PAIR
            }
        }
    }
}

/* The instantiations of one kernel: 3x3 and 5x5 with the multipliers 2 and 3 and the whole int8
 * range as constants, else sizes and multiplier at run time. STAGE is TG_DWM_RQ or TG_DWM_W16
 * (its *_FULL form, one more, is chosen here). */
#define TG_DWM_SIZE(P, X, Y, Z, KH, KW, STAGE, FULL)                                                  \
    do {                                                                                               \
        const int32_t m_ = (P)->out_c / (P)->in_c;                                                     \
        if (m_ == 3 && (FULL)) tg_dwm_s8(P, X, Y, Z, KH, KW, 3, (STAGE) + 1);                          \
        else if (m_ == 2 && (FULL)) tg_dwm_s8(P, X, Y, Z, KH, KW, 2, (STAGE) + 1);                     \
        else tg_dwm_s8(P, X, Y, Z, KH, KW, 0, STAGE);                                                  \
    } while (0)
#define TG_DWM_DISPATCH(P, X, Y, Z, STAGE)                                                             \
    do {                                                                                               \
        const int full_ = (P)->act_min == -128 && (P)->act_max == 127;                                 \
        if ((P)->k_h == 3 && (P)->k_w == 3) TG_DWM_SIZE(P, X, Y, Z, 3, 3, STAGE, full_);               \
        else if ((P)->k_h == 5 && (P)->k_w == 5) TG_DWM_SIZE(P, X, Y, Z, 5, 5, STAGE, full_);          \
        else tg_dwm_s8(P, X, Y, Z, (P)->k_h, (P)->k_w, 0, STAGE);                                      \
    } while (0)

#endif /* TG_CONV_DWM_H */
