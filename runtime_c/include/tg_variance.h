#ifndef TG_VARIANCE_H
#define TG_VARIANCE_H
#include "tg_types.h"

/* int8 variance over contiguous axes, exact in integers. The input is viewed as
 * [outer][reduce][inner] (NHWC over H and W: outer 1, reduce H*W, inner C), the output as
 * [outer][inner]. With d = in + input_offset:
 *   s1 = sum_r d, s2 = sum_r d*d                      (int64)
 *   num = reduce * s2 - s1 * s1                       (int64, = reduce^2 * population variance)
 *   num = (num + 2^(pre_shift-1)) >> pre_shift        (if pre_shift > 0; fits int32 by construction)
 *   num = num << -pre_shift                           (if pre_shift <= 0: headroom for the requantization,
 *                                                      whose first rounding is then 2^pre_shift finer)
 *   out = clamp(requant(num, multiplier, shift) + output_offset, act_min, act_max)
 * reduce <= 2^22 keeps every sum inside int64. No scratch. */
typedef struct {
    int32_t outer, reduce, inner;
    int32_t input_offset, output_offset, pre_shift, multiplier, shift, act_min, act_max;
} tg_variance_params;

void tg_variance_s8_ref(const tg_variance_params *p, const int8_t *input, int8_t *output);
/* Fast variant: int32 sums of the raw inputs, reduce < 2^17 (tg_variance_s8_fast.c). */
void tg_variance_s8_fast(const tg_variance_params *p, const int8_t *input, int8_t *output);

#endif
