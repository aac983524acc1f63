#ifndef TG_PRELU_H
#define TG_PRELU_H
#include "tg_types.h"

/* int8 parametric ReLU (TFLite Micro's PRELU). For i < size, with v = input[i] + input_offset:
 *   out[i] = clamp((v >= 0 ? tg_requantize(v, multiplier_pos, shift_pos)
 *                           : tg_requantize(v * (alpha[i % alpha_size] + alpha_offset), multiplier_neg, shift_neg))
 *                  + output_offset, -128, 127)
 * alpha repeats over the trailing dims (alpha_size divides size). output may equal input. No scratch. */
typedef struct {
    int32_t size, alpha_size;
    int32_t input_offset, alpha_offset, output_offset;
    int32_t multiplier_pos, shift_pos, multiplier_neg, shift_neg;
} tg_prelu_params;

void tg_prelu_s8_ref(const tg_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output);

#endif
