/* Reference int8 broadcasting subtract: add's loops with b negated. See tg_elementwise.h. */
#include "tg_elementwise.h"
#include "tg_fixedpoint.h"

static int32_t scaled(int32_t x, int32_t offset, int32_t left_shift, int32_t m, int32_t shift)
{
    return tg_requantize(tg_sat32((int64_t)(x + offset) * ((int64_t)1 << left_shift)), m, shift);
}

void tg_sub_s8_ref(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t h = 0; h < p->out_h; ++h) {
            for (int32_t w = 0; w < p->out_w; ++w) {
                const int8_t *in1 = input1 + n * p->in1_sn + h * p->in1_sh + w * p->in1_sw;
                const int8_t *in2 = input2 + n * p->in2_sn + h * p->in2_sh + w * p->in2_sw;
                for (int32_t c = 0; c < p->out_c; ++c) {
                    const int32_t a = scaled(in1[c * p->in1_sc], p->input1_offset, p->left_shift,
                                             p->input1_multiplier, p->input1_shift);
                    const int32_t b = scaled(in2[c * p->in2_sc], p->input2_offset, p->left_shift,
                                             p->input2_multiplier, p->input2_shift);
                    *output++ = (int8_t)tg_requantize_clamp(tg_sat32((int64_t)a - b), p->output_multiplier,
                                                            p->output_shift, p->output_offset, p->act_min,
                                                            p->act_max);
                }
            }
        }
    }
}
