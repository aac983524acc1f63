#ifndef TG_MAXIMUM_H
#define TG_MAXIMUM_H
#include "tg_types.h"

/* int8 element-wise maximum of two tensors of one shape and one quantization grid:
 *   out[i] = max(in1[i], in2[i]) for i < size
 * output may equal input1 (in place). No scratch. */
typedef struct {
    int32_t size;
} tg_maximum_params;

void tg_maximum_s8_ref(const tg_maximum_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* out[i] = min(in1[i], in2[i]), same layout and in-place rule. */
void tg_minimum_s8_ref(const tg_maximum_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif
