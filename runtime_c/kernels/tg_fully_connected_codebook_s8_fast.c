/* Fast int8 fully connected layer with codebook weights (same results as the reference, see
 * tg_codebook.h): each row's look-ups are done once into int16 scratch, then one SMLAD dot
 * product per batch row; tg_requant_fast.h's output stage. */
#include "tg_codebook.h"
#include "tg_requant_fast.h"

size_t tg_fully_connected_codebook_s8_fast_scratch_bytes(const tg_fully_connected_codebook_params *p)
{
    return (size_t)((2 * p->in_features + 3) & ~3);
}

void tg_fully_connected_codebook_s8_fast(const tg_fully_connected_codebook_params *p, const int8_t *input,
                                         int8_t *output, void *scratch)
{
    int16_t *w = (int16_t *)scratch;
    for (int32_t o = 0; o < p->out_features; ++o) {
        tg_codebook_decode_row(p->index + o * p->row_bytes, p->table + o * p->table_stride, p->index_bits, 1,
                               p->in_features, w);
        for (int32_t n = 0; n < p->batches; ++n) {
            const int32_t acc = tg_codebook_dot(input + n * p->in_features, w, p->in_features, p->input_offset,
                                                p->bias[o]);
            output[n * p->out_features + o] = (int8_t)tg_requantize_fast_clamp(
                acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
        }
    }
}
