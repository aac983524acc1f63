#ifndef TG_SPARSE_H
#define TG_SPARSE_H
#include "tg_types.h"
#include "tg_fixedpoint.h"

/* Sparse int8 weights (mirrors tinygen/reference/sparse.py): row o holds 2*pairs[o] entries, the
 * rows one after the other in `values` (int8) and `steps` (two 4-bit steps per byte, low nibble
 * first); entry j adds values[j] at position p_j = p_{j-1} + step_j (p_{-1} = 0) of the row, all
 * other weights being 0. Rows are HWI (k_h*k_w*in_c) for a convolution, K for a fully connected
 * layer. Otherwise exactly tg_conv2d.h (groups 1) / tg_fully_connected.h. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l;
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
/* Same results with bias' = bias + input_offset * sum(w) (the fast emit folds it): two output
 * pixels per pass over the entries, from two im2col rows in scratch whose out-of-image taps hold
 * -input_offset (_fast), or straight from the input for a 1x1/1 unpadded layer (_1x1). */
void tg_conv2d_sparse_s8_fast(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                              void *scratch);
size_t tg_conv2d_sparse_s8_fast_scratch_bytes(const tg_conv2d_sparse_params *p);
void tg_conv2d_sparse_s8_1x1(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output);
void tg_fully_connected_sparse_s8_fast(const tg_fully_connected_sparse_params *p, const int8_t *input,
                                       int8_t *output);

/* Walk one row's `pairs` entry pairs: *s0 += sum v_j * a[p_j], *s1 += sum v_j * a[p_j + stride];
 * advances *v and *st past the row. */
static inline void tg_sparse_row2(const int8_t *a, int32_t stride, const int8_t **v, const uint8_t **st,
                                  int32_t pairs, int32_t *s0, int32_t *s1)
{
    const int8_t *vv = *v;
    const uint8_t *ss = *st;
    int32_t acc0 = *s0, acc1 = *s1;
    for (int32_t i = 0; i < pairs; ++i) {
        const uint32_t d = *ss++;
        const int32_t w0 = vv[0], w1 = vv[1];
        vv += 2;
        a += d & 15u;
        acc0 += w0 * a[0];
        acc1 += w0 * a[stride];
        a += d >> 4;
        acc0 += w1 * a[0];
        acc1 += w1 * a[stride];
    }
    *v = vv;
    *st = ss;
    *s0 = acc0;
    *s1 = acc1;
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

/* All output channels of one pixel (a) or of two (a and a + stride, when two): rows walked once,
 * results requantized into out[o] (and out[cout + o]). */
static inline void tg_sparse_pixels(const int8_t *values, const uint8_t *steps, const uint16_t *pairs,
                                    const int32_t *bias, const int32_t *multiplier, const int32_t *shift, int32_t cout,
                                    int32_t output_offset, int32_t act_min, int32_t act_max, const int8_t *a,
                                    int32_t stride, int two, int8_t *out)
{
    const int8_t *v = values;
    const uint8_t *st = steps;
    for (int32_t o = 0; o < cout; ++o) {
        int32_t s0 = bias[o], s1 = bias[o];
        if (two) {
            tg_sparse_row2(a, stride, &v, &st, pairs[o], &s0, &s1);
            out[cout + o] = (int8_t)tg_requantize_clamp(s1, multiplier[o], shift[o], output_offset, act_min, act_max);
        } else {
            s0 = tg_sparse_row1(a, &v, &st, pairs[o], s0);
        }
        out[o] = (int8_t)tg_requantize_clamp(s0, multiplier[o], shift[o], output_offset, act_min, act_max);
    }
}

#endif
