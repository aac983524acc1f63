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
 * |dot| <= k_h*k_w*in_c. The reference needs no scratch.
 *
 * Carry-save variants (body and weight layout in tg_bconv2d_hs_body.inc): tg_bconv2d_b1_hs8r<T>
 * with T = K % 8 and a run-time loop over K / 8 blocks, tg_bconv2d_b1_hs8k<K> with the blocks
 * unrolled for one K, where K = k_h*k_w*ceil(in_c/32) words per output, or with compact
 * ceil(k_h*k_w*in_c/32). They compute diff = popcount(field ^ w) over the +1-padded receptive
 * field and read the output stage per border position class, computed offline:
 *   class of pixel (oy, ox) = row_class[oy] * n_col_class + col_class[ox]
 *   binary: bit = diff > class_thresholds[class][o]   (int16: diff <= 32*words per output; the
 *           weights of flip channels are stored inverted, diff' = 32*words - diff, and their
 *           thresholds turned accordingly, so there is no flip at run time: flip is NULL)
 *   int8:   acc = class_values[class][o] - diff * 2^(pre_shift+1)  (mod 2^32)  (= dot * 2^pre_shift + bias: cv folds bias, the
 *           k_h*k_w*in_c bits and the zero-padding correction of the class's out-of-image taps),
 *           requantized by tg_requantize_fast_clamp (equal to the reference's; no multiplier INT32_MIN)
 * Scratch: K words (with compact the weights are one bit run per output channel, tap-major).
 * The reference ignores these fields (NULL, 0). */
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
    const int16_t *class_thresholds; /* carry-save variants, binary output: [classes][out_c] */
    const int32_t *class_values;     /* carry-save variants, int8 output: [classes][out_c] */
    const uint8_t *row_class;    /* [out_h] */
    const uint8_t *col_class;    /* [out_w] */
    int32_t n_col_class;
    int32_t compact; /* carry-save variants: 1 = field and weights hold each output's k_h*k_w*in_c
                        bits run together (in_c no multiple of 32): ceil(k_h*k_w*in_c/32) words */
} tg_bconv2d_params;

/* output is uint32_t * (output_binary) or int8_t * */
void tg_bconv2d_b1_ref(const tg_bconv2d_params *p, const uint32_t *input, void *output);

void tg_bconv2d_b1_hs8r0(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r0_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r1(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r1_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r2(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r2_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r3(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r3_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r4(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r4_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r5(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r5_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r6(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r6_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8r7(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8r7_scratch_bytes(const tg_bconv2d_params *p);
/* fixed-size variants: K words per output (3x3 on 32..256 channels; 13: 3x3 on 42..46 channels,
 * compact), blocks unrolled */
void tg_bconv2d_b1_hs8k13(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k13_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k9(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k9_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k18(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k18_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k27(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k27_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k36(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k36_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k45(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k45_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k54(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k54_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k63(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k63_scratch_bytes(const tg_bconv2d_params *p);
void tg_bconv2d_b1_hs8k72(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_b1_hs8k72_scratch_bytes(const tg_bconv2d_params *p);

#endif
