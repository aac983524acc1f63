/* Fast int8 depthwise convolution (groups == in_c == out_c), shared by the tg_conv2d_s8_dw*
 * kernels, which instantiate it with their kernel size and stride as constants.
 *
 * Four channels at a time (NHWC keeps them adjacent): one word load per tap gives four inputs,
 * SXTB16 / SXTB16 ROR 8 split them into (c0, c2) and (c1, c3), SMLABB / SMLATT multiply-add each
 * half with the matching weight. The input offset is folded into `bias` offline (over all taps),
 * so a tap outside the image must read the input zero point: it points at `zrow`, in_c bytes of
 * the zero point in scratch, instead of skipping. Weights are [k_h * k_w][in_c] (HWC), written
 * that way offline so a tap's four channels are one word. */
#ifndef TG_CONV_DW_H
#define TG_CONV_DW_H

#include "tg_conv2d.h"
#include "tg_dsp.h"
#include "tg_fixedpoint.h"
#include "tg_requant_fast.h"

#define TG_DW_MAX_TAPS 64

static inline void tg_dw_s8(const tg_conv2d_params *p, const int8_t *input, int8_t *restrict output,
                            int8_t *zrow, const int32_t kh, const int32_t kw, const int32_t sh, const int32_t sw)
{
    /* Everything read per output is a local: the int8 output stores could alias *p. */
    const int32_t C = p->in_c, taps = kh * kw, dh = p->dil_h, dw = p->dil_w;
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t pad_t = p->pad_t, pad_l = p->pad_l, out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *const bias = p->bias, *const mult = p->multiplier, *const shift = p->shift;
    const int8_t *const weight = p->weight;
#define TG_DW_OUT(acc, c) (int8_t)tg_requantize_fast_clamp((acc), mult[c], shift[c], out_off, lo, hi)
    const int8_t *tap[TG_DW_MAX_TAPS];
    int32_t toff[TG_DW_MAX_TAPS];
    for (int32_t c = 0; c < C; ++c) zrow[c] = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < kh; ++ky)
        for (int32_t kx = 0; kx < kw; ++kx) toff[ky * kw + kx] = (ky * dh * in_w + kx * dw) * C;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * sh - pad_t;
        const int32_t rows_in = iy0 >= 0 && iy0 + (kh - 1) * dh < in_h;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t ix0 = ox * sw - pad_l;
            const int8_t *base = input + (iy0 * in_w + ix0) * C;
            if (rows_in && ix0 >= 0 && ix0 + (kw - 1) * dw < in_w) {
                for (int32_t t = 0; t < taps; ++t) tap[t] = base + toff[t];
            } else {
                for (int32_t ky = 0; ky < kh; ++ky) {
                    const int32_t iy = iy0 + ky * dh;
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ix0 + kx * dw;
                        tap[ky * kw + kx] = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
                                                ? base + toff[ky * kw + kx] : zrow;
                    }
                }
            }
            int8_t *restrict out = output + (oy * out_w + ox) * C;
            int32_t c = 0;
            for (; c + 4 <= C; c += 4) {
                int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
                const int8_t *w = weight + c;
#pragma GCC unroll 9
                for (int32_t t = 0; t < taps; ++t) {
                    const uint32_t x = tg_load_u32(tap[t] + c), wv = tg_load_u32(w);
                    const uint32_t xe = tg_sxtb16(x), xo = tg_sxtb16_ror8(x);
                    const uint32_t we = tg_sxtb16(wv), wo = tg_sxtb16_ror8(wv);
                    a0 = tg_smlabb(xe, we, a0);
                    a2 = tg_smlatt(xe, we, a2);
                    a1 = tg_smlabb(xo, wo, a1);
                    a3 = tg_smlatt(xo, wo, a3);
                    w += C;
                }
                out[c] = TG_DW_OUT(a0, c);
                out[c + 1] = TG_DW_OUT(a1, c + 1);
                out[c + 2] = TG_DW_OUT(a2, c + 2);
                out[c + 3] = TG_DW_OUT(a3, c + 3);
            }
            for (; c < C; ++c) {
                int32_t a = bias[c];
                for (int32_t t = 0; t < taps; ++t) a += (int32_t)weight[t * C + c] * tap[t][c];
                out[c] = TG_DW_OUT(a, c);
            }
        }
    }
}
#undef TG_DW_OUT

#endif /* TG_CONV_DW_H */
