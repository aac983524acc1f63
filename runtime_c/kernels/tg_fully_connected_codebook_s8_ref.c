/* Reference int8 fully connected layer with codebook weights: plain loops. See tg_codebook.h. */
#include "tg_codebook.h"
#include "tg_fixedpoint.h"

void tg_fully_connected_codebook_s8_ref(const tg_fully_connected_codebook_params *p, const int8_t *input,
                                        int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *x = input + n * p->in_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const uint8_t *row = p->index + o * p->row_bytes;
            const int8_t *table = p->table + o * p->table_stride;
            int32_t acc = p->bias[o];
            for (int32_t k = 0; k < p->in_features; ++k)
                acc += table[tg_codebook_index(row, k, p->index_bits)] * ((int32_t)x[k] + p->input_offset);
            output[n * p->out_features + o] = (int8_t)tg_requantize_clamp(
                acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
        }
    }
}
