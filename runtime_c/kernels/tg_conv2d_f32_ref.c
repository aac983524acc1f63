/* Reference float32 convolution: plain loops, the readable definition. See tg_float.h. */
#include "tg_float.h"

void tg_conv2d_f32_ref(const tg_conv2d_f32_params *p, const float *input, float *output)
{
    const int32_t cg = p->in_c / p->groups;
    const int32_t opg = p->out_c / p->groups;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            for (int32_t o = 0; o < p->out_c; ++o) {
                const int32_t c0 = (o / opg) * cg;
                float acc = 0.0f;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const float *in = input + (iy * p->in_w + ix) * p->in_c + c0;
                        const uint32_t *w = p->weight + ((o * p->k_h + ky) * p->k_w + kx) * cg;
                        for (int32_t c = 0; c < cg; ++c) {
                            const float prod = in[c] * tg_f32(w[c]);
                            acc = acc + prod;
                        }
                    }
                }
                const float y = acc + tg_f32(p->bias[o]);
                output[(oy * p->out_w + ox) * p->out_c + o] = tg_fclamp(y, p->act_lo, p->act_hi);
            }
        }
    }
}
