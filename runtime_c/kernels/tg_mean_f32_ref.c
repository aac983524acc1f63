/* Reference float32 mean. See tg_float.h. */
#include "tg_float.h"

void tg_mean_f32_ref(const tg_mean_f32_params *p, const float *input, float *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const float *in = input + o * p->reduce * p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            float acc = 0.0f;
            for (int32_t r = 0; r < p->reduce; ++r) {
                acc = acc + in[r * p->inner + i];
            }
            output[o * p->inner + i] = acc / (float)p->reduce;
        }
    }
}
