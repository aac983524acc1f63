#ifndef TG_FULLY_CONNECTED_H
#define TG_FULLY_CONNECTED_H
#include "tg_types.h"

/* int8 fully connected layer: input [batches][in_features], weight [out_features][in_features],
 * output [batches][out_features].
 * acc = bias[o] + sum_k w[o][k] * (in[k] + input_offset);
 * out = clamp(requant(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max). No scratch. */
typedef struct {
    int32_t batches, in_features, out_features;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *weight;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_fully_connected_params;

void tg_fully_connected_s8_ref(const tg_fully_connected_params *p, const int8_t *input, int8_t *output);
/* Fast variant: weights in tg_conv_gemm.h's tile order, input_offset * sum(w) folded into bias. */
void tg_fully_connected_s8_rows(const tg_fully_connected_params *p, const int8_t *input, int8_t *output);
/* Fast variant: four channels per inner loop on a widened row (layout in its source), bias =
 * tg_gemm_w16.h's output-stage records. */
void tg_fully_connected_s8_w16(const tg_fully_connected_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_fully_connected_s8_w16_scratch_bytes(const tg_fully_connected_params *p);

#endif
