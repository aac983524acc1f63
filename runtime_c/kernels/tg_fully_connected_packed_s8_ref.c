/* Reference int8 fully connected layer with sub-byte weights: plain loops. See
 * tg_fully_connected_packed.h. */
#include "tg_fully_connected_packed.h"

void tg_fully_connected_packed_s8_ref(const tg_fully_connected_packed_params *p, const int8_t *input,
                                      int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *in = input + n * p->in_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const uint8_t *row = p->weight + o * p->row_bytes;
            int32_t acc = p->bias[o];
            for (int32_t k = 0; k < p->in_features; ++k) {
                const int32_t w = tg_subbyte_code(row, k, p->weight_bits) * p->weight_step + p->weight_offset;
                acc += w * ((int32_t)in[k] + p->input_offset);
            }
            *output++ = (int8_t)tg_requantize_clamp(acc, p->multiplier[o], p->shift[o], p->output_offset,
                                                    p->act_min, p->act_max);
        }
    }
}
