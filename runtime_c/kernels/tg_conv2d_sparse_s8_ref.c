/* Reference int8 convolution with sparse weights: plain loops over each row's entries. See
 * tg_sparse.h. */
#include "tg_fixedpoint.h"
#include "tg_sparse.h"

void tg_conv2d_sparse_s8_ref(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output)
{
    const int32_t cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int8_t *v = p->values;
            const uint8_t *st = p->steps;
            for (int32_t o = 0; o < p->out_c; ++o) {
                int32_t acc = p->bias[o], pos = 0;
                for (int32_t j = 0; j < 2 * (int32_t)p->pairs[o]; ++j) {
                    pos += (j & 1) ? (st[j >> 1] >> 4) : (st[j >> 1] & 15);
                    const int32_t tap = pos / cin_g, c = (o / cout_g) * cin_g + pos % cin_g;
                    const int32_t iy = oy * p->stride_h - p->pad_t + (tap / p->k_w) * p->dil_h;
                    const int32_t ix = ox * p->stride_w - p->pad_l + (tap % p->k_w) * p->dil_w;
                    if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w)
                        acc += v[j] * ((int32_t)input[(iy * p->in_w + ix) * p->in_c + c] + p->input_offset);
                }
                v += 2 * p->pairs[o];
                st += p->pairs[o];
                output[(oy * p->out_w + ox) * p->out_c + o] = (int8_t)tg_requantize_clamp(
                    acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}
