/* Fast int8 depthwise convolution (groups == in_c == out_c), shared by the tg_conv2d_s8_dw*
 * kernels, which instantiate it with their kernel size and stride as constants.
 *
 * Four channels at a time (NHWC keeps them adjacent): one word load per tap gives four inputs,
 * SXTB16 / SXTB16 ROR 8 split them into (c0, c2) and (c1, c3), SMLABB / SMLATT multiply-add each
 * half with the matching weight. Weights are written offline in the order the loop reads them:
 * [ceil(in_c / 4)][k_h * k_w][4] (a block's four channels of one tap are one word, the blocks one
 * after the other, zeros after the last channel), so one pointer walks them.
 *
 * Pixels whose window lies inside the image (the interior) read the taps at fixed offsets from
 * the window's corner, with no test. The input offset is folded into `bias` offline (over all
 * taps), so at the border a tap outside the image reads `zrow`, in_c bytes of the input zero point
 * in scratch, through a table of tap pointers. */
#ifndef TG_CONV_DW_H
#define TG_CONV_DW_H

#include "tg_conv2d.h"
#include "tg_dsp.h"
#include "tg_dsp_extra.h"

#define TG_DW_MAX_TAPS 64

/* The output stage of the depthwise kernels: tg_requantize_clamp's result through
 * tg_requant_smmulr.h's identity, which holds because the generator checked for the layer
 * (ops/conv2d.py, _dw_requant_ok) that every shift is in [-30, -1] and every accumulator has
 * |acc| < 2^30 (|folded bias| + 128 * sum |w|). Then y = SMMULR(2 acc, m) is srdhm(acc, m) and the
 * rounding shift by e = -shift >= 1 is (y + 2^(e-1) - [y < 0]) >> e (2^(e-1) = 1 << ~shift);
 * |result| < 2^30, so adding the offset cannot overflow and the clamp comes after it. */
static inline int32_t tg_dw_requant(int32_t acc, int32_t m, int32_t shift, int32_t offset, int32_t lo, int32_t hi)
{
    const int32_t y = tg_smmulr((int32_t)((uint32_t)acc << 1), m);
    const int32_t v = ((y + ((int32_t)1 << ~shift) + (y >> 31)) >> -shift) + offset;
    return v > hi ? hi : (v < lo ? lo : v);
}

/* acc[0..3] += the four channels of one tap: x and w hold channels (c0, c1, c2, c3). */
#define TG_DW_MAC4(x, w)                                                                          \
    do {                                                                                          \
        TG_DW_MAC4_BODY(x, w);                                                                    \
        TG_DW_TAP_DONE();                                                                         \
    } while (0)
#define TG_DW_MAC4_BODY(x, w)                                                                     \
    do {                                                                                          \
        const uint32_t xe_ = tg_sxtb16(x), xo_ = tg_sxtb16_ror8(x);                               \
        const uint32_t we_ = tg_sxtb16(w), wo_ = tg_sxtb16_ror8(w);                               \
        a0 = tg_smlabb(xe_, we_, a0);                                                             \
        a2 = tg_smlatt(xe_, we_, a2);                                                             \
        a1 = tg_smlabb(xo_, wo_, a1);                                                             \
        a3 = tg_smlatt(xo_, wo_, a3);                                                             \
    } while (0)

/* GCC, given a fully unrolled window, hoists every tap's loads and SXTB16s to the top and spills
 * them (about twice the instructions): an empty asm that "changes" the accumulators and memory
 * after each tap keeps one tap's work together. It emits no instruction. */
#if defined(__GNUC__)
#define TG_DW_TAP_DONE() __asm__ volatile("" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3) : : "memory")
#else
#define TG_DW_TAP_DONE() ((void)0)
#endif

