/* Reference int8 softmax: plain loops, the readable definition. See tg_softmax.h. */
#include "tg_softmax.h"
#include "tg_fixedpoint.h"

static uint32_t tg_softmax_exp(const tg_softmax_params *p, int32_t d)
{
    return d < p->table_size ? (uint32_t)p->table[d] : 0u;
}

void tg_softmax_s8_ref(const tg_softmax_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *in = input + r * p->row_size;
        int8_t *out = output + r * p->row_size;
        int32_t mx = in[0];
        for (int32_t i = 1; i < p->row_size; ++i) {
            if (in[i] > mx) mx = in[i];
        }
        uint32_t sum = 0;
        for (int32_t i = 0; i < p->row_size; ++i) {
            sum += tg_softmax_exp(p, mx - in[i]);
        }
        for (int32_t i = 0; i < p->row_size; ++i) {
            const uint64_t e = tg_softmax_exp(p, mx - in[i]);
            const int32_t prob = (int32_t)(((e << 30) + (sum >> 1)) / sum);
            out[i] = (int8_t)tg_requantize_clamp(prob, p->multiplier, p->shift, p->output_offset, p->act_min,
                                                 p->act_max);
        }
    }
}
