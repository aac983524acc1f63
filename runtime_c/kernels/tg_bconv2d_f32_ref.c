/* Reference binary convolution with LCE's float32 output transform. See tg_float.h. */
#include "tg_float.h"
#include "tg_bitpack.h"

void tg_bconv2d_f32_ref(const tg_bconv2d_f32_params *p, const uint32_t *input, float *output)
{
    const int32_t words = tg_bitpack_words(p->in_c);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            for (int32_t o = 0; o < p->out_c; ++o) {
                const uint32_t *w = p->weight + o * p->k_h * p->k_w * words;
                int32_t a = 0;       /* popcount(in ^ w), out-of-image taps read bits 0 */
                int32_t outside = 0; /* sum of tap_sum over out-of-image taps */
                int32_t border = 0;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        const uint32_t *wk = w + (ky * p->k_w + kx) * words;
                        if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                            a += tg_xor_popcount(input + (iy * p->in_w + ix) * words, wk, words);
                        } else {
                            a += tg_popcount_words(wk, words);
                            border = 1;
                            if (!p->pad_value) outside += p->tap_sum[(o * p->k_h + ky) * p->k_w + kx];
                        }
                    }
                }
                int32_t x = 2 * a;
                x = x < p->clamp_min ? p->clamp_min : (x > p->clamp_max ? p->clamp_max : x);
                const float prod = (float)x * tg_f32(p->multiplier[o]);
                float y = prod + tg_f32(p->bias[o]);
                if (!p->pad_value && border) {
                    const float corr = tg_f32(p->zp_multiplier[o]) * (float)outside;
                    y = y + corr;
                }
                output[(oy * p->out_w + ox) * p->out_c + o] = y;
            }
        }
    }
}
