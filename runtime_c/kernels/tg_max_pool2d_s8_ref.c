/* Reference int8 max pooling: plain loops, the readable definition. See tg_pool.h. */
#include "tg_pool.h"
#include "tg_fixedpoint.h"

void tg_max_pool2d_s8_ref(const tg_pool_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int8_t *out = output + (oy * p->out_w + ox) * p->channels;
            for (int32_t c = 0; c < p->channels; ++c) {
                int32_t m = -128;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int32_t v = input[(iy * p->in_w + ix) * p->channels + c];
                        if (v > m) m = v;
                    }
                }
                out[c] = (int8_t)tg_clamp(m, p->act_min, p->act_max);
            }
        }
    }
}
