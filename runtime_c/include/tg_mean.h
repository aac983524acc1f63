#ifndef TG_MEAN_H
#define TG_MEAN_H
#include "tg_types.h"

/* int8 mean over contiguous axes. The input is viewed as [outer][reduce][inner] (e.g. NHWC
 * over H and W: outer 1, reduce H*W, inner C), the output as [outer][inner]:
 *   acc = sum_r (in[o][r][i] + input_offset)
 *   out[o][i] = clamp(requant(acc << left_shift, multiplier, shift) + output_offset, -128, 127)
 * with the real multiplier s_in / (s_out * reduce) divided by 2^left_shift (the pre-scale, see
 * tinygen/quant/params.py; the generator bounds the shifted sum to int32). No scratch. */
typedef struct {
    int32_t outer, reduce, inner;
    int32_t input_offset, output_offset, multiplier, shift, left_shift;
} tg_mean_params;

void tg_mean_s8_ref(const tg_mean_params *p, const int8_t *input, int8_t *output);
/* Same results, four inner positions per word (for operands ops/mean.py bounds). */
void tg_mean_s8_fast(const tg_mean_params *p, const int8_t *input, int8_t *output);

#endif
