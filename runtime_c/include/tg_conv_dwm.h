/* Fast int8 depthwise convolution with channel multiplier M (groups == in_c, out_c = M * in_c),
 * used by tg_conv2d_s8_dwm, which instantiates it with constant kernel sizes.
 *
 * Output channel o = c * M + m reads input channel c. Per output pixel and input channel the taps'
 * inputs are packed once into int16 pairs (tap 2q in the low half, tap 2q+1 in the high half;
 * an odd last tap alone, its high half multiplied by 0), then each of the M outputs is one SMLAD
 * per pair against its weights: the packing is shared by the M outputs. Weights are written
 * offline as int16 pairs, [out_c][ceil(k_h*k_w / 2)] words (low half tap 2q, high half tap 2q+1,
 * 0 after the last tap). The input offset is folded into `bias` offline (over all taps), so a tap
 * outside the image reads `zrow`, in_c bytes of the input zero point in scratch. */
#ifndef TG_CONV_DWM_H
#define TG_CONV_DWM_H

#include "tg_conv_dw.h"

#define TG_DWM_MAX_TAPS 64

static inline __attribute__((always_inline)) void tg_dwm_s8(const tg_conv2d_params *p, const int8_t *input,
                                                            int8_t *restrict output, int8_t *zrow,
                                                            const int32_t kh, const int32_t kw)
{
    /* Everything read per output is a local: the int8 output stores could alias *p. */
    const int32_t C = p->in_c, M = p->out_c / p->in_c, taps = kh * kw, pairs = (taps + 1) / 2;
    const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dil_h, dw = p->dil_w;
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w, out_c = p->out_c;
    const int32_t pad_t = p->pad_t, pad_l = p->pad_l, out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *const bias = p->bias, *const mult = p->multiplier, *const shift = p->shift;
    const int8_t *const weight = p->weight;
    const int8_t *tap[TG_DWM_MAX_TAPS];
    int32_t toff[TG_DWM_MAX_TAPS];
    /* The M outputs of input channel c; X(t) is tap t's input of channel c. */
#define TG_DWM_CHANNEL(X)                                                                               \
    do {                                                                                                \
        uint32_t xp[(TG_DWM_MAX_TAPS + 1) / 2];                                                         \
        _Pragma("GCC unroll 13") for (int32_t q = 0; q < taps / 2; ++q) {                               \
            int32_t t = 2 * q;                                                                          \
            const int32_t x0 = X;                                                                       \
            t = 2 * q + 1;                                                                              \
            xp[q] = tg_pkhbt((uint32_t)x0, (uint32_t)(int32_t)X);                                       \
        }                                                                                               \
        if (taps & 1) {                                                                                 \
            const int32_t t = taps - 1;                                                                 \
            xp[pairs - 1] = (uint32_t)(int32_t)X;                                                       \
        }                                                                                               \
        for (int32_t m = 0; m < M; ++m) {                                                               \
            const int32_t o = c * M + m;                                                                \
            int32_t acc = bias[o];                                                                      \
            _Pragma("GCC unroll 13") for (int32_t q = 0; q < pairs; ++q) acc =                          \
                tg_smlad(xp[q], tg_load_u32(w + 4 * q), acc);                                           \
            w += 4 * pairs;                                                                             \
            out[o] = (int8_t)tg_dw_requant(acc, mult[o], shift[o], out_off, lo, hi);                    \
        }                                                                                               \
    } while (0)
    for (int32_t c = 0; c < C; ++c) zrow[c] = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < kh; ++ky)
        for (int32_t kx = 0; kx < kw; ++kx) toff[ky * kw + kx] = (ky * dh * in_w + kx * dw) * C;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * sh - pad_t;
        const int32_t rows_in = iy0 >= 0 && iy0 + (kh - 1) * dh < in_h;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t ix0 = ox * sw - pad_l;
            const int8_t *base = input + (iy0 * in_w + ix0) * C;
            int8_t *restrict out = output + (oy * out_w + ox) * out_c;
            const int8_t *w = weight;
            if (rows_in && ix0 >= 0 && ix0 + (kw - 1) * dw < in_w) {
                /* interior: the taps at fixed offsets from the window's corner */
                for (int32_t c = 0; c < C; ++c) TG_DWM_CHANNEL(base[toff[t] + c]);
                continue;
            }
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int32_t iy = iy0 + ky * dh;
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const int32_t ix = ix0 + kx * dw;
                    tap[ky * kw + kx] = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
                                            ? base + toff[ky * kw + kx] : zrow;
                }
            }
            for (int32_t c = 0; c < C; ++c) TG_DWM_CHANNEL(tap[t][c]);
        }
    }
#undef TG_DWM_CHANNEL
}

#endif /* TG_CONV_DWM_H */
