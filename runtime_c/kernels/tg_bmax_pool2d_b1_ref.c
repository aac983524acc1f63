/* Reference binary max pooling: plain loops. See tg_bmax_pool2d.h. */
#include "tg_bmax_pool2d.h"

void tg_bmax_pool2d_b1_ref(const tg_bmax_pool2d_params *p, const uint32_t *input, uint32_t *output)
{
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            uint32_t *out = output + (oy * p->out_w + ox) * p->words;
            for (int32_t c = 0; c < p->words; ++c) {
                uint32_t acc = 0xFFFFFFFFu; /* identity of AND */
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx;
                        if (ix < 0 || ix >= p->in_w) continue;
                        acc &= input[(iy * p->in_w + ix) * p->words + c];
                    }
                }
                out[c] = acc;
            }
        }
    }
}
