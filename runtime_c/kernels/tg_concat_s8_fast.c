/* Fast int8 concatenation (same contract as tg_concat_s8_ref, see tg_concat.h): inputs on the
 * output's grid move as word block copies, the others requantize in tg_requant_smmulr.h's form
 * (operand bound checked by ops/concat.py). */
#include "tg_block_copy.h"
#include "tg_concat.h"
#include "tg_fixedpoint.h"
#include "tg_requant_smmulr.h"

void tg_concat_s8_fast(const tg_concat_params *p, const int8_t *const *inputs, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const int32_t len = p->axis_size[i] * p->inner;
            const int8_t *in = inputs[i] + o * len;
            if (!p->requant[i]) {
                tg_copy_s8(output, in, len);
                output += len;
                continue;
            }
            tg_rq q = tg_rq_make(p->multiplier[i], p->shift[i]);
            q.pre += p->left_shift[i]; /* the pre-scale folds into the operand's left shift */
            const int32_t off = p->input_offset[i], oo = p->output_offset;
            for (int32_t j = 0; j < len; ++j) {
                *output++ = (int8_t)tg_clamp(tg_rq_apply(&q, (int32_t)in[j] + off) + oo, -128, 127);
            }
        }
    }
}
