/* Reference int8 variance: plain loops, the readable definition. See tg_variance.h. */
#include "tg_variance.h"
#include "tg_fixedpoint.h"

void tg_variance_s8_ref(const tg_variance_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *in = input + o * p->reduce * p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            int64_t s1 = 0, s2 = 0;
            for (int32_t r = 0; r < p->reduce; ++r) {
                const int32_t d = (int32_t)in[r * p->inner + i] + p->input_offset;
                s1 += d;
                s2 += d * d;
            }
            int64_t num = (int64_t)p->reduce * s2 - s1 * s1;
            if (p->pre_shift > 0) {
                num = (num + ((int64_t)1 << (p->pre_shift - 1))) >> p->pre_shift;
            } else {
                num *= (int64_t)1 << -p->pre_shift; /* num >= 0 */
            }
            output[o * p->inner + i] = (int8_t)tg_requantize_clamp((int32_t)num, p->multiplier, p->shift,
                                                                   p->output_offset, p->act_min, p->act_max);
        }
    }
}
