#ifndef TG_CONCAT_H
#define TG_CONCAT_H
#include "tg_types.h"

/* int8 concatenation of num_inputs tensors along one axis. Seen as [outer][axis][inner], input i
 * is [outer][axis_size[i]][inner] and the output is [outer][sum of axis_size][inner]: for each
 * outer index the kernel appends axis_size[i] * inner elements of every input in order.
 * Input i is copied when requant[i] == 0 (same scale and zero point as the output), else
 *   y = clamp(requant((x + input_offset[i]) << left_shift[i], multiplier[i], shift[i]) + output_offset, -128, 127)
 * (left_shift: the pre-scale, see tinygen/quant/params.py; at most 22, so the operand fits int32).
 * `inputs` is an array of num_inputs pointers. No scratch. */
typedef struct {
    int32_t num_inputs, outer, inner, output_offset;
    const int32_t *axis_size;
    const int32_t *input_offset;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *requant;
    const int32_t *left_shift;
} tg_concat_params;

void tg_concat_s8_ref(const tg_concat_params *p, const int8_t *const *inputs, int8_t *output);
/* Same results: word block copies, fast requantization (operands bounded by ops/concat.py). */
void tg_concat_s8_fast(const tg_concat_params *p, const int8_t *const *inputs, int8_t *output);

#endif
