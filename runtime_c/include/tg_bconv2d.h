#ifndef TG_BCONV2D_H
#define TG_BCONV2D_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* Binary (+-1) 2-D convolution on packed tensors (conventions: tg_bitpack.h).
 * input uint32_t [in_h][in_w][ceil(in_c/32)]; weight uint32_t OHWI [out_c][k_h][k_w][ceil(in_c/32)].
 * dot = sum over taps of in_c - 2*popcount(in ^ w). Out-of-image taps: pad_value 0 skips them
 * (zero padding, exact); pad_value 1 treats the input there as +1 (adds in_c - 2*popcount(w)).
 * Output stage per output channel as in tg_bitpack.h:
 * output_binary 1: output uint32_t [out_h][out_w][ceil(out_c/32)] from thresholds and flip,
 *   padding bits 0 (multiplier, shift, bias unused, may be NULL);
 * output_binary 0: output int8_t [out_h][out_w][out_c] from pre_shift, bias, multiplier, shift,
 *   output_offset, act_min and act_max (thresholds, flip unused, may be NULL).
 * |dot| <= k_h*k_w*in_c. No scratch. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, pad_value;
    const uint32_t *weight;
    int32_t output_binary;
    const int32_t *thresholds;
    const uint8_t *flip;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias; /* units of 2^-pre_shift dot */
    int32_t pre_shift, output_offset;
    int32_t act_min, act_max;
} tg_bconv2d_params;

/* output is uint32_t * (output_binary) or int8_t * */
void tg_bconv2d_b1_ref(const tg_bconv2d_params *p, const uint32_t *input, void *output);

#endif
