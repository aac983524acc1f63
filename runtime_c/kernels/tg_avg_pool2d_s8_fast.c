/* Fast int8 average pooling (same contract as tg_avg_pool2d_s8_ref, see tg_pool.h): the window
 * sum of four channels per word in two SXTAB16 accumulators (even and odd channels, int16 halves:
 * exact since the generator allows at most 256 taps), the input offset added once as
 * taps * input_offset, the in-image tap range computed once per output pixel, and the
 * requantization in tg_requant_smmulr.h's form (operand bound checked by ops/avg_pool2d.py). */
#include "tg_dsp_extra.h"
#include "tg_fixedpoint.h"
#include "tg_pool.h"
#include "tg_pool_taps.h"
#include "tg_requant_smmulr.h"

static inline int8_t finish(const tg_pool_params *p, int32_t sum, int32_t count, const tg_rq *q)
{
    int32_t acc;
    if (p->divide) {
        acc = (sum >= 0 ? sum + count / 2 : sum - count / 2) / count + p->output_offset;
    } else {
        acc = tg_rq_apply(q, sum) + p->output_offset;
    }
    return (int8_t)tg_clamp(acc, p->act_min, p->act_max);
}

void tg_avg_pool2d_s8_fast(const tg_pool_params *p, const int8_t *input, int8_t *output)
{
    const int32_t channels = p->channels, row = p->in_w * channels;
    const int32_t ystep = p->dil_h * row, xstep = p->dil_w * channels;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t by = oy * p->stride_h - p->pad_t;
        int32_t ky0, ky1;
        tg_pool_taps(by, p->dil_h, p->k_h, p->in_h, &ky0, &ky1);
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t bx = ox * p->stride_w - p->pad_l;
            int32_t kx0, kx1;
            tg_pool_taps(bx, p->dil_w, p->k_w, p->in_w, &kx0, &kx1);
            const int32_t taps = (ky1 - ky0) * (kx1 - kx0);
            const int32_t count = p->count_include_pad ? p->k_h * p->k_w : taps;
            const int32_t bias = taps * p->input_offset;
            tg_rq q = {0, 0, 0, 0, 0};
            if (!p->divide) {
                q = tg_rq_make(p->multiplier[count], p->shift[count]);
                q.pre += p->left_shift; /* the pre-scale folds into the operand's left shift */
            }
            const int8_t *first = input + (by + ky0 * p->dil_h) * row + (bx + kx0 * p->dil_w) * channels;
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            int32_t c = 0;
            for (; c + 4 <= channels; c += 4) {
                uint32_t even = 0, odd = 0; /* halves: channels c, c+2 and c+1, c+3 */
                const int8_t *r = first + c;
                for (int32_t ky = ky0; ky < ky1; ++ky, r += ystep) {
                    const int8_t *t = r;
                    for (int32_t kx = kx0; kx < kx1; ++kx, t += xstep) {
                        const uint32_t w = tg_load_u32(t);
                        even = tg_sxtab16(even, w);
                        odd = tg_sxtab16(odd, w >> 8);
                    }
                }
                out[c] = finish(p, (int16_t)even + bias, count, &q);
                out[c + 1] = finish(p, (int16_t)odd + bias, count, &q);
                out[c + 2] = finish(p, ((int32_t)even >> 16) + bias, count, &q);
                out[c + 3] = finish(p, ((int32_t)odd >> 16) + bias, count, &q);
            }
            for (; c < channels; ++c) {
                int32_t sum = 0;
                const int8_t *r = first + c;
                for (int32_t ky = ky0; ky < ky1; ++ky, r += ystep) {
                    const int8_t *t = r;
                    for (int32_t kx = kx0; kx < kx1; ++kx, t += xstep) sum += *t;
                }
                out[c] = finish(p, sum + bias, count, &q);
            }
        }
    }
}
