#ifndef TG_TRANSPOSE_H
#define TG_TRANSPOSE_H
#include "tg_types.h"

/* int8 axis permutation of a dense tensor viewed at rank <= 6 (TRANSPOSE, DEPTH_TO_SPACE,
 * SPACE_TO_DEPTH). The output is written densely as [out_d0]...[out_d5] (lower ranks padded with
 * leading 1s) from input[i0 * in_s0 + ... + i5 * in_s5], in_s<d> being the input's dense element
 * stride of the axis that output axis d reads. No requantization, no scratch; not in place. */
typedef struct {
    int32_t out_d0, out_d1, out_d2, out_d3, out_d4, out_d5;
    int32_t in_s0, in_s1, in_s2, in_s3, in_s4, in_s5;
} tg_transpose_params;

void tg_transpose_s8_ref(const tg_transpose_params *p, const int8_t *input, int8_t *output);

#endif
