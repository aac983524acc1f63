#ifndef TG_FULLY_CONNECTED_PACKED_H
#define TG_FULLY_CONNECTED_PACKED_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* int8 fully connected layer with sub-byte packed weights: tg_fully_connected.h on decoded weights.
 * input int8_t [batches][in_features]; weight uint8_t [out_features][row_bytes], row o holding
 * in_features codes of weight_bits (1, 2, 4) bits packed as in tg_bitpack.h;
 * w = code * weight_step + weight_offset; output int8_t [batches][out_features].
 * acc = bias[o] + sum_k w[o][k] * (in[k] + input_offset);
 * out = clamp(requant(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max). No scratch. */
typedef struct {
    int32_t batches, in_features, out_features;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t weight_bits, weight_step, weight_offset, row_bytes;
    const uint8_t *weight;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_fully_connected_packed_params;

void tg_fully_connected_packed_s8_ref(const tg_fully_connected_packed_params *p, const int8_t *input,
                                      int8_t *output);
/* Same results on weights in the "pairs" layout (see its source), bias with the offsets folded in. */
void tg_fully_connected_packed_s8_fast(const tg_fully_connected_packed_params *p, const int8_t *input,
                                       int8_t *output);

#endif
