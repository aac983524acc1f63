/* Reference int8 parametric ReLU. See tg_prelu.h. */
#include "tg_prelu.h"
#include "tg_fixedpoint.h"

void tg_prelu_s8_ref(const tg_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output)
{
    int32_t k = 0;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] + p->input_offset;
        const int32_t r = v >= 0 ? tg_requantize(v, p->multiplier_pos, p->shift_pos)
                                 : tg_requantize(v * ((int32_t)alpha[k] + p->alpha_offset), p->multiplier_neg,
                                                 p->shift_neg);
        output[i] = (int8_t)tg_clamp(r + p->output_offset, -128, 127);
        if (++k == p->alpha_size) k = 0;
    }
}
