/* Reference int8 strided slice: plain loops. See tg_slice.h. */
#include "tg_slice.h"

void tg_slice_s8_ref(const tg_slice_params *p, const int8_t *input, int8_t *output)
{
    const int8_t *base = input + p->in_offset;
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t h = 0; h < p->out_h; ++h) {
            for (int32_t w = 0; w < p->out_w; ++w) {
                const int8_t *in = base + n * p->in_sn + h * p->in_sh + w * p->in_sw;
                for (int32_t c = 0; c < p->out_c; ++c) *output++ = in[c * p->in_sc];
            }
        }
    }
}
