/* Reference int8 mean: plain loops, the readable definition. See tg_mean.h. */
#include "tg_mean.h"
#include "tg_fixedpoint.h"

void tg_mean_s8_ref(const tg_mean_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *in = input + o * p->reduce * p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            int32_t acc = 0;
            for (int32_t r = 0; r < p->reduce; ++r) {
                acc += (int32_t)in[r * p->inner + i] + p->input_offset;
            }
            const int32_t scaled = tg_sat32((int64_t)acc * ((int64_t)1 << p->left_shift));
            output[o * p->inner + i] = (int8_t)tg_requantize_clamp(scaled, p->multiplier, p->shift, p->output_offset,
                                                                   -128, 127);
        }
    }
}
