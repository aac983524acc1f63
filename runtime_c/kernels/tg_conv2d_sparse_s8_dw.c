/* Sparse int8 depthwise convolution (groups == in_c == out_c; same results as
 * tg_conv2d_sparse_s8_ref, see tg_sparse.h): channel by channel, the row's non-zero taps are
 * decoded once into (dy, dx, w), then each output pixel adds w * (in + input_offset) over those
 * taps only (out-of-image taps skipped, as in the reference; pixels whose window lies inside the
 * image take input_offset * sum(w) in the bias instead); the output stage is tg_requant_fast.h's.
 * The sums wrap as the reference's int32 accumulation does: the generator bounds them (bias fold
 * checked with conv_gemm.folded_bias). */
#include "tg_requant_fast.h"
#include "tg_sparse.h"

#define TG_SPARSE_DW_MAX_TAPS 64

void tg_conv2d_sparse_s8_dw(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output)
{
    /* locals: the int8 output stores may alias *p, which would make the compiler reload it */
    const int32_t cin = p->in_c, in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t sh_y = p->stride_h, sh_x = p->stride_w, pad_t = p->pad_t, pad_l = p->pad_l;
    const int32_t reach_y = (p->k_h - 1) * p->dil_h + 1, reach_x = (p->k_w - 1) * p->dil_w + 1;
    const int32_t ioff = p->input_offset, off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t cout = p->out_c;
    const int8_t *v = p->values;
    const uint8_t *st = p->steps;
    for (int32_t c = 0; c < cout; ++c) {
        int32_t dy[TG_SPARSE_DW_MAX_TAPS], dx[TG_SPARSE_DW_MAX_TAPS], at[TG_SPARSE_DW_MAX_TAPS];
        int32_t w[TG_SPARSE_DW_MAX_TAPS];
        int32_t n = 0, pos = 0, sum_w = 0;
        const int32_t entries = 2 * (int32_t)p->pairs[c];
        for (int32_t j = 0; j < entries; ++j) {
            pos += (j & 1) ? (st[j >> 1] >> 4) : (st[j >> 1] & 15);
            if (v[j] != 0 && n < TG_SPARSE_DW_MAX_TAPS) {
                dy[n] = (pos / p->k_w) * p->dil_h;
                dx[n] = (pos % p->k_w) * p->dil_w;
                at[n] = (dy[n] * in_w + dx[n]) * cin;
                w[n] = v[j];
                sum_w += v[j];
                ++n;
            }
        }
        v += entries;
        st += entries / 2;
        const int32_t bias = p->bias[c], m = p->multiplier[c], sh = p->shift[c];
        /* inside the image every tap is added, so input_offset * sum(w) joins the bias there */
        const int32_t bias_inside = (int32_t)((uint32_t)bias + (uint32_t)ioff * (uint32_t)sum_w);
        const int8_t *in_c = input + c;
        int8_t *out = output + c;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * sh_y - pad_t;
            const int rows_in = iy0 >= 0 && iy0 + reach_y <= in_h;
            for (int32_t ox = 0; ox < out_w; ++ox, out += cout) {
                const int32_t ix0 = ox * sh_x - pad_l;
                int32_t acc;
                if (rows_in && ix0 >= 0 && ix0 + reach_x <= in_w) {
                    const int8_t *base = in_c + (iy0 * in_w + ix0) * cin;
                    acc = bias_inside;
                    for (int32_t e = 0; e < n; ++e) acc += w[e] * base[at[e]];
                } else {
                    acc = bias;
                    for (int32_t e = 0; e < n; ++e) {
                        const int32_t iy = iy0 + dy[e], ix = ix0 + dx[e];
                        if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
                            acc += w[e] * ((int32_t)in_c[(iy * in_w + ix) * cin] + ioff);
                    }
                }
                *out = (int8_t)tg_requantize_fast_clamp(acc, m, sh, off, lo, hi);
            }
        }
    }
}
