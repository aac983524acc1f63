/* Reference float32 max pooling. See tg_float.h. */
#include "tg_float.h"

void tg_max_pool2d_f32_ref(const tg_max_pool2d_f32_params *p, const float *input, float *output)
{
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            for (int32_t c = 0; c < p->channels; ++c) {
                int first = 1;
                float m = 0.0f;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const float v = input[(iy * p->in_w + ix) * p->channels + c];
                        if (first || v > m) m = v;
                        first = 0;
                    }
                }
                output[(oy * p->out_w + ox) * p->channels + c] = tg_fclamp(m, p->act_lo, p->act_hi);
            }
        }
    }
}
