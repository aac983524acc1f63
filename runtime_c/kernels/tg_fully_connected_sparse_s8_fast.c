/* Fast int8 fully connected layer with sparse weights (tg_sparse.h): the input offset is folded
 * into the bias (bias' = bias + input_offset * sum(w)), so each entry costs one step, two loads
 * and a multiply-add; the output stage is tg_requant_smmulr.h's (operand
 * bound checked by the generator). */
#include "tg_requant_smmulr.h"
#include "tg_sparse.h"

void tg_fully_connected_sparse_s8_fast(const tg_fully_connected_sparse_params *p, const int8_t *input,
                                       int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *v = p->values;
        const uint8_t *st = p->steps;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const int32_t acc = tg_sparse_row1(input + n * p->in_features, &v, &st, p->pairs[o], p->bias[o]);
            const tg_rq rq = tg_rq_make(p->multiplier[o], p->shift[o]);
            const int32_t y = tg_rq_apply(&rq, acc) + p->output_offset;
            output[n * p->out_features + o] = (int8_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
        }
    }
}
