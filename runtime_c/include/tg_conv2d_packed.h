#ifndef TG_CONV2D_PACKED_H
#define TG_CONV2D_PACKED_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* int8 2-D convolution with sub-byte packed weights: tg_conv2d.h on decoded weights.
 * weight uint8_t [out_c][row_bytes]: row o holds k_h*k_w*(in_c/groups) codes of weight_bits
 * (1, 2, 4) bits in HWI order, packed as in tg_bitpack.h; w = code * weight_step + weight_offset.
 * acc = bias[o] + sum w * (in + input_offset); out = clamp(requant(acc, multiplier[o], shift[o])
 * + output_offset, act_min, act_max). Out-of-image taps are skipped. No scratch. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, groups;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t weight_bits, weight_step, weight_offset, row_bytes;
    const uint8_t *weight;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_conv2d_packed_params;

void tg_conv2d_packed_s8_ref(const tg_conv2d_packed_params *p, const int8_t *input, int8_t *output);
/* Same results for groups == 1 and -input_offset in int8, through an im2col row in scratch, on
 * weights in the "pairs" layout (tg_packed_dot.h) with the offsets folded into the bias. */
void tg_conv2d_packed_s8_fast(const tg_conv2d_packed_params *p, const int8_t *input, int8_t *output,
                              void *scratch);
size_t tg_conv2d_packed_s8_fast_scratch_bytes(const tg_conv2d_packed_params *p);

#endif
