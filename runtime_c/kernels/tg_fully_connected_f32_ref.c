/* Reference float32 fully connected layer. See tg_float.h. */
#include "tg_float.h"

void tg_fully_connected_f32_ref(const tg_fully_connected_f32_params *p, const float *input, float *output)
{
    for (int32_t o = 0; o < p->out_features; ++o) {
        const uint32_t *w = p->weight + o * p->in_features;
        float acc = 0.0f;
        for (int32_t k = 0; k < p->in_features; ++k) {
            const float prod = input[k] * tg_f32(w[k]);
            acc = acc + prod;
        }
        output[o] = tg_fclamp(acc + tg_f32(p->bias[o]), p->act_lo, p->act_hi);
    }
}
