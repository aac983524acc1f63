/* Reference int8 average pooling: plain loops, the readable definition. See tg_pool.h. */
#include "tg_pool.h"
#include "tg_fixedpoint.h"

void tg_avg_pool2d_s8_ref(const tg_pool_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int8_t *out = output + (oy * p->out_w + ox) * p->channels;
            int32_t taps = 0; /* in-image taps of this window */
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                for (int32_t kx = 0; kx < p->k_w; ++kx) {
                    const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                    if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) ++taps;
                }
            }
            const int32_t count = p->count_include_pad ? p->k_h * p->k_w : taps;
            for (int32_t c = 0; c < p->channels; ++c) {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        acc += (int32_t)input[(iy * p->in_w + ix) * p->channels + c] + p->input_offset;
                    }
                }
                if (p->divide) {
                    /* round half away from zero; C division truncates toward zero */
                    acc = (acc >= 0 ? acc + count / 2 : acc - count / 2) / count + p->output_offset;
                } else {
                    acc = tg_requantize_clamp(acc * ((int32_t)1 << p->left_shift), p->multiplier[count], p->shift[count], p->output_offset,
                                              p->act_min, p->act_max);
                }
                out[c] = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
            }
        }
    }
}
