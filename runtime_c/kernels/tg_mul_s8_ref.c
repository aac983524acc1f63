/* Reference int8 broadcasting mul: plain loops. See tg_elementwise.h. */
#include "tg_elementwise.h"
#include "tg_fixedpoint.h"

void tg_mul_s8_ref(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t h = 0; h < p->out_h; ++h) {
            for (int32_t w = 0; w < p->out_w; ++w) {
                const int8_t *in1 = input1 + n * p->in1_sn + h * p->in1_sh + w * p->in1_sw;
                const int8_t *in2 = input2 + n * p->in2_sn + h * p->in2_sh + w * p->in2_sw;
                for (int32_t c = 0; c < p->out_c; ++c) {
                    const int32_t raw = ((int32_t)in1[c * p->in1_sc] + p->input1_offset)
                                      * ((int32_t)in2[c * p->in2_sc] + p->input2_offset);
                    *output++ = (int8_t)tg_requantize_clamp(raw, p->multiplier, p->shift, p->output_offset,
                                                            p->act_min, p->act_max);
                }
            }
        }
    }
}
