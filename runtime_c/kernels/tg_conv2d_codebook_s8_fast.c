/* Fast int8 convolution with codebook weights, groups == 1 (same results as
 * tg_conv2d_codebook_s8_ref, see tg_codebook.h): output channel by output channel, the row's
 * k_h*k_w*in_c table look-ups are done once into int16 scratch and reused for every output pixel;
 * each in-image tap is then one SMLAD dot product over in_c channels (out-of-image taps skipped,
 * as in the reference, so the input offset stays inside the dot); tg_requant_fast.h's output stage. */
#include "tg_codebook.h"
#include "tg_requant_fast.h"

size_t tg_conv2d_codebook_s8_fast_scratch_bytes(const tg_conv2d_codebook_params *p)
{
    return (size_t)((2 * p->k_h * p->k_w * p->in_c + 3) & ~3);
}

void tg_conv2d_codebook_s8_fast(const tg_conv2d_codebook_params *p, const int8_t *input, int8_t *output,
                                void *scratch)
{
    /* locals: the int8 output stores may alias *p, which would make the compiler reload it */
    int16_t *w = (int16_t *)scratch;
    const int32_t cin = p->in_c, in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t k_h = p->k_h, k_w = p->k_w, cout = p->out_c, ioff = p->input_offset;
    const int32_t s_y = p->stride_h, s_x = p->stride_w, d_y = p->dil_h, d_x = p->dil_w, pad_t = p->pad_t, pad_l = p->pad_l;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int direct = k_h == 1 && k_w == 1 && s_y == 1 && s_x == 1 && pad_t == 0 && pad_l == 0 && in_h == out_h &&
                       in_w == out_w;
    for (int32_t o = 0; o < cout; ++o) {
        tg_codebook_decode_row(p->index + o * p->row_bytes, p->table + o * p->table_stride, p->index_bits,
                               k_h * k_w, cin, w);
        const int32_t bias = p->bias[o], m = p->multiplier[o], sh = p->shift[o];
        int8_t *out = output + o;
        if (direct) {  /* 1x1/1 unpadded: pixel i reads input + i * cin; two pixels per pass */
            const int32_t pixels = out_h * out_w;
            int32_t px = 0;
            for (; px + 2 <= pixels; px += 2, out += 2 * cout) {
                int32_t a0 = bias, a1 = bias;
                tg_codebook_dot2(input + px * cin, input + (px + 1) * cin, w, cin, ioff, &a0, &a1);
                out[0] = (int8_t)tg_requantize_fast_clamp(a0, m, sh, off, lo, hi);
                out[cout] = (int8_t)tg_requantize_fast_clamp(a1, m, sh, off, lo, hi);
            }
            if (px < pixels)
                *out = (int8_t)tg_requantize_fast_clamp(tg_codebook_dot(input + px * cin, w, cin, ioff, bias), m, sh,
                                                        off, lo, hi);
            continue;
        }
        for (int32_t oy = 0; oy < out_h; ++oy) {
            for (int32_t ox = 0; ox < out_w; ++ox, out += cout) {
                int32_t acc = bias;
                for (int32_t ky = 0; ky < k_h; ++ky) {
                    const int32_t iy = oy * s_y - pad_t + ky * d_y;
                    if (iy < 0 || iy >= in_h) continue;
                    for (int32_t kx = 0; kx < k_w; ++kx) {
                        const int32_t ix = ox * s_x - pad_l + kx * d_x;
                        if (ix < 0 || ix >= in_w) continue;
                        acc = tg_codebook_dot(input + (iy * in_w + ix) * cin, w + (ky * k_w + kx) * cin, cin, ioff, acc);
                    }
                }
                *out = (int8_t)tg_requantize_fast_clamp(acc, m, sh, off, lo, hi);
            }
        }
    }
}
