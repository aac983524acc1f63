/* Reference int8 concatenation: plain loops. See tg_concat.h. */
#include "tg_concat.h"
#include "tg_fixedpoint.h"

void tg_concat_s8_ref(const tg_concat_params *p, const int8_t *const *inputs, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const int32_t len = p->axis_size[i] * p->inner;
            const int8_t *in = inputs[i] + o * len;
            if (!p->requant[i]) {
                for (int32_t j = 0; j < len; ++j) *output++ = in[j];
                continue;
            }
            for (int32_t j = 0; j < len; ++j) {
                const int32_t x = ((int32_t)in[j] + p->input_offset[i]) * ((int32_t)1 << p->left_shift[i]);
                *output++ = (int8_t)tg_requantize_clamp(x, p->multiplier[i], p->shift[i], p->output_offset, -128, 127);
            }
        }
    }
}
