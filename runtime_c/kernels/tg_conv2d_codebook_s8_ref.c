/* Reference int8 convolution with codebook weights: plain loops. See tg_codebook.h. */
#include "tg_codebook.h"
#include "tg_fixedpoint.h"

void tg_conv2d_codebook_s8_ref(const tg_conv2d_codebook_params *p, const int8_t *input, int8_t *output)
{
    const int32_t cin_g = p->in_c / p->groups;
    const int32_t cout_g = p->out_c / p->groups;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int8_t *out = output + (oy * p->out_w + ox) * p->out_c;
            for (int32_t o = 0; o < p->out_c; ++o) {
                const int32_t g = o / cout_g;
                const uint8_t *row = p->index + o * p->row_bytes;
                const int8_t *table = p->table + o * p->table_stride;
                int32_t acc = p->bias[o];
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int8_t *in = input + (iy * p->in_w + ix) * p->in_c + g * cin_g;
                        const int32_t j0 = (ky * p->k_w + kx) * cin_g;
                        for (int32_t c = 0; c < cin_g; ++c) {
                            const int32_t w = table[tg_codebook_index(row, j0 + c, p->index_bits)];
                            acc += w * ((int32_t)in[c] + p->input_offset);
                        }
                    }
                }
                out[o] = (int8_t)tg_requantize_clamp(acc, p->multiplier[o], p->shift[o], p->output_offset,
                                                     p->act_min, p->act_max);
            }
        }
    }
}
