/* Reference conv2d_bits: plain loops, the readable definition. See tg_conv2d_bits.h. */
#include "tg_conv2d_bits.h"

void tg_conv2d_bits_s8_ref(const tg_conv2d_bits_params *p, const int8_t *input, uint32_t *output)
{
    const int32_t words = tg_bitpack_words(p->out_c);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            uint32_t *out = output + (oy * p->out_w + ox) * words;
            for (int32_t i = 0; i < words; ++i) out[i] = 0;
            for (int32_t o = 0; o < p->out_c; ++o) {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int8_t *in = input + (iy * p->in_w + ix) * p->in_c;
                        const int8_t *w = p->weight + ((o * p->k_h + ky) * p->k_w + kx) * p->in_c;
                        for (int32_t c = 0; c < p->in_c; ++c) acc += (int32_t)w[c] * ((int32_t)in[c] + p->input_offset);
                    }
                }
                const int32_t bit = p->flip[o] ? acc > p->thresholds[o] : acc < p->thresholds[o];
                out[o / TG_WORD_BITS] |= (uint32_t)bit << (o % TG_WORD_BITS);
            }
        }
    }
}
