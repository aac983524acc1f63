/* Reference binary convolution with pruned kernels: plain loops. See tg_bconv2d_pruned.h. */
#include "tg_bconv2d_pruned.h"

static int32_t masked_diff(const uint32_t *a, const uint32_t *b, const uint32_t *m, int32_t n)
{
    int32_t d = 0;
    for (int32_t i = 0; i < n; ++i) d += tg_popcount32((a[i] ^ b[i]) & m[i]);
    return d;
}

static int32_t pruned_dot(const tg_bconv2d_pruned_params *p, const uint32_t *input, int32_t oy, int32_t ox,
                          int32_t o)
{
    const int32_t words = tg_bitpack_words(p->in_c);
    const uint32_t *w = p->weight + o * p->k_h * p->k_w * words;
    const uint32_t *m = p->mask + o * words;
    const int32_t kept = tg_popcount_words(m, words);
    int32_t bits = 0, diff = 0;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
            const uint32_t *wk = w + (ky * p->k_w + kx) * words;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                diff += masked_diff(input + (iy * p->in_w + ix) * words, wk, m, words);
                bits += kept;
            } else if (p->pad_value) {
                for (int32_t i = 0; i < words; ++i) diff += tg_popcount32(wk[i] & m[i]); /* input +1: bits 0 */
                bits += kept;
            }
        }
    }
    return bits - 2 * diff;
}

void tg_bconv2d_pruned_b1_ref(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output)
{
    const int32_t out_words = tg_bitpack_words(p->out_c);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t pixel = oy * p->out_w + ox;
            uint32_t *out_bits = (uint32_t *)output + pixel * out_words;
            int8_t *out_s8 = (int8_t *)output + pixel * p->out_c;
            uint32_t word = 0;
            for (int32_t o = 0; o < p->out_c; ++o) {
                const int32_t dot = pruned_dot(p, input, oy, ox, o);
                TG_BDOT_STORE(p, dot, o, word, out_bits, out_s8);
            }
        }
    }
}
