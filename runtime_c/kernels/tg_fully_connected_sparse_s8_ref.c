/* Reference int8 fully connected layer with sparse weights. See tg_sparse.h. */
#include "tg_fixedpoint.h"
#include "tg_sparse.h"

void tg_fully_connected_sparse_s8_ref(const tg_fully_connected_sparse_params *p, const int8_t *input,
                                      int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *x = input + n * p->in_features;
        const int8_t *v = p->values;
        const uint8_t *st = p->steps;
        for (int32_t o = 0; o < p->out_features; ++o) {
            int32_t acc = p->bias[o], pos = 0;
            for (int32_t j = 0; j < 2 * (int32_t)p->pairs[o]; ++j) {
                pos += (j & 1) ? (st[j >> 1] >> 4) : (st[j >> 1] & 15);
                acc += v[j] * ((int32_t)x[pos] + p->input_offset);
            }
            v += 2 * p->pairs[o];
            st += p->pairs[o];
            output[n * p->out_features + o] = (int8_t)tg_requantize_clamp(
                acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
        }
    }
}
