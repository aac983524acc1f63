/* Reference int8 axis permutation: six plain loops. See tg_transpose.h. */
#include "tg_transpose.h"

void tg_transpose_s8_ref(const tg_transpose_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i0 = 0; i0 < p->out_d0; ++i0) {
        for (int32_t i1 = 0; i1 < p->out_d1; ++i1) {
            for (int32_t i2 = 0; i2 < p->out_d2; ++i2) {
                for (int32_t i3 = 0; i3 < p->out_d3; ++i3) {
                    for (int32_t i4 = 0; i4 < p->out_d4; ++i4) {
                        const int8_t *in = input + i0 * p->in_s0 + i1 * p->in_s1 + i2 * p->in_s2
                                           + i3 * p->in_s3 + i4 * p->in_s4;
                        for (int32_t i5 = 0; i5 < p->out_d5; ++i5) *output++ = in[i5 * p->in_s5];
                    }
                }
            }
        }
    }
}
