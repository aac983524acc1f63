/* Reference float32 broadcasting add/mul of two activations. See tg_float.h. */
#include "tg_float.h"

void tg_elementwise2_f32_ref(const tg_elementwise2_f32_params *p, const float *input1, const float *input2, float *output)
{
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t h = 0; h < p->out_h; ++h) {
            for (int32_t w = 0; w < p->out_w; ++w) {
                const float *a = input1 + n * p->in1_sn + h * p->in1_sh + w * p->in1_sw;
                const float *b = input2 + n * p->in2_sn + h * p->in2_sh + w * p->in2_sw;
                for (int32_t c = 0; c < p->out_c; ++c) {
                    const float x = a[c * p->in1_sc], y = b[c * p->in2_sc];
                    *output++ = tg_fclamp(p->op ? x * y : x + y, p->act_lo, p->act_hi);
                }
            }
        }
    }
}
