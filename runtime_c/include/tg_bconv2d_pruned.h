#ifndef TG_BCONV2D_PRUNED_H
#define TG_BCONV2D_PRUNED_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* Binary (+-1) 2-D convolution with pruned kernels (whole k x k kernels of an (output, input)
 * channel pair removed); the op is tinygen/ops/bconv2d_pruned.py. Tensors, padding and output
 * stage as tg_bconv2d.h, with the dot summed over kept kernels only:
 *   dot = sum over taps of kept[o] - 2*popcount((in ^ w) & mask[o]),  kept[o] = popcount(mask[o])
 *
 * tg_bconv2d_pruned_b1_ref: weight OHWI [out_c][k_h][k_w][words] (pruned bits 0) and mask
 *   [out_c][words] (bit set: kernel kept); thresholds/flip or bias/multiplier/shift as bconv2d.
 * tg_bconv2d_pruned_b1_seg: per output pixel the field is gathered word-major into scratch,
 *   g[k*T + t] (input word k, tap t, T = k_h*k_w, out-of-image words 0). Per output channel the
 *   stream `segs` holds n_full, n_part, then (start, length) of each run of fully kept words in g
 *   and the start of each partly kept word (T words counted under the next part_mask word); weight
 *   holds only those words, in that order. diff = popcount of field ^ weight over the segments;
 *   the output stage per border class folds the zero-padding correction, as tg_bconv2d.h's
 *   carry-save variants: binary bit = diff > class_thresholds[class][o] (flip channels stored
 *   inverted), int8 acc = class_values[class][o] - diff * 2^(pre_shift+1) (mod 2^32).
 *   Scratch: T*words words.
 * tg_bconv2d_pruned_b1_hs8r<R>: every output keeps whole words only. Outputs that keep the same
 *   input words form a group; per group the stream `groups` holds n_out, n_words, the kept input
 *   words k, then the outputs' channel positions. Per pixel and group the kept words' taps are
 *   copied together (K = T*n_words words, word-major, K % 8 == R for every group, the variant's
 *   tail) and counted by the dense carry-save core (tg_bconv2d_hs_body.inc, the field and weights
 *   in its pair format); weight holds each group's outputs' K words in turn, class_thresholds and
 *   class_values are in group order ([class][out_c]), multiplier and shift by channel. Other binary
 *   output bits are scattered to their channel positions. Scratch: T*words + max K + ceil(max
 *   n_out / 32) words. tg_bconv2d_pruned_b1_hs8k<K>: the same with every group's K words (blocks
 *   unrolled, as tg_bconv2d_b1_hs8k<K>). */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, pad_value;
    const uint32_t *weight;
    const uint32_t *mask;      /* reference: [out_c][words] */
    const uint16_t *segs;      /* segment variant: the per-output segment stream */
    const uint32_t *part_mask; /* segment variant: one mask per partly kept word */
    const uint16_t *groups;    /* group variants: the group stream */
    int32_t n_groups;
    int32_t output_binary;
    const int32_t *thresholds;
    const uint8_t *flip;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias; /* units of 2^-pre_shift dot */
    int32_t pre_shift, output_offset;
    int32_t act_min, act_max;
    const int16_t *class_thresholds; /* segment variant, binary output: [classes][out_c] */
    const int32_t *class_values;     /* segment variant, int8 output: [classes][out_c] */
    const uint8_t *row_class;        /* [out_h] */
    const uint8_t *col_class;        /* [out_w] */
    int32_t n_col_class;
} tg_bconv2d_pruned_params;

/* output is uint32_t * (output_binary) or int8_t * */
void tg_bconv2d_pruned_b1_ref(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output);
void tg_bconv2d_pruned_b1_seg(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_seg_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r0(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
/* fixed-size grouped variants: K words per group output (3x3 keeping 1, 2, 4, 8 words), blocks unrolled */
void tg_bconv2d_pruned_b1_hs8k9(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8k9_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8k18(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8k18_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8k36(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8k36_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8k72(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8k72_scratch_bytes(const tg_bconv2d_pruned_params *p);
size_t tg_bconv2d_pruned_b1_hs8r0_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r1(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r1_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r2(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r2_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r3(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r3_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r4(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r4_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r5(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r5_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r6(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r6_scratch_bytes(const tg_bconv2d_pruned_params *p);
void tg_bconv2d_pruned_b1_hs8r7(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch);
size_t tg_bconv2d_pruned_b1_hs8r7_scratch_bytes(const tg_bconv2d_pruned_params *p);

#endif