static inline __attribute__((always_inline)) void tg_dw_s8(const tg_conv2d_params *p, const int8_t *input,
                                                           int8_t *restrict output, int8_t *zrow,
                                                           const int32_t kh, const int32_t kw,
                                                           const int32_t sh, const int32_t sw)
{
    /* Everything read per output is a local: the int8 output stores could alias *p. */
    const int32_t C = p->in_c, taps = kh * kw, dh = p->dil_h, dw = p->dil_w, full = C / 4;
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t pad_t = p->pad_t, pad_l = p->pad_l, out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *const bias = p->bias, *const mult = p->multiplier, *const shift = p->shift;
    const int8_t *const weight = p->weight;
    const int32_t rstep = dh * in_w * C, cstep = dw * C; /* between a window's rows and columns */
    const int8_t *tap[TG_DW_MAX_TAPS];
    for (int32_t c = 0; c < C; ++c) zrow[c] = (int8_t)(-p->input_offset);
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * sh - pad_t;
        const int32_t rows_in = iy0 >= 0 && iy0 + (kh - 1) * dh < in_h;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t ix0 = ox * sw - pad_l;
            const int8_t *corner = input + (iy0 * in_w + ix0) * C;
            int8_t *restrict out = output + (oy * out_w + ox) * C;
            const int8_t *w = weight;
            if (rows_in && ix0 >= 0 && ix0 + (kw - 1) * dw < in_w) {
                const int8_t *x = corner;
                for (int32_t b = 0; b < full; ++b, x += 4) {
                    const int32_t c = 4 * b;
                    int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
#pragma GCC unroll 9
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int8_t *row = x + ky * rstep;
#pragma GCC unroll 9
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const uint32_t xv = tg_load_u32(row + kx * cstep), wv = tg_load_u32(w);
                            TG_DW_MAC4(xv, wv);
                            w += 4;
                        }
                    }
                    out[c] = (int8_t)tg_dw_requant(a0, mult[c], shift[c], out_off, lo, hi);
                    out[c + 1] = (int8_t)tg_dw_requant(a1, mult[c + 1], shift[c + 1], out_off, lo, hi);
                    out[c + 2] = (int8_t)tg_dw_requant(a2, mult[c + 2], shift[c + 2], out_off, lo, hi);
                    out[c + 3] = (int8_t)tg_dw_requant(a3, mult[c + 3], shift[c + 3], out_off, lo, hi);
                }
                for (int32_t c = 4 * full; c < C; ++c) {
                    int32_t a = bias[c];
                    for (int32_t ky = 0; ky < kh; ++ky)
                        for (int32_t kx = 0; kx < kw; ++kx)
                            a += (int32_t)w[(ky * kw + kx) * 4 + (c & 3)] * corner[ky * rstep + kx * cstep + c];
                    out[c] = (int8_t)tg_dw_requant(a, mult[c], shift[c], out_off, lo, hi);
                }
                continue;
            }
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int32_t iy = iy0 + ky * dh;
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const int32_t ix = ix0 + kx * dw;
                    tap[ky * kw + kx] = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
                                            ? corner + ky * rstep + kx * cstep : zrow;
                }
            }
            for (int32_t b = 0; b < full; ++b) {
                const int32_t c = 4 * b;
                int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
                for (int32_t t = 0; t < taps; ++t) { /* a rolled loop: nothing to hoist */
                    const uint32_t xv = tg_load_u32(tap[t] + c), wv = tg_load_u32(w);
                    TG_DW_MAC4_BODY(xv, wv);
                    w += 4;
                }
                out[c] = (int8_t)tg_dw_requant(a0, mult[c], shift[c], out_off, lo, hi);
                out[c + 1] = (int8_t)tg_dw_requant(a1, mult[c + 1], shift[c + 1], out_off, lo, hi);
                out[c + 2] = (int8_t)tg_dw_requant(a2, mult[c + 2], shift[c + 2], out_off, lo, hi);
                out[c + 3] = (int8_t)tg_dw_requant(a3, mult[c + 3], shift[c + 3], out_off, lo, hi);
            }
            for (int32_t c = 4 * full; c < C; ++c) {
                int32_t a = bias[c];
                for (int32_t t = 0; t < taps; ++t) a += (int32_t)w[t * 4 + (c & 3)] * tap[t][c];
                out[c] = (int8_t)tg_dw_requant(a, mult[c], shift[c], out_off, lo, hi);
            }
        }
    }
}

#undef TG_DW_MAC4
#undef TG_DW_MAC4_BODY
#undef TG_DW_TAP_DONE

#endif /* TG_CONV_DW_H */
