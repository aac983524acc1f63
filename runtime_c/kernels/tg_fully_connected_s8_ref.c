/* Reference int8 fully connected layer: plain loops. See tg_fully_connected.h. */
#include "tg_fully_connected.h"
#include "tg_fixedpoint.h"

void tg_fully_connected_s8_ref(const tg_fully_connected_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *in = input + n * p->in_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const int8_t *w = p->weight + o * p->in_features;
            int32_t acc = p->bias[o];
            for (int32_t k = 0; k < p->in_features; ++k) {
                acc += (int32_t)w[k] * ((int32_t)in[k] + p->input_offset);
            }
            *output++ = (int8_t)tg_requantize_clamp(acc, p->multiplier[o], p->shift[o], p->output_offset,
                                                    p->act_min, p->act_max);
        }
    }
}
