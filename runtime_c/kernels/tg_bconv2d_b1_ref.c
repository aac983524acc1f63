/* Reference binary convolution: plain loops, the readable definition. See tg_bconv2d.h. */
#include "tg_bconv2d.h"

/* dot product of output channel o at output pixel (oy, ox) */
static int32_t bconv_dot(const tg_bconv2d_params *p, const uint32_t *input, int32_t oy, int32_t ox, int32_t o)
{
    const int32_t words = tg_bitpack_words(p->in_c);
    const uint32_t *w = p->weight + o * p->k_h * p->k_w * words;
    int32_t bits = 0; /* real channels summed over */
    int32_t diff = 0; /* of which differ in sign */
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
            const uint32_t *wk = w + (ky * p->k_w + kx) * words;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                diff += tg_xor_popcount(input + (iy * p->in_w + ix) * words, wk, words);
                bits += p->in_c;
            } else if (p->pad_value) {
                diff += tg_popcount_words(wk, words); /* input +1: bits 0 */
                bits += p->in_c;
            }
        }
    }
    return bits - 2 * diff;
}

void tg_bconv2d_b1_ref(const tg_bconv2d_params *p, const uint32_t *input, void *output)
{
    const int32_t out_words = tg_bitpack_words(p->out_c);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t pixel = oy * p->out_w + ox;
            uint32_t *out_bits = (uint32_t *)output + pixel * out_words;
            int8_t *out_s8 = (int8_t *)output + pixel * p->out_c;
            uint32_t word = 0;
            for (int32_t o = 0; o < p->out_c; ++o) {
                const int32_t dot = bconv_dot(p, input, oy, ox, o);
                TG_BDOT_STORE(p, dot, o, word, out_bits, out_s8);
            }
        }
    }
}
