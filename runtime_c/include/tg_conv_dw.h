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

static inline int8_t tg_dw_out(const tg_conv2d_params *p, int32_t acc, int32_t c)
{
    return (int8_t)tg_requantize_fast_clamp(acc, p->multiplier[c], p->shift[c], p->output_offset, p->act_min,
                                            p->act_max);
}

static inline void tg_dw_s8(const tg_conv2d_params *p, const int8_t *input, int8_t *output, int8_t *zrow,
                            const int32_t kh, const int32_t kw, const int32_t sh, const int32_t sw)
{
    const int32_t C = p->in_c, taps = kh * kw, dh = p->dil_h, dw = p->dil_w;
    const int8_t *tap[TG_DW_MAX_TAPS];
    int32_t toff[TG_DW_MAX_TAPS];
    for (int32_t c = 0; c < C; ++c) zrow[c] = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < kh; ++ky)
        for (int32_t kx = 0; kx < kw; ++kx) toff[ky * kw + kx] = (ky * dh * p->in_w + kx * dw) * C;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * sh - p->pad_t;
        const int32_t rows_in = iy0 >= 0 && iy0 + (kh - 1) * dh < p->in_h;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * sw - p->pad_l;
            const int8_t *base = input + (iy0 * p->in_w + ix0) * C;
            if (rows_in && ix0 >= 0 && ix0 + (kw - 1) * dw < p->in_w) {
                for (int32_t t = 0; t < taps; ++t) tap[t] = base + toff[t];
            } else {
                for (int32_t ky = 0; ky < kh; ++ky) {
                    const int32_t iy = iy0 + ky * dh;
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ix0 + kx * dw;
                        tap[ky * kw + kx] = (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w)
                                                ? base + toff[ky * kw + kx] : zrow;
                    }
                }
            }
            int8_t *out = output + (oy * p->out_w + ox) * C;
            int32_t c = 0;
            for (; c + 4 <= C; c += 4) {
                int32_t a0 = p->bias[c], a1 = p->bias[c + 1], a2 = p->bias[c + 2], a3 = p->bias[c + 3];
                const int8_t *w = p->weight + c;
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
                out[c] = tg_dw_out(p, a0, c);
                out[c + 1] = tg_dw_out(p, a1, c + 1);
                out[c + 2] = tg_dw_out(p, a2, c + 2);
                out[c + 3] = tg_dw_out(p, a3, c + 3);
            }
            for (; c < C; ++c) {
                int32_t a = p->bias[c];
                for (int32_t t = 0; t < taps; ++t) a += (int32_t)p->weight[t * C + c] * tap[t][c];
                out[c] = tg_dw_out(p, a, c);
            }
        }
    }
}

#endif /* TG_CONV_DW_H */
