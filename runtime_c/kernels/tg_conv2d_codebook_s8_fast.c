/* Fast int8 convolution with codebook weights, groups == 1 (same results as
 * tg_conv2d_codebook_s8_ref, see tg_codebook.h): output channel by output channel, the row's
 * k_h*k_w*in_c table look-ups are done once into int16 scratch and reused for every output pixel;
 * each in-image tap is then one SMLAD dot product over in_c channels (out-of-image taps skipped,
 * as in the reference, so the input offset stays inside the dot). */
#include "tg_codebook.h"
#include "tg_fixedpoint.h"

size_t tg_conv2d_codebook_s8_fast_scratch_bytes(const tg_conv2d_codebook_params *p)
{
    return (size_t)((2 * p->k_h * p->k_w * p->in_c + 3) & ~3);
}

void tg_conv2d_codebook_s8_fast(const tg_conv2d_codebook_params *p, const int8_t *input, int8_t *output,
                                void *scratch)
{
    int16_t *w = (int16_t *)scratch;
    const int32_t cin = p->in_c;
    for (int32_t o = 0; o < p->out_c; ++o) {
        tg_codebook_decode_row(p->index + o * p->row_bytes, p->table + o * p->table_stride, p->index_bits,
                               p->k_h * p->k_w, cin, w);
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                int32_t acc = p->bias[o];
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        acc = tg_codebook_dot(input + (iy * p->in_w + ix) * cin, w + (ky * p->k_w + kx) * cin, cin,
                                              p->input_offset, acc);
                    }
                }
                output[(oy * p->out_w + ox) * p->out_c + o] = (int8_t)tg_requantize_clamp(
                    acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}
