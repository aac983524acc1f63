/* Fast int8 mean (same contract as tg_mean_s8_ref, see tg_mean.h): four inner positions per word
 * summed in two SXTAB16 accumulators (int16 halves, flushed to int32 every 256 rows so they
 * cannot overflow), the input offset added once as reduce * input_offset, and the pre-scaled
 * requantization in tg_requant_smmulr.h's form (operand bound checked by ops/mean.py). */
#include "tg_dsp_extra.h"
#include "tg_fixedpoint.h"
#include "tg_mean.h"
#include "tg_requant_smmulr.h"

void tg_mean_s8_fast(const tg_mean_params *p, const int8_t *input, int8_t *output)
{
    tg_rq q = tg_rq_make(p->multiplier, p->shift);
    q.pre += p->left_shift; /* the pre-scale folds into the operand's left shift */
    const int32_t inner = p->inner, bias = p->reduce * p->input_offset;
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *in = input + o * p->reduce * inner;
        int8_t *out = output + o * inner;
        int32_t i = 0;
        for (; i + 4 <= inner; i += 4) {
            int32_t s0 = bias, s1 = bias, s2 = bias, s3 = bias;
            for (int32_t r0 = 0; r0 < p->reduce; r0 += 256) {
                const int32_t r1 = p->reduce - r0 < 256 ? p->reduce : r0 + 256;
                uint32_t even = 0, odd = 0;
                const int8_t *t = in + r0 * inner + i;
                for (int32_t r = r0; r < r1; ++r, t += inner) {
                    const uint32_t w = tg_load_u32(t);
                    even = tg_sxtab16(even, w);
                    odd = tg_sxtab16(odd, w >> 8);
                }
                s0 += (int16_t)even;
                s1 += (int16_t)odd;
                s2 += (int32_t)even >> 16;
                s3 += (int32_t)odd >> 16;
            }
            out[i] = (int8_t)tg_clamp(tg_rq_apply(&q, s0) + p->output_offset, -128, 127);
            out[i + 1] = (int8_t)tg_clamp(tg_rq_apply(&q, s1) + p->output_offset, -128, 127);
            out[i + 2] = (int8_t)tg_clamp(tg_rq_apply(&q, s2) + p->output_offset, -128, 127);
            out[i + 3] = (int8_t)tg_clamp(tg_rq_apply(&q, s3) + p->output_offset, -128, 127);
        }
        for (; i < inner; ++i) {
            int32_t s = bias;
            const int8_t *t = in + i;
            for (int32_t r = 0; r < p->reduce; ++r, t += inner) s += *t;
            out[i] = (int8_t)tg_clamp(tg_rq_apply(&q, s) + p->output_offset, -128, 127);
        }
    }
}
