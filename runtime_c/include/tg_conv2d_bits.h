#ifndef TG_CONV2D_BITS_H
#define TG_CONV2D_BITS_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* int8 convolution written as packed signs (the first layer of a binarized network: conv -> BN ->
 * sign folded into one threshold per output channel; conventions of the packed output: tg_bitpack.h).
 *   acc[o] = sum over in-image taps of w[o][i][j][c] * (in[y][x][c] + input_offset)
 *   bit[o] = flip[o] ? acc > thresholds[o] : acc < thresholds[o]          (bit 1 means -1)
 * input int8_t [in_h][in_w][in_c]; output uint32_t [out_h][out_w][ceil(out_c/32)], padding bits 0.
 * |acc| < INT32_MAX (checked by the generator).
 * The reference reads weight (int8 OHWI [out_c][k_h][k_w][in_c]) and needs no scratch.
 * tg_conv2d_bits_s8_fast reads weight16 (int16 [out_c][K2], K2 = k_h*k_w*in_c rounded up to even,
 * OHWI order, zero-filled) with SMLAD, two output channels per pass over an int16 patch of the
 * pixel's receptive field (input_offset added, zeros outside the image) in scratch: 2*K2 bytes. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l;
    int32_t input_offset;
    const int8_t *weight;    /* reference */
    const int16_t *weight16; /* fast */
    const int32_t *thresholds;
    const uint8_t *flip;
} tg_conv2d_bits_params;

void tg_conv2d_bits_s8_ref(const tg_conv2d_bits_params *p, const int8_t *input, uint32_t *output);
void tg_conv2d_bits_s8_fast(const tg_conv2d_bits_params *p, const int8_t *input, uint32_t *output, void *scratch);
size_t tg_conv2d_bits_s8_fast_scratch_bytes(const tg_conv2d_bits_params *p);

#endif
