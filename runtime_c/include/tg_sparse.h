#ifndef TG_SPARSE_H
#define TG_SPARSE_H
#include "tg_types.h"
#include "tg_dsp.h"

/* Sparse int8 weights (mirrors tinygen/reference/sparse.py): row o holds 2*pairs[o] entries, the
 * rows one after the other in `values` (int8) and `steps` (two 4-bit steps per byte, low nibble
 * first); entry j adds values[j] at position p_j = p_{j-1} + step_j (p_{-1} = 0) of the row, all
 * other weights being 0. Rows are HWI (k_h*k_w*in_c/groups) for a convolution, K for a fully
 * connected layer. Otherwise exactly tg_conv2d.h / tg_fully_connected.h. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, groups;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *values;
    const uint8_t *steps;
    const uint16_t *pairs;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_conv2d_sparse_params;

typedef struct {
    int32_t batches, in_features, out_features;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *values;
    const uint8_t *steps;
    const uint16_t *pairs;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_fully_connected_sparse_params;

void tg_conv2d_sparse_s8_ref(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output);
void tg_fully_connected_sparse_s8_ref(const tg_fully_connected_sparse_params *p, const int8_t *input,
                                      int8_t *output);
/* Same results with bias' = bias + input_offset * sum(w) (the fast emit folds it) and the
 * requantization of tg_requant_smmulr.h (operand bound checked offline): output pixels in groups of four, their receptive fields
 * interleaved byte by byte in scratch (tg_sparse_row4), out-of-image taps holding -input_offset. */
void tg_conv2d_sparse_s8_fast(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                              void *scratch);
size_t tg_conv2d_sparse_s8_fast_scratch_bytes(const tg_conv2d_sparse_params *p);
/* Same results with the folded bias, eight pixels per walk of a row, two pixels per 64-bit
 * multiply-add (generator-checked: 128 * sum|w| < 2^22 per row) and tg_gemm_w16.h's output stage;
 * the entries as one stream in `steps` (per pair: its step byte, then its two values), `values`
 * NULL. See tg_conv2d_sparse_s8_px8.c. */
void tg_conv2d_sparse_s8_px8(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                             void *scratch);
size_t tg_conv2d_sparse_s8_px8_scratch_bytes(const tg_conv2d_sparse_params *p);
/* Same results with the folded bias and tg_requant_smmulr.h's output stage (operand bound checked
 * offline), the entries as one stream in `steps` as for px8, `values` NULL. */
void tg_fully_connected_sparse_s8_fast(const tg_fully_connected_sparse_params *p, const int8_t *input,
                                       int8_t *output);
/* Same results for a depthwise layer (groups == in_c == out_c, k_h*k_w <= 64): channel by channel,
 * the row's non-zero taps are decoded once, then every output pixel adds only those taps. */
void tg_conv2d_sparse_s8_dw(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output);

/* Same results for a depthwise layer (groups == in_c == out_c, k_h*k_w <= 64) with the folded
 * bias and tg_gemm_w16.h's output stage (generator-checked): the input padded in scratch in bands
 * of output rows, the taps decoded once per call, one channel's outputs of a band at a time (four
 * pixels per packed clamp), only the non-zero taps read. See tg_conv2d_sparse_s8_dw4.c. */
void tg_conv2d_sparse_s8_dw4(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                             void *scratch);
size_t tg_conv2d_sparse_s8_dw4_scratch_bytes(const tg_conv2d_sparse_params *p);

/* One row's `pairs` entry pairs over four interleaved pixels: col holds 4 bytes per position
 * (byte q of word i is pixel q's value at position i); acc[q] += sum_j v_j * col[4*p_j + q].
 * Advances *v and *st past the row. */
static inline void tg_sparse_row4(const uint8_t *col, const int8_t **v, const uint8_t **st, int32_t pairs,
                                  int32_t acc[4])
{
    const int8_t *vv = *v;
    const uint8_t *ss = *st;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t i = 0; i < pairs; ++i) {
        const uint32_t d = *ss++;
        col += 4u * (d & 15u);
        uint32_t x = tg_load_u32(col);
        /* x02 = pixels 0 and 2, x13 = pixels 1 and 3 as int16 halves; w in the low half, wt in the high */
        uint32_t x02 = tg_sxtb16(x), x13 = tg_sxtb16_ror8(x);
        uint32_t w = (uint32_t)(int32_t)vv[0], wt = w << 16;
        a0 = tg_smlabb(x02, w, a0);
        a2 = tg_smlatt(x02, wt, a2);
        a1 = tg_smlabb(x13, w, a1);
        a3 = tg_smlatt(x13, wt, a3);
        col += 4u * (d >> 4);
        x = tg_load_u32(col);
        x02 = tg_sxtb16(x);
        x13 = tg_sxtb16_ror8(x);
        w = (uint32_t)(int32_t)vv[1];
        wt = w << 16;
        a0 = tg_smlabb(x02, w, a0);
        a2 = tg_smlatt(x02, wt, a2);
        a1 = tg_smlabb(x13, w, a1);
        a3 = tg_smlatt(x13, wt, a3);
        vv += 2;
    }
    *v = vv;
    *st = ss;
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One pixel: returns acc + sum v_j * a[p_j] over the row. */
static inline int32_t tg_sparse_row1(const int8_t *a, const int8_t **v, const uint8_t **st, int32_t pairs,
                                     int32_t acc)
{
    const int8_t *vv = *v;
    const uint8_t *ss = *st;
    for (int32_t i = 0; i < pairs; ++i) {
        const uint32_t d = *ss++;
        a += d & 15u;
        acc += vv[0] * a[0];
        a += d >> 4;
        acc += vv[1] * a[0];
        vv += 2;
    }
    *v = vv;
    *st = ss;
    return acc;
}

#endif
